import { Module, type Parameter } from '@sibert/nn';
import { SIEncoder } from '@sibert/scale-invariant';
import type { ModelConfig } from './config.js';
import type { Encoder } from './encoder.js';
import { checkEncoderInputs, type EncoderInputs, type EncoderOutput } from './inputs.js';

/**
 * SIBERT's encoder (Li et al., 2022): the scale-invariant encoder of @sibert/scale-invariant (SI
 * embedding stage, PreNorm layers with ReLU and SI attention, no forbidden biases, final N), built
 * from a model config. Its output N(z_L) is invariant to rescaling all its parameters jointly.
 */
export class SibertModel extends Module<[EncoderInputs], EncoderOutput> implements Encoder {
  // A #private field, so that Module does not register it as a child (see namedChildren).
  readonly #encoder: SIEncoder;

  constructor(readonly config: ModelConfig) {
    super();
    this.#encoder = new SIEncoder({
      vocabSize: config.vocabSize,
      hidden: config.hiddenSize,
      maxPositions: config.maxPositions,
      typeVocabSize: config.typeVocabSize,
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      intermediateSize: config.intermediateSize,
      dropout: config.hiddenDropout,
      attentionDropout: config.attentionDropout,
      normEps: config.layerNormEps,
      initStd: config.initStd,
    });
  }

  /**
   * The SI encoder's stages (`embeddings`, `layers.N`, `finalNorm`) are this module's children, so
   * parameter paths, and with them checkpoint names and optimizer state, read as they did when
   * SibertModel extended SIEncoder.
   */
  override namedChildren(): [string, Module][] {
    return this.#encoder.namedChildren();
  }

  /** The scale-invariant encoder itself: its stages, and the homogeneity checks of @sibert/scale-invariant. */
  get scaleInvariantEncoder(): SIEncoder {
    return this.#encoder;
  }

  encode(inputs: EncoderInputs): EncoderOutput {
    checkEncoderInputs('SibertModel', this.config, inputs);
    return { sequenceOutput: this.#encoder.forward(inputs.inputIds, inputs), pooledOutput: null };
  }

  /** Module's entry point: `encode`. */
  forward(inputs: EncoderInputs): EncoderOutput {
    return this.encode(inputs);
  }

  tiedInputEmbedding(): null {
    return null;
  }

  scaleInvariantParameters(): Parameter[] {
    return this.parameters();
  }
}
