import '@sibert/backend-cpu';
import type { MlmBatch } from '@sibert/data';
import { presetConfig } from '@sibert/models';
import { describe, expect, it } from 'vitest';
import { uploadClassificationBatch, uploadMlmBatch } from './batches.js';

const batch: MlmBatch = {
  batchSize: 1,
  seqLen: 4,
  inputIds: Int32Array.of(2, 4, 9, 3),
  tokenTypeIds: Int32Array.of(0, 0, 0, 0),
  attentionMask: Int32Array.of(1, 1, 1, 0),
  labels: Int32Array.of(-100, 7, -100, -100),
  maskedPositions: Int32Array.of(1),
};

describe('uploadMlmBatch', () => {
  it('uploads the inputs and the masked positions with their original ids', () => {
    const { inputs, targets } = uploadMlmBatch(batch, presetConfig('bert-tiny', 16));
    expect(inputs.inputIds.shape).toEqual([1, 4]);
    expect(Array.from(inputs.tokenTypeIds!.dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(targets.positions.dataSync())).toEqual([1]);
    expect(Array.from(targets.labels.dataSync())).toEqual([7]);
  });

  it('uploads no token types for a model without a token-type embedding (SIBERT)', () => {
    const { inputs } = uploadMlmBatch(batch, presetConfig('sibert-tiny', 16));
    expect(inputs.tokenTypeIds).toBeUndefined();
  });
});

describe('uploadClassificationBatch', () => {
  it('uploads one label per row', () => {
    const { labels } = uploadClassificationBatch(
      { ...batch, labels: Int32Array.of(1) },
      presetConfig('bert-tiny', 16),
    );
    expect(labels.shape).toEqual([1]);
    expect(Array.from(labels.dataSync())).toEqual([1]);
  });
});
