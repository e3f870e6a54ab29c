// Batch-encode throughput on the State of the Union corpus: ours on one thread, ours on the worker
// pool, and @huggingface/tokenizers, in the same run on the same vocabulary. Not a test.
//   npx tsx bench/encode.ts            (BENCH_ROUNDS=5 timed rounds after one warm-up round)
import { availableParallelism } from 'node:os';
import { Tokenizer } from '@huggingface/tokenizers';
import { trainWordPiece } from '../src/index';
import { EncoderPool } from '../src/node/index';
import { sotuFiles, sotuParagraphs } from '../test/corpora';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const texts = sotuParagraphs();
const megabytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0) / 1e6;

const trainStart = performance.now();
const ours = trainWordPiece(texts, { vocabSize: 30000 });
const trainSeconds = (performance.now() - trainStart) / 1000;
const hf = new Tokenizer(JSON.parse(JSON.stringify(ours.toTokenizerJson())), {});
const pool = await EncoderPool.create(ours);

let tokens = 0;
for (const e of ours.encodeBatch(texts)) tokens += e.ids.length;
const files = sotuFiles();

// The contenders take turns within each round, so that a change in machine load hits all alike.
const contenders: [string, () => unknown][] = [
  ['@huggingface/tokenizers (1 thread)', () => texts.map((t) => hf.encode(t))],
  ['ours, 1 thread', () => ours.encodeBatch(texts)],
  [`ours, EncoderPool (${pool.threads} threads)`, () => pool.encodeBatch(texts)],
  [
    // Streaming the data files through the same pool (its start-up is not timed).
    `ours, pool.encodeCorpus over files (${pool.threads} thr.)`,
    async () => {
      let streamed = 0;
      for await (const chunk of pool.encodeCorpus({ files }, { split: 'line' })) streamed += chunk.length;
      if (streamed !== texts.length)
        throw new Error(`encodeCorpus gave ${streamed} texts, expected ${texts.length}`);
    },
  ],
];
const speeds: number[][] = contenders.map(() => []);
for (let r = 0; r <= rounds; r++) {
  for (const [k, [, run]] of contenders.entries()) {
    const start = performance.now();
    await run();
    // Round 0 warms up.
    if (r > 0) speeds[k]!.push(megabytes / ((performance.now() - start) / 1000));
  }
}
await pool.terminate();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medians = speeds.map(median);
const hfSpeed = medians[0]!;

const row = (name: string, speed: number) =>
  `${name.padEnd(42)} ${speed.toFixed(2).padStart(7)} MB/s ${(speed / hfSpeed).toFixed(2).padStart(6)}×`;
console.log(
  `SOTU: ${texts.length} paragraphs, ${megabytes.toFixed(2)} MB, ${tokens} tokens; vocab ${ours.vocabSize} ` +
    `trained in ${trainSeconds.toFixed(1)} s; ${availableParallelism()} cores, Node ${process.version}; ` +
    `median of ${rounds} rounds after 1 warm-up`,
);
for (const [k, [name]] of contenders.entries()) console.log(row(name, medians[k]!));
