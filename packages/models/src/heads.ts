import { Dropout, GELU, init, LayerNorm, Linear, Module, Parameter, ReLU } from '@sibert/nn';
import {
  add,
  argmax,
  cast,
  crossEntropy,
  DTypeError,
  div,
  equal,
  expandDims,
  formatShape,
  gather,
  matmul,
  mean,
  mul,
  noGrad,
  reshape,
  ShapeError,
  slice,
  sqrt,
  squeeze,
  sum,
  sumOfSquares,
  type Tensor,
  tidy,
  zeros,
} from '@sibert/tensor';
import type { ModelConfig } from './config.js';

/**
 * The MLM head: transform (dense → GELU → LayerNorm) then the decoder to vocabulary logits. BERT
 * ties the decoder to the input word embeddings; SIBERT gives it its own matrix, because tying
 * would put scale-invariant encoder parameters in the non-invariant head.
 */
export class MlmHead extends Module<[Tensor], Tensor> {
  transform: Linear;
  activation: GELU;
  transformNorm: LayerNorm;
  /** Own decoder weight [vocab, hidden]; null when tied. */
  decoder: Linear | null;
  bias: Parameter;
  private readonly tiedWeight: Parameter | null;

  constructor(config: ModelConfig, tiedWeight: Parameter | null) {
    super();
    const weightInit = init.truncatedNormal(config.initStd);
    this.transform = new Linear(config.hiddenSize, config.hiddenSize, { weightInit });
    // HF's transform uses the config's hidden_act too; SIBERT's head keeps exact GELU.
    this.activation = new GELU({ approximate: config.hiddenAct === 'gelu_new' ? 'tanh' : 'none' });
    this.transformNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.tiedWeight = tiedWeight;
    this.decoder = tiedWeight
      ? null
      : new Linear(config.hiddenSize, config.vocabSize, { bias: false, weightInit });
    this.bias = new Parameter(zeros([config.vocabSize]), 'bias');
  }

  /** Vocabulary logits [..., vocab] for hidden states [..., hidden]. */
  forward(hidden: Tensor): Tensor {
    return tidy(() => {
      const h = this.transformNorm.forward(this.activation.forward(this.transform.forward(hidden)));
      const weight = this.decoder ? this.decoder.weight : this.tiedWeight!;
      const flat = reshape(h, [-1, h.shape[h.rank - 1]!]);
      const logits = add(matmul(flat, weight, { transposeB: true }), this.bias);
      return reshape(logits, [...h.shape.slice(0, -1), weight.shape[0]!]);
    });
  }
}

/**
 * SIBERT's MLM head for training by plain SGD (`mlmHead: 'scale-invariant'`): u = N(ReLU(W_t·h + b_t)),
 * logits = τ·(u·W_dᵀ)/‖W_d‖_F + b. The loss is scale invariant in (W_t, b_t) jointly (ReLU is
 * 1-homogeneous, N removes the scale) and in W_d (divided by its own norm), so both train by SGD
 * with weight decay at an effective LR η/‖x‖², as the encoder does; only the temperature τ and the
 * output bias b are left with a scale, two plain-SGD parameters with no weight decay. τ starts at
 * ‖W_d‖_F, so the first logits are those of an unnormalised decoder. The standard head (GELU,
 * LayerNorm gain and bias, an unnormalised decoder) has no such invariance and needs an adaptive
 * optimizer (the paper: LAMB).
 */
export class ScaleInvariantMlmHead extends Module<[Tensor], Tensor> {
  transform: Linear;
  activation: ReLU;
  transformNorm: LayerNorm;
  decoder: Linear;
  temperature: Parameter;
  bias: Parameter;

  constructor(config: ModelConfig) {
    super();
    const weightInit = init.truncatedNormal(config.initStd);
    this.transform = new Linear(config.hiddenSize, config.hiddenSize, { weightInit });
    this.activation = new ReLU();
    this.transformNorm = new LayerNorm(config.hiddenSize, {
      elementwiseAffine: false,
      eps: config.layerNormEps,
    });
    this.decoder = new Linear(config.hiddenSize, config.vocabSize, { bias: false, weightInit });
    const norm = noGrad(() => tidy(() => reshape(sqrt(sumOfSquares(this.decoder.weight)), [1])));
    this.temperature = new Parameter(norm, 'temperature');
    this.bias = new Parameter(zeros([config.vocabSize]), 'bias');
  }

  /** The parameter sets the loss is separately scale invariant in, by module path below the head. */
  scaleInvariantParts(): [string, Parameter[]][] {
    return [
      ['transform', this.transform.parameters()],
      ['decoder', [this.decoder.weight]],
    ];
  }

