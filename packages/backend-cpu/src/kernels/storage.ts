import type { DType, TypedArray } from '@sibert/tensor';
import { wasmRuntime } from './runtime.js';

/**
 * Where tensors live. With shared WebAssembly memory (Node, cross-origin-isolated pages) every
 * tensor is a view into the WASM heap (`heap.ts`), so the WASM kernels and the worker threads read
 * it in place. Elsewhere tensors are plain typed arrays, recycled by exact length: a fresh array
 * costs a page fault per 4 KiB the first time it is written (measured here: 5.3 ms to fill a new
 * 4 MiB array, 0.7 ms to fill a reused one), and a training step asks for the same sizes each time.
 */
const MIN_POOLED_LENGTH = 1024;
/** At most this many idle bytes of plain arrays are kept; arrays freed beyond it go to the GC. */
const BUDGET_BYTES = 512 * 1024 * 1024;

/** Idle plain arrays by length: positive keys hold Float32Arrays, negative keys Int32Arrays. */
const idle = new Map<number, TypedArray[]>();
let idleBytes = 0;

function plain(dtype: DType, size: number): TypedArray {
  if (size >= MIN_POOLED_LENGTH) {
    const array = idle.get(dtype === 'float32' ? size : -size)?.pop();
    if (array) {
      idleBytes -= array.byteLength;
      return array;
    }
  }
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}

/** An array of `size` elements with arbitrary contents: for kernels that write every element. */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  const rt = wasmRuntime();
  return (rt?.storesTensors ? rt.heap.allocate(dtype, size) : null) ?? plain(dtype, size);
}

/** A zero-filled array of `size` elements. */
export function allocate(dtype: DType, size: number): TypedArray {
  return allocateUninitialized(dtype, size).fill(0);
}

/** Hands a freed tensor's array back for reuse; it must not be read or written afterwards. */
export function recycle(array: TypedArray): void {
  const rt = wasmRuntime();
  if (rt?.heap.owns(array)) {
    rt.heap.release(array);
    return;
  }
  if (array.length < MIN_POOLED_LENGTH || idleBytes + array.byteLength > BUDGET_BYTES) return;
  // Only whole arrays: a view into a larger buffer would keep that buffer alive.
  if (array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength) return;
  const key = array instanceof Float32Array ? array.length : -array.length;
  const list = idle.get(key);
  if (list) list.push(array);
  else idle.set(key, [array]);
  idleBytes += array.byteLength;
}

/** Bytes of storage waiting for reuse (the engine's `memory()` counts live tensors only). */
export function pooledBytes(): number {
  return idleBytes + (wasmRuntime()?.heap.idleBytes ?? 0);
}

/** Drops the idle plain arrays (heap blocks stay with the heap, which never shrinks). */
export function releasePooled(): void {
  idle.clear();
  idleBytes = 0;
}
