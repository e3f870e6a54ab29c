import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { besideModule, nodeWorkerLink, startNodeWorker } from '@sibert/workers/node';
import { TokenizerError } from '../errors';
import {
  EncoderPool as BaseEncoderPool,
  type CorpusOptions,
  type CorpusSource,
  type CorpusSplit,
  type EncoderPoolOptions,
  encodeCorpusWith,
} from '../pool';
import type { Encoding } from '../postprocess';
import type { BertTokenizer } from '../tokenizer';

/** One worker thread serving the encoder: built, dist/worker.js beside dist/node.js. */
function spawnWorkerThread() {
  return nodeWorkerLink(startNodeWorker(besideModule(import.meta.url, 'worker')), 'EncoderPool');
}

/**
 * The encoder pool on worker threads (default: every core), whose `encodeCorpus` also reads
 * `{ files }`. Call `terminate()` when done (or use `await using`), so the process can exit.
 */
export class EncoderPool extends BaseEncoderPool {
  static override create(tokenizer: BertTokenizer, options: EncoderPoolOptions = {}): Promise<EncoderPool> {
    // biome-ignore lint/complexity/noThisInStatic: through super the base creates an instance of this class
    return super.create(tokenizer, {
      threads: availableParallelism(),
      spawn: spawnWorkerThread,
      ...options,
    }) as Promise<EncoderPool>;
  }

  protected override async *texts(source: CorpusSource, split: CorpusSplit): AsyncGenerator<string> {
    if (source === null || typeof source !== 'object' || !('files' in source)) {
      yield* super.texts(source, split);
      return;
    }
    if (!Array.isArray(source.files)) {
      throw new TokenizerError(
        `encodeCorpus: expected { files } to hold an array of paths, got ${typeof source.files}`,
      );
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
}

/**
 * Encodes a corpus (texts, or `{ files }`) on a pool of `threads` worker threads (default: every
 * core) and yields the encodings chunk by chunk, in order; the workers are stopped when the
 * iteration ends, however it ends.
 */
export function encodeCorpus(
  tokenizer: BertTokenizer,
  source: CorpusSource,
  options: CorpusOptions & EncoderPoolOptions = {},
): AsyncGenerator<Encoding[]> {
  return encodeCorpusWith((o) => EncoderPool.create(tokenizer, o), source, options);
}
