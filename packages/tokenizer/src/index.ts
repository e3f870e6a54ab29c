export { type EncoderWorkerApi, serveEncoderWorker } from './encoder-worker-api';
export { TokenizerError } from './errors';
export type { TokenizerJson } from './json';
export type { NormalizerOptions } from './normalizer';
export {
  type CorpusOptions,
  type CorpusSource,
  type CorpusSplit,
  EncoderPool,
  type EncoderPoolOptions,
  encodeCorpus,
} from './pool';
export type { Encoding, PaddingOptions, TruncationOptions, TruncationStrategy } from './postprocess';
export {
  type AddedToken,
  BertTokenizer,
  type BertTokenizerOptions,
  type DecodeOptions,
  type EncodeOptions,
  type PaddingDefaults,
  parseVocabTxt,
  type TextInput,
  type TokenizerConfig,
} from './tokenizer';
export { trainWordPiece, WordPieceTrainer, type WordPieceTrainerOptions } from './trainer';
