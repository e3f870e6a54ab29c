import type { MlmBatch } from '@sibert/data';
import * as tf from '@tensorflow/tfjs-core';

/** The BERT shape parameters the TensorFlow.js model needs (as in @sibert/models' ModelConfig). */
export interface TfjsBertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  initStd: number;
  layerNormEps: number;
}

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

interface Norm {
  gamma: tf.Variable;
  beta: tf.Variable;
}

interface Layer {
  query: Dense;
  key: Dense;
  value: Dense;
  output: Dense;
  attentionNorm: Norm;
  intermediate: Dense;
  ffOutput: Dense;
  outputNorm: Norm;
}

/**
 * BERT (Post-LN: softmax attention, exact GELU, biases, affine LayerNorm via tf.moments) with the
 * MLM head (dense + GELU + LayerNorm, decoder tied to the word embeddings, output bias), written
 * with tfjs-core ops the way a TensorFlow.js user would, trained with `tf.train.sgd().minimize`.
 * No dropout (the bench runs both sides without it); no pooler (MLM does not use it).
 */
export class TfjsBertMlm {
  private readonly wordEmbeddings: tf.Variable;
  private readonly positionEmbeddings: tf.Variable;
  private readonly typeEmbeddings: tf.Variable;
  private readonly embeddingNorm: Norm;
  private readonly layers: Layer[];
  private readonly headTransform: Dense;
  private readonly headNorm: Norm;
  private readonly headBias: tf.Variable;
  private readonly optimizer: tf.SGDOptimizer;

  constructor(
    private readonly config: TfjsBertConfig,
    lr: number,
  ) {
    const c = config;
    const weight = (shape: number[]) => tf.variable(tf.truncatedNormal(shape, 0, c.initStd, 'float32', 1234));
    const dense = (inputs: number, outputs: number): Dense => ({
      w: weight([inputs, outputs]),
      b: tf.variable(tf.zeros([outputs])),
    });
    const norm = (): Norm => ({
      gamma: tf.variable(tf.ones([c.hiddenSize])),
      beta: tf.variable(tf.zeros([c.hiddenSize])),
    });
    this.wordEmbeddings = weight([c.vocabSize, c.hiddenSize]);
    this.positionEmbeddings = weight([c.maxPositions, c.hiddenSize]);
    this.typeEmbeddings = weight([c.typeVocabSize, c.hiddenSize]);
    this.embeddingNorm = norm();
    this.layers = Array.from({ length: c.numLayers }, () => ({
      query: dense(c.hiddenSize, c.hiddenSize),
      key: dense(c.hiddenSize, c.hiddenSize),
      value: dense(c.hiddenSize, c.hiddenSize),
      output: dense(c.hiddenSize, c.hiddenSize),
      attentionNorm: norm(),
      intermediate: dense(c.hiddenSize, c.intermediateSize),
      ffOutput: dense(c.intermediateSize, c.hiddenSize),
      outputNorm: norm(),
    }));
    this.headTransform = dense(c.hiddenSize, c.hiddenSize);
    this.headNorm = norm();
    this.headBias = tf.variable(tf.zeros([c.vocabSize]));
    this.optimizer = tf.train.sgd(lr);
  }

  /** Bytes of the parameters. */
  paramBytes(): number {
    return this.variables().reduce((n, v) => n + v.size * 4, 0);
  }

  variables(): tf.Variable[] {
    const dense = (d: Dense) => [d.w, d.b];
    const norm = (n: Norm) => [n.gamma, n.beta];
    return [
      this.wordEmbeddings,
      this.positionEmbeddings,
      this.typeEmbeddings,
      ...norm(this.embeddingNorm),
      ...this.layers.flatMap((l) => [
        ...dense(l.query),
        ...dense(l.key),
        ...dense(l.value),
        ...dense(l.output),
        ...norm(l.attentionNorm),
        ...dense(l.intermediate),
        ...dense(l.ffOutput),
        ...norm(l.outputNorm),
      ]),
      ...dense(this.headTransform),
      ...norm(this.headNorm),
      this.headBias,
    ];
  }

  private layerNorm(x: tf.Tensor, n: Norm): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.config.layerNormEps)));
    return tf.add(tf.mul(normalized, n.gamma), n.beta);
  }

  private dense(x: tf.Tensor2D, d: Dense): tf.Tensor2D {
    return tf.add(tf.matMul(x, d.w as tf.Tensor2D), d.b);
  }

  private static gelu(x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  }

  /** The mean MLM cross-entropy over the masked positions. */
  loss(batch: MlmBatch): tf.Scalar {
    const c = this.config;
    const { batchSize: B, seqLen: S } = batch;
    const H = c.numHeads;
    const D = c.hiddenSize / H;
    const ids = tf.tensor1d(batch.inputIds, 'int32');
    const types = tf.tensor1d(batch.tokenTypeIds, 'int32');
    // Positions 0..S−1 of every row: a slice of the table, broadcast over the batch.
    const positionRows = tf.tile(tf.slice(this.positionEmbeddings, [0, 0], [S, c.hiddenSize]), [B, 1]);
    let x = tf.add(
      tf.add(tf.gather(this.wordEmbeddings, ids), positionRows),
      tf.gather(this.typeEmbeddings, types),
    ) as tf.Tensor2D;
    x = this.layerNorm(x, this.embeddingNorm) as tf.Tensor2D;
    // Additive mask [B, 1, 1, S]: 0 for real tokens, −10000 for padding.
    const maskBias = tf.reshape(
      tf.mul(tf.sub(1, tf.tensor1d(Float32Array.from(batch.attentionMask))), -10000),
      [B, 1, 1, S],
    );
    const heads = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [B, S, H, D]), [0, 2, 1, 3]);
    for (const l of this.layers) {
      const q = heads(this.dense(x, l.query));
      const k = heads(this.dense(x, l.key));
      const v = heads(this.dense(x, l.value));
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), maskBias);
      const context = tf.matMul(tf.softmax(scores), v);
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * S, c.hiddenSize]) as tf.Tensor2D;
      const h = this.layerNorm(tf.add(x, this.dense(merged, l.output)), l.attentionNorm) as tf.Tensor2D;
      const ff = this.dense(TfjsBertMlm.gelu(this.dense(h, l.intermediate)) as tf.Tensor2D, l.ffOutput);
      x = this.layerNorm(tf.add(h, ff), l.outputNorm) as tf.Tensor2D;
    }
    const rows = tf.gather(x, tf.tensor1d(batch.maskedPositions, 'int32')) as tf.Tensor2D;
    const transformed = this.layerNorm(
      TfjsBertMlm.gelu(this.dense(rows, this.headTransform)),
      this.headNorm,
    ) as tf.Tensor2D;
    const logits = tf.add(
      tf.matMul(transformed, this.wordEmbeddings as tf.Tensor2D, false, true),
      this.headBias,
    );
    const labels = Int32Array.from(batch.maskedPositions, (p) => batch.labels[p]!);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), c.vocabSize), logits);
  }

  /** One SGD step (forward, backward, update); resolves to the loss before the update. */
  async step(batch: MlmBatch): Promise<number> {
    const cost = this.optimizer.minimize(() => this.loss(batch), true);
    const value = (await cost!.data())[0]!;
    cost!.dispose();
    return value;
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
    this.optimizer.dispose();
  }
}
