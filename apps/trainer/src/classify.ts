import { type ClassificationBatch, selectRows } from '@sibert/data';
import type { SequenceClassifier } from '@sibert/models';
import { noGrad, softmax, tidy } from '@sibert/tensor';
import { uploadClassificationBatch } from '@sibert/train';

/** Class probabilities of every row, `[rows × classes]` row-major, in eval mode without gradients. */
export async function classProbabilities(
  model: SequenceClassifier,
  split: ClassificationBatch,
  batchSize: number,
): Promise<Float32Array> {
  const wasTraining = model.training;
  model.eval();
  const out = new Float32Array(split.batchSize * model.numLabels);
  try {
    for (let start = 0; start < split.batchSize; start += batchSize) {
      const rows = Array.from({ length: Math.min(batchSize, split.batchSize - start) }, (_, i) => start + i);
      const batch = selectRows(split, rows);
      const probabilities = noGrad(() =>
        tidy(() => softmax(model.forward(uploadClassificationBatch(batch, model.config).inputs), -1)),
      );
      out.set(await probabilities.data(), start * model.numLabels);
      probabilities.dispose();
    }
  } finally {
    if (wasTraining) model.train();
  }
  return out;
}

/** The most probable class of each row. */
export function argmaxRows(probabilities: Float32Array, classes: number): Int32Array {
  const rows = probabilities.length / classes;
  const best = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 1; c < classes; c++) {
      if (probabilities[r * classes + c]! > probabilities[r * classes + best[r]!]!) best[r] = c;
    }
  }
  return best;
}

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples of this class in the split. */
  support: number;
}

export interface SplitScores {
  accuracy: number;
  /** The unweighted mean of the classes' F1. */
  macroF1: number;
  /** Two-class tasks: the F1 of the second class (spam; Republican); null with more classes. */
  f1: number | null;
  perClass: ClassScores[];
  examples: number;
}

/** Accuracy, per-class precision/recall/F1 and their macro mean, from predictions and labels. */
export function classificationScores(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  labelNames: readonly string[],
): SplitScores {
  const k = labelNames.length;
  const truePositive = new Array<number>(k).fill(0);
  const predictedCount = new Array<number>(k).fill(0);
  const support = new Array<number>(k).fill(0);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predicted[i]!;
    const y = labels[i]!;
    predictedCount[p]!++;
    support[y]!++;
    if (p === y) {
      correct++;
      truePositive[y]!++;
    }
  }
  const perClass = labelNames.map((label, c) => {
    const precision = predictedCount[c]! > 0 ? truePositive[c]! / predictedCount[c]! : 0;
    const recall = support[c]! > 0 ? truePositive[c]! / support[c]! : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support: support[c]! };
  });
  return {
    accuracy: labels.length > 0 ? correct / labels.length : Number.NaN,
    macroF1: perClass.reduce((sum, c) => sum + c.f1, 0) / k,
    f1: k === 2 ? perClass[1]!.f1 : null,
    perClass,
    examples: labels.length,
  };
}

/** The classifier's scores over a whole split. */
export async function scoreSplit(
  model: SequenceClassifier,
  split: ClassificationBatch,
  labelNames: readonly string[],
  batchSize: number,
): Promise<SplitScores> {
  const predicted = argmaxRows(await classProbabilities(model, split, batchSize), model.numLabels);
  return classificationScores(predicted, split.labels, labelNames);
}

/** The per-class table of a summary. */
export function perClassTable(scores: SplitScores): string[] {
  return [
    '| class | precision | recall | F1 | examples |',
    '| --- | --- | --- | --- | --- |',
    ...scores.perClass.map(
      (c) =>
        `| ${c.label} | ${c.precision.toFixed(3)} | ${c.recall.toFixed(3)} | ${c.f1.toFixed(3)} | ${c.support} |`,
    ),
  ];
}
