import type { MlmBatch } from '@sibert/data';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { DataCounts, DataWorkerApi } from './data-worker.js';
import type { PretrainBatch, PretrainDataSpec, ReadProgress } from './pretrain-data.js';
import { startWorker } from './worker-thread.js';

/**
 * The training loop's view of the data worker: it keeps `depth` batches in flight, so the step
 * rarely waits, and measures how long it did.
 */
export class PrefetchingData {
  private readonly queue: Promise<PretrainBatch>[] = [];

  private constructor(
    private readonly worker: ReturnType<typeof startWorker>,
    private readonly api: Comlink.Remote<DataWorkerApi>,
    private readonly died: Promise<never>,
    readonly counts: DataCounts,
    private readonly depth: number,
  ) {}

  static async start(
    spec: PretrainDataSpec,
    evalBatchSize: number,
    onProgress?: ReadProgress,
    depth = 4,
  ): Promise<PrefetchingData> {
    const worker = startWorker('data-worker');
    const died = new Promise<never>((_, reject) => {
      worker.once('error', (e) => reject(new Error(`the data worker failed: ${e.message}`)));
      worker.once('exit', (code) => reject(new Error(`the data worker exited (code ${code})`)));
    });
    died.catch(() => {});
    const api = Comlink.wrap<DataWorkerApi>(nodeEndpoint(worker));
    try {
      const progress = onProgress ? Comlink.proxy(onProgress) : undefined;
      const counts = await Promise.race([api.init(spec, evalBatchSize, progress), died]);
      return new PrefetchingData(worker, api, died, counts, depth);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  /** The next batch, and the milliseconds the caller waited for it. */
  async next(): Promise<PretrainBatch & { waitedMs: number }> {
    while (this.queue.length < this.depth) this.queue.push(Promise.race([this.api.next(), this.died]));
    const started = performance.now();
    const batch = await this.queue.shift()!;
    return { ...batch, waitedMs: performance.now() - started };
  }

  async heldOut(batchSize: number): Promise<MlmBatch[]> {
    return Promise.race([this.api.heldOut(batchSize), this.died]);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.queue);
    this.api[Comlink.releaseProxy]();
    await this.worker.terminate();
  }
}
