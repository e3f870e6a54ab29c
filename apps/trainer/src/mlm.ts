import type { MlmBatch } from '@sibert/data';
import type { MaskedLanguageModel, ModelConfig } from '@sibert/models';
import { noGrad, tensor, tidy } from '@sibert/tensor';

/** Uploads a collated batch: encoder inputs (token types only for a model that has them) and the masked targets. */
export function uploadMlmBatch(batch: MlmBatch, config: ModelConfig) {
  const shape = [batch.batchSize, batch.seqLen];
  const masked = batch.maskedPositions;
  return {
    inputs: {
      inputIds: tensor(batch.inputIds, shape, 'int32'),
      ...(config.typeVocabSize > 0 ? { tokenTypeIds: tensor(batch.tokenTypeIds, shape, 'int32') } : {}),
      attentionMask: tensor(batch.attentionMask, shape, 'int32'),
    },
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

export interface MlmScore {
  /** Mean cross-entropy per masked token. */
  loss: number;
  maskedAccuracy: number;
  maskedTokens: number;
}

/** MLM loss and masked-token accuracy of `model` over `batches` (no gradients). */
export async function scoreMlm(model: MaskedLanguageModel, batches: readonly MlmBatch[]): Promise<MlmScore> {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  try {
    for (const batch of batches) {
      const masked = batch.maskedPositions.length;
      if (masked === 0) continue;
      const { loss, accuracy } = noGrad(() =>
        tidy(() => {
          const { inputs, targets } = uploadMlmBatch(batch, model.config);
          return model.forward(inputs, targets);
        }),
      );
      lossSum += (await loss.itemAsync()) * masked;
      correct += (await accuracy.itemAsync()) * masked;
      tokens += masked;
      loss.dispose();
      accuracy.dispose();
    }
  } finally {
    if (wasTraining) model.train();
  }
  return { loss: lossSum / tokens, maskedAccuracy: correct / tokens, maskedTokens: tokens };
}
