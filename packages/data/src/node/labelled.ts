/**
 * The user's labelled examples: JSONL or CSV/TSV files (CSV parsed by `csv-parse`: quoting,
 * embedded newlines, a byte-order mark), a text field, an optional second text and a label;
 * the class list read from the training file; seeded stratified dev/test splits where the user
 * gives no file for them.
 */
import { type CsvError, parse } from 'csv-parse/sync';
import {
  freezeTask,
  type SourceGroup,
  type SplitName,
  splitGroups,
  type TaskExample,
  type TaskSplits,
} from '../tasks';
import { DataFileError, type ReadOptions, readLines } from './files';
import { parseJsonRecord } from './user-text';

export type LabelledFormat = 'jsonl' | 'csv' | 'tsv' | 'txt';

export interface LabelledFields {
  textField: string;
  textPairField?: string;
  /** Without it the records are read unlabelled (for prediction). */
  labelField?: string;
}

export interface LabelledReadOptions extends LabelledFields, ReadOptions {
  /** Default: from the file's extension (`.jsonl`, `.csv`, `.tsv`, `.txt`, each optionally `.gz`). */
  format?: LabelledFormat;
}

export interface LabelledRecord {
  text: string;
  textPair?: string;
  /** The label as written (a number is read as its decimal string). */
  label?: string;
  /** The line the record starts on. */
  line: number;
}

export interface LabelledFile {
  file: string;
  records: LabelledRecord[];
  /** Texts cut to `MAX_TEXT_CHARS` (the model reads only the first tokens anyway). */
  longTexts: number;
}

/** A longer text is cut: the classifier reads at most a few hundred tokens of it. */
export const MAX_TEXT_CHARS = 20_000;

/** The format a file's name implies, or an error naming what was expected. */
export function labelledFormat(file: string): LabelledFormat {
  const name = file.replace(/\.gz$/, '').toLowerCase();
  for (const [ext, format] of [
    ['.jsonl', 'jsonl'],
    ['.ndjson', 'jsonl'],
    ['.csv', 'csv'],
    ['.tsv', 'tsv'],
    ['.txt', 'txt'],
  ] as const) {
    if (name.endsWith(ext)) return format;
  }
  throw new DataFileError(`${file}: expected a .jsonl, .csv, .tsv or .txt file (optionally .gz)`);
}

/** Reads every record of a labelled (or, without `labelField`, unlabelled) file. */
export async function readLabelledFile(file: string, options: LabelledReadOptions): Promise<LabelledFile> {
  const format = options.format ?? labelledFormat(file);
  const result: LabelledFile = { file, records: [], longTexts: 0 };
  const cut = (text: string): string => {
    if (text.length <= MAX_TEXT_CHARS) return text;
    result.longTexts++;
    return text.slice(0, MAX_TEXT_CHARS);
  };
  const add = (fields: Record<string, unknown>, line: number) => {
    const record: LabelledRecord = { text: cut(textField(fields, options.textField, file, line)), line };
    if (options.textPairField !== undefined)
      record.textPair = cut(textField(fields, options.textPairField, file, line));
    if (options.labelField !== undefined) record.label = labelField(fields, options.labelField, file, line);
    result.records.push(record);
  };
  if (format === 'jsonl' || format === 'txt') {
    if (format === 'txt' && (options.textPairField !== undefined || options.labelField !== undefined))
      throw new DataFileError(
        `${file}: a .txt file holds one text per line, without a second text or a label`,
      );
    for await (const line of readLines(file, { ...options, maxLineChars: Number.POSITIVE_INFINITY })) {
      if (line.text.trim() === '') continue;
      const fields =
        format === 'txt' ? { [options.textField]: line.text } : parseJsonRecord(line.text, file, line.number);
      add(fields, line.number);
    }
  } else {
    const lines: string[] = [];
    for await (const line of readLines(file, { ...options, maxLineChars: Number.POSITIVE_INFINITY }))
      lines.push(line.text);
    for (const { record, line } of parseCsv(lines.join('\n'), file, format === 'tsv' ? '\t' : ','))
      add(record, line);
  }
  if (result.records.length === 0) throw new DataFileError(`${file}: the file holds no record`);
  return result;
}

function textField(record: Record<string, unknown>, field: string, file: string, line: number): string {
  const value = record[field];
  if (value === undefined || value === null)
    throw new DataFileError(
      `${file}: line ${line} has no field '${field}' (it has ${Object.keys(record).join(', ') || 'none'})`,
    );
  if (typeof value !== 'string')
    throw new DataFileError(
      `${file}: line ${line}: field '${field}' is a ${typeof value}, expected a string`,
    );
  if (value.trim() === '') throw new DataFileError(`${file}: line ${line}: field '${field}' is empty`);
  return value;
}

