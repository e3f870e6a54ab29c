import type { BinaryOp, CompareOp, DType, UnaryOp } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  broadcastShapes,
  coordsOf,
  erfReference,
  expectClose,
  inBothStorages,
  randomView,
  rt,
  seeded,
  sizeOfShape,
  view,
} from '../test-support.js';
import { binary, cast, compare, fill, unary, where } from './elementwise.js';

const UNARY_REFERENCES: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => (Number.isNaN(x) ? x : Math.max(x, 0)),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  erf: erfReference,
  gelu: (x) => 0.5 * x * (1 + erfReference(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

inBothStorages(() => {
  describe('unary', () => {
    const random = seeded(1);
    for (const op of Object.keys(UNARY_REFERENCES) as UnaryOp[]) {
      it(`${op} matches its float64 definition (float32)`, () => {
        const positiveOnly = op === 'log' || op === 'sqrt' || op === 'rsqrt';
        const x = randomView([3, 17], random, 'float32', 4);
        const values = x.handle as Float32Array;
        if (positiveOnly) for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i]!) + 1e-3;
        values[0] = 0.5;
        values[1] = -1e-4; // the small-argument branch of erf keeps relative precision
        if (positiveOnly) values[1] = 1e-4;
        const out = unary(rt, x, op, { shape: x.shape, dtype: 'float32' });
        expect(out).toBeInstanceOf(Float32Array);
        expectClose(out, Array.from(values, UNARY_REFERENCES[op]), 2e-6, 1e-7);
      });
    }

    it('propagates NaN through relu and keeps the sign of tails in gelu', () => {
      const x = view(Float32Array.of(Number.NaN, -30, 30, -6), [4]);
      expectClose(unary(rt, x, 'relu', { shape: [4], dtype: 'float32' }), [Number.NaN, 0, 30, 0]);
      const gelu = unary(rt, x, 'gelu', { shape: [4], dtype: 'float32' });
      expect(gelu[1]).toBeLessThanOrEqual(0);
      expect(gelu[2]).toBe(30);
      // −6·Φ(−6), Φ(−6) = 9.8658764503769e-10: the tail that 1 + erf(x/√2) would cancel away.
      expect(gelu[3]! / (-6 * 9.8658764503769e-10)).toBeCloseTo(1, 5);
      expectClose(unary(rt, x, 'erf', { shape: [4], dtype: 'float32' }), [Number.NaN, -1, 1, -1]);
    });

    for (const op of ['neg', 'abs', 'sign', 'square'] as const) {
      it(`${op} on int32 stays int32 and wraps like C`, () => {
        const x = view(Int32Array.of(-7, 0, 5, 46341, -2147483648), [5]);
        const out = unary(rt, x, op, { shape: [5], dtype: 'int32' });
        expect(out).toBeInstanceOf(Int32Array);
        const expected = Array.from(x.handle as Int32Array, (v) =>
          op === 'square' ? Math.imul(v, v) : UNARY_REFERENCES[op](v) | 0,
        );
        expect(Array.from(out)).toEqual(expected);
      });
    }

    it('handles size 0', () => {
      expect(
        unary(rt, view(new Float32Array(0), [0, 3]), 'exp', { shape: [0, 3], dtype: 'float32' }).length,
      ).toBe(0);
    });
  });

  const BINARY_REFERENCES: Record<BinaryOp, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    pow: (a, b) => a ** b,
    maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)),
    minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)),
  };

  /** Pairs of shapes covering same shape, scalars, row/column broadcast, both-sided broadcast, rank 5, size 0. */
  const BROADCAST_CASES: [number[], number[]][] = [
    [[17], [17]],
    [
      [3, 5],
      [3, 5],
    ],
    [[4, 5], []],
    [[], [4, 5]],
    [[1], [3, 1]],
    [[6, 33], [33]],
    [
      [6, 33],
      [6, 1],
    ],
    [
      [3, 1, 5],
      [1, 4, 1],
    ],
    [
      [2, 3, 1, 5, 1],
      [3, 4, 1, 3],
    ],
    [
      [2, 1, 3, 1, 5],
      [2, 4, 1, 7, 1],
    ],
    [[1, 1, 1], [1]],
    [[0, 3], [3]],
    [
      [2, 0],
      [1, 1],
    ],
    [
      [5, 1, 3],
      [5, 2, 3],
    ],
  ];

  function binaryReference(
    a: ArrayLike<number>,
    aShape: number[],
    b: ArrayLike<number>,
    bShape: number[],
    f: (x: number, y: number) => number,
  ): { shape: number[]; values: number[] } {
    const shape = broadcastShapes(aShape, bShape);
    const values: number[] = [];
    for (let i = 0; i < sizeOfShape(shape); i++) {
      const coords = coordsOf(i, shape);
      values.push(f(a[broadcastIndex(coords, aShape)]!, b[broadcastIndex(coords, bShape)]!));
    }
    return { shape, values };
  }

  describe('binary', () => {
    const random = seeded(2);
    for (const [aShape, bShape] of BROADCAST_CASES) {
      it(`broadcasts [${aShape}] with [${bShape}] for every op`, () => {
        const a = randomView(aShape, random);
        const b = randomView(bShape, random);
        for (const op of Object.keys(BINARY_REFERENCES) as BinaryOp[]) {
          const bValues =
            op === 'pow' ? (b.handle as Float32Array).map(Math.round) : (b.handle as Float32Array);
          const expected = binaryReference(a.handle, aShape, bValues, bShape, BINARY_REFERENCES[op]);
          const out = binary(rt, a, view(bValues, bShape), op, { shape: expected.shape, dtype: 'float32' });
          expectClose(out, Float32Array.from(expected.values), 1e-6, 1e-6);
        }
      });
    }

    it('propagates NaN through maximum and minimum from either side', () => {
      const a = view(Float32Array.of(Number.NaN, 1, 2), [3]);
      const b = view(Float32Array.of(0, Number.NaN, 3), [3]);
      expectClose(binary(rt, a, b, 'maximum', { shape: [3], dtype: 'float32' }), [Number.NaN, Number.NaN, 3]);
      expectClose(binary(rt, a, b, 'minimum', { shape: [3], dtype: 'float32' }), [Number.NaN, Number.NaN, 2]);
    });

    for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum'] as const) {
      it(`${op} on int32 is exact and wraps like C`, () => {
        const random = seeded(3);
        const a = randomView([4, 5], random, 'int32', 1000);
        const b = randomView([5], random, 'int32', 1000);
        (a.handle as Int32Array)[0] = 2147483647;
        (b.handle as Int32Array)[0] = 65537;
        const f = op === 'mul' ? Math.imul : (x: number, y: number) => BINARY_REFERENCES[op](x, y) | 0;
        const expected = binaryReference(a.handle, a.shape as number[], b.handle, b.shape as number[], f);
        const out = binary(rt, a, b, op, { shape: expected.shape, dtype: 'int32' });
        expect(out).toBeInstanceOf(Int32Array);
        expect(Array.from(out)).toEqual(expected.values);
      });
    }
  });

  describe('compare', () => {
    const references: Record<CompareOp, (a: number, b: number) => boolean> = {
      gt: (a, b) => a > b,
      ge: (a, b) => a >= b,
      lt: (a, b) => a < b,
      le: (a, b) => a <= b,
      eq: (a, b) => a === b,
      ne: (a, b) => a !== b,
    };
    for (const dtype of ['float32', 'int32'] as DType[]) {
      it(`gives int32 0/1 with broadcasting (${dtype}, NaN compares unequal)`, () => {
        const random = seeded(4);
        const a = randomView([3, 1, 5], random, dtype, 2);
        const b = randomView([4, 1], random, dtype, 2);
        if (dtype === 'float32') (a.handle as Float32Array)[2] = Number.NaN;
        if (dtype === 'float32') (a.handle as Float32Array).set((b.handle as Float32Array).subarray(0, 3), 3);
        for (const op of Object.keys(references) as CompareOp[]) {
          const expected = binaryReference(a.handle, [3, 1, 5], b.handle, [4, 1], (x, y) =>
            references[op](x, y) ? 1 : 0,
          );
          const out = compare(rt, a, b, op, { shape: expected.shape, dtype: 'int32' });
          expect(out).toBeInstanceOf(Int32Array);
          expect(Array.from(out)).toEqual(expected.values);
        }
      });
    }
  });

  describe('where', () => {
    it('selects with three-way broadcasting', () => {
      const random = seeded(5);
      const cond = view(
        Int32Array.from({ length: 4 }, (_, i) => i % 2),
        [4, 1, 1],
      );
      const a = randomView([3, 1], random);
      const b = randomView([1, 5], random);
      const shape = [4, 3, 5];
      const expected: number[] = [];
      for (let i = 0; i < 60; i++) {
        const c = coordsOf(i, shape);
        expected.push(
          (cond.handle as Int32Array)[broadcastIndex(c, [4, 1, 1])] !== 0
            ? a.handle[broadcastIndex(c, [3, 1])]!
            : b.handle[broadcastIndex(c, [1, 5])]!,
        );
      }
      expectClose(where(rt, cond, a, b, { shape, dtype: 'float32' }), expected, 0, 0);
    });

    it('accepts a float condition and int32 branches', () => {
      const cond = view(Float32Array.of(0, 2.5, -0, Number.NaN), [4]);
      const a = view(Int32Array.of(1, 2, 3, 4), [4]);
      const b = view(Int32Array.of(-1), []);
      const out = where(rt, cond, a, b, { shape: [4], dtype: 'int32' });
      expect(Array.from(out)).toEqual([-1, 2, -1, 4]);
    });
  });

  describe('cast and fill', () => {
    it('casts float32 → int32 by truncation toward zero and back exactly', () => {
      const x = view(Float32Array.of(1.9, -1.9, 0, Number.NaN, 3e9, 7), [6]);
      const asInt = cast(rt, x, { shape: [6], dtype: 'int32' });
      expect(asInt).toBeInstanceOf(Int32Array);
      expect(Array.from(asInt)).toEqual([1, -1, 0, 0, 3e9 | 0, 7]);
      const back = cast(rt, view(Int32Array.of(-5, 16777217), [2]), { shape: [2], dtype: 'float32' });
      expect(Array.from(back)).toEqual([-5, 16777216]);
      const same = cast(rt, x, { shape: [6], dtype: 'float32' });
      expect(same).not.toBe(x.handle);
    });

    it('fills either dtype, including size 0', () => {
      expect(Array.from(fill(rt, 2.5, { shape: [2, 2], dtype: 'float32' }))).toEqual([2.5, 2.5, 2.5, 2.5]);
      expect(Array.from(fill(rt, -3, { shape: [3], dtype: 'int32' }))).toEqual([-3, -3, -3]);
      expect(fill(rt, 1, { shape: [0, 4], dtype: 'float32' }).length).toBe(0);
    });
  });
});
