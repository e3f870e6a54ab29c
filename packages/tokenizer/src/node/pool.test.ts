import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mobyDickParagraphs } from '../../test/corpora';
import { type BertTokenizer, type Encoding, TokenizerError, trainWordPiece } from '../index';
import { EncoderPool, encodeCorpus } from './index';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
let tok: BertTokenizer;
let texts: string[];
let pool: EncoderPool;

beforeAll(async () => {
  texts = mobyDickParagraphs().slice(0, 400);
  tok = trainWordPiece(texts, { vocabSize: 2000 });
  pool = await EncoderPool.create(tok, { threads: 2 });
}, 60_000);
afterAll(() => pool.terminate());

const plain = (e: Encoding): unknown => ({
  ids: Array.from(e.ids),
  typeIds: Array.from(e.typeIds),
  attentionMask: Array.from(e.attentionMask),
  specialTokensMask: Array.from(e.specialTokensMask),
  offsets: Array.from(e.offsets),
  overflowing: e.overflowing.map(plain),
});

describe('EncoderPool (worker threads, from the TypeScript sources)', () => {
  it('encodes a batch exactly as one thread does, truncation, pairs and padding included', async () => {
    const options = { truncation: { maxLength: 32, stride: 4 }, padding: { length: 'longest' as const } };
    expect((await pool.encodeBatch(texts, options)).map(plain)).toEqual(
      tok.encodeBatch(texts, options).map(plain),
    );
    const pairs = texts.slice(0, 20).map((t, i) => [t, texts[i + 1]!] as [string, string]);
    expect((await pool.encodeBatch(pairs)).map(plain)).toEqual(tok.encodeBatch(pairs).map(plain));
  });

  it('streams a corpus from files, paragraph by paragraph, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenizer-corpus-'));
    try {
      const files = [0, 1, 2].map((k) => {
        const file = join(dir, `part${k}.txt`);
        writeFileSync(file, texts.slice(k * 100, (k + 1) * 100).join('\n\n'));
        return file;
      });
      const got: number[][] = [];
      for await (const chunk of encodeCorpus(
        tok,
        { files },
        { threads: 2, split: 'paragraph', chunkChars: 5000 },
      )) {
        for (const e of chunk) got.push(Array.from(e.ids));
      }
      expect(got).toEqual(texts.slice(0, 300).map((t) => Array.from(tok.encode(t).ids)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams an iterable of texts and rejects bad input', async () => {
    let count = 0;
    for await (const chunk of pool.encodeCorpus(texts, { chunkChars: 20000 })) count += chunk.length;
    expect(count).toBe(texts.length);
    await expect(pool.encodeBatch([1 as unknown as string])).rejects.toThrow(
      'encodeBatch: input 0: text: expected a string',
    );
    await expect(EncoderPool.create(tok, { threads: 0 })).rejects.toThrow(TokenizerError);
  });
});

describe('the built package', () => {
  it('runs the worker pool from dist and exits by itself', async () => {
    // The layout `npm run build` makes (node.js beside worker.js), in a scratch folder inside the
    // package so that `comlink` resolves as it does for a consumer.
    const outDir = join(packageDir, 'node_modules/.cache/dist-test');
    mkdirSync(outDir, { recursive: true });
    await build({
      config: join(packageDir, 'tsup.config.ts'),
      outDir,
      dts: false,
      sourcemap: false,
      silent: true,
    });
    writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(tok.toTokenizerJson()));
    writeFileSync(
      join(outDir, 'consumer.mjs'),
      `import { readFileSync } from 'node:fs';
      import { BertTokenizer } from './index.js';
      import { encodeCorpus } from './node.js';
      const tok = BertTokenizer.fromTokenizerJson(readFileSync(new URL('./tokenizer.json', import.meta.url), 'utf8'));
      const ids = [];
      for await (const chunk of encodeCorpus(tok, ['the whale', 'call me ishmael'], { threads: 2 })) {
        for (const e of chunk) ids.push(Array.from(e.ids));
      }
      console.log(JSON.stringify(ids));`,
    );
    // The timeout catches a process kept alive by workers that were not terminated.
    const { stdout } = await promisify(execFile)(process.execPath, [join(outDir, 'consumer.mjs')], {
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual(
      ['the whale', 'call me ishmael'].map((t) => Array.from(tok.encode(t).ids)),
    );
  });
});
