import type { BinaryOp, CompareOp, TypedArray, UnaryOp } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, erfReference, seeded, sizeOfShape, view } from '../test-support.js';
import { binary, cast, compare, unary, where } from './elementwise.js';
import { layerNormalize, softmax } from './fused.js';
import { CpuRuntime } from './runtime.js';
import { WASM_BINARY, WASM_COMPARE, WASM_UNARY } from './wasm-elementwise.js';

// The kernels take their WASM path when every array lives in the heap, their JavaScript path
// (the reference) for plain arrays: the same call on copies of the same values compares them.

const rt = new CpuRuntime(1);

function inHeap(values: TypedArray, runtime = rt): TypedArray {
  const copy = runtime.wasm!.heap.allocate(
    values instanceof Int32Array ? 'int32' : 'float32',
    values.length,
  )!;
  copy.set(values);
  return copy;
}

/** Values that stress IEEE edge cases, then random ones. */
const SPECIALS = [Number.NaN, Infinity, -Infinity, 0, -0, 1, -1, 3e38, -3e38, 1e-40, -1e-40, 0.5, -0.5];

function randomFloats(size: number, random: () => number): Float32Array {
  const values = Float32Array.from({ length: size }, () => (random() * 2 - 1) * 4);
  for (let i = 0; i < size; i++)
    if (random() < 0.1) values[i] = SPECIALS[Math.floor(random() * SPECIALS.length)]!;
  return values;
}

/** A random shape of rank 1–4 with odd extents (so rows are rarely multiples of four lanes). */
function randomShape(random: () => number): number[] {
  const rank = 1 + Math.floor(random() * 4);
  return Array.from({ length: rank }, () => 1 + Math.floor(random() * (rank === 1 ? 70 : 9)));
}

/** The shape with some axes set to 1 (broadcast) or dropped from the front. */
function broadcastable(shape: readonly number[], random: () => number): number[] {
  const kept = shape.slice(Math.floor(random() * shape.length));
  return kept.map((d) => (random() < 0.35 ? 1 : d));
}

