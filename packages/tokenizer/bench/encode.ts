// Batch-encode throughput on the State of the Union corpus: ours on one thread, ours on the worker
// pool, and @huggingface/tokenizers, in the same run on the same vocabulary. Not a test.
//   npx tsx bench/encode.ts            (BENCH_ROUNDS=5 timed rounds after one warm-up round)
import { availableParallelism } from 'node:os';
import { Tokenizer } from '@huggingface/tokenizers';
import { EncoderPool, encodeCorpus, trainWordPiece } from '../src/index';
import { sotuFiles, sotuParagraphs } from '../test/corpora';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const texts = sotuParagraphs();
const megabytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0) / 1e6;

const trainStart = performance.now();
const ours = trainWordPiece(texts, { vocabSize: 30000 });
const trainSeconds = (performance.now() - trainStart) / 1000;
const hf = new Tokenizer(JSON.parse(JSON.stringify(ours.toTokenizerJson())), {});
const pool = await EncoderPool.create(ours);

async function measure(run: () => unknown): Promise<number> {
  const speeds: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const start = performance.now();
    await run();
    const seconds = (performance.now() - start) / 1000;
    if (r > 0) speeds.push(megabytes / seconds);
  }
  speeds.sort((a, b) => a - b);
  return speeds[Math.floor(speeds.length / 2)]!;
}

let tokens = 0;
for (const e of ours.encodeBatch(texts)) tokens += e.ids.length;
const hfSpeed = await measure(() => texts.map((t) => hf.encode(t)));
const oneThread = await measure(() => ours.encodeBatch(texts));
const pooled = await measure(() => pool.encodeBatch(texts));
await pool.terminate();
// Streaming from the data files, pool started and stopped inside each round.
const files = sotuFiles();
const streamed = await measure(async () => {
  for await (const _chunk of encodeCorpus(ours, { files }, { split: 'line' })) {
    // the chunks are only counted by the timer
  }
});

const row = (name: string, speed: number) =>
  `${name.padEnd(34)} ${speed.toFixed(2).padStart(8)} MB/s  ${(speed / hfSpeed).toFixed(2).padStart(6)}×`;
console.log(
  `SOTU: ${texts.length} paragraphs, ${megabytes.toFixed(2)} MB, ${tokens} tokens; vocab ${ours.vocabSize} ` +
    `trained in ${trainSeconds.toFixed(1)} s; ${availableParallelism()} cores, Node ${process.version}; ` +
    `median of ${rounds} rounds after 1 warm-up`,
);
console.log(row('@huggingface/tokenizers (1 thread)', hfSpeed));
console.log(row('ours, 1 thread', oneThread));
console.log(row(`ours, worker pool (${pool.threads} threads)`, pooled));
console.log(row(`ours, encodeCorpus over files (${pool.threads} thr.)`, streamed));
