import { WorkerClient, type WorkerLink, webWorkerLink } from '@sibert/workers';
import type { EncoderWorkerApi } from './encoder-worker-api';
import { TokenizerError } from './errors';
import { unpackEncodings } from './packed';
import type { Encoding } from './postprocess';
import type { BertTokenizer, EncodeOptions, TextInput } from './tokenizer';

export interface EncoderPoolOptions {
  /** Workers; default: every core (`navigator.hardwareConcurrency` in a page, `os.availableParallelism()` in Node). */
  threads?: number;
  /**
   * Starts one worker serving `@sibert/tokenizer`'s encoder (its `web-worker` module in a page, its
   * `node/worker` module in Node). Default in a page: a module Web Worker on `dist/web-worker.js`
   * beside this package's build; a page whose bundler does not copy that file starts its own
   * (e.g. `() => webWorkerLink(new Worker(url, { type: 'module' }), 'EncoderPool')`, where the
   * worker's script calls `serveEncoderWorker()`).
   */
  spawn?: () => WorkerLink;
}

type WorkerOptions = Omit<EncodeOptions, 'pair' | 'padding'>;

/** A worker that has not answered its first call by then is taken as one that never will. */
const START_TIMEOUT_MS = 60_000;

/** `call`, or an error naming the worker's script as the likely cause once START_TIMEOUT_MS pass. */
async function withinStart<T>(call: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TokenizerError(
            `EncoderPool: a worker did not answer within ${START_TIMEOUT_MS / 1000} s of starting; does its script call serveEncoderWorker() (or load @sibert/tokenizer/web-worker)?`,
          ),
        ),
      START_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface PoolWorker {
  client: WorkerClient<EncoderWorkerApi>;
  pending: number;
}

interface WebGlobals {
  Worker?: new (url: URL, options: { type: 'module' }) => Parameters<typeof webWorkerLink>[0];
  navigator?: { hardwareConcurrency?: number };
}

function spawnWebWorker(): WorkerLink {
  const { Worker } = globalThis as WebGlobals;
  if (!Worker) {
    throw new TokenizerError(
      "EncoderPool: this runtime has no Web Workers (in Node, import EncoderPool from '@sibert/tokenizer/node')",
    );
  }
  return webWorkerLink(
    new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module' }),
    'EncoderPool',
  );
}

/**
 * Workers that each hold a copy of the tokenizer, for encoding large batches and corpora on every
 * core: Web Workers in a page, worker threads in Node (`@sibert/tokenizer/node`), the same pool
 * over either. Call `terminate()` when done (or use `await using`), so the process can exit.
 */
export class EncoderPool {
  readonly tokenizer: BertTokenizer;
  private readonly workers: PoolWorker[];

  protected constructor(tokenizer: BertTokenizer, workers: PoolWorker[]) {
    this.tokenizer = tokenizer;
    this.workers = workers;
  }

  static async create(tokenizer: BertTokenizer, options: EncoderPoolOptions = {}): Promise<EncoderPool> {
    const threads = options.threads ?? (globalThis as WebGlobals).navigator?.hardwareConcurrency ?? 1;
    if (!Number.isInteger(threads) || threads < 1) {
      throw new TokenizerError(`EncoderPool: threads must be a positive integer, got ${threads}`);
    }
    const spawn = options.spawn ?? spawnWebWorker;
    const json = tokenizer.toTokenizerJson();
    const workers: PoolWorker[] = [];
    try {
      for (let i = 0; i < threads; i++) workers.push({ client: new WorkerClient(spawn()), pending: 0 });
      await Promise.all(workers.map(({ client }) => withinStart(client.call(client.api.init(json)))));
    } catch (e) {
      await Promise.all(workers.map(({ client }) => client.close()));
      throw e;
    }
    // `this`: the Node pool (`@sibert/tokenizer/node`) creates itself through this method.
    return new this(tokenizer, workers);
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
      return unpackEncodings(await target.client.call(target.client.api.encode(inputs, options)));
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
   * Encodes a stream of texts in chunks spread over the workers, yielding the chunks' encodings in
   * input order while later chunks are being encoded. (In Node, `source` may also name files.)
   */
  async *encodeCorpus(source: CorpusSource, options: CorpusOptions = {}): AsyncGenerator<Encoding[]> {
    const { chunkChars = 1 << 18, split: _split, ...workerOptions } = options;
    const inFlight: Promise<Encoding[]>[] = [];
    const limit = this.workers.length * 2;
    let chunk: string[] = [];
    let chars = 0;
    try {
      for await (const text of this.texts(source, options.split ?? 'line')) {
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

  /** The texts of `source`; the Node pool adds files. */
  protected async *texts(source: CorpusSource, _split: CorpusSplit): AsyncGenerator<string> {
    if (typeof source === 'string' || source === null || typeof source !== 'object' || 'files' in source) {
      const got = source === null ? 'null' : typeof source === 'object' ? '{ files }' : typeof source;
      throw new TokenizerError(
        `encodeCorpus: expected an iterable of texts${'files' in Object(source) ? " (files are read by '@sibert/tokenizer/node')" : ''}, got ${got}`,
      );
    }
    for await (const text of source) {
      if (typeof text !== 'string')
        throw new TokenizerError(`encodeCorpus: expected texts to be strings, got ${typeof text}`);
      yield text;
    }
  }

  /** Stops the workers. */
  async terminate(): Promise<void> {
    await Promise.all(this.workers.map(({ client }) => client.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }
}

/** How a file is cut into texts: each non-blank line, each blank-line-separated paragraph, or the whole file. */
export type CorpusSplit = 'line' | 'paragraph' | 'file';

/** Texts, or (in Node) files whose texts are read as they are needed. */
export type CorpusSource = Iterable<string> | AsyncIterable<string> | { files: readonly string[] };

export interface CorpusOptions extends WorkerOptions {
  /** How a file is cut into texts (files: Node only); default 'line'. */
  split?: CorpusSplit;
  /** About how many characters go to a worker at a time; default 262144. */
  chunkChars?: number;
}

/**
 * Encodes a corpus on a pool of `threads` workers (default: every core) and yields the encodings
 * chunk by chunk, in order; the workers are stopped when the iteration ends, however it ends.
 */
export async function* encodeCorpusWith(
  create: (options: EncoderPoolOptions) => Promise<EncoderPool>,
  source: CorpusSource,
  options: CorpusOptions & EncoderPoolOptions = {},
): AsyncGenerator<Encoding[]> {
  const { threads, spawn, ...corpusOptions } = options;
  const pool = await create({ ...(threads === undefined ? {} : { threads }), ...(spawn ? { spawn } : {}) });
  try {
    yield* pool.encodeCorpus(source, corpusOptions);
  } finally {
    await pool.terminate();
  }
}

/** `encodeCorpusWith` on the default pool of this runtime (Web Workers in a page). */
export function encodeCorpus(
  tokenizer: BertTokenizer,
  source: CorpusSource,
  options: CorpusOptions & EncoderPoolOptions = {},
): AsyncGenerator<Encoding[]> {
  return encodeCorpusWith((o) => EncoderPool.create(tokenizer, o), source, options);
}
