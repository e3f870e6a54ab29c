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

  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const reusable = this.free.get(size)?.pop();
    if (reusable) {
      this.pooledBytes -= size;
      return reusable;
    }
    return this.device.createBuffer({ size, usage: this.usage });
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
