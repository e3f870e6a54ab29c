import type { BinaryOp, CompareOp, UnaryOp } from '@sibert/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  coordinates,
  download,
  EXACT,
  expectClose,
  sampleValues,
  upload,
} from './test-support.js';
import { openTestBackend } from './testing.js';
import { BINARY_TOLERANCE, UNARY_TOLERANCE } from './tolerances.js';

const backend = await openTestBackend();
afterAll(() => backend?.dispose());

function erf(x: number): number {
  // float64 reference by series / continued fraction (accurate to ~1e-15 in the tested range)
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  return (
    Math.sign(x) *
    (1 - (Math.exp(-t * t) / (t * Math.sqrt(Math.PI))) * (1 - 1 / (2 * t * t) + 3 / (4 * t ** 4)))
  );
}

const UNARY_REFERENCE: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  relu: (x) => Math.max(x, 0),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  erf,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
};

const POSITIVE_ONLY = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt']);

const BINARY_REFERENCE: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: Math.max,
  minimum: Math.min,
};

describe.skipIf(!backend)('webgpu elementwise kernels', () => {
  const b = backend!;

  it.each(Object.keys(UNARY_REFERENCE) as UnaryOp[])('unary %s (float32) matches float64', async (op) => {
    const shape = [3, 50];
    const values = POSITIVE_ONLY.has(op) ? sampleValues(150, 7, 0.01, 20) : sampleValues(150, 7, -6, 6);
    const x = upload(b, values, shape);
    const got = await download(b, b.kernels.unary!(x, op, { shape, dtype: 'float32' }), shape);
    const want = Array.from(values, UNARY_REFERENCE[op]);
    expectClose(got, Float32Array.from(want), UNARY_TOLERANCE[op], `unary(${op})`);
  });

  it('unary handles large magnitudes without NaN (tanh, sigmoid, gelu)', async () => {
    const values = [-100, -30, 30, 100, 0];
    const x = upload(b, values, [5]);
    for (const op of ['tanh', 'sigmoid', 'gelu', 'geluTanh'] as const) {
      const got = await download(b, b.kernels.unary!(x, op, { shape: [5], dtype: 'float32' }), [5]);
      expectClose(got, values.map(UNARY_REFERENCE[op]), UNARY_TOLERANCE[op], op);
    }
  });

  it('int32 unary: neg, abs, sign, square, relu', async () => {
    const values = [-5, -1, 0, 2, 7];
    const x = upload(b, values, [5], 'int32');
    for (const op of ['neg', 'abs', 'sign', 'square', 'relu'] as const) {
      const got = await download(b, b.kernels.unary!(x, op, { shape: [5], dtype: 'int32' }), [5], 'int32');
      expect(Array.from(got), op).toEqual(values.map((v) => UNARY_REFERENCE[op](v) + 0));
    }
    expect(() => b.kernels.unary!(x, 'exp', { shape: [5], dtype: 'int32' })).toThrow(
      /unary\(exp\).*float32.*int32/,
    );
  });

  it.each(Object.keys(BINARY_REFERENCE) as BinaryOp[])('binary %s broadcasts like NumPy', async (op) => {
    const aShape = [2, 3, 4];
    const bShape = [3, 1];
    const outShape = [2, 3, 4];
    const aValues = op === 'pow' ? sampleValues(24, 3, 0.1, 4) : sampleValues(24, 3);
    const bValues = op === 'div' ? sampleValues(3, 5, 0.5, 2) : sampleValues(3, 5, -2, 2);
    const a = upload(b, aValues, aShape);
    const bv = upload(b, bValues, bShape);
    const got = await download(
      b,
      b.kernels.binary!(a, bv, op, { shape: outShape, dtype: 'float32' }),
      outShape,
    );
    const want = new Float32Array(24).map((_, i) => {
      const c = coordinates(i, outShape);
      return BINARY_REFERENCE[op](aValues[broadcastIndex(c, aShape)]!, bValues[broadcastIndex(c, bShape)]!);
    });
    expectClose(got, want, BINARY_TOLERANCE[op], `binary(${op})`);
  });

  it.each([
    [[6, 8], [8]], // vec4 operands, the second repeated along the outer axis
    [
      [6, 8],
      [6, 1],
    ], // the second splat across each vec4
    [[6, 8], [1]], // one scalar
    [
      [3, 2, 8],
      [3, 1, 8],
    ],
    [[1000, 12], [12]], // many workgroups, a partial last one
    [[6, 7], [7]], // rows of 7: no whole vec4s, the scalar kernel
    [
      [5, 6],
      [5, 6],
    ], // 30 elements in one row: not a multiple of 4
  ])('add of %j and %j: vec4 and scalar kernels agree with the reference', async (aShape, bShape) => {
    const outShape = aShape;
    const count = aShape.reduce((p, d) => p * d, 1);
    const aValues = sampleValues(count, 11);
    const bValues = sampleValues(
      bShape.reduce((p, d) => p * d, 1),
      12,
    );
    const got = await download(
      b,
      b.kernels.binary!(upload(b, aValues, aShape), upload(b, bValues, bShape), 'add', {
        shape: outShape,
        dtype: 'float32',
      }),
      outShape,
    );
    const want = new Float32Array(count).map((_, i) => {
      const c = coordinates(i, outShape);
      return aValues[broadcastIndex(c, aShape)]! + bValues[broadcastIndex(c, bShape)]!;
    });
    expectClose(got, want, EXACT, 'add');
  });

  it('concat writes at offsets that are and are not vec4-aligned', async () => {
    for (const widths of [
      [4, 8],
      [4, 8, 3],
      [3, 4],
    ]) {
      const total = widths.reduce((p, w) => p + w, 0);
      const parts = widths.map((w, k) => sampleValues(5 * w, 20 + k));
      const views = parts.map((values, k) => upload(b, values, [5, widths[k]!]));
      const got = await download(b, b.kernels.concat!(views, 1, { shape: [5, total], dtype: 'float32' }), [
        5,
        total,
      ]);
      const want: number[] = [];
      for (let row = 0; row < 5; row++) {
        for (const [k, w] of widths.entries()) want.push(...parts[k]!.subarray(row * w, (row + 1) * w));
      }
      expectClose(got, want, EXACT, `concat ${widths.join('+')}`);
    }
  });

  it('pow follows JavaScript for negative bases, zero exponents and zero bases', async () => {
    const bases = [-2, -2, -8, 0, 0, 5, Number.NaN];
    const exponents = [3, 2, 0.5, 2, -1, 0, 0];
    const a = upload(b, bases, [7]);
    const e = upload(b, exponents, [7]);
    const got = await download(b, b.kernels.binary!(a, e, 'pow', { shape: [7], dtype: 'float32' }), [7]);
    expectClose(
      got,
      bases.map((x, i) => x ** exponents[i]!),
      BINARY_TOLERANCE.pow,
      'pow',
    );
  });

  it('maximum/minimum propagate NaN', async () => {
    const a = upload(b, [1, Number.NaN, 3], [3]);
    const c = upload(b, [2, 0, Number.NaN], [3]);
    const max = await download(b, b.kernels.binary!(a, c, 'maximum', { shape: [3], dtype: 'float32' }), [3]);
    expect(Array.from(max)).toEqual([2, Number.NaN, Number.NaN]);
  });

  it('int32 binary ops and the rejection of int32 div', async () => {
    const a = upload(b, [7, -7, 3], [3], 'int32');
    const c = upload(b, [2], [1], 'int32');
    const results: Record<string, number[]> = {
      add: [9, -5, 5],
      sub: [5, -9, 1],
      mul: [14, -14, 6],
      maximum: [7, 2, 3],
      minimum: [2, -7, 2],
    };
    for (const [op, want] of Object.entries(results)) {
      const got = await download(
        b,
        b.kernels.binary!(a, c, op as BinaryOp, { shape: [3], dtype: 'int32' }),
        [3],
        'int32',
      );
      expect(Array.from(got), op).toEqual(want);
    }
    expect(() => b.kernels.binary!(a, c, 'div', { shape: [3], dtype: 'int32' })).toThrow(
      /binary\(div\).*float32/,
    );
  });

  it('compare produces int32 0/1 with broadcasting', async () => {
    const aValues = [1, 2, 3, 4, 5, 6];
    const a = upload(b, aValues, [2, 3]);
    const c = upload(b, [3], [1]);
    const ops: Record<CompareOp, (x: number, y: number) => boolean> = {
      gt: (x, y) => x > y,
      ge: (x, y) => x >= y,
      lt: (x, y) => x < y,
      le: (x, y) => x <= y,
      eq: (x, y) => x === y,
      ne: (x, y) => x !== y,
    };
    for (const [op, reference] of Object.entries(ops)) {
      const got = await download(
        b,
        b.kernels.compare!(a, c, op as CompareOp, { shape: [2, 3], dtype: 'int32' }),
        [6],
        'int32',
      );
      expect(Array.from(got), op).toEqual(aValues.map((v) => (reference(v, 3) ? 1 : 0)));
    }
  });

  it('where selects with a broadcast condition (int32 and float32 conditions)', async () => {
    const a = upload(b, [1, 2, 3, 4, 5, 6], [2, 3]);
    const c = upload(b, [-1], [1]);
    for (const dtype of ['int32', 'float32'] as const) {
      const cond = upload(b, [1, 0, 1], [3], dtype);
      const got = await download(b, b.kernels.where!(cond, a, c, { shape: [2, 3], dtype: 'float32' }), [6]);
      expect(Array.from(got), dtype).toEqual([1, -1, 3, 4, -1, 6]);
    }
  });

  it('cast truncates towards zero and maps NaN to 0', async () => {
    const x = upload(b, [1.7, -1.7, 0, Number.NaN, 1e6], [5]);
    const got = await download(b, b.kernels.cast!(x, { shape: [5], dtype: 'int32' }), [5], 'int32');
    expect(Array.from(got)).toEqual([1, -1, 0, 0, 1000000]);
    const i = upload(b, [-3, 16777217], [2], 'int32');
    const back = await download(b, b.kernels.cast!(i, { shape: [2], dtype: 'float32' }), [2]);
    expect(Array.from(back)).toEqual([-3, 16777216]);
  });

  it('fill writes float32 and int32 values', async () => {
    const f = await download(b, b.kernels.fill!(-2.5, { shape: [2, 3], dtype: 'float32' }), [6]);
    expect(Array.from(f)).toEqual(new Array(6).fill(-2.5));
    const i = await download(b, b.kernels.fill!(-7, { shape: [4], dtype: 'int32' }), [4], 'int32');
    expect(Array.from(i)).toEqual([-7, -7, -7, -7]);
  });

  it('size-0 outputs return readable empty handles', async () => {
    const x = upload(b, [], [0, 3]);
    const handle = b.kernels.unary!(x, 'exp', { shape: [0, 3], dtype: 'float32' });
    expect((await download(b, handle, [0, 3])).length).toBe(0);
    expectClose(
      await download(b, b.kernels.fill!(1, { shape: [0], dtype: 'float32' }), [0]),
      [],
      EXACT,
      'fill',
    );
  });
});
