import {
  BatchIterator,
  type CorpusName,
  type MlmBatch,
  MlmCollator,
  packSequences,
  specialTokenIds,
  tokenizeDocuments,
  UnigramModel,
  type UnigramScore,
} from '@sibert/data';
import { pretrainingDocuments } from '@sibert/data/node';
import { trainWordPiece } from '@sibert/tokenizer';

export interface CorpusBatchesOptions {
  corpora: CorpusName[];
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  /** The number of batches to prepare (every run of a suite sees these same batches, in order). */
  count: number;
  seed: number;
}

/**
 * Real-text MLM batches: a WordPiece vocabulary trained on the corpora, documents packed into
 * [CLS] … [SEP] sequences, shuffled by seed and masked (15%) by the data package's collator; their
 * unigram baseline (a unigram model of the packed sequences on the batches' masked labels); and
 * that model's log prior, which the trainer's short recipe starts the MLM output bias at.
 */
export function corpusBatches(options: CorpusBatchesOptions): {
  vocabSize: number;
  batches: MlmBatch[];
  baseline: UnigramScore;
  logPrior: Float64Array;
} {
  const documents = [...pretrainingDocuments({ corpora: options.corpora })];
  const tokenizer = trainWordPiece(
    documents.flatMap((d) => d.paragraphs),
    { vocabSize: options.vocabSize },
  );
  const ids = specialTokenIds(tokenizer);
  const sequences: Int32Array[] = [];
  const wanted = options.count * options.batchSize;
  for (const sequence of packSequences(tokenizeDocuments(documents, tokenizer), {
    seqLen: options.seqLen,
    clsId: ids.cls,
    sepId: ids.sep,
  })) {
    sequences.push(sequence);
    if (sequences.length >= 4 * wanted) break;
  }
  const collator = new MlmCollator({
    seqLen: options.seqLen,
    vocabSize: tokenizer.vocabSize,
    maskTokenId: ids.mask,
    padTokenId: ids.pad,
    specialTokenIds: ids.all,
    seed: options.seed,
  });
  const iterator = new BatchIterator({
    size: sequences.length,
    batchSize: options.batchSize,
    seed: options.seed,
    dropLast: true,
  });
  const batches: MlmBatch[] = [];
  while (batches.length < options.count) {
    const next = iterator.next();
    if (next.done) break;
    batches.push(
      collator.collate(
        Array.from(next.value.indices, (i) => sequences[i]!),
        next.value.step,
      ),
    );
  }
  const unigram = UnigramModel.fit(sequences, { vocabSize: tokenizer.vocabSize, excludeIds: ids.all });
  const baseline = unigram.score(batches.flatMap((b) => Array.from(b.maskedPositions, (p) => b.labels[p]!)));
  return { vocabSize: tokenizer.vocabSize, batches, baseline, logPrior: unigram.logPrior() };
}
