import { SIEncoder } from '@sibert/scale-invariant';
import type { ModelConfig } from './config.js';
import { checkEncoderInputs, type EncoderInputs, type EncoderOutput } from './inputs.js';

/**
 * SIBERT's encoder (Li et al., 2022): the scale-invariant encoder of @sibert/scale-invariant (SI
 * embedding stage, PreNorm layers with ReLU and SI attention, no forbidden biases, final N), built
 * from a model config. Its output N(z_L) is invariant to rescaling all its parameters jointly.
 */
export class SibertModel extends SIEncoder {
  constructor(readonly modelConfig: ModelConfig) {
    super({
      vocabSize: modelConfig.vocabSize,
      hidden: modelConfig.hiddenSize,
      maxPositions: modelConfig.maxPositions,
      typeVocabSize: modelConfig.typeVocabSize,
      numLayers: modelConfig.numLayers,
      numHeads: modelConfig.numHeads,
      intermediateSize: modelConfig.intermediateSize,
      dropout: modelConfig.hiddenDropout,
      attentionDropout: modelConfig.attentionDropout,
      normEps: modelConfig.layerNormEps,
      initStd: modelConfig.initStd,
    });
  }

  encode(inputs: EncoderInputs): EncoderOutput {
    checkEncoderInputs('SibertModel', this.modelConfig, inputs);
    return { sequenceOutput: this.forward(inputs.inputIds, inputs), pooledOutput: null };
  }
}
