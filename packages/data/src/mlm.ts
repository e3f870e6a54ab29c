/**
 * The masked-language-model collator (BERT's recipe): of the non-special tokens, each is chosen
 * with probability 15%; a chosen token becomes [MASK] 80% of the time, a random token 10%, and
 * stays itself 10%. Labels hold the original id at chosen positions and -100 elsewhere.
 */
import type { BertTokenizer } from '@sibert/tokenizer';
import { Rng } from './random';
import { specialTokenIds } from './tokens';

/** The label of positions that carry no loss (PyTorch's and HuggingFace's ignore index). */
export const IGNORE_INDEX = -100;

export interface MlmCollatorOptions {
  /** Every sequence is padded to this length; longer ones are an error. */
  seqLen: number;
  vocabSize: number;
  maskTokenId: number;
  padTokenId: number;
  /** Ids never chosen for masking and never drawn as random replacements ([CLS], [SEP], [PAD], …). */
  specialTokenIds: readonly number[];
  seed: number;
  /** Share of non-special tokens chosen; default 0.15. */
  maskProbability?: number;
  /** Share of chosen tokens replaced by [MASK]; default 0.8. */
  maskTokenShare?: number;
  /** Share of chosen tokens replaced by a random non-special token; default 0.1 (the rest stay). */
  randomTokenShare?: number;
}

/** A batch as flat row-major typed arrays of shape [batchSize, seqLen], ready to upload. */
export interface MlmBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** 1 for tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Original id at chosen positions, -100 elsewhere. */
  labels: Int32Array;
  /** Flat indices (row * seqLen + column) of the chosen positions, ascending: for gathering before the decoder. */
  maskedPositions: Int32Array;
}

function checkShare(name: string, value: number): number {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`MlmCollator: expected ${name} in [0, 1], got ${value}`);
  return value;
}

export class MlmCollator {
  readonly seqLen: number;
  private readonly options: Required<MlmCollatorOptions>;
  private readonly isSpecial: Uint8Array;
  /** Replacement candidates: every non-special id. */
  private readonly randomIds: Int32Array;

  /** The collator of a tokenizer's vocabulary and special ids ([MASK], [PAD], every special token). */
  static forTokenizer(tokenizer: BertTokenizer, options: { seqLen: number; seed: number }): MlmCollator {
    const ids = specialTokenIds(tokenizer);
    return new MlmCollator({
      ...options,
      vocabSize: tokenizer.vocabSize,
      maskTokenId: ids.mask,
      padTokenId: ids.pad,
      specialTokenIds: ids.all,
    });
  }

  constructor(options: MlmCollatorOptions) {
    const { seqLen, vocabSize, maskTokenId, padTokenId, specialTokenIds } = options;
    if (!Number.isInteger(seqLen) || seqLen < 1) {
      throw new RangeError(`MlmCollator: expected seqLen to be a positive integer, got ${seqLen}`);
    }
    if (!Number.isInteger(vocabSize) || vocabSize < 1) {
      throw new RangeError(`MlmCollator: expected vocabSize to be a positive integer, got ${vocabSize}`);
    }
    for (const [name, id] of [
      ['maskTokenId', maskTokenId],
      ['padTokenId', padTokenId],
    ] as const) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new RangeError(`MlmCollator: expected ${name} in [0, ${vocabSize}), got ${id}`);
      }
    }
    this.options = {
      ...options,
      maskProbability: checkShare('maskProbability', options.maskProbability ?? 0.15),
      maskTokenShare: checkShare('maskTokenShare', options.maskTokenShare ?? 0.8),
      randomTokenShare: checkShare('randomTokenShare', options.randomTokenShare ?? 0.1),
    };
    if (this.options.maskTokenShare + this.options.randomTokenShare > 1) {
      throw new RangeError(
        `MlmCollator: expected maskTokenShare + randomTokenShare <= 1, got ${this.options.maskTokenShare + this.options.randomTokenShare}`,
      );
    }
    this.seqLen = seqLen;
    this.isSpecial = new Uint8Array(vocabSize);
    for (const id of [...specialTokenIds, maskTokenId, padTokenId]) {
      if (id >= 0 && id < vocabSize) this.isSpecial[id] = 1;
    }
    this.randomIds = Int32Array.from({ length: vocabSize }, (_, id) => id).filter(
      (id) => this.isSpecial[id] === 0,
    );
    if (this.randomIds.length === 0)
      throw new RangeError('MlmCollator: the vocabulary has no non-special token');
  }

  /**
   * Pads and masks `sequences` (token ids, special tokens included). The masks depend only on
   * the seed, `step` and the sequences, so a resumed run reproduces them.
   */
  collate(sequences: readonly ArrayLike<number>[], step: number): MlmBatch {
    const { seqLen } = this;
    const { padTokenId, maskTokenId, maskProbability, maskTokenShare, randomTokenShare, vocabSize } =
      this.options;
    const rng = Rng.derive(this.options.seed, step);
    const batchSize = sequences.length;
    const size = batchSize * seqLen;
    const inputIds = new Int32Array(size).fill(padTokenId);
    const attentionMask = new Int32Array(size);
    const labels = new Int32Array(size).fill(IGNORE_INDEX);
    const masked: number[] = [];
    for (let row = 0; row < batchSize; row++) {
      const sequence = sequences[row]!;
      if (sequence.length > seqLen) {
        throw new RangeError(
          `MlmCollator.collate: sequence ${row} has ${sequence.length} tokens, expected at most ${seqLen}`,
        );
      }
      for (let col = 0; col < sequence.length; col++) {
        const id = sequence[col]!;
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new RangeError(
            `MlmCollator.collate: sequence ${row} token ${col} is ${id}, expected an id in [0, ${vocabSize})`,
          );
        }
        const at = row * seqLen + col;
        inputIds[at] = id;
        attentionMask[at] = 1;
        if (this.isSpecial[id] === 1 || rng.nextFloat() >= maskProbability) continue;
        labels[at] = id;
        masked.push(at);
        const action = rng.nextFloat();
        if (action < maskTokenShare) inputIds[at] = maskTokenId;
        else if (action < maskTokenShare + randomTokenShare)
          inputIds[at] = this.randomIds[rng.nextInt(this.randomIds.length)]!;
      }
    }
    return {
      batchSize,
      seqLen,
      inputIds,
      // Packed sequences are single segments.
      tokenTypeIds: new Int32Array(size),
      attentionMask,
      labels,
      maskedPositions: Int32Array.from(masked),
    };
  }
}
