import type { TypedArray } from '@sibert/tensor';
import { GEMM_TASKS } from './gemm.js';
import { WasmHeap } from './heap.js';
import { PARALLEL_TASKS } from './parallel.js';
import { ThreadPool } from './threads.js';
import {
  compileKernels,
  type KernelModule,
  MAX_PAGES,
  type WasmApi,
  type WasmMemory,
  webAssembly,
} from './wasm-module.js';

/**
 * The process-wide WASM side of the backend: one heap (tensor storage where the memory can be
 * shared, else scratch for the matmul only), the compiled kernels, and thread pools by size.
 */
export interface WasmRuntime {
  readonly heap: WasmHeap;
  readonly kernels: KernelModule;
  /** Whether tensors are stored in the heap (shared memory available). */
  readonly storesTensors: boolean;
}

const INITIAL_PAGES = 256; // 16 MiB

let runtime: WasmRuntime | null | undefined;
const pools = new Map<number, ThreadPool>();

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

/** The runtime, or null where WebAssembly SIMD is unavailable. */
export function wasmRuntime(): WasmRuntime | null {
  if (runtime !== undefined) return runtime;
  runtime = null;
  const wasm = webAssembly();
  if (!wasm) return runtime;
  const { memory, shared } = createMemory(wasm);
  const kernels = compileKernels(wasm, memory, shared);
  if (kernels) runtime = { heap: new WasmHeap(memory, shared), kernels, storesTensors: shared };
  return runtime;
}

/** The WASM kernels, when every one of `arrays` lives in the heap (else null: use JavaScript). */
export function heapKernels(...arrays: TypedArray[]): KernelModule | null {
  const rt = wasmRuntime();
  if (!rt) return null;
  for (const array of arrays) if (!rt.heap.owns(array)) return null;
  return rt.kernels;
}

/** The pool of `threads` threads (created once, then shared). */
export function threadPool(rt: WasmRuntime, threads: number): ThreadPool {
  let pool = pools.get(threads);
  if (!pool) {
    pool = new ThreadPool(rt.heap, rt.kernels, [...GEMM_TASKS, ...PARALLEL_TASKS], threads);
    pools.set(threads, pool);
  }
  return pool;
}

/** Stops every pool's workers (pools are recreated on demand). */
export function closeThreadPools(): void {
  for (const pool of pools.values()) pool.close();
  pools.clear();
}
