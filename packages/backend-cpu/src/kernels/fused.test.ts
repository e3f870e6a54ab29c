import { describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  coordsOf,
  expectClose,
  inBothStorages,
  randomView,
  rt,
  seeded,
  view,
} from '../test-support.js';
import { crossEntropy, layerNormalize, logSoftmax, siNormalize, softmax } from './fused.js';

/** Applies `f` to each row of the last axis in float64. */
function perRow(values: ArrayLike<number>, n: number, f: (row: number[]) => number[]): number[] {
  const out: number[] = [];
  for (let base = 0; base < values.length; base += n)
    out.push(...f(Array.from({ length: n }, (_, i) => values[base + i]!)));
  return out;
}

/** The composed definitions, written without any max-shift so they check the kernels' stabilisation. */
const softmaxRow = (row: number[]) => {
  const e = row.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const logSoftmaxRow = (row: number[]) => {
  const lse = Math.log(row.map(Math.exp).reduce((a, b) => a + b, 0));
  return row.map((v) => v - lse);
};

const SHAPES = [[1], [5], [3, 17], [2, 3, 33], [2, 1, 3, 2, 5]];

inBothStorages(() => {
  describe('softmax and logSoftmax', () => {
    const random = seeded(41);
    for (const shape of SHAPES) {
      it(`match their composed definitions on [${shape}]`, () => {
        const x = randomView(shape, random, 'float32', 5);
        const n = shape[shape.length - 1]!;
        expectClose(softmax(rt, x, { shape, dtype: 'float32' }), perRow(x.handle, n, softmaxRow), 1e-5, 1e-7);
        expectClose(
          logSoftmax(rt, x, { shape, dtype: 'float32' }),
          perRow(x.handle, n, logSoftmaxRow),
          1e-5,
          1e-6,
        );
      });
    }

    it('stay finite for large logits (max subtraction)', () => {
      const x = view(Float32Array.of(1000, 1001, 999, -1e30), [4]);
      const shifted = [0, 1, -1, -1e30];
      expectClose(softmax(rt, x, { shape: [4], dtype: 'float32' }), softmaxRow(shifted), 1e-6, 1e-7);
      expectClose(logSoftmax(rt, x, { shape: [4], dtype: 'float32' }), logSoftmaxRow(shifted), 1e-6, 1e-4);
    });

    it('handle size 0', () => {
      expect(softmax(rt, view(new Float32Array(0), [0, 3]), { shape: [0, 3], dtype: 'float32' }).length).toBe(
        0,
      );
      expect(
        logSoftmax(rt, view(new Float32Array(0), [2, 0]), { shape: [2, 0], dtype: 'float32' }).length,
      ).toBe(0);
    });
  });

  describe('layerNormalize', () => {
    const random = seeded(42);
    for (const shape of SHAPES) {
      it(`matches (x − mean)/√(var + eps) with biased variance on [${shape}]`, () => {
        const x = randomView(shape, random, 'float32', 4);
        const n = shape[shape.length - 1]!;
        const eps = 1e-5;
        const expected = perRow(x.handle, n, (row) => {
          const mean = row.reduce((a, b) => a + b, 0) / n;
          const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
          return row.map((v) => (v - mean) / Math.sqrt(variance + eps));
        });
        expectClose(layerNormalize(rt, x, eps, { shape, dtype: 'float32' }), expected, 1e-5, 1e-5);
      });
    }

    it('keeps precision on a large offset (two-pass variance)', () => {
      const x = view(Float32Array.of(10000, 10001, 10002, 10003), [4]);
      const sd = Math.sqrt(1.25);
      expectClose(
        layerNormalize(rt, x, 0, { shape: [4], dtype: 'float32' }),
        [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd],
        1e-6,
        1e-6,
      );
    });
  });

  describe('crossEntropy', () => {
    it('is logsumexp − logit[label] per row, 0 where label == ignoreIndex', () => {
      const random = seeded(43);
      const logits = randomView([6, 33], random, 'float32', 10);
      const labels = view(Int32Array.of(0, 32, -100, 5, 17, -100), [6]);
      const expected = new Array<number>(6).fill(0);
      for (let r = 0; r < 6; r++) {
        const label = (labels.handle as Int32Array)[r]!;
        if (label === -100) continue;
        const row = Array.from(logits.handle.subarray(r * 33, r * 33 + 33));
        expected[r] = -logSoftmaxRow(row)[label]!;
      }
      const out = crossEntropy(rt, logits, labels, -100, { shape: [6], dtype: 'float32' });
      expectClose(out, expected, 1e-5, 1e-5);
    });
  });

  describe('siNormalize', () => {
    const random = seeded(44);
    const eps = 1e-6;
    /** relu(x)·keep / (Σ relu(x)·keep + eps) over the last axis, keep broadcast to x. */
    function reference(
      x: Float32Array,
      shape: number[],
      keep: Float32Array | null,
      keepShape: number[],
    ): number[] {
      const n = shape[shape.length - 1]!;
      const a = Array.from(
        x,
        (v, i) => Math.max(v, 0) * (keep ? keep[broadcastIndex(coordsOf(i, shape), keepShape)]! : 1),
      );
      return perRow(a, n, (row) => {
        const s = row.reduce((p, q) => p + q, 0);
        return row.map((v) => v / (s + eps));
      });
    }

    for (const [shape, keepShape] of [
      [[5], null],
      [[3, 17], null],
      [
        [2, 3, 4, 6],
        [2, 1, 1, 6],
      ],
      [[2, 3, 4, 6], [6]],
      [
        [2, 3, 4, 6],
        [2, 3, 4, 1],
      ],
      [
        [2, 2, 3, 5],
        [2, 2, 3, 5],
      ],
      [
        [1, 3, 2, 2, 7],
        [3, 1, 1, 7],
      ],
    ] as [number[], number[] | null][]) {
      it(`matches relu·keep / (Σ + eps) on [${shape}] with keep ${keepShape ? `[${keepShape}]` : 'none'}`, () => {
        const x = randomView(shape, random);
        const keep = keepShape
          ? view(
              Float32Array.from({ length: keepShape.reduce((p, q) => p * q, 1) }, () =>
                random() < 0.7 ? 1 : 0,
              ),
              keepShape,
            )
          : null;
        const expected = reference(
          x.handle as Float32Array,
          shape,
          (keep?.handle as Float32Array) ?? null,
          keepShape ?? [],
        );
        expectClose(siNormalize(rt, x, keep, eps, { shape, dtype: 'float32' }), expected, 1e-5, 1e-7);
      });
    }

    it('gives a zero row (not NaN) where every key is masked or negative', () => {
      const x = view(Float32Array.of(1, 2, -1, -2), [2, 2]);
      const keep = view(Float32Array.of(0, 0), [1, 2]);
      expect(Array.from(siNormalize(rt, x, keep, eps, { shape: [2, 2], dtype: 'float32' }))).toEqual([
        0, 0, 0, 0,
      ]);
    });
  });
});
