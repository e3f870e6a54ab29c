import { stat } from 'node:fs/promises';
import {
  BatchIterator,
  type BatchIteratorState,
  type CorpusName,
  type MlmBatch,
  MlmCollator,
  maskedLabels,
  packSequences,
  specialTokenIds,
  tokenizeDocuments,
  UnigramModel,
  type UnigramScore,
} from '@sibert/data';
import {
  DataFileError,
  encodeTextDocuments,
  expandTextPaths,
  heldOutDocuments,
  pretrainingDocuments,
  type TextReadStats,
} from '@sibert/data/node';
import { BertTokenizer, type TokenizerJson } from '@sibert/tokenizer';
import type { PretrainOptions } from './options.js';

/** Every this-many-th document of the bundled corpora is held out of pretraining, for `sibert-train eval`. */
export const HELD_OUT_EVERY = 50;
/** The run folder's copy of the unigram model of its training tokens (the baseline's model). */
export const UNIGRAM_FILE = 'unigram.json';
/** The mask seed of held-out batches is fixed, so evaluations of different runs compare. */
const HELD_OUT_MASK_SEED = 7_919;

/** The user's text files, as a run reads them. */
export interface TextSource {
  /** Absolute paths, in reading order. */
  files: string[];
  textField: string;
  encoding: string;
  /** The share of the documents held out, drawn by the run's seed. */
  holdout: number;
}

/** A text file as the run first read it: a resume or an evaluation checks it is still the same. */
export interface TextFileRecord {
  path: string;
  bytes: number;
}

/** The files `--text` names, with their sizes. */
export async function resolveTextFiles(patterns: readonly string[]): Promise<TextFileRecord[]> {
  const files = await expandTextPaths(patterns);
  return Promise.all(files.map(async (path) => ({ path, bytes: (await stat(path)).size })));
}

/** Checks that a run's text files are still there, at the size they had; an error names each that is not. */
export async function checkTextFiles(records: readonly TextFileRecord[]): Promise<void> {
  const problems: string[] = [];
  for (const { path, bytes } of records) {
    const now = await stat(path).catch(() => null);
    if (!now) problems.push(`${path} is gone`);
    else if (now.size !== bytes)
      problems.push(`${path} has changed (${bytes} bytes when the run started, ${now.size} now)`);
  }
  if (problems.length > 0)
    throw new DataFileError(
      `the run's text files are not what it was trained on: ${problems.join('; ')} (start a new run to train on the new text)`,
    );
}

/** Runs written before --text existed read only bundled corpora. */
export function withTextDefaults(options: PretrainOptions): PretrainOptions {
  return {
    ...options,
    text: options.text ?? [],
    textField: options.textField ?? 'text',
    holdout: options.holdout ?? 0.02,
    encoding: options.encoding ?? 'utf-8',
  };
}

/** The user's text as the run reads it (null for bundled corpora only). */
export function textSourceOf(options: PretrainOptions, files: readonly TextFileRecord[]): TextSource | null {
  return options.text.length === 0
    ? null
    : {
        files: files.map((f) => f.path),
        textField: options.textField,
        encoding: options.encoding,
        holdout: options.holdout,
      };
}

/** What was read from the user's files (null when the run reads only bundled corpora). */
export type TextCounts = (TextReadStats & { tokens: number; heldOutDocuments: number }) | null;

export interface PretrainDataSpec {
  tokenizer: TokenizerJson;
  corpora: CorpusName[];
  text: TextSource | null;
  seqLen: number;
  batchSize: number;
  seed: number;
  /** Keep at most this many training sequences (0: all). */
  maxSequences: number;
  /** Where the batch stream starts (a checkpoint's data position). */
  state?: BatchIteratorState;
}

export interface PretrainBatch {
  batch: MlmBatch;
  /** The data position after this batch: what a checkpoint taken after it stores. */
  stateAfter: BatchIteratorState;
}

/** Reading progress of the user's files, while they are tokenised. */
export type ReadProgress = (counts: TextReadStats & { tokens: number }) => void;

