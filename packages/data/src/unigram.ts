/**
 * The unigram baseline of masked-language modelling: a model that predicts every masked token from
 * word frequencies alone, ignoring context. Every MLM run reaches it first (the "plateau"); a run
 * has learned something about language only once its loss is well below it.
 */

export interface UnigramOptions {
  vocabSize: number;
  /** Ids never counted and never scored ([CLS], [SEP], [PAD], [MASK], …). */
  excludeIds?: readonly number[];
  /**
   * Add-α smoothing, so an id never seen in training has a finite loss; default 1 (Laplace). It
   * is spread over the ids that are not excluded.
   */
  smoothing?: number;
}

export interface UnigramScore {
  /** Mean cross-entropy in nats of the scored ids under the unigram model. */
  loss: number;
  /** Share of scored ids equal to the most frequent training id (the unigram model's guess). */
  accuracy: number;
  /** How many ids were scored (excluded ids are skipped). */
  tokens: number;
}

export class UnigramModel {
  private readonly logProbs: Float64Array;
  /** ln p of an id never seen in training: the smoothing alone. */
  private readonly unseenLogProb: number;

  private constructor(
    readonly counts: Float64Array,
    readonly totalTokens: number,
    readonly mostFrequentId: number,
    private readonly excluded: Uint8Array,
    readonly smoothing: number,
  ) {
    const kept = counts.length - excluded.reduce((n, e) => n + e, 0);
    const denominator = totalTokens + smoothing * kept;
    this.unseenLogProb = Math.log(smoothing / denominator);
    this.logProbs = Float64Array.from(counts, (c, id) =>
      excluded[id] ? Number.NEGATIVE_INFINITY : Math.log((c + smoothing) / denominator),
    );
  }

  /** Counts the ids of `sequences` (for MLM: the run's training sequences). */
  static fit(sequences: Iterable<ArrayLike<number>>, options: UnigramOptions): UnigramModel {
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 1)
      throw new RangeError(`UnigramModel.fit: expected vocabSize to be a positive integer, got ${vocabSize}`);
    const excluded = excludedMask(vocabSize, options.excludeIds);
    const counts = new Float64Array(vocabSize);
    for (const sequence of sequences) {
      for (let i = 0; i < sequence.length; i++) {
        const id = sequence[i]!;
        if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
          throw new RangeError(`UnigramModel.fit: expected ids in [0, ${vocabSize}), got ${id}`);
        if (!excluded[id]) counts[id]! += 1;
      }
    }
    return UnigramModel.fromCounts(counts, excluded, options.smoothing ?? 1);
  }

  private static fromCounts(counts: Float64Array, excluded: Uint8Array, smoothing: number): UnigramModel {
    if (!(smoothing > 0)) throw new RangeError(`UnigramModel: expected smoothing > 0, got ${smoothing}`);
    const total = counts.reduce((n, c) => n + c, 0);
    if (total === 0)
      throw new RangeError('UnigramModel: no token to count (every id is excluded or the input is empty)');
    let mostFrequentId = 0;
    for (let id = 1; id < counts.length; id++) if (counts[id]! > counts[mostFrequentId]!) mostFrequentId = id;
    return new UnigramModel(counts, total, mostFrequentId, excluded, smoothing);
  }

  /** The fitted counts as plain JSON (a run folder keeps them, so its baseline needs no refit). */
  toJSON(): UnigramJson {
    const excludeIds: number[] = [];
    this.excluded.forEach((e, id) => {
      if (e) excludeIds.push(id);
    });
    return {
      vocabSize: this.counts.length,
      excludeIds,
      smoothing: this.smoothing,
      counts: Array.from(this.counts),
    };
  }

  /** The model `toJSON` wrote; checked, since it comes from a file. */
  static fromJSON(json: UnigramJson): UnigramModel {
    const { vocabSize, counts, excludeIds, smoothing } = json ?? ({} as UnigramJson);
    if (
      !Number.isInteger(vocabSize) ||
      !Array.isArray(counts) ||
      counts.length !== vocabSize ||
      counts.some((c) => !(Number.isInteger(c) && c >= 0)) ||
      !Array.isArray(excludeIds)
    )
      throw new RangeError(
        'UnigramModel.fromJSON: expected { vocabSize, excludeIds, smoothing, counts } as toJSON writes it',
      );
    const excluded = excludedMask(vocabSize, excludeIds);
    const kept = Float64Array.from(counts, (c, id) => (excluded[id] ? 0 : c));
    return UnigramModel.fromCounts(kept, excluded, smoothing);
  }

  /** ln p(id); −∞ for an excluded id. */
  logProb(id: number): number {
    const value = this.logProbs[id];
    if (value === undefined) throw new RangeError(`UnigramModel.logProb: id ${id} is outside the vocabulary`);
    return value;
  }

  /**
   * ln p(id) for every id, excluded ids at the smoothed probability of an id never seen: the
   * log prior an MLM's output bias can start from, so it predicts word frequencies at step 0
   * instead of spending its first hundred steps learning them.
   */
  logPrior(): Float64Array {
    return Float64Array.from(this.logProbs, (value, id) => (this.excluded[id] ? this.unseenLogProb : value));
  }

  /** The model's entropy in nats: its loss on its own training tokens, smoothing aside. */
  entropy(): number {
    let h = 0;
    for (const c of this.counts) if (c > 0) h -= (c / this.totalTokens) * Math.log(c / this.totalTokens);
    return h;
  }

  /** Mean loss and accuracy on `ids` (for MLM: the labels at the masked positions). */
  score(ids: Iterable<number>): UnigramScore {
    let loss = 0;
    let correct = 0;
    let tokens = 0;
    for (const id of ids) {
      if (this.excluded[id]) continue;
      loss -= this.logProb(id);
      if (id === this.mostFrequentId) correct++;
      tokens++;
    }
    return tokens === 0
      ? { loss: Number.NaN, accuracy: Number.NaN, tokens: 0 }
      : { loss: loss / tokens, accuracy: correct / tokens, tokens };
  }
}

export interface UnigramJson {
  vocabSize: number;
  excludeIds: number[];
  smoothing: number;
  counts: number[];
}

function excludedMask(vocabSize: number, excludeIds: readonly number[] = []): Uint8Array {
  const excluded = new Uint8Array(vocabSize);
  for (const id of excludeIds) if (id >= 0 && id < vocabSize) excluded[id] = 1;
  return excluded;
}

/** The labels at the masked positions of MLM batches: what an MLM evaluation scores. */
export function* maskedLabels(
  batches: Iterable<{ labels: Int32Array; maskedPositions: Int32Array }>,
): Generator<number> {
  for (const batch of batches) for (const p of batch.maskedPositions) yield batch.labels[p]!;
}
