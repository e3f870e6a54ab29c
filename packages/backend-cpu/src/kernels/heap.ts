import type { DType, TypedArray } from '@sibert/tensor';
import type { WasmMemory } from './wasm-module.js';

/**
 * Tensor storage inside one WebAssembly memory, so WASM kernels read and write tensors in place
 * and worker threads sharing that memory split the work without copying operands.
 *
 * Blocks are handed out by size class (four classes per power of two, so at most 25% of a block
 * is slack, 64 bytes at least, 16-byte aligned for SIMD) and kept on per-class free lists when
 * released: a training step asks for the same sizes every time, so after the first step nothing
 * is allocated (fresh memory also costs a page fault per 4 KiB on first write). The memory only
 * grows; idle blocks are reused, never returned to the system.
 */
export class WasmHeap {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  /** Every ArrayBuffer the memory has had (one per growth); views made on any of them stay valid. */
  readonly #buffers = new WeakSet<ArrayBufferLike>();
  readonly #idle = new Map<number, number[]>();
  #top: number;
  #idleBytes = 0;
  #f32: Float32Array;

  /** `reservedBytes` bytes at the start are left to the caller (scratch for the kernels). */
  constructor(memory: WasmMemory, shared: boolean, reservedBytes = 0) {
    this.memory = memory;
    this.shared = shared;
    this.#top = align(Math.max(reservedBytes, 64));
    this.#f32 = this.#refresh();
  }

  /** Float32 view of the whole memory as it is now (refreshed after growth). */
  get f32(): Float32Array {
    if (this.#f32.buffer.byteLength !== this.memory.buffer.byteLength) this.#f32 = this.#refresh();
    return this.#f32;
  }

  /** Bytes in released blocks waiting for reuse. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** Bytes handed out or idle (the high-water mark of the allocator). */
  get usedBytes(): number {
    return this.#top;
  }

  /** Whether `array` is a view into this memory. */
  owns(array: TypedArray): boolean {
    return this.#buffers.has(array.buffer);
  }

  /** A block of `size` elements (arbitrary contents), or null when the memory cannot grow enough. */
  allocate(dtype: DType, size: number): TypedArray | null {
    const bytes = classBytes(size * 4);
    let offset = this.#idle.get(bytes)?.pop();
    if (offset !== undefined) {
      this.#idleBytes -= bytes;
    } else {
      if (!this.#ensure(this.#top + bytes)) return null;
      offset = this.#top;
      this.#top += bytes;
    }
    const buffer = this.memory.buffer;
    return dtype === 'float32'
      ? new Float32Array(buffer, offset, size)
      : new Int32Array(buffer, offset, size);
  }

  /** Returns a block from `allocate`; the view must not be used afterwards. */
  release(array: TypedArray): void {
    const bytes = classBytes(array.length * 4);
    const list = this.#idle.get(bytes);
    if (list) list.push(array.byteOffset);
    else this.#idle.set(bytes, [array.byteOffset]);
    this.#idleBytes += bytes;
  }

  /** Grows the memory to hold `bytes`; false when it cannot. */
  #ensure(bytes: number): boolean {
    const current = this.memory.buffer.byteLength;
    if (bytes <= current) return true;
    // Grow by at least half again, so a growing model does not grow the memory at every step.
    const wanted = Math.max(bytes - current, current >>> 1);
    try {
      this.memory.grow(Math.ceil(wanted / PAGE_BYTES));
    } catch {
      try {
        this.memory.grow(Math.ceil((bytes - current) / PAGE_BYTES));
      } catch {
        return false;
      }
    }
    this.#refresh();
    return true;
  }

  #refresh(): Float32Array {
    const buffer = this.memory.buffer;
    this.#buffers.add(buffer);
    return new Float32Array(buffer);
  }
}

export const PAGE_BYTES = 65536;

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** The block size serving `bytes`: 64 at least, else the next of four steps per power of two. */
export function classBytes(bytes: number): number {
  if (bytes <= 64) return 64;
  const power = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = power / 4;
  return Math.ceil(bytes / step) * step;
}
