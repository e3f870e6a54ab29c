/**
 * Keeps `depth` requests for the next batch in flight (to a data worker, say), so the training
 * step rarely waits for data, and measures how long it did wait. Batches come back in request order.
 */
export class Prefetcher<Batch> {
  private readonly queue: Promise<Batch>[] = [];

  constructor(
    private readonly fetch: () => Promise<Batch>,
    readonly depth = 4,
  ) {
    if (!Number.isInteger(depth) || depth < 1)
      throw new RangeError(`Prefetcher: depth must be a positive integer, got ${depth}`);
  }

  /** The next batch, and the milliseconds the caller waited for it. */
  async next(): Promise<{ batch: Batch; waitedMs: number }> {
    while (this.queue.length < this.depth) this.queue.push(this.fetch());
    const started = performance.now();
    const batch = await this.queue.shift()!;
    return { batch, waitedMs: performance.now() - started };
  }

  /** Waits for the requests still in flight (their batches are dropped, their failures too). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.queue.splice(0));
  }
}