/** Documents' ids packed into [CLS] … [SEP] sequences, at most `limit` of them (0: all). */
function pack(
  documents: Iterable<Int32Array>,
  tokenizer: BertTokenizer,
  seqLen: number,
  limit = 0,
): Int32Array[] {
  const ids = specialTokenIds(tokenizer);
  const out: Int32Array[] = [];
  for (const sequence of packSequences(documents, { seqLen, clsId: ids.cls, sepId: ids.sep })) {
    out.push(sequence);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

/** Sequences in fixed batches with the held-out masks: what every MLM evaluation scores. */
function evaluationBatches(
  sequences: readonly Int32Array[],
  collator: MlmCollator,
  batchSize: number,
): MlmBatch[] {
  const batches: MlmBatch[] = [];
  for (let start = 0, step = 0; start < sequences.length; start += batchSize, step++) {
    batches.push(collator.collate(sequences.slice(start, start + batchSize), step));
  }
  return batches;
}

/**
 * Any text files as evaluation batches of a run's tokenizer and sequence length (every document
 * scored, none held back), for `sibert-train eval --text`.
 */
export async function textEvaluationBatches(
  source: Omit<TextSource, 'holdout'>,
  tokenizer: BertTokenizer,
  seqLen: number,
  batchSize: number,
  onProgress?: ReadProgress,
): Promise<{ batches: MlmBatch[]; sequences: number; counts: NonNullable<TextCounts> }> {
  const encoded = await encodeTextDocuments(source.files, tokenizer, {
    textField: source.textField,
    encoding: source.encoding,
    ...(onProgress ? { onProgress } : {}),
  });
  const sequences = pack(encoded.documents, tokenizer, seqLen);
  return {
    batches: evaluationBatches(
      sequences,
      MlmCollator.forTokenizer(tokenizer, { seqLen, seed: HELD_OUT_MASK_SEED }),
      batchSize,
    ),
    sequences: sequences.length,
    counts: { ...encoded.stats, tokens: encoded.tokens, heldOutDocuments: 0 },
  };
}

/**
 * The pretraining stream: documents of the bundled corpora (every 50th held out) and of the
 * user's files (a seeded share held out), tokenized and packed into [CLS] … [SEP] sequences;
 * batches shuffled per epoch by seed and masked by (seed, step), so a run resumed from a data
 * position sees the same batches.
 */
export class PretrainData {
  private constructor(
    readonly train: Int32Array[],
    readonly heldOut: Int32Array[],
    private readonly collator: MlmCollator,
    private readonly heldOutCollator: MlmCollator,
    private readonly iterator: BatchIterator,
    readonly unigram: UnigramModel,
    readonly textCounts: TextCounts,
  ) {}

  static async build(spec: PretrainDataSpec, onProgress?: ReadProgress): Promise<PretrainData> {
    const tokenizer = BertTokenizer.fromTokenizerJson(spec.tokenizer);
    const ids = specialTokenIds(tokenizer);
    const bundled = [...pretrainingDocuments({ corpora: spec.corpora })];
    let userTrain: Int32Array[] = [];
    let userHeldOut: Int32Array[] = [];
    let textCounts: TextCounts = null;
    if (spec.text) {
      const encoded = await encodeTextDocuments(spec.text.files, tokenizer, {
        textField: spec.text.textField,
        encoding: spec.text.encoding,
        ...(onProgress ? { onProgress } : {}),
      });
      const held = heldOutDocuments(encoded.documents.length, spec.text.holdout, spec.seed);
      userTrain = encoded.documents.filter((_, i) => !held.has(i));
      userHeldOut = encoded.documents.filter((_, i) => held.has(i));
      textCounts = { ...encoded.stats, tokens: encoded.tokens, heldOutDocuments: held.size };
    }
    function* trainDocuments(): Generator<Int32Array> {
      yield* tokenizeDocuments(
        bundled.filter((_, i) => i % HELD_OUT_EVERY !== 0),
        tokenizer,
      );
      yield* userTrain;
    }
    function* heldOutDocs(): Generator<Int32Array> {
      yield* tokenizeDocuments(
        bundled.filter((_, i) => i % HELD_OUT_EVERY === 0),
        tokenizer,
      );
      yield* userHeldOut;
    }
    const train = pack(trainDocuments(), tokenizer, spec.seqLen, spec.maxSequences);
    const heldOut = pack(heldOutDocs(), tokenizer, spec.seqLen);
    const what = spec.text ? 'the text' : 'the corpora';
    if (train.length < spec.batchSize) {
      throw new RangeError(
        `--batch-size ${spec.batchSize} is larger than the ${train.length} training sequences of ${spec.seqLen} tokens ${what} give`,
      );
    }
    if (heldOut.length === 0)
      throw new RangeError(
        `${what} give no held-out document to evaluate on (${textCounts?.documents ?? 0} documents; raise --holdout or add text)`,
      );
    const iterator = new BatchIterator({
      size: train.length,
      batchSize: spec.batchSize,
      seed: spec.seed,
      dropLast: true,
      ...(spec.state ? { state: spec.state } : {}),
    });
    return new PretrainData(
      train,
      heldOut,
      MlmCollator.forTokenizer(tokenizer, { seqLen: spec.seqLen, seed: spec.seed }),
      MlmCollator.forTokenizer(tokenizer, { seqLen: spec.seqLen, seed: HELD_OUT_MASK_SEED }),
      iterator,
      UnigramModel.fit(train, { vocabSize: tokenizer.vocabSize, excludeIds: ids.all }),
      textCounts,
    );
  }

  next(): PretrainBatch {
    const result = this.iterator.next();
    if (result.done) throw new RangeError('the batch stream ended'); // unreachable: no epoch limit
    const { indices, step } = result.value;
    const sequences = Array.from(indices, (i) => this.train[i]!);
    return { batch: this.collator.collate(sequences, step), stateAfter: this.iterator.state() };
  }

  /**
   * The baseline every MLM run is measured against: a unigram model fitted on the training
   * sequences, scored on the masked positions of `heldOutBatches(batchSize)`.
   */
  unigramBaseline(batchSize: number): UnigramScore {
    return this.unigram.score(maskedLabels(this.heldOutBatches(batchSize)));
  }

  /** The held-out sequences in fixed batches with fixed masks. */
  heldOutBatches(batchSize: number): MlmBatch[] {
    return evaluationBatches(this.heldOut, this.heldOutCollator, batchSize);
  }
}
