import type { ReduceOp } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import {
  coordsOf,
  expectClose,
  inBothStorages,
  indexOf,
  randomView,
  rt,
  seeded,
  sizeOfShape,
  view,
} from '../test-support.js';
import { reduce } from './reduce.js';

/** Naive float64 reduction by coordinates. */
function reduceReference(values: ArrayLike<number>, shape: number[], op: ReduceOp, axes: number[]): number[] {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const out: number[] = new Array(sizeOfShape(outShape)).fill(
    op === 'sum' ? 0 : op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY,
  );
  for (let i = 0; i < values.length; i++) {
    const coords = coordsOf(i, shape);
    const o = indexOf(
      coords.filter((_, d) => !axes.includes(d)),
      outShape,
    );
    const v = values[i]!;
    const current = out[o]!;
    if (op === 'sum') out[o] = current + v;
    else if (Number.isNaN(current) || Number.isNaN(v)) out[o] = Number.NaN;
    else out[o] = op === 'max' ? Math.max(current, v) : Math.min(current, v);
  }
  return out;
}

function argReference(values: ArrayLike<number>, shape: number[], isMax: boolean, axis: number): number[] {
  const outShape = shape.filter((_, d) => d !== axis);
  const best: number[] = new Array(sizeOfShape(outShape)).fill(Number.NaN);
  const index: number[] = new Array(sizeOfShape(outShape)).fill(-1);
  for (let i = 0; i < values.length; i++) {
    const coords = coordsOf(i, shape);
    const o = indexOf(
      coords.filter((_, d) => d !== axis),
      outShape,
    );
    const v = values[i]!;
    const k = coords[axis]!;
    const b = best[o]!;
    const firstSeen = index[o] === -1;
    const nanLocked = !firstSeen && Number.isNaN(b);
    if (nanLocked) continue;
    if (firstSeen || Number.isNaN(v) || (isMax ? v > b : v < b)) {
      best[o] = v;
      index[o] = k;
    }
  }
  return index;
}

const CASES: [number[], number[]][] = [
  [[17], [0]],
  [[3, 5], [1]],
  [[3, 5], [0]],
  [
    [3, 5],
    [0, 1],
  ],
  [[4, 1, 6], [1]],
  [[2, 3, 4], [1]],
  [
    [2, 3, 4, 5],
    [0, 2],
  ],
  [
    [2, 3, 4, 5],
    [1, 3],
  ],
  [
    [2, 3, 4, 5],
    [1, 2],
  ],
  [
    [3, 2, 5, 1, 7],
    [0, 2, 4],
  ],
  [[3, 2, 5, 1, 7], [3]],
  [[33, 5], [0]],
  [
    [1, 1],
    [0, 1],
  ],
];

inBothStorages(() => {
  describe('reduce sum / max / min', () => {
    const random = seeded(11);
    for (const [shape, axes] of CASES) {
      it(`reduces [${shape}] over [${axes}]`, () => {
        for (const dtype of ['float32', 'int32'] as const) {
          const x = randomView(shape, random, dtype, 50);
          const outShape = shape.filter((_, d) => !axes.includes(d));
          for (const op of ['sum', 'max', 'min'] as const) {
            const out = reduce(rt, x, op, axes, { shape: outShape, dtype });
            expect(out).toBeInstanceOf(dtype === 'float32' ? Float32Array : Int32Array);
            expectClose(out, Float32Array.from(reduceReference(x.handle, shape, op, axes)), 1e-6, 1e-4);
          }
        }
      });
    }

    it('sums in float64, so many small terms do not drift', () => {
      const x = view(new Float32Array(1 << 20).fill(0.1), [1 << 20]);
      const out = reduce(rt, x, 'sum', [0], { shape: [], dtype: 'float32' });
      // 2²⁰ float32 terms of 24 bits sum exactly in float64; a float32 accumulator would be off by ~1%.
      expect(out[0]).toBe(Math.fround(Math.fround(0.1) * (1 << 20)));
    });

    it('propagates NaN in max and min, over trailing and leading axes', () => {
      const x = view(Float32Array.of(1, Number.NaN, 3, 4, 5, 6), [2, 3]);
      expectClose(reduce(rt, x, 'max', [1], { shape: [2], dtype: 'float32' }), [Number.NaN, 6]);
      expectClose(reduce(rt, x, 'min', [0], { shape: [3], dtype: 'float32' }), [1, Number.NaN, 3]);
      expectClose(reduce(rt, x, 'sum', [0, 1], { shape: [], dtype: 'float32' }), [Number.NaN]);
    });

    it('gives the identity over an empty axis and nothing over an empty kept axis', () => {
      const x = view(new Float32Array(0), [3, 0]);
      expect(Array.from(reduce(rt, x, 'sum', [1], { shape: [3], dtype: 'float32' }))).toEqual([0, 0, 0]);
      expect(Array.from(reduce(rt, x, 'max', [1], { shape: [3], dtype: 'float32' }))).toEqual([
        Number.NEGATIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]);
      expect(reduce(rt, x, 'sum', [0], { shape: [0], dtype: 'float32' }).length).toBe(0);
    });
  });

  describe('reduce argmax / argmin', () => {
    const random = seeded(12);
    for (const [shape, axis] of [
      [[17], 0],
      [[3, 5], 1],
      [[3, 5], 0],
      [[2, 3, 4, 5], 2],
      [[2, 3, 1, 5, 3], 4],
      [[2, 3, 1, 5, 3], 0],
    ] as [number[], number][]) {
      it(`finds the first extreme of [${shape}] along ${axis}, with ties and NaN`, () => {
        // Few distinct values force ties; a sprinkling of NaN must win from its first occurrence.
        const x = randomView(shape, random, 'float32', 2);
        const values = x.handle as Float32Array;
        for (let i = 0; i < values.length; i++) values[i] = Math.round(values[i]!);
        for (let i = 5; i < values.length; i += 13) values[i] = Number.NaN;
        const outShape = shape.filter((_, d) => d !== axis);
        for (const op of ['argmax', 'argmin'] as const) {
          const out = reduce(rt, x, op, [axis], { shape: outShape, dtype: 'int32' });
          expect(out).toBeInstanceOf(Int32Array);
          expect(Array.from(out)).toEqual(argReference(values, shape, op === 'argmax', axis));
        }
      });
    }

    it('takes int32 input', () => {
      const x = view(Int32Array.of(3, 7, 7, -1, -9, -9), [2, 3]);
      expect(Array.from(reduce(rt, x, 'argmax', [1], { shape: [2], dtype: 'int32' }))).toEqual([1, 0]);
      expect(Array.from(reduce(rt, x, 'argmin', [1], { shape: [2], dtype: 'int32' }))).toEqual([0, 1]);
      expect(Array.from(reduce(rt, x, 'argmax', [0], { shape: [3], dtype: 'int32' }))).toEqual([0, 0, 0]);
    });
  });
});
