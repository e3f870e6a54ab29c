import type { ClassificationBatch, MlmBatch } from '@sibert/data';
import type { EncoderInputs, ModelConfig } from '@sibert/models';
import { tensor } from '@sibert/tensor';

function encoderInputs(
  batch: Pick<MlmBatch, 'batchSize' | 'seqLen' | 'inputIds' | 'tokenTypeIds' | 'attentionMask'>,
  config: ModelConfig,
): EncoderInputs {
  const shape = [batch.batchSize, batch.seqLen];
  return {
    inputIds: tensor(batch.inputIds, shape, 'int32'),
    // SIBERT has no token-type embedding unless configured with one: do not upload what it ignores.
    ...(config.typeVocabSize > 0 ? { tokenTypeIds: tensor(batch.tokenTypeIds, shape, 'int32') } : {}),
    attentionMask: tensor(batch.attentionMask, shape, 'int32'),
  };
}

/**
 * Uploads a collated MLM batch to the current backend: the encoder inputs and the masked targets
 * (flat positions and their original ids, gathered on the host so the decoder runs on masked rows only).
 */
export function uploadMlmBatch(batch: MlmBatch, config: ModelConfig) {
  const masked = batch.maskedPositions;
  return {
    inputs: encoderInputs(batch, config),
    targets: {
      positions: tensor(masked, [masked.length], 'int32'),
      labels: tensor(
        Int32Array.from(masked, (p) => batch.labels[p]!),
        [masked.length],
        'int32',
      ),
    },
  };
}

/** Uploads a classification batch: the encoder inputs and one label per row. */
export function uploadClassificationBatch(batch: ClassificationBatch, config: ModelConfig) {
  return {
    inputs: encoderInputs(batch, config),
    labels: tensor(batch.labels, [batch.batchSize], 'int32'),
  };
}
