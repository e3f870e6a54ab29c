/**
 * Reading the user's files: paths and globs expanded to files, and files read as lines in a
 * streaming pass (gzip undone, bytes decoded line by line, so an undecodable byte is reported
 * with its line and nothing holds more than one line of text at a time).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { glob, isDynamicPattern } from 'tinyglobby';

/** A problem with a user's data file: the message names the file and, where it can, the line and field. */
export class DataFileError extends Error {
  override name = 'DataFileError';
}

export interface ReadOptions {
  /** The files' text encoding, a WHATWG label (`utf-8`, `latin1`, `windows-1252`, …); default utf-8. */
  encoding?: string;
  /** A longer line is cut to this many characters (and counted); default 1,000,000. */
  maxLineChars?: number;
}

export const DEFAULT_MAX_LINE_CHARS = 1_000_000;

export interface Line {
  text: string;
  /** 1-based. */
  number: number;
  /** The line was longer than `maxLineChars` and has been cut. */
  truncated: boolean;
}

/** Checks an encoding label once, before any file is opened; line splitting needs an ASCII-compatible one. */
export function checkEncoding(encoding: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding);
  } catch {
    throw new DataFileError(
      `unknown text encoding '${encoding}'; expected a WHATWG label such as utf-8, latin1 or windows-1252`,
    );
  }
  if (decoder.encoding.startsWith('utf-16'))
    throw new DataFileError(`encoding '${encoding}' is not supported: convert the files to UTF-8`);
  return decoder.encoding;
}

const BYTE_LIMIT_FACTOR = 4; // a UTF-8 character is at most 4 bytes

/**
 * The lines of a file (`.gz` decompressed; `-` is standard input), split at `\n` with a trailing
 * `\r` removed and a leading byte-order mark dropped. Throws `DataFileError` naming the file and
 * line for bytes that are not valid in the encoding.
 */
export async function* readLines(file: string, options: ReadOptions = {}): AsyncGenerator<Line> {
  const encoding = checkEncoding(options.encoding ?? 'utf-8');
  const maxChars = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const maxBytes = maxChars * BYTE_LIMIT_FACTOR;
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  let number = 0;
  const decode = (bytes: Buffer, truncated: boolean): Line => {
    number++;
    let text: string;
    try {
      // A cut line may end inside a character: decode it leniently, it is cut anyway.
      text = truncated ? new TextDecoder(encoding).decode(bytes) : decoder.decode(bytes);
    } catch {
      throw new DataFileError(
        `${file}: line ${number} is not valid ${encoding}` +
          (encoding === 'utf-8' ? ' (pass --encoding with the encoding the file is written in)' : ''),
      );
    }
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (truncated || text.length > maxChars)
      return { text: text.slice(0, maxChars), number, truncated: true };
    return { text, number, truncated: false };
  };

  const raw = file === '-' ? process.stdin : createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error: Error) => stream.destroy(error));
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipping = false; // past maxBytes of the current line: drop the rest of it
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); ; nl = chunk.indexOf(10, start)) {
        const end = nl < 0 ? chunk.length : nl;
        if (!skipping) {
          const piece = chunk.subarray(start, end);
          pending.push(piece);
          pendingBytes += piece.length;
          if (pendingBytes > maxBytes) skipping = true;
        }
        if (nl < 0) break;
        const line = Buffer.concat(pending, pendingBytes);
        yield decode(skipping ? line.subarray(0, maxBytes) : line, skipping);
        pending = [];
        pendingBytes = 0;
        skipping = false;
        start = nl + 1;
      }
    }
  } catch (error) {
    if (error instanceof DataFileError) throw error;
    throw describeReadError(error, file);
  }
  if (pendingBytes > 0) {
    const line = Buffer.concat(pending, pendingBytes);
    yield decode(skipping ? line.subarray(0, maxBytes) : line, skipping);
  }
}

function describeReadError(error: unknown, file: string): DataFileError {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new DataFileError(`${file}: no such file`);
  if (e.code === 'EACCES') return new DataFileError(`${file}: permission denied`);
  if (e.code === 'EISDIR') return new DataFileError(`${file}: is a folder, expected a file`);
  if (e.code?.startsWith('Z_')) return new DataFileError(`${file}: not a valid gzip file (${e.message})`);
  return new DataFileError(`${file}: cannot be read (${e.message})`);
}

/** The file kinds pretraining text is read from; `.gz` of each is read too. */
export const TEXT_EXTENSIONS = ['.txt', '.jsonl'] as const;

function isTextFile(path: string): boolean {
  const name = path.endsWith('.gz') ? path.slice(0, -3) : path;
  return TEXT_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/**
 * Files, folders (every `.txt`, `.jsonl` and their `.gz` inside, recursively) and globs expanded
 * to absolute file paths: each argument's files sorted, duplicates dropped, the arguments' order
 * kept. An argument that names nothing readable is an error naming it.
 */
export async function expandTextPaths(patterns: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    const absolute = resolve(path);
    if (!seen.has(absolute)) {
      seen.add(absolute);
      files.push(absolute);
    }
  };
  for (const pattern of patterns) {
    if (isDynamicPattern(pattern)) {
      const matches = (await glob(pattern, { absolute: true, onlyFiles: true, dot: false })).sort();
      if (matches.length === 0) throw new DataFileError(`${pattern}: the pattern matches no file`);
      for (const match of matches) add(match);
      continue;
    }
    const info = await stat(pattern).catch((error: unknown) => {
      throw describeReadError(error, pattern);
    });
    if (info.isDirectory()) {
      const inside = (await glob('**/*', { cwd: pattern, absolute: false, onlyFiles: true }))
        .filter(isTextFile)
        .sort();
      if (inside.length === 0)
        throw new DataFileError(`${pattern}: the folder holds no .txt or .jsonl file (nor their .gz)`);
      for (const name of inside) add(join(pattern, name));
    } else {
      add(pattern);
    }
  }
  return files;
}
