import type { MlmBatch } from '@sibert/data';
import { Prefetcher } from '@sibert/train';
import { proxy, WorkerClient } from '@sibert/workers';
import { besideModule, nodeWorkerLink, startNodeWorker } from '@sibert/workers/node';
import type { DataCounts, DataWorkerApi } from './data-worker.js';
import type { PretrainBatch, PretrainDataSpec, ReadProgress } from './pretrain-data.js';

/**
 * The training loop's view of the data worker (a worker thread on comlink): it keeps `depth`
 * batches in flight, so the step rarely waits, and measures how long it did.
 */
export class PrefetchingData {
  private readonly prefetcher: Prefetcher<PretrainBatch>;

  private constructor(
    private readonly client: WorkerClient<DataWorkerApi>,
    readonly counts: DataCounts,
    depth: number,
  ) {
    this.prefetcher = new Prefetcher(() => client.call(client.api.next()), depth);
  }

  static async start(
    spec: PretrainDataSpec,
    evalBatchSize: number,
    onProgress?: ReadProgress,
    depth = 4,
  ): Promise<PrefetchingData> {
    const link = nodeWorkerLink(
      startNodeWorker(besideModule(import.meta.url, 'data-worker')),
      'the data worker',
    );
    const client = new WorkerClient<DataWorkerApi>(link);
    try {
      const progress = onProgress ? proxy(onProgress) : undefined;
      const counts = await client.call(client.api.init(spec, evalBatchSize, progress));
      return new PrefetchingData(client, counts, depth);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** The next batch, and the milliseconds the caller waited for it. */
  async next(): Promise<PretrainBatch & { waitedMs: number }> {
    const { batch, waitedMs } = await this.prefetcher.next();
    return { ...batch, waitedMs };
  }

  async heldOut(batchSize: number): Promise<MlmBatch[]> {
    return this.client.call(this.client.api.heldOut(batchSize));
  }

  async close(): Promise<void> {
    await this.prefetcher.drain();
    await this.client.close();
  }
}