  /** Vocabulary logits [..., vocab] for hidden states [..., hidden]. */
  forward(hidden: Tensor): Tensor {
    return tidy(() => {
      const u = this.transformNorm.forward(this.activation.forward(this.transform.forward(hidden)));
      const weight = this.decoder.weight;
      const flat = reshape(u, [-1, u.shape[u.rank - 1]!]);
      const scale = div(this.temperature, sqrt(sumOfSquares(weight)));
      const logits = add(mul(matmul(flat, weight, { transposeB: true }), scale), this.bias);
      return reshape(logits, [...u.shape.slice(0, -1), weight.shape[0]!]);
    });
  }
}

/** Either MLM head: what `mlmLoss` and the output-bias prior need of it. */
export type AnyMlmHead = MlmHead | ScaleInvariantMlmHead;

/** Masked positions of a batch: flat indices into [batch·seq] and the original token ids there. */
export interface MaskedTargets {
  /** int32 [M]: flat positions (row · seq + column) of the masked tokens. */
  positions: Tensor;
  /** int32 [M]: the ids to predict at those positions. */
  labels: Tensor;
}

/** Splits MLM labels (−100 = not masked) into flat positions and targets, on the host. */
export function maskedTargetsFromLabels(
  labels: Int32Array,
  ignoreIndex = -100,
): { positions: Int32Array; labels: Int32Array } {
  const positions: number[] = [];
  const targets: number[] = [];
  labels.forEach((label, i) => {
    if (label !== ignoreIndex) {
      positions.push(i);
      targets.push(label);
    }
  });
  return { positions: Int32Array.from(positions), labels: Int32Array.from(targets) };
}

export interface MlmOutput {
  /** Mean cross-entropy over the masked positions. */
  loss: Tensor;
  /** Fraction of masked positions predicted exactly (no gradient). */
  accuracy: Tensor;
}

/**
 * The MLM loss computed only at the masked positions: the hidden states are gathered first, so
 * the decoder (most of the head's cost) runs on M rows instead of batch·seq.
 */
export function mlmLoss(head: AnyMlmHead, sequenceOutput: Tensor, targets: MaskedTargets): MlmOutput {
  if (sequenceOutput.rank !== 3) {
    throw new ShapeError(
      `expected sequenceOutput [batch, seq, hidden], got ${formatShape(sequenceOutput.shape)}`,
      'mlmLoss',
    );
  }
  for (const [name, t] of Object.entries(targets)) {
    if (t.dtype !== 'int32' || t.rank !== 1) {
      throw new DTypeError(
        `expected ${name} as int32 [M], got ${t.dtype} ${formatShape(t.shape)}`,
        'mlmLoss',
      );
    }
  }
  return tidy(() => {
    const hidden = sequenceOutput.shape[2]!;
    const rows = gather(reshape(sequenceOutput, [-1, hidden]), targets.positions, 0);
    const logits = head.forward(rows);
    const loss = crossEntropy(logits, targets.labels);
    const accuracy = mean(cast(equal(argmax(logits, -1), targets.labels), 'float32'));
    return { loss, accuracy };
  });
}

/**
 * Sequence classification over [CLS]: dropout then a linear layer. BERT feeds it the pooler output;
 * SIBERT the normalised [CLS] state N(z_L)[0], which is scale invariant in the encoder.
 */
export class ClassificationHead extends Module<[Tensor], Tensor> {
  dropout: Dropout;
  classifier: Linear;

  constructor(
    config: ModelConfig,
    readonly numLabels: number,
  ) {
    super();
    this.dropout = new Dropout(config.hiddenDropout);
    this.classifier = new Linear(config.hiddenSize, numLabels, {
      weightInit: init.truncatedNormal(config.initStd),
    });
  }

  /** Logits [batch, numLabels] from a [batch, hidden] summary of each sequence. */
  forward(summary: Tensor): Tensor {
    return this.classifier.forward(this.dropout.forward(summary));
  }
}

/** The mean over real tokens (attentionMask 1) of [batch, seq, hidden]; over all tokens without a mask. */
export function meanState(sequenceOutput: Tensor, attentionMask: Tensor | null = null): Tensor {
  return tidy(() => {
    if (!attentionMask) return mean(sequenceOutput, 1);
    const weights = expandDims(cast(attentionMask, 'float32'), -1);
    return div(sum(mul(sequenceOutput, weights), 1), sum(weights, 1));
  });
}

/** The [CLS] (first) position of [batch, seq, hidden]. */
export function clsState(sequenceOutput: Tensor): Tensor {
  return tidy(() => squeeze(slice(sequenceOutput, [0, 0], [-1, 1]), 1));
}

/** Mean cross-entropy and the number of correct predictions of classification logits. */
export function classificationLoss(logits: Tensor, labels: Tensor): { loss: Tensor; correct: Tensor } {
  return tidy(() => ({
    loss: crossEntropy(logits, labels),
    correct: sum(cast(equal(argmax(logits, -1), labels), 'float32')),
  }));
}
