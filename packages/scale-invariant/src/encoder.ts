import { Dropout, Embedding, init, LayerNorm, Linear, Module } from '@sibert/nn';
import {
  add,
  arange,
  DTypeError,
  formatShape,
  RangeArgumentError,
  ShapeError,
  shapesEqual,
  type Tensor,
  tidy,
  zeros,
} from '@sibert/tensor';
import { SIAttention } from './attention.js';
import { SIFeedForward } from './feed-forward.js';
import type { Homogeneity, HomogeneousModule, Wiring } from './homogeneity.js';

/**
 * The eps of the SI LayerNorms. An eps breaks exact invariance once the variance of the normalised
 * tensor falls near it; the residual stream is 2-homogeneous, so its variance moves as c⁴ when the
 * parameters scale by c. 1e-20 keeps outputs within 1e-6 relative for c down to 1e-3 at BERT's
 * initial scale, and still avoids 0/0 on a constant row.
 */
export const SI_NORM_EPS = 1e-20;

export interface SIEncoderLayerOptions {
  hidden: number;
  numHeads: number;
  intermediateSize: number;
  /** Dropout on the attention and feed-forward outputs. Default 0.1. */
  dropout?: number;
  /** Dropout on the attention weights. Default 0.1. */
  attentionDropout?: number;
  /** Query/key/value biases (allowed: the attention input N(z) is 0-homogeneous). Default false. */
  qkvBias?: boolean;
  /** LayerNorm eps. Default SI_NORM_EPS. */
  normEps?: number;
  /** Std of the truncated-normal weight init. Default 0.02. */
  initStd?: number;
}

/**
 * The PreNorm SI encoder layer, (2; 2)-homogeneous: h = z + ATTN(N(z)), z' = h + FF(N(h)), where N is
 * LayerNorm without affine parameters. N(z) is 0-homogeneous and ATTN and FF map 0 to 2, so each
 * residual sum adds two 2-homogeneous tensors. Dropout multiplies by parameter-free masks and keeps
 * degrees.
 */
export class SIEncoderLayer extends Module<[Tensor, (Tensor | null)?]> implements HomogeneousModule {
  attentionNorm: LayerNorm;
  attention: SIAttention;
  feedForwardNorm: LayerNorm;
  feedForward: SIFeedForward;
  dropout: Dropout;
  readonly hidden: number;
  readonly homogeneity: Homogeneity = { input: 2, output: 2 };

  constructor(options: SIEncoderLayerOptions) {
    super();
    const { hidden, numHeads, intermediateSize } = options;
    this.hidden = hidden;
    const norm = { elementwiseAffine: false, eps: options.normEps ?? SI_NORM_EPS };
    const weights = init.truncatedNormal(options.initStd ?? 0.02);
    this.attentionNorm = new LayerNorm(hidden, norm);
    this.attention = new SIAttention(hidden, numHeads, {
      qkvBias: options.qkvBias ?? false,
      attentionDropout: options.attentionDropout ?? 0.1,
      init: weights,
    });
    this.feedForwardNorm = new LayerNorm(hidden, norm);
    this.feedForward = new SIFeedForward(hidden, intermediateSize, { init: weights });
    this.dropout = new Dropout(options.dropout ?? 0.1);
  }

  /** z [batch, seq, hidden]; keyMask [batch, seq], 1 = attend, 0 = padding. */
  forward(z: Tensor, keyMask: Tensor | null = null): Tensor {
    if (z.rank !== 3 || z.shape[2] !== this.hidden) {
      throw new ShapeError(
        `expected input [batch, seq, ${this.hidden}], got ${formatShape(z.shape)}`,
        'SIEncoderLayer',
      );
    }
    return tidy(() => {
      const h = add(z, this.dropout.forward(this.attention.forward(this.attentionNorm.forward(z), keyMask)));
      return add(h, this.dropout.forward(this.feedForward.forward(this.feedForwardNorm.forward(h))));
    });
  }

  homogeneityWiring(): Wiring {
    return {
      input: 'z',
      steps: [
        { op: 'module', module: 'attentionNorm', input: 'z', output: 'u' },
        { op: 'module', module: 'attention', input: 'u', output: 'a' },
        { op: 'module', module: 'dropout', input: 'a', output: 'a2' },
        { op: 'add', inputs: ['z', 'a2'], output: 'h', label: 'attention residual' },
        { op: 'module', module: 'feedForwardNorm', input: 'h', output: 'v' },
        { op: 'module', module: 'feedForward', input: 'v', output: 'f' },
        { op: 'module', module: 'dropout', input: 'f', output: 'f2' },
        { op: 'add', inputs: ['h', 'f2'], output: 'out', label: 'feed-forward residual' },
      ],
      output: 'out',
    };
  }
}

