import {
  BatchIterator,
  type BatchIteratorState,
  type CorpusName,
  type MlmBatch,
  MlmCollator,
  maskedLabels,
  packSequences,
  pretrainingDocuments,
  specialTokenIds,
  tokenizeDocuments,
  UnigramModel,
  type UnigramScore,
} from '@sibert/data';
import { BertTokenizer, type TokenizerJson } from '@sibert/tokenizer';

/** Every this-many-th document is held out of pretraining, for `sibert-train eval`. */
export const HELD_OUT_EVERY = 50;
/** The mask seed of held-out batches is fixed, so evaluations of different runs compare. */
const HELD_OUT_MASK_SEED = 7_919;

export interface PretrainDataSpec {
  tokenizer: TokenizerJson;
  corpora: CorpusName[];
  seqLen: number;
  batchSize: number;
  seed: number;
  /** Keep at most this many training sequences (0: all). */
  maxSequences: number;
  /** Where the batch stream starts (a checkpoint's data position). */
  state?: BatchIteratorState;
}

export interface PretrainBatch {
  batch: MlmBatch;
  /** The data position after this batch: what a checkpoint taken after it stores. */
  stateAfter: BatchIteratorState;
}

/**
 * The pretraining stream: documents of the corpora tokenized and packed into [CLS] … [SEP]
 * sequences, every 50th document held out, batches shuffled per epoch by seed and masked by
 * (seed, step), so a run resumed from a data position sees the same batches.
 */
export class PretrainData {
  private constructor(
    readonly train: Int32Array[],
    readonly heldOut: Int32Array[],
    private readonly collator: MlmCollator,
    private readonly heldOutCollator: MlmCollator,
    private readonly iterator: BatchIterator,
    private readonly unigram: UnigramModel,
  ) {}

  static build(spec: PretrainDataSpec): PretrainData {
    const tokenizer = BertTokenizer.fromTokenizerJson(spec.tokenizer);
    const ids = specialTokenIds(tokenizer);
    const documents = [...pretrainingDocuments({ corpora: spec.corpora })];
    const pack = (docs: typeof documents, limit: number) => {
      const out: Int32Array[] = [];
      for (const sequence of packSequences(tokenizeDocuments(docs, tokenizer), {
        seqLen: spec.seqLen,
        clsId: ids.cls,
        sepId: ids.sep,
      })) {
        out.push(sequence);
        if (limit > 0 && out.length >= limit) break;
      }
      return out;
    };
    const train = pack(
      documents.filter((_, i) => i % HELD_OUT_EVERY !== 0),
      spec.maxSequences,
    );
    const heldOut = pack(
      documents.filter((_, i) => i % HELD_OUT_EVERY === 0),
      0,
    );
    if (train.length < spec.batchSize) {
      throw new RangeError(
        `--batch-size ${spec.batchSize} is larger than the ${train.length} training sequences of ${spec.seqLen} tokens the corpora give`,
      );
    }
    const collatorOptions = {
      seqLen: spec.seqLen,
      vocabSize: tokenizer.vocabSize,
      maskTokenId: ids.mask,
      padTokenId: ids.pad,
      specialTokenIds: ids.all,
    };
    const iterator = new BatchIterator({
      size: train.length,
      batchSize: spec.batchSize,
      seed: spec.seed,
      dropLast: true,
      ...(spec.state ? { state: spec.state } : {}),
    });
    return new PretrainData(
      train,
      heldOut,
      new MlmCollator({ ...collatorOptions, seed: spec.seed }),
      new MlmCollator({ ...collatorOptions, seed: HELD_OUT_MASK_SEED }),
      iterator,
      UnigramModel.fit(train, { vocabSize: tokenizer.vocabSize, excludeIds: ids.all }),
    );
  }

  next(): PretrainBatch {
    const result = this.iterator.next();
    if (result.done) throw new RangeError('the batch stream ended'); // unreachable: no epoch limit
    const { indices, step } = result.value;
    const sequences = Array.from(indices, (i) => this.train[i]!);
    return { batch: this.collator.collate(sequences, step), stateAfter: this.iterator.state() };
  }

  /**
   * The baseline every MLM run is measured against: a unigram model fitted on the training
   * sequences, scored on the masked positions of `heldOutBatches(batchSize)`.
   */
  unigramBaseline(batchSize: number): UnigramScore {
    return this.unigram.score(maskedLabels(this.heldOutBatches(batchSize)));
  }

  /** The held-out sequences in fixed batches with fixed masks. */
  heldOutBatches(batchSize: number): MlmBatch[] {
    const batches: MlmBatch[] = [];
    for (let start = 0, step = 0; start < this.heldOut.length; start += batchSize, step++) {
      batches.push(this.heldOutCollator.collate(this.heldOut.slice(start, start + batchSize), step));
    }
    return batches;
  }
}
