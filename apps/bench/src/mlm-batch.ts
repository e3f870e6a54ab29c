import type { MlmBatch } from '@sibert/data';
import { MaskedLanguageModel, presetConfig } from '@sibert/models';

/** Token id of [MASK] in the synthetic batches (ids below 5 are the special tokens). */
const MASK_ID = 4;

/**
 * A synthetic MLM batch: token ids from a fixed LCG over the vocabulary, no padding, every
 * ~7th position masked (about 15%) with its original id as the label. Speed and memory do not
 * depend on the text, so the step and memory suites need no corpus.
 */
export function syntheticBatch(batchSize: number, seqLen: number, vocabSize: number): MlmBatch {
  const n = batchSize * seqLen;
  const inputIds = new Int32Array(n);
  let state = 12345;
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    inputIds[i] = 5 + (state % (vocabSize - 5));
  }
  const maskedPositions = Int32Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 === 3);
  const labels = new Int32Array(n).fill(-100);
  for (const p of maskedPositions) {
    labels[p] = inputIds[p]!;
    inputIds[p] = MASK_ID;
  }
  return {
    batchSize,
    seqLen,
    inputIds,
    tokenTypeIds: new Int32Array(n),
    attentionMask: new Int32Array(n).fill(1),
    labels,
    maskedPositions,
  };
}

/** A preset MLM model without dropout (the speed and memory suites measure the same work each step). */
export function benchModel(name: string, vocabSize: number): MaskedLanguageModel {
  return new MaskedLanguageModel(presetConfig(name, vocabSize, { hiddenDropout: 0, attentionDropout: 0 }));
}
