// Node-only parts of @sibert/data: the bundled corpora and tasks, and the user's text and
// labelled files, all read from disk.

export { SOTU_PARTIES, type SotuPartyOptions, sotuPartyTask, spamTask } from './bundled-tasks';
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
export { type PretrainingOptions, pretrainingDocuments } from './pretraining';
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