function labelField(record: Record<string, unknown>, field: string, file: string, line: number): string {
  const value = record[field];
  if (value === undefined || value === null || value === '')
    throw new DataFileError(
      `${file}: line ${line} has no label in field '${field}' (it has ${Object.keys(record).join(', ') || 'none'})`,
    );
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string')
    throw new DataFileError(
      `${file}: line ${line}: label field '${field}' is a ${typeof value}, expected a string or a number`,
    );
  return value.trim();
}

/** CSV records as objects keyed by the header row, each with the line it starts on. */
function parseCsv(
  text: string,
  file: string,
  delimiter: string,
): { record: Record<string, string>; line: number }[] {
  const rows: { record: Record<string, string>; line: number }[] = [];
  let lastLine = 1; // where the last record (at first, the header) ends
  let emptyBefore = 0;
  try {
    parse(text, {
      bom: true,
      columns: true,
      delimiter,
      skip_empty_lines: true,
      // Called as records are parsed, so an error later in the file knows the last good line.
      on_record: (record: Record<string, string>, context) => {
        rows.push({ record, line: lastLine + 1 + (context.empty_lines - emptyBefore) });
        emptyBefore = context.empty_lines;
        lastLine = context.lines;
        return record;
      },
    });
    return rows;
  } catch (error) {
    const e = error as CsvError & { lines?: number };
    if (e.code === 'CSV_QUOTE_NOT_CLOSED')
      throw new DataFileError(
        `${file}: a quoted field is never closed: the quote opens in a record after line ${lastLine} and the file ends at line ${e.lines}`,
      );
    if (e.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' || e.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH')
      throw new DataFileError(
        `${file}: line ${e.lines}: ${e.message.replace(/ on line \d+$/, '')} (the header's count)`,
      );
    throw new DataFileError(`${file}: ${e.message}`);
  }
}

/** Class names in a fixed order: numerically when every label is an integer, else by code point. */
export function classList(labels: Iterable<string>): string[] {
  const names = [...new Set(labels)];
  const integers = names.every((name) => /^-?\d+$/.test(name));
  return names.sort(integers ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface LabelledTaskOptions {
  /** A name for the task (its summaries and config). */
  name: string;
  train: LabelledFile;
  dev?: LabelledFile;
  test?: LabelledFile;
  /** Seed of the stratified splits drawn from the training file. */
  seed: number;
}

/**
 * A task from labelled files: the classes are the training file's; a split without a file of its
 * own is drawn from the training file, stratified by class (80/10/10 when both are missing, 90/10
 * when one is). A dev or test label the training file lacks is an error naming file and line.
 */
export function labelledTask(options: LabelledTaskOptions): TaskSplits {
  const { train, dev, test } = options;
  const labelNames = classList(train.records.map((r) => requireLabel(r, train.file)));
  if (labelNames.length < 2)
    throw new DataFileError(
      `${train.file}: every record has the label '${labelNames[0]}'; a classifier needs two classes or more`,
    );
  const examples = (file: LabelledFile) => labelledExamples(file, labelNames);
  const trainExamples = examples(train);
  let splits: Record<SplitName, TaskExample[]>;
  if (dev && test) {
    splits = { train: trainExamples, dev: examples(dev), test: examples(test) };
  } else {
    const groups: SourceGroup[] = trainExamples.map((e) => ({
      source: e.source,
      label: e.label,
      examples: [e],
    }));
    const drawn = splitGroups(groups, options.seed, dev || test ? [0.9, 1] : [0.8, 0.9]);
    splits = dev
      ? { train: drawn.train, dev: examples(dev), test: drawn.dev }
      : test
        ? { train: drawn.train, dev: drawn.dev, test: examples(test) }
        : drawn;
    for (const split of ['dev', 'test'] as const) {
      if (splits[split].length === 0)
        throw new DataFileError(
          `${train.file}: its ${train.records.length} records are too few to draw a ${split} split from; pass --${split} FILE`,
        );
    }
  }
  return freezeTask(options.name, labelNames, options.seed, splits);
}

/** A file's records as task examples of the classes `labelNames`; another label is an error naming file and line. */
export function labelledExamples(file: LabelledFile, labelNames: readonly string[]): TaskExample[] {
  const index = new Map(labelNames.map((name, i) => [name, i]));
  return file.records.map((record) => {
    const label = index.get(requireLabel(record, file.file));
    if (label === undefined)
      throw new DataFileError(
        `${file.file}: line ${record.line}: label '${record.label}' is not one of the training file's classes (${labelNames.join(', ')})`,
      );
    return {
      text: record.text,
      ...(record.textPair === undefined ? {} : { textPair: record.textPair }),
      label,
      source: `${file.file}:${record.line}`,
    };
  });
}

function requireLabel(record: LabelledRecord, file: string): string {
  if (record.label === undefined) throw new DataFileError(`${file}: line ${record.line} has no label`);
  return record.label;
}
