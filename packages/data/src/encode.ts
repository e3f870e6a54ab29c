/** Task examples into padded id matrices for sequence classification. */
import type { BertTokenizer } from '@sibert/tokenizer';
import type { TaskExample } from './tasks';
import { specialTokenIds } from './tokens';

/** Encoded examples as flat row-major typed arrays: token arrays [batchSize, seqLen], labels [batchSize]. */
export interface ClassificationBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** 1 for tokens, 0 for padding. */
  attentionMask: Int32Array;
  labels: Int32Array;
}

export interface EncodeOptions {
  /** Every row is `[CLS] text [SEP]` (or `[CLS] text [SEP] textPair [SEP]`) truncated and padded to this length. */
  maxLength: number;
}

/** Encodes examples with the tokenizer: truncated to `maxLength` (the end of a long text is cut) and padded with [PAD]. */
export function encodeExamples(
  examples: readonly TaskExample[],
  tokenizer: BertTokenizer,
  options: EncodeOptions,
): ClassificationBatch {
  const { maxLength } = options;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new RangeError(`encodeExamples: expected maxLength to be an integer >= 2, got ${maxLength}`);
  }
  const { pad } = specialTokenIds(tokenizer);
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * maxLength).fill(pad);
  const tokenTypeIds = new Int32Array(batchSize * maxLength);
  const attentionMask = new Int32Array(batchSize * maxLength);
  const labels = new Int32Array(batchSize);
  examples.forEach((example, row) => {
    const encoding = tokenizer.encode(example.text, {
      ...(example.textPair === undefined ? {} : { pair: example.textPair }),
      addSpecialTokens: true,
      truncation: { maxLength, strategy: 'longest_first' },
      padding: false,
    });
    inputIds.set(encoding.ids, row * maxLength);
    tokenTypeIds.set(encoding.typeIds, row * maxLength);
    attentionMask.fill(1, row * maxLength, row * maxLength + encoding.ids.length);
    labels[row] = example.label;
  });
  return { batchSize, seqLen: maxLength, inputIds, tokenTypeIds, attentionMask, labels };
}

/** The rows at `indices` (e.g. a `BatchIterator` batch) as a new batch. */
export function selectRows(batch: ClassificationBatch, indices: ArrayLike<number>): ClassificationBatch {
  const { seqLen } = batch;
  const n = indices.length;
  const out: ClassificationBatch = {
    batchSize: n,
    seqLen,
    inputIds: new Int32Array(n * seqLen),
    tokenTypeIds: new Int32Array(n * seqLen),
    attentionMask: new Int32Array(n * seqLen),
    labels: new Int32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const row = indices[i]!;
    if (!Number.isInteger(row) || row < 0 || row >= batch.batchSize) {
      throw new RangeError(`selectRows: index ${i} is ${row}, expected a row in [0, ${batch.batchSize})`);
    }
    const from = row * seqLen;
    out.inputIds.set(batch.inputIds.subarray(from, from + seqLen), i * seqLen);
    out.tokenTypeIds.set(batch.tokenTypeIds.subarray(from, from + seqLen), i * seqLen);
    out.attentionMask.set(batch.attentionMask.subarray(from, from + seqLen), i * seqLen);
    out.labels[i] = batch.labels[row]!;
  }
  return out;
}
