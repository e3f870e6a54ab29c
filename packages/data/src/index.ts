// Browser-safe parts of @sibert/data; what reads files is in @sibert/data/node.
export {
  BatchIterator,
  type BatchIteratorOptions,
  type BatchIteratorState,
  type IndexBatch,
} from './batching';
export { type CorpusName, type PretrainingDocument, tokenizeDocuments } from './documents';
export { type DecodedEmail, decodeEmail } from './email';
export { type ClassificationBatch, type EncodeOptions, encodeExamples, selectRows } from './encode';
export { decodeHtmlEntities, htmlToText } from './html';
export { IGNORE_INDEX, type MlmBatch, MlmCollator, type MlmCollatorOptions } from './mlm';
export { type PackOptions, packSequences } from './pack';
export { Rng } from './random';
export {
  classBalance,
  DEFAULT_TASK_SEED,
  SPLIT_NAMES,
  type SplitName,
  type TaskExample,
  type TaskOptions,
  type TaskSplits,
} from './tasks';
export { sentencePassages, splitParagraphs, splitSentences } from './text';
export { type SpecialTokenIds, specialTokenIds } from './tokens';
export {
  maskedLabels,
  type UnigramJson,
  UnigramModel,
  type UnigramOptions,
  type UnigramScore,
} from './unigram';
