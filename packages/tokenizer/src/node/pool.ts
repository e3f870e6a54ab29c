/// <reference path="../comlink-node-adapter.d.ts" />
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { TokenizerError } from '../errors';
import { unpackEncodings } from '../packed';
import type { Encoding } from '../postprocess';
import type { BertTokenizer, EncodeOptions, TextInput } from '../tokenizer';
import type { EncoderWorkerApi } from '../worker';

export interface EncoderPoolOptions {
  /** Worker threads; default: every core (`os.availableParallelism()`). */
  threads?: number;
}

type WorkerOptions = Omit<EncodeOptions, 'pair' | 'padding'>;

interface PoolWorker {
  worker: Worker;
  api: Comlink.Remote<EncoderWorkerApi>;
  pending: number;
  /** Rejects when the worker dies; a dead worker never answers, so calls race against this. */
  died: Promise<never>;
}

function poolWorker(worker: Worker): PoolWorker {
  const died = new Promise<never>((_, reject) => {
    worker.once('error', (e) => reject(new TokenizerError(`EncoderPool: a worker failed: ${e.message}`)));
    worker.once('exit', (code) => reject(new TokenizerError(`EncoderPool: a worker exited (code ${code})`)));
  });
  // Nobody may be waiting when it dies (e.g. after terminate()).
  died.catch(() => {});
  return { worker, api: Comlink.wrap<EncoderWorkerApi>(nodeEndpoint(worker)), pending: 0, died };
}

function spawn(): Worker {
  // Built, this code lives in dist/node.js beside dist/worker.js.
  // tsx's tsImport adds a query to the URL of what it loads, so the path decides.
  if (!new URL(import.meta.url).pathname.endsWith('.ts'))
    return new Worker(new URL('./worker.js', import.meta.url));
  // From the TypeScript sources (vitest, tsx), the worker is TypeScript too. Node 20 does not carry
  // loader hooks into worker threads, so the worker starts by loading it through tsx's API.
  const require = createRequire(import.meta.url);
  const tsxPackage = require.resolve('tsx/package.json');
  const tsxApi = JSON.parse(readFileSync(tsxPackage, 'utf8')).exports['./esm/api'].import.default as string;
  const bootstrap = `
    const { tsImport } = await import(${JSON.stringify(pathToFileURL(join(dirname(tsxPackage), tsxApi)).href)});
    await tsImport(${JSON.stringify(new URL('../worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`));
}

/**
 * Worker threads that each hold a copy of the tokenizer, for encoding large batches and corpora on
 * every core. Call `terminate()` when done (or use `await using`), so the process can exit.
 */
export class EncoderPool {
  readonly tokenizer: BertTokenizer;
  private readonly workers: PoolWorker[];

  private constructor(tokenizer: BertTokenizer, workers: PoolWorker[]) {
    this.tokenizer = tokenizer;
    this.workers = workers;
  }

