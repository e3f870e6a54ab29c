import { describe, expect, it } from 'vitest';
import { bernoulliThreshold, fillRandom, philox4x32, splitU64 } from './rng.js';

describe('Philox4x32-10', () => {
  // Known-answer vectors published with Random123 (kat_vectors, philox4x32 10 rounds).
  const vectors: [number[], number[], number[]][] = [
    [
      [0, 0, 0, 0],
      [0, 0],
      [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ],
  ];
  for (const [counter, key, expected] of vectors) {
    it(`matches the known answer for counter ${counter.map((c) => c.toString(16)).join(',')}`, () => {
      const out = new Uint32Array(4);
      philox4x32(counter[0]!, counter[1]!, counter[2]!, counter[3]!, key[0]!, key[1]!, out);
      expect(Array.from(out)).toEqual(expected);
    });
  }
});

describe('the random stream', () => {
  it('is a function of (seed, offset + i): a shifted offset shifts the stream', () => {
    const a = new Float32Array(10);
    const b = new Float32Array(6);
    fillRandom({ kind: 'uniform', low: 0, high: 1 }, { seed: 3, offset: 0 }, a);
    fillRandom({ kind: 'uniform', low: 0, high: 1 }, { seed: 3, offset: 4 }, b);
    expect(Array.from(b)).toEqual(Array.from(a.subarray(4)));
  });

  it('splits 53-bit integers into 32-bit words', () => {
    expect(splitU64(2 ** 32 + 5)).toEqual([5, 1]);
    expect(splitU64(7)).toEqual([7, 0]);
  });

  it('bernoulli thresholds are exact at the ends', () => {
    expect(bernoulliThreshold(0)).toBe(0);
    expect(bernoulliThreshold(1)).toBe(16777216);
    const ones = new Float32Array(1000);
    fillRandom({ kind: 'bernoulli', p: 1 }, { seed: 1, offset: 0 }, ones);
    expect(ones.every((v) => v === 1)).toBe(true);
  });
});
