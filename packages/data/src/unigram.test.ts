import { describe, expect, it } from 'vitest';
import { maskedLabels, UnigramModel } from './unigram';

// A toy corpus over ids 0..4, where 0 is a special token: counts 1→4, 2→2, 3→1, 4→1 (8 tokens).
const corpus = [Int32Array.from([0, 1, 1, 2, 0]), Int32Array.from([0, 1, 3, 1, 2, 4, 0])];

describe('UnigramModel', () => {
  it('scores held-out ids by add-α smoothed frequencies of the training ids, specials excluded', () => {
    const model = UnigramModel.fit(corpus, { vocabSize: 5, excludeIds: [0], smoothing: 1 });
    // (count + 1) / (8 + 1·4): p(1) = 5/12, p(2) = 3/12, p(3) = p(4) = 2/12.
    expect(Math.exp(model.logProb(1))).toBeCloseTo(5 / 12, 12);
    expect(Math.exp(model.logProb(4))).toBeCloseTo(2 / 12, 12);
    expect(model.logProb(0)).toBe(Number.NEGATIVE_INFINITY);
    const score = model.score([1, 2, 0, 4]);
    expect(score.tokens).toBe(3);
    expect(score.loss).toBeCloseTo(-(Math.log(5 / 12) + Math.log(3 / 12) + Math.log(2 / 12)) / 3, 12);
    // The unigram model always guesses the most frequent id (1): one of three is right.
    expect(model.mostFrequentId).toBe(1);
    expect(score.accuracy).toBeCloseTo(1 / 3, 12);
  });

  it('gives an unseen id a finite loss, and its entropy is the frequencies’ own', () => {
    const model = UnigramModel.fit([Int32Array.from([1, 1, 2, 2])], { vocabSize: 4, smoothing: 0.5 });
    expect(Number.isFinite(model.score([3]).loss)).toBe(true);
    expect(model.entropy()).toBeCloseTo(Math.log(2), 12);
  });

  it('gives a log prior with the smoothed frequencies and an unseen id’s value for excluded ids', () => {
    const model = UnigramModel.fit(corpus, { vocabSize: 5, excludeIds: [0], smoothing: 1 });
    const prior = model.logPrior();
    expect(prior).toHaveLength(5);
    expect(prior[1]).toBeCloseTo(Math.log(5 / 12), 12);
    expect(prior[4]).toBeCloseTo(Math.log(2 / 12), 12);
    // [0] is never a label: it gets what an id never seen would (1 / 12), not −∞.
    expect(prior[0]).toBeCloseTo(Math.log(1 / 12), 12);
  });

  it('reads the labels at the masked positions of MLM batches', () => {
    const batch = { labels: Int32Array.from([-100, 7, -100, 9]), maskedPositions: Int32Array.from([1, 3]) };
    expect([...maskedLabels([batch, batch])]).toEqual([7, 9, 7, 9]);
  });

  it('rejects ids outside the vocabulary and input with nothing to count, naming what came', () => {
    expect(() => UnigramModel.fit([Int32Array.from([5])], { vocabSize: 5 })).toThrow(/\[0, 5\), got 5/);
    expect(() => UnigramModel.fit([Int32Array.from([0])], { vocabSize: 5, excludeIds: [0] })).toThrow(
      /no token to count/,
    );
  });

  it('round-trips through JSON with the same scores, and refuses a malformed file', () => {
    const model = UnigramModel.fit([Int32Array.from([1, 2, 2, 3, 3, 3, 0])], {
      vocabSize: 6,
      excludeIds: [0],
    });
    const again = UnigramModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(again.score([1, 2, 3, 4, 5])).toEqual(model.score([1, 2, 3, 4, 5]));
    expect(again.mostFrequentId).toBe(3);
    expect(() => UnigramModel.fromJSON({ ...model.toJSON(), counts: [1, 2] })).toThrow(/as toJSON writes it/);
  });
});
