export {
  BatchIterator,
  type BatchIteratorOptions,
  type BatchIteratorState,
  type IndexBatch,
} from './batching';
export {
  iterateSpamAssassin,
  loadMobyDick,
  loadSotu,
  loadSpamAssassin,
  type MobyDickChapter,
  type SotuAddress,
  type SpamAssassinEmail,
  type SpamLabel,
} from './corpora';
export { type DecodedEmail, decodeEmail } from './email';
export { type ClassificationBatch, type EncodeOptions, encodeExamples, selectRows } from './encode';
export {
  checkEncoding,
  DataFileError,
  DEFAULT_MAX_LINE_CHARS,
  expandTextPaths,
  type Line,
  type ReadOptions,
  readLines,
  TEXT_EXTENSIONS,
} from './files';
export { decodeHtmlEntities, htmlToText } from './html';
export {
  classList,
  type LabelledFields,
  type LabelledFile,
  type LabelledFormat,
  type LabelledReadOptions,
  type LabelledRecord,
  type LabelledTaskOptions,
  labelledExamples,
  labelledFormat,
  labelledTask,
  MAX_TEXT_CHARS,
  readLabelledFile,
} from './labelled';
export { IGNORE_INDEX, type MlmBatch, MlmCollator, type MlmCollatorOptions } from './mlm';
export { type PackOptions, packSequences } from './pack';
export {
  type CorpusName,
  type PretrainingDocument,
  type PretrainingOptions,
  pretrainingDocuments,
  tokenizeDocuments,
} from './pretraining';
export { Rng } from './random';
export {
  classBalance,
  DEFAULT_TASK_SEED,
  SOTU_PARTIES,
  type SotuPartyOptions,
  SPLIT_NAMES,
  type SplitName,
  sotuPartyTask,
  spamTask,
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
export {
  type EncodedText,
  type EncodeTextOptions,
  emptyTextStats,
  encodeTextDocuments,
  heldOutDocuments,
  jsonField,
  parseJsonRecord,
  type TextDocument,
  type TextDocumentOptions,
  type TextReadStats,
  textDocuments,
} from './user-text';