  static async create(tokenizer: BertTokenizer, options: EncoderPoolOptions = {}): Promise<EncoderPool> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new TokenizerError(`EncoderPool: threads must be a positive integer, got ${threads}`);
    }
    const json = tokenizer.toTokenizerJson();
    const workers: PoolWorker[] = [];
    try {
      for (let i = 0; i < threads; i++) workers.push(poolWorker(spawn()));
      await Promise.all(workers.map((w) => Promise.race([w.api.init(json), w.died])));
    } catch (e) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw e;
    }
    return new EncoderPool(tokenizer, workers);
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Encodes one chunk on the least busy worker. */
  private async run(inputs: TextInput[], options: WorkerOptions): Promise<Encoding[]> {
    let target = this.workers[0]!;
    for (const w of this.workers) if (w.pending < target.pending) target = w;
    target.pending++;
    try {
      return unpackEncodings(await Promise.race([target.api.encode(inputs, options), target.died]));
    } finally {
      target.pending--;
    }
  }

  /** Like `BertTokenizer.encodeBatch`, split across the workers. */
  async encodeBatch(
    inputs: readonly TextInput[],
    options: Omit<EncodeOptions, 'pair'> = {},
  ): Promise<Encoding[]> {
    if (!Array.isArray(inputs)) {
      throw new TokenizerError(`EncoderPool.encodeBatch: expected an array of texts, got ${typeof inputs}`);
    }
    const { padding, ...workerOptions } = options;
    // Chunks of about equal text, several per worker, so that uneven texts still balance. Inputs
    // that are not text count as empty here; the worker rejects them with a clear error.
    const size = (input: TextInput): number =>
      typeof input === 'string'
        ? input.length
        : Array.isArray(input)
          ? (input[0]?.length ?? 0) + (input[1]?.length ?? 0)
          : 0;
    let total = 0;
    for (const input of inputs) total += size(input);
    const target = Math.max(1, total / (this.workers.length * 8));
    const chunks: TextInput[][] = [];
    let chunk: TextInput[] = [];
    let chars = 0;
    for (const input of inputs) {
      chunk.push(input);
      chars += size(input);
      if (chars >= target) {
        chunks.push(chunk);
        chunk = [];
        chars = 0;
      }
    }
    if (chunk.length > 0) chunks.push(chunk);
    const encoded = (await Promise.all(chunks.map((c) => this.run(c, workerOptions)))).flat();
    const pad = padding === undefined ? this.tokenizer.config.padding : padding;
    return pad ? this.tokenizer.pad(encoded, pad) : encoded;
  }

  /**
   * Encodes a stream of texts, or the texts of files, in chunks spread over the workers, yielding
   * the chunks' encodings in input order while later chunks are being encoded.
   */
  async *encodeCorpus(source: CorpusSource, options: CorpusOptions = {}): AsyncGenerator<Encoding[]> {
    const { chunkChars = 1 << 18, split = 'line', ...workerOptions } = options;
    const inFlight: Promise<Encoding[]>[] = [];
    const limit = this.workers.length * 2;
    let chunk: string[] = [];
    let chars = 0;
    try {
      for await (const text of texts(source, split)) {
        chunk.push(text);
        chars += text.length;
        if (chars >= chunkChars) {
          inFlight.push(this.run(chunk, workerOptions));
          chunk = [];
          chars = 0;
          if (inFlight.length >= limit) yield await inFlight.shift()!;
        }
      }
      if (chunk.length > 0) inFlight.push(this.run(chunk, workerOptions));
      while (inFlight.length > 0) yield await inFlight.shift()!;
    } finally {
      // When the caller stops early or a chunk fails, the chunks still in flight are dropped.
      for (const pending of inFlight) pending.catch(() => {});
    }
  }

  /** Stops the workers. */
  async terminate(): Promise<void> {
    for (const w of this.workers) w.api[Comlink.releaseProxy]();
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }
}

/** Texts, or files whose texts are read as they are needed. */
export type CorpusSource = Iterable<string> | AsyncIterable<string> | { files: readonly string[] };

export interface CorpusOptions extends WorkerOptions {
  /** How a file is cut into texts: each non-blank line, each blank-line-separated paragraph, or the whole file. */
  split?: 'line' | 'paragraph' | 'file';
  /** About how many characters go to a worker at a time; default 262144. */
  chunkChars?: number;
}

async function* texts(source: CorpusSource, split: 'line' | 'paragraph' | 'file'): AsyncGenerator<string> {
  if (typeof source === 'string' || source === null || typeof source !== 'object') {
    throw new TokenizerError(
      `encodeCorpus: expected an iterable of texts or { files }, got ${source === null ? 'null' : typeof source}`,
    );
  }
  if (!('files' in source)) {
    for await (const text of source) {
      if (typeof text !== 'string')
        throw new TokenizerError(`encodeCorpus: expected texts to be strings, got ${typeof text}`);
      yield text;
    }
    return;
  }
  const separator = split === 'line' ? /\r?\n/ : /\r?\n[ \t]*\r?\n/;
  for (const file of source.files) {
    let rest = '';
    for await (const piece of createReadStream(file, { encoding: 'utf8' })) {
      rest += piece as string;
      if (split === 'file') continue;
      const parts = rest.split(separator);
      rest = parts.pop()!;
      for (const part of parts) if (part.trim() !== '') yield part;
    }
    if (rest.trim() !== '') yield rest;
  }
}

/**
 * Encodes a corpus on a pool of `threads` workers (default: every core) and yields the encodings
 * chunk by chunk, in order; the workers are stopped when the iteration ends, however it ends.
 */
export async function* encodeCorpus(
  tokenizer: BertTokenizer,
  source: CorpusSource,
  options: CorpusOptions & EncoderPoolOptions = {},
): AsyncGenerator<Encoding[]> {
  const { threads, ...corpusOptions } = options;
  const pool = await EncoderPool.create(tokenizer, threads === undefined ? {} : { threads });
  try {
    yield* pool.encodeCorpus(source, corpusOptions);
  } finally {
    await pool.terminate();
  }
}
