import type { MlmBatch } from '@sibert/data';
import type { MaskedLanguageModel } from '@sibert/models';
import { noGrad, tidy } from '@sibert/tensor';
import { uploadMlmBatch } from '@sibert/train';

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
