import type { MlmBatch, UnigramJson, UnigramScore } from '@sibert/data';
import { exposeToParent, transfer } from '@sibert/workers/node';
import {
  type PretrainBatch,
  PretrainData,
  type PretrainDataSpec,
  type ReadProgress,
  type TextCounts,
} from './pretrain-data.js';

let data: PretrainData | null = null;

export interface DataCounts {
  trainSequences: number;
  heldOutSequences: number;
  /** The unigram baseline on the held-out batches of the given evaluation batch size. */
  baseline: UnigramScore;
  /** The unigram model of the training sequences, for the run folder. */
  unigram: UnigramJson;
  text: TextCounts;
}

function buffers(batch: MlmBatch): ArrayBuffer[] {
  return [batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.labels, batch.maskedPositions].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

function ready(): PretrainData {
  if (!data) throw new Error('the data worker was not initialised');
  return data;
}

/** Builds batches off the training thread; batches travel as transferred buffers (no copies). */
const api = {
  async init(spec: PretrainDataSpec, evalBatchSize: number, onProgress?: ReadProgress): Promise<DataCounts> {
    data = await PretrainData.build(spec, onProgress);
    return {
      trainSequences: data.train.length,
      heldOutSequences: data.heldOut.length,
      baseline: data.unigramBaseline(evalBatchSize),
      unigram: data.unigram.toJSON(),
      text: data.textCounts,
    };
  },
  next(): PretrainBatch {
    const next = ready().next();
    return transfer(next, buffers(next.batch));
  },
  heldOut(batchSize: number): MlmBatch[] {
    const batches = ready().heldOutBatches(batchSize);
    return transfer(batches, batches.flatMap(buffers));
  },
};

export type DataWorkerApi = typeof api;

exposeToParent(api);
