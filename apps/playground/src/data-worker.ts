/**
 * The page's data worker: trains the WordPiece tokenizer on the bundled text, encodes the text on
 * the tokenizer's pool of Web Workers, packs it into sequences and serves masked batches, to the
 * page (`prepare`) and, through a port the page hands it (`connect`), to the training worker.
 */
import {
  BatchIterator,
  type MlmBatch,
  MlmCollator,
  maskedLabels,
  type PretrainingDocument,
  packSequences,
  specialTokenIds,
  UnigramModel,
} from '@sibert/data';
import { type BertTokenizer, EncoderPool, WordPieceTrainer } from '@sibert/tokenizer';
import { exposeToParent, transfer, webWorkerLink } from '@sibert/workers';
import * as Comlink from 'comlink';
import type { DataSpec, PreparedData } from './protocol.js';

/** Every this-many-th document is held out, for the evaluation. */
const HELD_OUT_EVERY = 10;
const HELD_OUT_MASK_SEED = 7_919;
/** The held-out score reads at most this many sequences, in batches of EVAL_BATCH: seconds, even on a software GPU. */
const HELD_OUT_MAX = 128;
const EVAL_BATCH = 32;

interface Prepared {
  train: Int32Array[];
  heldOut: MlmBatch[];
  collator: MlmCollator;
  iterator: BatchIterator;
}

let prepared: Prepared | null = null;

function buffers(batch: MlmBatch): ArrayBuffer[] {
  return [batch.inputIds, batch.tokenTypeIds, batch.attentionMask, batch.labels, batch.maskedPositions].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/** Each document's paragraphs encoded on the pool, concatenated in order. */
async function encodeDocuments(pool: EncoderPool, documents: PretrainingDocument[]): Promise<Int32Array[]> {
  const paragraphs = documents.flatMap((d) => d.paragraphs);
  const encoded = await pool.encodeBatch(paragraphs, { addSpecialTokens: false, truncation: false });
  let next = 0;
  return documents.map((d) => {
    const pieces = encoded.slice(next, next + d.paragraphs.length).map((e) => e.ids);
    next += d.paragraphs.length;
    const ids = new Int32Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const piece of pieces) {
      ids.set(piece, at);
      at += piece.length;
    }
    return ids;
  });
}

function pack(documents: Int32Array[], tokenizer: BertTokenizer, seqLen: number): Int32Array[] {
  const ids = specialTokenIds(tokenizer);
  return [...packSequences(documents, { seqLen, clsId: ids.cls, sepId: ids.sep })];
}

const batches = {
  next(): MlmBatch {
    if (!prepared) throw new Error('the data worker has not prepared the text yet');
    const result = prepared.iterator.next();
    if (result.done) throw new Error('the batch stream ended'); // no epoch limit: unreachable
    const batch = prepared.collator.collate(
      Array.from(result.value.indices, (i) => prepared!.train[i]!),
      result.value.step,
    );
    return transfer(batch, buffers(batch));
  },
  heldOut(): MlmBatch[] {
    if (!prepared) throw new Error('the data worker has not prepared the text yet');
    // Copies: the held-out batches are served again on the next call.
    const copies = prepared.heldOut.map((b) => structuredClone(b));
    return transfer(copies, copies.flatMap(buffers));
  },
};

export type BatchApi = typeof batches;

const api = {
  async prepare(spec: DataSpec, onStatus: (text: string) => void): Promise<PreparedData> {
    onStatus('loading the bundled text');
    const response = await fetch(new URL('./data/corpus.json', import.meta.url));
    if (!response.ok) throw new Error(`data/corpus.json: HTTP ${response.status}`);
    const documents = (await response.json()) as PretrainingDocument[];
    onStatus(
      `training a WordPiece tokenizer (vocabulary ${spec.vocabSize}) on ${documents.length} documents`,
    );
    let started = performance.now();
    const trainer = new WordPieceTrainer({ vocabSize: spec.vocabSize });
    for (const d of documents) for (const p of d.paragraphs) trainer.feed(p);
    const tokenizer = trainer.train();
    const tokenizerMs = performance.now() - started;
    started = performance.now();
    const workers = Math.max(1, Math.min(4, (self.navigator.hardwareConcurrency ?? 2) - 1));
    onStatus(`encoding on ${workers} Web Workers`);
    const pool = await EncoderPool.create(tokenizer, {
      threads: workers,
      spawn: () =>
        webWorkerLink(
          new Worker(new URL('./encoder-worker.js', import.meta.url), { type: 'module' }),
          'EncoderPool',
        ),
    });
    let encoded: Int32Array[];
    try {
      encoded = await encodeDocuments(pool, documents);
    } finally {
      await pool.terminate();
    }
    const train = pack(
      encoded.filter((_, i) => i % HELD_OUT_EVERY !== 0),
      tokenizer,
      spec.seqLen,
    );
    const heldOutSequences = pack(
      encoded.filter((_, i) => i % HELD_OUT_EVERY === 0),
      tokenizer,
      spec.seqLen,
    ).slice(0, HELD_OUT_MAX);
    if (train.length < spec.batchSize)
      throw new RangeError(
        `batch size ${spec.batchSize} is more than the ${train.length} training sequences`,
      );
    const heldOutCollator = MlmCollator.forTokenizer(tokenizer, {
      seqLen: spec.seqLen,
      seed: HELD_OUT_MASK_SEED,
    });
    const heldOut: MlmBatch[] = [];
    for (let start = 0, step = 0; start < heldOutSequences.length; start += EVAL_BATCH, step++)
      heldOut.push(heldOutCollator.collate(heldOutSequences.slice(start, start + EVAL_BATCH), step));
    const unigram = UnigramModel.fit(train, {
      vocabSize: tokenizer.vocabSize,
      excludeIds: specialTokenIds(tokenizer).all,
    });
    prepared = {
      train,
      heldOut,
      collator: MlmCollator.forTokenizer(tokenizer, { seqLen: spec.seqLen, seed: spec.seed }),
      iterator: new BatchIterator({
        size: train.length,
        batchSize: spec.batchSize,
        seed: spec.seed,
        dropLast: true,
      }),
    };
    return {
      tokenizer: tokenizer.toTokenizerJson(),
      documents: documents.length,
      trainSequences: train.length,
      heldOutSequences: heldOutSequences.length,
      baseline: unigram.score(maskedLabels(heldOut)).loss,
      logPrior: unigram.logPrior(),
      encoderWorkers: workers,
      tokenizerMs,
      encodeMs: performance.now() - started,
    };
  },
  /** Serves batches on `port` (the training worker holds its other end). */
  connect(port: MessagePort): void {
    Comlink.expose(batches, port);
  },
};

export type DataWorkerApi = typeof api;

exposeToParent(api);