export interface SIEmbeddingOptions {
  vocabSize: number;
  hidden: number;
  /** Default 512. */
  maxPositions?: number;
  /**
   * Segment types; 0 (the default) for none. A token-type table used with one segment is a shared
   * offset before the LayerNorm: under plain SGD it takes the gradient of every token in the batch
   * at once, outgrows the word embeddings and drowns which token is where (the encoder then
   * predicts word frequencies only). Give 2 only for sentence-pair inputs.
   */
  typeVocabSize?: number;
  /** Token id whose embedding is zero and never updated (PyTorch's padding_idx). */
  paddingIdx?: number;
  /** Dropout after the embedding LayerNorm. Default 0.1. */
  dropout?: number;
  /** eps of the embedding LayerNorm. Default SI_NORM_EPS. */
  normEps?: number;
  /** Std of the truncated-normal init. Default 0.02. */
  initStd?: number;
}

/**
 * The embedding stage, (0; 2)-homogeneous: e = word + position (+ token-type) embeddings (each
 * 1-homogeneous, data in, so the sum is 1-homogeneous), then LayerNorm *with* affine parameters
 * (γ·N(e) + β, 1-homogeneous: N(e) is 0-homogeneous and γ, β scale with c), then a Linear without bias
 * (2-homogeneous). This is BERT's embedding block plus a bias-free projection. (N without affine
 * followed by a Linear would give only a 1-homogeneous stream.)
 */
export class SIEmbedding extends Module<[Tensor, (Tensor | null)?]> implements HomogeneousModule {
  wordEmbeddings: Embedding;
  positionEmbeddings: Embedding;
  /** Null when the stage has no segment types (typeVocabSize 0). */
  tokenTypeEmbeddings: Embedding | null;
  norm: LayerNorm;
  dropout: Dropout;
  projection: Linear;
  readonly homogeneity: Homogeneity = { input: 0, output: 2 };

  constructor(options: SIEmbeddingOptions) {
    super();
    const { vocabSize, hidden } = options;
    const weights = init.truncatedNormal(options.initStd ?? 0.02);
    this.wordEmbeddings = new Embedding(vocabSize, hidden, {
      init: weights,
      ...(options.paddingIdx === undefined ? {} : { paddingIdx: options.paddingIdx }),
    });
    this.positionEmbeddings = new Embedding(options.maxPositions ?? 512, hidden, { init: weights });
    const types = options.typeVocabSize ?? 0;
    if (!(Number.isInteger(types) && types >= 0))
      throw new RangeArgumentError(
        `expected typeVocabSize to be an integer ≥ 0, got ${types}`,
        'SIEmbedding',
      );
    this.tokenTypeEmbeddings = types > 0 ? new Embedding(types, hidden, { init: weights }) : null;
    this.norm = new LayerNorm(hidden, { eps: options.normEps ?? SI_NORM_EPS });
    this.dropout = new Dropout(options.dropout ?? 0.1);
    this.projection = new Linear(hidden, hidden, { bias: false, weightInit: weights });
  }

  /** inputIds [batch, seq] int32; tokenTypeIds [batch, seq] int32 (default all 0; only with a type table). */
  forward(inputIds: Tensor, tokenTypeIds: Tensor | null = null): Tensor {
    const op = 'SIEmbedding';
    if (inputIds.dtype !== 'int32')
      throw new DTypeError(`expected int32 input ids, got ${inputIds.dtype}`, op);
    if (inputIds.rank !== 2)
      throw new ShapeError(`expected input ids [batch, seq], got ${formatShape(inputIds.shape)}`, op);
    const [batch, seq] = inputIds.shape as [number, number];
    if (seq > this.positionEmbeddings.numEmbeddings) {
      throw new ShapeError(
        `sequence length ${seq} exceeds maxPositions ${this.positionEmbeddings.numEmbeddings} (input ids ${formatShape(inputIds.shape)})`,
        op,
      );
    }
    if (tokenTypeIds && !this.tokenTypeEmbeddings) {
      throw new RangeArgumentError(
        'this embedding stage has no token types (typeVocabSize 0): pass no tokenTypeIds',
        op,
      );
    }
    if (tokenTypeIds && !shapesEqual(tokenTypeIds.shape, inputIds.shape)) {
      throw new ShapeError(
        `expected token type ids ${formatShape(inputIds.shape)} like the input ids, got ${formatShape(tokenTypeIds.shape)}`,
        op,
      );
    }
    return tidy(() => {
      const positions = this.positionEmbeddings.forward(arange(0, seq, 1, 'int32'));
      const words = add(this.wordEmbeddings.forward(inputIds), positions);
      const sum = this.tokenTypeEmbeddings
        ? add(words, this.tokenTypeEmbeddings.forward(tokenTypeIds ?? zeros([batch, seq], 'int32')))
        : words;
      return this.projection.forward(this.dropout.forward(this.norm.forward(sum)));
    });
  }