function expectSameBits(actual: TypedArray, expected: TypedArray, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Int32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Int32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    const bothNaN = Number.isNaN(actual[i]) && Number.isNaN(expected[i]);
    if (a[i] !== e[i] && !bothNaN)
      expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('WASM elementwise kernels', () => {
  it('are available in Node, with tensors stored in shared memory', () => {
    expect(rt.wasm?.storesTensors).toBe(true);
  });

  const random = seeded(7);
  const cases = Array.from({ length: 60 }, () => {
    const shape = randomShape(random);
    return [broadcastable(shape, random), broadcastable(shape, random)] as const;
  });

  for (const op of Object.keys(WASM_BINARY) as BinaryOp[]) {
    it(`${op} gives the same bits as the JavaScript kernel over 60 random broadcasts`, () => {
      for (const [aShape, bShape] of cases) {
        const a = randomFloats(sizeOfShape(aShape), random);
        const b = randomFloats(sizeOfShape(bShape), random);
        const out = { shape: broadcastShapes(aShape, bShape), dtype: 'float32' as const };
        const expected = binary(rt, view(a, aShape), view(b, bShape), op, out);
        const actual = binary(rt, view(inHeap(a), aShape), view(inHeap(b), bShape), op, out);
        expect(rt.wasm!.heap.owns(actual)).toBe(true);
        expectSameBits(actual, expected, `${op} [${aShape}] [${bShape}]`);
      }
    });
  }

  for (const op of Object.keys(WASM_COMPARE) as CompareOp[]) {
    it(`${op} gives the same int32 0/1 as the JavaScript kernel over 60 random broadcasts`, () => {
      for (const [aShape, bShape] of cases) {
        const a = randomFloats(sizeOfShape(aShape), random);
        const b = Float32Array.from(randomFloats(sizeOfShape(bShape), random), (v, i) =>
          i % 3 ? v : a[i % a.length]!,
        );
        const out = { shape: broadcastShapes(aShape, bShape), dtype: 'int32' as const };
        const expected = compare(rt, view(a, aShape), view(b, bShape), op, out);
        const actual = compare(rt, view(inHeap(a), aShape), view(inHeap(b), bShape), op, out);
        expect(actual).toBeInstanceOf(Int32Array);
        expectSameBits(actual, expected, `${op} [${aShape}] [${bShape}]`);
      }
    });
  }

  it('where gives the same bits for every broadcast pattern of condition and branches', () => {
    for (const [aShape, bShape] of cases) {
      const condShape = broadcastable(broadcastShapes(aShape, bShape), random);
      const cond = Int32Array.from({ length: sizeOfShape(condShape) }, () =>
        random() < 0.5 ? 0 : 1 + Math.floor(random() * 5),
      );
      const a = randomFloats(sizeOfShape(aShape), random);
      const b = randomFloats(sizeOfShape(bShape), random);
      const out = { shape: broadcastShapes(condShape, aShape, bShape), dtype: 'float32' as const };
      const expected = where(rt, view(cond, condShape), view(a, aShape), view(b, bShape), out);
      const actual = where(
        rt,
        view(inHeap(cond), condShape),
        view(inHeap(a), aShape),
        view(inHeap(b), bShape),
        out,
      );
      expectSameBits(actual, expected, `where [${condShape}] [${aShape}] [${bShape}]`);
    }
  });

  it('casts int32 to float32 with the same rounding, at every length 0…33', () => {
    const ints = [0, 1, -1, 16777217, -16777217, 2147483647, -2147483648, 123456789];
    for (let n = 0; n <= 33; n++) {
      const x = Int32Array.from({ length: n }, (_, i) => ints[i % ints.length]! - i);
      const out = { shape: [n], dtype: 'float32' as const };
      expectSameBits(cast(rt, view(inHeap(x), [n]), out), cast(rt, view(x, [n]), out), `cast length ${n}`);
    }
  });

  const exact = ['neg', 'abs', 'sqrt', 'square', 'reciprocal', 'relu'] as const;
  for (const op of exact) {
    it(`${op} gives the same bits as the JavaScript kernel at every length 0…70`, () => {
      for (let n = 0; n <= 70; n++) {
        const x = randomFloats(n, random);
        const out = { shape: [n], dtype: 'float32' as const };
        expectSameBits(
          unary(rt, view(inHeap(x), [n]), op, out),
          unary(rt, view(x, [n]), op, out),
          `${op} length ${n}`,
        );
      }
    });
  }

  it('covers every unary op that has a kernel in these tests', () => {
    expect(Object.keys(WASM_UNARY).sort()).toEqual([...exact, 'erf', 'exp', 'gelu'].sort());
  });
});

describe('WASM kernels on the thread pool', () => {
  it('give the same bits on 2 threads as on the calling thread alone, for calls large enough to split', () => {
    const rt2 = new CpuRuntime(2);
    expect(rt2.pool?.threads).toBe(2);
    const random = seeded(11);
    const n = 100_091; // above the split threshold, not a multiple of the chunk; 991 × 101
    const values = [randomFloats(n, random), randomFloats(n, random), Float32Array.of(0.75)];
    const cond = Int32Array.from({ length: n }, () => (random() < 0.5 ? 0 : 1));
    /** The operands copied into `runtime`'s heap, so its kernels take their WASM path. */
    const operands = (runtime: CpuRuntime) => {
      const [a, b, one] = values.map((v) => inHeap(v, runtime));
      const [x, y, c, s] = [view(a!, [n]), view(b!, [n]), view(inHeap(cond, runtime), [n]), view(one!, [])];
      return { runtime, a: a!, b: b!, x, y, c, s };
    };
    const f32 = { shape: [n], dtype: 'float32' as const };
    const runs: [string, (o: ReturnType<typeof operands>) => TypedArray][] = [
      ['gelu', (o) => unary(o.runtime, o.x, 'gelu', f32)],
      ['erf', (o) => unary(o.runtime, o.x, 'erf', f32)],
      ['add', (o) => binary(o.runtime, o.x, o.y, 'add', f32)],
      ['mul by a scalar', (o) => binary(o.runtime, o.x, o.s, 'mul', f32)],
      ['scalar minus', (o) => binary(o.runtime, o.s, o.y, 'sub', f32)],
      ['gt', (o) => compare(o.runtime, o.x, o.y, 'gt', { shape: [n], dtype: 'int32' })],
      ['where', (o) => where(o.runtime, o.c, o.x, o.s, f32)],
      ['cast', (o) => cast(o.runtime, o.c, f32)],
      [
        'softmax over rows of 101',
        (o) => softmax(o.runtime, view(o.a, [991, 101]), { shape: [991, 101], dtype: 'float32' }),
      ],
      [
        'layerNormalize over rows of 991',
        (o) =>
          layerNormalize(o.runtime, view(o.b, [101, 991]), 1e-5, { shape: [101, 991], dtype: 'float32' }),
      ],
    ];
    const [split, single] = [operands(rt2), operands(rt)];
    for (const [what, run] of runs) expectSameBits(run(split), run(single), what);
    rt2.dispose();
  });
});

// float64 references for the approximated functions.
/** erfc by its continued fraction (z ≥ 3) or 1 − the series. */
function erfcReference(z: number): number {
  if (z < 3) return 1 - erfReference(z);
  let f = 0;
  for (let k = 300; k >= 1; k--) f = k / 2 / (z + f);
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
}
const APPROXIMATED: Record<
  'exp' | 'erf' | 'gelu',
  { reference: (x: number) => number; range: [number, number]; ulps: number }
> = {
  exp: { reference: Math.exp, range: [-110, 90], ulps: 1 },
  erf: {
    reference: (x) => (Math.abs(x) < 3 ? erfReference(x) : Math.sign(x) * (1 - erfcReference(Math.abs(x)))),
    range: [-6, 6],
    ulps: 4,
  },
  gelu: {
    reference: (x) => 0.5 * x * (x >= 0 ? 2 - erfcReference(x / Math.SQRT2) : erfcReference(-x / Math.SQRT2)),
    range: [-16, 12],
    ulps: 8,
  },
};

/** The spacing of float32 numbers at |v| (subnormal spacing below the normal range). */
function ulpOf(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe('WASM exp, erf and GELU', () => {
  for (const [op, { reference, range, ulps }] of Object.entries(APPROXIMATED)) {
    it(`${op} is within ${ulps} ulp of its float64 value over [${range}] (200,001 points)`, () => {
      const n = 200_001;
      const x = rt.wasm!.heap.allocate('float32', n) as Float32Array;
      for (let i = 0; i < n; i++) x[i] = range[0] + ((range[1] - range[0]) * i) / (n - 1);
      const y = unary(rt, view(x, [n]), op as UnaryOp, { shape: [n], dtype: 'float32' });
      let worst = 0;
      let worstAt = 0;
      for (let i = 0; i < n; i++) {
        const expected = reference(x[i]!);
        if (!Number.isFinite(Math.fround(expected))) {
          expect(y[i]).toBe(Math.fround(expected));
          continue;
        }
        const error = Math.abs(y[i]! - expected) / ulpOf(Math.fround(expected));
        if (error > worst) [worst, worstAt] = [error, x[i]!];
      }
      expect(worst, `worst at x = ${worstAt}`).toBeLessThanOrEqual(ulps);
    });
  }

  it('keeps special values: NaN, ±∞, ±0, overflow and the subnormal range', () => {
    const x = inHeap(
      new Float32Array([Number.NaN, Infinity, -Infinity, 0, -0, 88.72, 88.73, -100, -104, -1e-30]),
    );
    const run = (op: UnaryOp) =>
      Array.from(unary(rt, view(x, [x.length]), op, { shape: [x.length], dtype: 'float32' }));
    const f = Math.fround;
    expect(run('exp')).toEqual([
      Number.NaN,
      Infinity,
      0,
      1,
      1,
      f(Math.exp(f(88.72))),
      Infinity,
      f(Math.exp(-100)),
      0,
      1,
    ]);
    expect(run('erf').slice(0, 5)).toEqual([Number.NaN, 1, -1, 0, -0]);
    // Tiny arguments keep their relative precision (erf(x) ≈ 2x/√π).
    expect(Math.abs(run('erf')[9]! / (f(-1e-30) * (2 / Math.sqrt(Math.PI))) - 1)).toBeLessThan(2.5e-7);
    // GELU(−∞) = −∞·0 is NaN in the JavaScript kernel too.
    expect(run('gelu').slice(0, 5)).toEqual([Number.NaN, Infinity, Number.NaN, 0, -0]);
    expect(run('gelu')[5]).toBe(f(88.72));
  });
});
