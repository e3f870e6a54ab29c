// What the page and its two workers (data preparation, training) say to each other over comlink.
import type { TokenizerJson } from '@sibert/tokenizer';

export type ModelChoice = 'sibert-tiny' | 'sibert-mini';
export type BackendChoice = 'webgpu' | 'cpu';

export interface DataSpec {
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  seed: number;
}

export interface PretrainSpec extends DataSpec {
  model: ModelChoice;
  backend: BackendChoice;
  steps: number;
  /** The MLM head's output bias at init: the unigram log prior (the recipe's) or zero (HF's). */
  outputBias: 'unigram' | 'zero';
}

/** The data worker's answer once the text is tokenised and packed. */
export interface PreparedData {
  tokenizer: TokenizerJson;
  documents: number;
  trainSequences: number;
  heldOutSequences: number;
  /** The unigram model of the training tokens scored on the held-out masked positions (nats). */
  baseline: number;
  /** ln p of every id under that model: the MLM head's output bias at init. */
  logPrior: Float64Array;
  /** Web Workers the tokenizer's pool encoded on. */
  encoderWorkers: number;
  /** Milliseconds: tokenizer training, then encoding and packing. */
  tokenizerMs: number;
  encodeMs: number;
}

/** The page hears these while training runs. */
export type TrainEvent =
  | { kind: 'status'; text: string }
  | { kind: 'backend'; name: string; detail: string }
  | {
      kind: 'step';
      phase: 'pretrain' | 'finetune';
      step: number;
      steps: number;
      loss: number;
      /** Mean over the steps so far, the first (shader compilation, JIT) excluded. */
      msPerStep: number;
      tokensPerSec: number;
    };

export interface PretrainResult {
  status: 'done' | 'interrupted' | 'diverged';
  steps: number;
  /** The held-out MLM loss after training, beside the unigram baseline of the same positions. */
  heldOutLoss: number;
  baseline: number;
  msPerStep: number;
}

export interface FinetuneSpec {
  steps: number;
  batchSize: number;
  maxLength: number;
  lr: number;
}

export interface FinetuneResult {
  steps: number;
  testAccuracy: number;
  /** The share of the test split in its most frequent class. */
  majorityAccuracy: number;
  majorityLabel: string;
  testExamples: number;
  msPerStep: number;
}

export interface Classified {
  label: string;
  probabilities: Record<string, number>;
}

/** A labelled example as `scripts/build.mjs` bundles it (from the spam task). */
export interface LabelledSample {
  labelNames: string[];
  train: { text: string; label: number }[];
  test: { text: string; label: number }[];
}