  homogeneityWiring(): Wiring {
    return {
      input: 'ids',
      steps: [
        { op: 'module', module: 'wordEmbeddings', input: 'ids', output: 'word' },
        { op: 'module', module: 'positionEmbeddings', input: 'ids', output: 'position' },
        ...(this.tokenTypeEmbeddings
          ? [{ op: 'module', module: 'tokenTypeEmbeddings', input: 'ids', output: 'type' } as const]
          : []),
        {
          op: 'add',
          inputs: this.tokenTypeEmbeddings ? ['word', 'position', 'type'] : ['word', 'position'],
          output: 'e',
          label: 'embedding sum',
        },
        { op: 'module', module: 'norm', input: 'e', output: 'n' },
        { op: 'module', module: 'dropout', input: 'n', output: 'd' },
        { op: 'module', module: 'projection', input: 'd', output: 'y' },
      ],
      output: 'y',
    };
  }
}

export interface SIEncoderConfig extends SIEmbeddingOptions {
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** Dropout on the attention weights. Default 0.1. */
  attentionDropout?: number;
  /** Query/key/value biases. Default false. */
  qkvBias?: boolean;
}

export interface SIEncoderInputs {
  /** [batch, seq] int32; default all 0. Only for an encoder with token types (typeVocabSize > 0). */
  tokenTypeIds?: Tensor | null;
  /** [batch, seq], 1 = real token, 0 = padding (int32 or float32). */
  attentionMask?: Tensor | null;
}

/**
 * SIBERT's encoder: SIEmbedding → numLayers × SIEncoderLayer → N (LayerNorm without affine).
 * (0; 0)-homogeneous: its output, and any loss computed from it by parameters outside the encoder,
 * is scale invariant in all encoder parameters jointly. Output [batch, seq, hidden].
 */
export class SIEncoder extends Module<[Tensor, SIEncoderInputs?]> implements HomogeneousModule {
  embeddings: SIEmbedding;
  layers: SIEncoderLayer[];
  finalNorm: LayerNorm;
  readonly homogeneity: Homogeneity = { input: 0, output: 0 };

  constructor(readonly config: SIEncoderConfig) {
    super();
    this.embeddings = new SIEmbedding(config);
    this.layers = Array.from(
      { length: config.numLayers },
      () =>
        new SIEncoderLayer({
          hidden: config.hidden,
          numHeads: config.numHeads,
          intermediateSize: config.intermediateSize,
          ...pick(config, ['dropout', 'attentionDropout', 'qkvBias', 'normEps', 'initStd']),
        }),
    );
    this.finalNorm = new LayerNorm(config.hidden, {
      elementwiseAffine: false,
      eps: config.normEps ?? SI_NORM_EPS,
    });
  }

  forward(inputIds: Tensor, inputs: SIEncoderInputs = {}): Tensor {
    const mask = inputs.attentionMask ?? null;
    if (mask && !shapesEqual(mask.shape, inputIds.shape)) {
      throw new ShapeError(
        `expected an attention mask ${formatShape(inputIds.shape)} like the input ids, got ${formatShape(mask.shape)}`,
        'SIEncoder',
      );
    }
    return tidy(() => {
      let z = this.embeddings.forward(inputIds, inputs.tokenTypeIds ?? null);
      for (const layer of this.layers) z = layer.forward(z, mask);
      return this.finalNorm.forward(z);
    });
  }

  homogeneityWiring(): Wiring {
    const steps: Wiring['steps'][number][] = [
      { op: 'module', module: 'embeddings', input: 'ids', output: 'z0' },
    ];
    this.layers.forEach((_, i) => {
      steps.push({ op: 'module', module: `layers.${i}`, input: `z${i}`, output: `z${i + 1}` });
    });
    steps.push({ op: 'module', module: 'finalNorm', input: `z${this.layers.length}`, output: 'y' });
    return { input: 'ids', steps, output: 'y' };
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
