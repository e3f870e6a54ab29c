import { Module, type Parameter } from '@sibert/nn';
import { mul, noGrad, RangeArgumentError, type Tensor, tensor, tidy } from '@sibert/tensor';
import type { ModelConfig } from './config.js';
import { createEncoder, type Encoder } from './encoder.js';
import {
  type AnyMlmHead,
  ClassificationHead,
  classificationLoss,
  clsState,
  type MaskedTargets,
  MlmHead,
  type MlmOutput,
  meanState,
  mlmLoss,
  ScaleInvariantMlmHead,
} from './heads.js';
import type { EncoderInputs } from './inputs.js';

/** Encoder + MLM head: the pretraining model. */
export class MaskedLanguageModel extends Module<[EncoderInputs, MaskedTargets], MlmOutput> {
  readonly task = 'mlm';
  encoder: Encoder;
  head: AnyMlmHead;

  constructor(readonly config: ModelConfig) {
    super();
    // No pooler: it serves classification, and MLM without next-sentence prediction gives it no gradient.
    this.encoder = createEncoder(config, false);
    this.head =
      config.mlmHead === 'scale-invariant'
        ? new ScaleInvariantMlmHead(config)
        : new MlmHead(config, this.encoder.tiedInputEmbedding());
  }

  forward(inputs: EncoderInputs, targets: MaskedTargets): MlmOutput {
    const { sequenceOutput } = this.encoder.encode(inputs);
    try {
      return mlmLoss(this.head, sequenceOutput, targets);
    } finally {
      sequenceOutput.dispose();
    }
  }
}

/** Encoder + classifier over [CLS] (BERT: over the pooler output) or the token mean: the fine-tuning model. */
export class SequenceClassifier extends Module<[EncoderInputs], Tensor> {
  readonly task = 'classification';
  encoder: Encoder;
  head: ClassificationHead;

  constructor(
    readonly config: ModelConfig,
    readonly numLabels: number,
  ) {
    super();
    this.encoder = createEncoder(config);
    this.head = new ClassificationHead(config, numLabels);
  }

  /** Logits [batch, numLabels]. */
  forward(inputs: EncoderInputs): Tensor {
    const { sequenceOutput, pooledOutput } = this.encoder.encode(inputs);
    let summary: Tensor;
    if (this.config.classifierPooling === 'mean') {
      pooledOutput?.dispose();
      summary = meanState(sequenceOutput, inputs.attentionMask ?? null);
    } else {
      summary = pooledOutput ?? clsState(sequenceOutput);
    }
    try {
      return this.head.forward(summary);
    } finally {
      sequenceOutput.dispose();
      summary.dispose();
    }
  }

  /** Mean cross-entropy against int32 labels [batch], and the count of correct predictions. */
  loss(inputs: EncoderInputs, labels: Tensor): { loss: Tensor; correct: Tensor; logits: Tensor } {
    const logits = this.forward(inputs);
    return { ...classificationLoss(logits, labels), logits };
  }
}

export interface ParamGroups {
  /**
   * Every parameter the loss is scale invariant in (SIBERT only): the encoder's and, with the
   * scale-invariant MLM head, the head's. SGD + weight decay + relative clipping.
   */
  scaleInvariant: [string, Parameter][];
  /**
   * `scaleInvariant` split into the sets the loss is *separately* invariant in, first the encoder
   * ('encoder'), then the head's parts ('head.transform', 'head.decoder'): each has its own norm,
   * and so its own effective LR and clipping threshold.
   */
  scaleInvariantParts: { name: string; params: [string, Parameter][] }[];
  /** Everything else (heads; all of BERT): LAMB or AdamW, or plain SGD for the SI head's τ and b. */
  other: [string, Parameter][];
}

/** Splits a model's parameters for the paper's optimizer recipe, as its encoder and head say which are scale invariant. */
export function paramGroups(model: MaskedLanguageModel | SequenceClassifier): ParamGroups {
  const sets: [string, Set<Parameter>][] = [['encoder', new Set(model.encoder.scaleInvariantParameters())]];
  if (model.head instanceof ScaleInvariantMlmHead) {
    for (const [name, params] of model.head.scaleInvariantParts())
      sets.push([`head.${name}`, new Set(params)]);
  }
  const parts = sets.map(([name]) => ({ name, params: [] as [string, Parameter][] }));
  const other: [string, Parameter][] = [];
  for (const entry of model.namedParameters()) {
    const part = sets.findIndex(([, set]) => set.has(entry[1]));
    (part < 0 ? other : parts[part]!.params).push(entry);
  }
  const scaleInvariantParts = parts.filter((p) => p.params.length > 0);
  return { scaleInvariant: scaleInvariantParts.flatMap((p) => p.params), scaleInvariantParts, other };
}

/**
 * Multiplies every encoder parameter by `factor`, in place: x₀ → c·x₀, the initial scale of the
 * paper's Figure 1. SIBERT's encoder output does not change (it is scale invariant), only its
 * parameter norm and so its effective learning rate η/‖x‖²; the heads keep their own
 * initialisation (BERT's decoder is tied to the word embeddings, so it scales with them). Scaling
 * the init std alone would not do this: LayerNorm gains start at 1 whatever the std.
 */
export function scaleEncoder(model: MaskedLanguageModel | SequenceClassifier, factor: number): void {
  if (!(Number.isFinite(factor) && factor > 0))
    throw new RangeArgumentError(`expected a positive finite factor, got ${factor}`, 'scaleEncoder');
  if (factor === 1) return;
  noGrad(() => {
    for (const p of model.encoder.parameters()) {
      const scaled = tidy(() => mul(p, factor));
      p.assign(scaled);
      scaled.dispose();
    }
  });
}

/**
 * Sets the MLM head's output bias to a log prior over the vocabulary (e.g. the training tokens'
 * unigram log-probabilities), less its mean: the untrained model then predicts word frequencies
 * and the loss starts near the unigram level instead of ln(vocab). HF's BERT starts this bias at
 * zero; so does the paper.
 */
export function initOutputBias(model: MaskedLanguageModel, logPrior: ArrayLike<number>): void {
  const vocab = model.config.vocabSize;
  if (logPrior.length !== vocab)
    throw new RangeArgumentError(
      `expected a log prior of ${vocab} values (the vocabulary), got ${logPrior.length}`,
      'initOutputBias',
    );
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    const value = logPrior[i]!;
    if (!Number.isFinite(value))
      throw new RangeArgumentError(
        `expected finite log-probabilities, got ${value} at id ${i}`,
        'initOutputBias',
      );
    sum += value;
  }
  const mean = sum / vocab;
  const centred = Float32Array.from({ length: vocab }, (_, i) => logPrior[i]! - mean);
  noGrad(() => {
    const values = tensor(centred, [vocab]);
    model.head.bias.assign(values);
    values.dispose();
  });
}
