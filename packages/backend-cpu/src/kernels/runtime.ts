import { type DType, RangeArgumentError, type TypedArray } from '@sibert/tensor';
import { GEMM_TASKS } from './gemm.js';
import { WasmHeap } from './heap.js';
import { PARALLEL_TASKS } from './parallel.js';
import { PlainArrays } from './storage.js';
import { ThreadPool } from './threads.js';
import {
  compileKernels,
  type KernelModule,
  MAX_PAGES,
  type WasmApi,
  type WasmMemory,
  webAssembly,
} from './wasm-module.js';

/** The WASM side of a runtime: its heap and the kernels compiled on that heap's memory. */
export interface WasmRuntime {
  readonly heap: WasmHeap;
  readonly kernels: KernelModule;
  /** Whether tensors are stored in the heap (shared memory available). */
  readonly storesTensors: boolean;
}

const INITIAL_PAGES = 256; // 16 MiB

function createMemory(wasm: WasmApi): { memory: WasmMemory; shared: boolean } {
  if (typeof SharedArrayBuffer !== 'undefined') {
    try {
      return {
        memory: new wasm.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true }),
        shared: true,
      };
    } catch {
      // Shared memory refused (e.g. a browser page without cross-origin isolation).
    }
  }
  return { memory: new wasm.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES }), shared: false };
}

/** A fresh heap with the kernels compiled on it, or null where WebAssembly SIMD is unavailable. */
function createWasmRuntime(): WasmRuntime | null {
  const wasm = webAssembly();
  if (!wasm) return null;
  const { memory, shared } = createMemory(wasm);
  const kernels = compileKernels(wasm, memory, shared);
  return kernels ? { heap: new WasmHeap(memory, shared), kernels, storesTensors: shared } : null;
}

/**
 * Everything one CpuBackend's kernels reach memory and threads through, passed to every kernel:
 * its own WASM heap and kernels (tensor storage where memory can be shared, else scratch for the
 * matmul only), its pool of plain arrays, and its thread pool. Nothing is shared between
 * backends, so `dispose` releases exactly this backend's workers and idle arrays.
 */
export class CpuRuntime {
  /** Null where WebAssembly SIMD is unavailable (every kernel then runs in JavaScript). */
  readonly wasm: WasmRuntime | null;
  /** Large WASM kernels split over it; present whenever `wasm` is (with 1 thread it never wakes one). */
  readonly pool: ThreadPool | undefined;
  readonly #plain = new PlainArrays();
  #indexError: RangeArgumentError | null = null;

  /** `threads`: threads large kernels may use, the calling thread included. */
  constructor(threads: number) {
    this.wasm = createWasmRuntime();
    this.pool = this.wasm
      ? new ThreadPool(this.wasm.heap, this.wasm.kernels, [...GEMM_TASKS, ...PARALLEL_TASKS], threads)
      : undefined;
  }

  /** The WASM kernels, when every one of `arrays` lives in the heap (else null: use JavaScript). */
  heapKernels(...arrays: TypedArray[]): KernelModule | null {
    const wasm = this.wasm;
    if (!wasm) return null;
    for (const array of arrays) if (!wasm.heap.owns(array)) return null;
    return wasm.kernels;
  }

  /** An array of `size` elements with arbitrary contents: for kernels that write every element. */
  allocateUninitialized(dtype: DType, size: number): TypedArray {
    const wasm = this.wasm;
    return (wasm?.storesTensors ? wasm.heap.allocate(dtype, size) : null) ?? this.#plain.take(dtype, size);
  }

  /** A zero-filled array of `size` elements. */
  allocate(dtype: DType, size: number): TypedArray {
    return this.allocateUninitialized(dtype, size).fill(0);
  }

  /** Hands a freed tensor's array back for reuse; it must not be read or written afterwards. */
  recycle(array: TypedArray): void {
    if (this.wasm?.heap.owns(array)) this.wasm.heap.release(array);
    else this.#plain.give(array);
  }

  /** Bytes of storage waiting for reuse (the engine's `memory()` counts live tensors only). */
  pooledBytes(): number {
    return this.#plain.idleBytes + (this.wasm?.heap.idleBytes ?? 0);
  }

  /**
   * Records an out-of-range index a kernel met (the first one, until reported): the backend
   * contract has the next read or sync report it, so kernels never stop mid-forward for it.
   */
  reportBadIndex(op: string, index: number, bound: number): void {
    this.#indexError ??= new RangeArgumentError(`index ${index} is out of range [0, ${bound})`, op);
  }

  /** Throws the recorded index error, if any, and clears it. */
  throwPendingIndexError(): void {
    const error = this.#indexError;
    this.#indexError = null;
    if (error) throw error;
  }

  /**
   * Stops this runtime's worker threads and drops its idle plain arrays. The heap is left to the
   * garbage collector with the last tensor that views it (it never shrinks while alive).
   */
  dispose(): void {
    this.pool?.close();
    this.#plain.clear();
  }
}
