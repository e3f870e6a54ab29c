/**
 * Pretraining documents from the user's text files, streamed. A `.txt` file's documents are its
 * paragraphs (runs of lines between blank lines; a paragraph that grows past `maxDocumentChars`
 * ends at the next line end, so a file without blank lines still comes in pieces); a `.jsonl`
 * file's documents are its records' `textField`. Whitespace is collapsed, as in the bundled
 * corpora. The held-out share is drawn over documents by seed.
 */
import type { BertTokenizer } from '@sibert/tokenizer';
import { EncoderPool } from '@sibert/tokenizer/node';
import { Rng } from '../random';
import { DataFileError, type ReadOptions, readLines } from './files';

export interface TextDocumentOptions extends ReadOptions {
  /** The field of a `.jsonl` record that holds its text; default `text`. */
  textField?: string;
  /** Default 4,000 characters. */
  maxDocumentChars?: number;
}

export interface TextDocument {
  file: string;
  /** The line the document starts on. */
  line: number;
  text: string;
}

/** Counts kept while documents are read: what a summary reports. */
export interface TextReadStats {
  files: number;
  documents: number;
  lines: number;
  /** Lines longer than `maxLineChars`, cut (`.txt`) or skipped (`.jsonl`, whose record a cut would break). */
  longLines: number;
}

export function emptyTextStats(): TextReadStats {
  return { files: 0, documents: 0, lines: 0, longLines: 0 };
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The documents of `files` in order; `stats` (if given) is updated as they are read. A file without text is an error. */
export async function* textDocuments(
  files: readonly string[],
  options: TextDocumentOptions = {},
  stats: TextReadStats = emptyTextStats(),
): AsyncGenerator<TextDocument> {
  const textField = options.textField ?? 'text';
  const maxChars = options.maxDocumentChars ?? 4_000;
  for (const file of files) {
    stats.files++;
    const before = stats.documents;
    const jsonl = file.replace(/\.gz$/, '').endsWith('.jsonl');
    let paragraph: string[] = [];
    let chars = 0;
    let startLine = 0;
    const flush = (): TextDocument | null => {
      const text = collapse(paragraph.join(' '));
      paragraph = [];
      chars = 0;
      if (text === '') return null;
      stats.documents++;
      return { file, line: startLine, text };
    };
    for await (const line of readLines(file, options)) {
      stats.lines++;
      if (line.truncated) stats.longLines++;
      if (jsonl) {
        if (line.text.trim() === '' || line.truncated) continue;
        const text = jsonField(line.text, textField, file, line.number);
        if (text.trim() === '') continue;
        stats.documents++;
        yield { file, line: line.number, text: collapse(text) };
        continue;
      }
      if (line.text.trim() === '') {
        const document = flush();
        if (document) yield document;
        continue;
      }
      if (paragraph.length === 0) startLine = line.number;
      paragraph.push(line.text);
      chars += line.text.length;
      if (chars >= maxChars) {
        const document = flush();
        if (document) yield document;
      }
    }
    const last = flush();
    if (last) yield last;
    if (stats.documents === before)
      throw new DataFileError(
        `${file}: the file holds no text${jsonl ? ` (no record with a non-empty '${textField}')` : ''}`,
      );
  }
}

/** A string field of one JSONL line; any other shape is an error naming file, line and field. */
export function jsonField(line: string, field: string, file: string, lineNumber: number): string {
  const record = parseJsonRecord(line, file, lineNumber);
  const value = record[field];
  if (value === undefined)
    throw new DataFileError(
      `${file}: line ${lineNumber} has no field '${field}' (it has ${Object.keys(record).join(', ') || 'none'})`,
    );
  if (typeof value !== 'string')
    throw new DataFileError(
      `${file}: line ${lineNumber}: field '${field}' is a ${typeof value}, expected a string`,
    );
  return value;
}

/** One JSONL line as an object. */
export function parseJsonRecord(line: string, file: string, lineNumber: number): Record<string, unknown> {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new DataFileError(`${file}: line ${lineNumber} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    throw new DataFileError(`${file}: line ${lineNumber} is not a JSON object`);
  return record as Record<string, unknown>;
}

/**
 * Which of `count` documents are held out: `round(share · count)` of them, at least one when
 * there are two or more and the share is positive, drawn by seed.
 */
export function heldOutDocuments(count: number, share: number, seed: number): Set<number> {
  if (!(share >= 0 && share < 1))
    throw new RangeError(`heldOutDocuments: expected a share in [0, 1), got ${share}`);
  const n = share === 0 || count < 2 ? 0 : Math.max(1, Math.round(share * count));
  const order = Rng.derive(seed, 0x401d).shuffle(Array.from({ length: count }, (_, i) => i));
  return new Set(order.slice(0, n));
}

export interface EncodedText {
  /** Each document's token ids (no special tokens), in reading order. */
  documents: Int32Array[];
  stats: TextReadStats;
  tokens: number;
}

export interface EncodeTextOptions extends TextDocumentOptions {
  /** Encoding threads; default every core. */
  threads?: number;
  /** Called about once a second while reading, and once at the end. */
  onProgress?: (stats: TextReadStats & { tokens: number }) => void;
}

/**
 * The documents of `files` encoded on the tokenizer's worker pool while they are read: only the
 * token ids are kept, never the whole text.
 */
export async function encodeTextDocuments(
  files: readonly string[],
  tokenizer: BertTokenizer,
  options: EncodeTextOptions = {},
): Promise<EncodedText> {
  const { threads, onProgress, ...read } = options;
  const stats = emptyTextStats();
  const documents: Int32Array[] = [];
  let tokens = 0;
  let reported = Date.now();
  const pool = await EncoderPool.create(tokenizer, threads === undefined ? {} : { threads });
  try {
    const texts = (async function* () {
      for await (const document of textDocuments(files, read, stats)) yield document.text;
    })();
    for await (const chunk of pool.encodeCorpus(texts, { addSpecialTokens: false, truncation: false })) {
      for (const encoding of chunk) {
        documents.push(encoding.ids);
        tokens += encoding.ids.length;
      }
      if (onProgress && Date.now() - reported >= 1000) {
        reported = Date.now();
        onProgress({ ...stats, tokens });
      }
    }
  } finally {
    await pool.terminate();
  }
  onProgress?.({ ...stats, tokens });
  return { documents, stats, tokens };
}
