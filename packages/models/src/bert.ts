import {
  additiveKeyPaddingMask,
  Dropout,
  Embedding,
  FeedForward,
  init,
  LayerNorm,
  Linear,
  Module,
  MultiHeadAttention,
  type Parameter,
} from '@sibert/nn';
import { add, arange, slice, squeeze, type Tensor, tanh, tidy, zerosLike } from '@sibert/tensor';
import type { ModelConfig } from './config.js';
import type { Encoder } from './encoder.js';
import { checkEncoderInputs, type EncoderInputs, type EncoderOutput } from './inputs.js';

/** The GELU variant of `config.hiddenAct` ('gelu_new' is the tanh approximation). */
export function geluApproximation(config: ModelConfig): 'none' | 'tanh' {
  return config.hiddenAct === 'gelu_new' ? 'tanh' : 'none';
}

/** Token + position + token-type embeddings, then LayerNorm (affine) and dropout, as BERT. */
export class BertEmbeddings extends Module<[EncoderInputs], Tensor> {
  wordEmbeddings: Embedding;
  positionEmbeddings: Embedding;
  tokenTypeEmbeddings: Embedding;
  layerNorm: LayerNorm;
  dropout: Dropout;

  constructor(config: ModelConfig) {
    super();
    const embeddingInit = { init: init.truncatedNormal(config.initStd) };
    this.wordEmbeddings = new Embedding(config.vocabSize, config.hiddenSize, {
      ...embeddingInit,
      ...(config.padTokenId === null ? {} : { paddingIdx: config.padTokenId }),
    });
    this.positionEmbeddings = new Embedding(config.maxPositions, config.hiddenSize, embeddingInit);
    this.tokenTypeEmbeddings = new Embedding(config.typeVocabSize, config.hiddenSize, embeddingInit);
    this.layerNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.dropout = new Dropout(config.hiddenDropout);
  }

  forward(inputs: EncoderInputs): Tensor {
    return tidy(() => {
      const seq = inputs.inputIds.shape[1]!;
      const positions = arange(0, seq, 1, 'int32');
      const types = inputs.tokenTypeIds ?? zerosLike(inputs.inputIds);
      const summed = add(
        add(this.wordEmbeddings.forward(inputs.inputIds), this.positionEmbeddings.forward(positions)),
        this.tokenTypeEmbeddings.forward(types),
      );
      return this.dropout.forward(this.layerNorm.forward(summed));
    });
  }
}

/** One Post-LN BERT layer: LN(x + Dropout(Attn(x))), then LN(h + FF(h)). */
export class BertLayer extends Module<[Tensor, Tensor | null], Tensor> {
  attention: MultiHeadAttention;
  attentionOutputDropout: Dropout;
  attentionNorm: LayerNorm;
  feedForward: FeedForward;
  outputNorm: LayerNorm;

  constructor(config: ModelConfig) {
    super();
    const weightInit = init.truncatedNormal(config.initStd);
    this.attention = new MultiHeadAttention(config.hiddenSize, config.numHeads, {
      attentionDropout: config.attentionDropout,
      init: weightInit,
    });
    this.attentionOutputDropout = new Dropout(config.hiddenDropout);
    this.attentionNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
    this.feedForward = new FeedForward(config.hiddenSize, config.intermediateSize, {
      dropout: config.hiddenDropout,
      approximate: geluApproximation(config),
      init: weightInit,
    });
    this.outputNorm = new LayerNorm(config.hiddenSize, { eps: config.layerNormEps });
  }

  forward(x: Tensor, additiveMask: Tensor | null): Tensor {
    return tidy(() => {
      const attended = this.attentionOutputDropout.forward(this.attention.forward(x, additiveMask));
      const h = this.attentionNorm.forward(add(x, attended));
      return this.outputNorm.forward(add(h, this.feedForward.forward(h)));
    });
  }
}

/**
 * The standard Post-LN BERT encoder (Devlin et al.): softmax attention, GELU, biases, affine
 * LayerNorm and (when `withPooler`) a pooler. The baseline the paper compares SIBERT against.
 */
export class BertModel extends Module<[EncoderInputs], EncoderOutput> implements Encoder {
  embeddings: BertEmbeddings;
  layers: BertLayer[];
  pooler: Linear | null;

  /** `withPooler` defaults to `config.pooler`; the MLM model passes false (HF's add_pooling_layer). */
  constructor(
    readonly config: ModelConfig,
    withPooler = config.pooler,
  ) {
    super();
    this.embeddings = new BertEmbeddings(config);
    this.layers = Array.from({ length: config.numLayers }, () => new BertLayer(config));
    this.pooler = withPooler
      ? new Linear(config.hiddenSize, config.hiddenSize, { weightInit: init.truncatedNormal(config.initStd) })
      : null;
  }

  encode(inputs: EncoderInputs): EncoderOutput {
    checkEncoderInputs('BertModel', this.config, inputs);
    return tidy(() => {
      const mask = inputs.attentionMask ? additiveKeyPaddingMask(inputs.attentionMask) : null;
      let hidden = this.embeddings.forward(inputs);
      for (const layer of this.layers) hidden = layer.forward(hidden, mask);
      const pooled = this.pooler
        ? tanh(this.pooler.forward(squeeze(slice(hidden, [0, 0], [-1, 1]), 1)))
        : null;
      return { sequenceOutput: hidden, pooledOutput: pooled };
    });
  }

  /** Module's entry point: `encode`. */
  forward(inputs: EncoderInputs): EncoderOutput {
    return this.encode(inputs);
  }

  tiedInputEmbedding(): Parameter {
    return this.embeddings.wordEmbeddings.weight;
  }

  scaleInvariantParameters(): Parameter[] {
    return [];
  }
}
