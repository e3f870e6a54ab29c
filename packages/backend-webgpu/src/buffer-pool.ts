/**
 * Reuses GPU buffers across steps instead of reallocating them. Buffers are grouped by size
 * class (four classes per power of two, so at most 25% of a buffer is slack) and handed back
 * LIFO, which keeps recently touched memory hot.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
  ) {}

  /** The byte size of the class that serves a request of `bytes`. */
  static sizeClass(bytes: number): number {
    const minimum = 256;
    if (bytes <= minimum) return minimum;
    const octave = 2 ** Math.floor(Math.log2(bytes));
    const step = octave / 4;
    return Math.ceil(bytes / step) * step;
  }

  /** A pooled buffer of the class serving `bytes`, or null when none is free. */
  takeFree(bytes: number): GPUBuffer | null {
    const size = BufferPool.sizeClass(bytes);
    const reusable = this.free.get(size)?.pop();
    if (!reusable) return null;
    this.pooledBytes -= size;
    return reusable;
  }

  /** A new buffer of the class serving `bytes`. */
  create(bytes: number): GPUBuffer {
    return this.device.createBuffer({ size: BufferPool.sizeClass(bytes), usage: this.usage });
  }

  acquire(bytes: number): GPUBuffer {
    return this.takeFree(bytes) ?? this.create(bytes);
  }

  release(buffer: GPUBuffer): void {
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
    this.pooledBytes += buffer.size;
  }

  /** Bytes held in the pool, ready for reuse. */
  get idleBytes(): number {
    return this.pooledBytes;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const buffer of list) buffer.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
