import type { Module, Parameter } from '@sibert/nn';
import { BertModel } from './bert.js';
import type { ModelConfig } from './config.js';
import type { EncoderInputs, EncoderOutput } from './inputs.js';
import { SibertModel } from './sibert.js';

/** What the heads, optimizers and checkpoints need of an encoder, whichever its family. */
export interface Encoder extends Module<[EncoderInputs], EncoderOutput> {
  readonly config: ModelConfig;
  /** The hidden states of a batch, and BERT's pooled [CLS] where it has a pooler. */
  encode(inputs: EncoderInputs): EncoderOutput;
  /**
   * The word embedding an MLM decoder shares (BERT ties them), or null: SIBERT's decoder keeps its
   * own matrix, because tying would put scale-invariant encoder parameters in the non-invariant head.
   */
  tiedInputEmbedding(): Parameter | null;
  /** The parameters the output is jointly scale invariant in (all of SIBERT's, none of BERT's). */
  scaleInvariantParameters(): Parameter[];
}

/** The encoder of `config`; `withPooler` false leaves BERT's pooler out (the MLM model's). */
export function createEncoder(config: ModelConfig, withPooler = config.pooler): Encoder {
  return config.family === 'bert' ? new BertModel(config, withPooler) : new SibertModel(config);
}
