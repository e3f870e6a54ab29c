import { describe, expect, it } from 'vitest';
import { Rng } from './random';

describe('Rng', () => {
  it('repeats its stream for a seed and differs across seeds and derived keys', () => {
    const draw = (rng: Rng) => Array.from({ length: 8 }, () => rng.nextUint32());
    expect(draw(new Rng(7))).toEqual(draw(new Rng(7)));
    expect(draw(new Rng(7))).not.toEqual(draw(new Rng(8)));
    expect(draw(Rng.derive(7, 1, 2))).toEqual(draw(Rng.derive(7, 1, 2)));
    expect(draw(Rng.derive(7, 1, 2))).not.toEqual(draw(Rng.derive(7, 2, 1)));
    expect(draw(Rng.derive(7, 1))).not.toEqual(draw(Rng.derive(7, 1, 0)));
  });

  it('draws floats in [0, 1) and bounded integers uniformly (chi-square over 10 bins)', () => {
    const rng = new Rng(123);
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.nextFloat();
      min = Math.min(min, x);
      max = Math.max(max, x);
      bins[rng.nextInt(10)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const expected = n / 10;
    const chi2 = bins.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
    expect(chi2).toBeLessThan(27.9);
  });

  it('shuffles into a permutation', () => {
    const items = Int32Array.from({ length: 100 }, (_, i) => i);
    const shuffled = new Rng(1).shuffle(items.slice());
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual([...items]);
  });

  it('rejects seeds and bounds outside its range', () => {
    expect(() => new Rng(-1)).toThrow(/seed: expected an integer in \[0, 2\^32\), got -1/);
    expect(() => Rng.derive(1, 0.5)).toThrow(/key 0: expected an integer/);
    expect(() => new Rng(1).nextInt(0)).toThrow(/expected an integer bound in \[1, 2\^32\], got 0/);
  });
});
