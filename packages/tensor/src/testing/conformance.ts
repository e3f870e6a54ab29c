import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import {
  escapeTidy,
  getBackend,
  memory,
  noGrad,
  registerBackend,
  resetPeakMemory,
  setBackend,
  tidy,
  withoutFusedKernels,
} from '../engine.js';
import {
  BackendError,
  DisposedError,
  DTypeError,
  GradientError,
  RangeArgumentError,
  ShapeError,
} from '../errors.js';
import { type GradcheckOptions, gradcheck } from '../gradcheck.js';
import * as T from '../ops/index.js';
import { fillRandom } from '../rng.js';
import type { Shape } from '../shape.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { describeIndexValidation } from './index-validation.js';
import * as R from './reference.js';

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface ConformanceOptions {
  /** The registered backend under test. */
  backend: string;
  /** Another registered backend, for the mixing-backends error test (skipped when absent). */
  otherBackend?: string;
  /** Per-op tolerances against the float64 references (op names as in the suite); `default` for the rest. */
  tolerances?: Partial<Record<string, Tolerance>>;
  /** Overrides for the finite-difference checks. */
  gradcheck?: GradcheckOptions;
}

const DEFAULT_TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/**
 * The backend conformance suite: op values against float64 references, gradients by finite
 * differences, broadcasting edge cases, dtype rules, error messages, RNG streams and memory
 * behaviour. A backend passes by calling this from one of its test files:
 *
 *   import '@sibert/backend-cpu';
 *   import { describeConformance } from '@sibert/tensor/testing';
 *   describeConformance({ backend: 'cpu' });
 */
export function describeConformance(options: ConformanceOptions): void {
  const tol = (op: string): Tolerance =>
    options.tolerances?.[op] ?? options.tolerances?.default ?? DEFAULT_TOLERANCE;
  const check = (fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], extra: GradcheckOptions = {}) =>
    gradcheck(fn, inputs, { maxElementsPerInput: 12, ...options.gradcheck, ...extra });

  let seed = 1;
  /** A float32 tensor of deterministic values and its float64 twin. */
  const rand = (shape: Shape, low = -1, high = 1, awayFromZero = 0): [Tensor, R.HostTensor] => {
    const values = R.sampleValues(sizeOf(shape), seed++, low, high);
    if (awayFromZero > 0)
      for (let i = 0; i < values.length; i++)
        values[i] = Math.fround(values[i]! + Math.sign(values[i]!) * awayFromZero);
    return [T.tensor(Float32Array.from(values), shape), R.host(shape, values)];
  };
  const ints = (values: number[], shape: Shape = [values.length]) =>
    T.tensor(Int32Array.from(values), shape, 'int32');

  async function expectClose(
    actual: Tensor,
    expected: R.HostTensor | ArrayLike<number>,
    op: string,
    shape?: Shape,
  ) {
    const values = await actual.data();
    const isHost = !Array.isArray(expected) && !ArrayBuffer.isView(expected);
    const ref = isHost ? (expected as R.HostTensor).values : (expected as ArrayLike<number>);
    if (isHost) expect(actual.shape).toEqual((expected as R.HostTensor).shape);
    if (shape) expect(actual.shape).toEqual([...shape]);
    expectValuesClose(values, ref, tol(op), op);
  }

  describe(`conformance: ${options.backend}`, () => {
    beforeAll(async () => {
      await setBackend(options.backend);
    });
    afterEach(() => {
      T.manualSeed(0);
    });

    describe('creation', () => {
      it('builds tensors from nested arrays, typed arrays and fills', async () => {
        const t = T.tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        expect(t.shape).toEqual([2, 3]);
        expect(t.dtype).toBe('float32');
        expect(t.backend).toBe(options.backend);
        expect(Array.from(await t.data())).toEqual([1, 2, 3, 4, 5, 6]);
        expect(T.tensor(Int32Array.of(1, 2)).dtype).toBe('int32');
        expect(await T.tensor(7).itemAsync()).toBe(7);
        expect(Array.from(await T.zeros([2, 2]).data())).toEqual([0, 0, 0, 0]);
        expect(Array.from(await T.ones([3], 'int32').data())).toEqual([1, 1, 1]);
        expect(Array.from(await T.full([2], 2.5).data())).toEqual([2.5, 2.5]);
        expect(Array.from(await T.arange(5).data())).toEqual([0, 1, 2, 3, 4]);
        expect(Array.from(await T.arange(1, 2, 0.25).data())).toEqual([1, 1.25, 1.5, 1.75]);
        expect(Array.from(await T.zerosLike(t).data())).toEqual([0, 0, 0, 0, 0, 0]);
        expect(Array.from(await T.onesLike(t, 'int32').data())).toEqual([1, 1, 1, 1, 1, 1]);
        expect((await T.zeros([0, 3]).data()).length).toBe(0);
        expect(await T.tensor([[1, 2]]).array()).toEqual([[1, 2]]);
      });

      it('rejects bad input with clear errors', () => {
        expect(() => T.tensor([[1, 2], [3]])).toThrow(ShapeError);
        expect(() => T.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
        expect(() => T.tensor([1.5], [1], 'int32')).toThrow(DTypeError);
        expect(() => T.zeros([2, -1])).toThrow(/non-negative integers/);
        expect(() => T.arange(0, 3, 0)).toThrow(RangeArgumentError);
      });
    });

    describe('elementwise unary', () => {
      const cases: [string, (x: Tensor) => Tensor, (v: number) => number, [number, number, number?]][] = [
        ['neg', T.neg, (v) => -v, [-2, 2]],
        ['exp', T.exp, Math.exp, [-3, 3]],
        ['log', T.log, Math.log, [0.2, 4]],
        ['sqrt', T.sqrt, Math.sqrt, [0.2, 4]],
        ['rsqrt', T.rsqrt, (v) => 1 / Math.sqrt(v), [0.2, 4]],
        ['abs', T.abs, Math.abs, [-2, 2, 0.1]],
        ['square', T.square, (v) => v * v, [-2, 2]],
        ['reciprocal', T.reciprocal, (v) => 1 / v, [0.3, 3]],
        ['relu', T.relu, (v) => Math.max(0, v), [-2, 2, 0.1]],
        ['tanh', T.tanh, Math.tanh, [-3, 3]],
        ['sigmoid', T.sigmoid, R.scalar.sigmoid, [-4, 4]],
        ['erf', T.erf, R.erf, [-3, 3]],
        ['gelu', T.gelu, R.scalar.gelu, [-3, 3]],
        ['geluTanh', (x) => T.gelu(x, { approximate: 'tanh' }), R.scalar.geluTanh, [-3, 3]],
      ];
      for (const [name, op, ref, [low, high, away]] of cases) {
        it(`${name}: values on several ranks, and gradients`, async () => {
          for (const shape of [[], [7], [3, 5], [2, 3, 4]] as Shape[]) {
            const [x, hx] = rand(shape, low, high, away);
            await expectClose(op(x), R.mapElementwise([hx], ref), name);
          }
          const [x] = rand([3, 4], low, high, away);
          await check(op, [x]);
        });
      }

      it('sign has values and a zero gradient', async () => {
        const x = T.tensor([-2, 0, 3]).requireGrad();
        await expectClose(T.sign(x), [-1, 0, 1], 'sign');
        T.sum(T.sign(x)).backward();
        expect(Array.from(await x.grad!.data())).toEqual([0, 0, 0]);
      });

      it('int32 accepts neg/abs/sign/square and rejects float-only ops', async () => {
        const x = ints([-3, 0, 4]);
        expect(Array.from(await T.neg(x).data())).toEqual([3, 0, -4]);
        expect(Array.from(await T.abs(x).data())).toEqual([3, 0, 4]);
        expect(Array.from(await T.square(x).data())).toEqual([9, 0, 16]);
        expect(T.square(x).dtype).toBe('int32');
        expect(() => T.exp(x)).toThrow(/exp: expected float32, got int32 \[3\]/);
      });

      it('propagates NaN and infinities as IEEE 754 says', async () => {
        const x = T.tensor([Number.NaN, Infinity, -Infinity, 0, -1]);
        const e = await T.exp(x).data();
        expect(Number.isNaN(e[0]!)).toBe(true);
        expect(e[1]).toBe(Infinity);
        expect(e[2]).toBe(0);
        const l = await T.log(x).data();
        expect(l[3]).toBe(-Infinity);
        expect(Number.isNaN(l[4]!)).toBe(true);
        const d = await T.div(T.tensor([0, 1, -1]), T.tensor([0, 0, 0])).data();
        expect(Number.isNaN(d[0]!)).toBe(true);
        expect([d[1], d[2]]).toEqual([Infinity, -Infinity]);
        expect(Number.isNaN(await T.sum(x).itemAsync())).toBe(true);
        expect(Number.isNaN(await T.max(x).itemAsync())).toBe(true);
      });
    });

    describe('elementwise binary and broadcasting', () => {
      const shapes: [Shape, Shape][] = [
        [
          [3, 4],
          [3, 4],
        ],
        [[3, 4], [4]],
        [
          [3, 1],
          [1, 4],
        ],
        [[], [2, 3]],
        [[2, 3], []],
        [
          [2, 1, 3, 1, 2],
          [3, 4, 1],
        ],
        [[0, 3], [3]],
        [[5, 1], [0]],
      ];
      const cases: [
        string,
        (a: Tensor, b: Tensor) => Tensor,
        (a: number, b: number) => number,
        [number, number],
      ][] = [
        ['add', T.add, (a, b) => a + b, [-2, 2]],
        ['sub', T.sub, (a, b) => a - b, [-2, 2]],
        ['mul', T.mul, (a, b) => a * b, [-2, 2]],
        ['div', T.div, (a, b) => a / b, [0.5, 2]],
        ['pow', T.pow, (a, b) => a ** b, [0.5, 2]],
        ['maximum', T.maximum, Math.max, [-2, 2]],
        ['minimum', T.minimum, Math.min, [-2, 2]],
      ];
      for (const [name, op, ref, [low, high]] of cases) {
        it(`${name}: broadcasting values (scalars, size-1, size-0, rank 5) and gradients`, async () => {
          for (const [sa, sb] of shapes) {
            const [a, ha] = rand(sa, low, high);
            const [b, hb] = rand(sb, low, high);
            await expectClose(op(a, b), R.mapElementwise([ha, hb], ref), name);
          }
          const [a] = rand([3, 1, 4], low, high);
          const [b] = rand([2, 4], low, high);
          await check(op, [a, b]);
        });
      }

      it('accepts numbers as scalars of the tensor dtype', async () => {
        expect(Array.from(await T.add(T.tensor([1, 2]), 0.5).data())).toEqual([1.5, 2.5]);
        expect(Array.from(await T.sub(10, T.tensor([1, 2])).data())).toEqual([9, 8]);
        const i = T.mul(ints([1, 2]), 3);
        expect(i.dtype).toBe('int32');
        expect(Array.from(await i.data())).toEqual([3, 6]);
        expect(Array.from(await T.maximum(ints([1, 5]), ints([4, 2])).data())).toEqual([4, 5]);
      });

      it('names both shapes and both dtypes when they do not fit', () => {
        expect(() => T.add(T.zeros([2, 3]), T.zeros([4]))).toThrow(
          /add: shapes \[2, 3\] and \[4\] cannot be broadcast/,
        );
        expect(() => T.mul(T.zeros([2]), ints([1, 2]))).toThrow(
          /mul: inputs have different dtypes: float32 \[2\] and int32 \[2\]/,
        );
        expect(() => T.div(ints([1]), ints([1]))).toThrow(DTypeError);
      });

      it('clamp limits values and passes gradients inside the range', async () => {
        const x = T.tensor([-2, -0.5, 0.5, 2]).requireGrad();
        await expectClose(T.clamp(x, -1, 1), [-1, -0.5, 0.5, 1], 'clamp');
        T.sum(T.clamp(x, -1, 1)).backward();
        expect(Array.from(await x.grad!.data())).toEqual([0, 1, 1, 0]);
        expect(() => T.clamp(x, 1, -1)).toThrow(RangeArgumentError);
      });
    });

    describe('comparisons, where, cast', () => {
      it('compares with broadcasting into int32 0/1', async () => {
        const a = T.tensor([[1, 2, 3]]);
        const b = T.tensor([[2], [1]]);
        const results: [(a: Tensor, b: Tensor) => Tensor, number[]][] = [
          [T.greater, [0, 0, 1, 0, 1, 1]],
          [T.greaterEqual, [0, 1, 1, 1, 1, 1]],
          [T.less, [1, 0, 0, 0, 0, 0]],
          [T.lessEqual, [1, 1, 0, 1, 0, 0]],
          [T.equal, [0, 1, 0, 1, 0, 0]],
          [T.notEqual, [1, 0, 1, 0, 1, 1]],
        ];
        for (const [op, expected] of results) {
          const y = op(a, b);
          expect(y.dtype).toBe('int32');
          expect(y.shape).toEqual([2, 3]);
          expect(Array.from(await y.data())).toEqual(expected);
        }
        const nan = await T.equal(T.tensor([Number.NaN]), T.tensor([Number.NaN])).data();
        expect(nan[0]).toBe(0);
      });

      it('where selects with broadcasting and routes gradients', async () => {
        const cond = ints([1, 0, 1], [3, 1]);
        const [a, ha] = rand([3, 2]);
        const [b, hb] = rand([2]);
        const hc = R.host([3, 1], [1, 0, 1]);
        await expectClose(
          T.where(cond, a, b),
          R.mapElementwise([hc, ha, hb], (c, x, y) => (c ? x : y)),
          'where',
        );
        await check((a, b) => T.where(cond, a, b), [a, b]);
      });

      it('cast converts between float32 and int32 (truncating toward zero)', async () => {
        const i = T.cast(T.tensor([1.7, -1.7, 2]), 'int32');
        expect(i.dtype).toBe('int32');
        expect(Array.from(await i.data())).toEqual([1, -1, 2]);
        expect(Array.from(await T.cast(ints([3, -4]), 'float32').data())).toEqual([3, -4]);
      });
    });

    describe('reductions', () => {
      const axesCases: (number | number[] | undefined)[] = [undefined, 0, 1, -1, [0, 2], [1, 2], [0, 1, 2]];
      const cases: [
        string,
        (x: Tensor, axes?: number | number[], o?: { keepDims?: boolean }) => Tensor,
        (v: number[]) => number,
      ][] = [
        ['sum', T.sum, R.combine.sum],
        ['mean', T.mean, R.combine.mean],
        ['max', T.max, R.combine.max],
        ['min', T.min, R.combine.min],
        ['variance', T.variance, R.combine.variance],
      ];
      for (const [name, op, ref] of cases) {
        it(`${name}: over any axes with keepDims, and gradients`, async () => {
          for (const axes of axesCases) {
            for (const keepDims of [false, true]) {
              const [x, hx] = rand([2, 3, 4]);
              const list =
                axes === undefined
                  ? [0, 1, 2]
                  : (Array.isArray(axes) ? axes : [axes]).map((a) => (a + 3) % 3);
              await expectClose(op(x, axes, { keepDims }), R.reduce(hx, list, ref, keepDims), name);
            }
          }
          const [x] = rand([3, 4]);
          await check((x) => op(x, 1), [x]);
          await check((x) => op(x), [x]);
        });
      }

      it('argmax/argmin give int32 first indices on ties, NaN first', async () => {
        const x = T.tensor([
          [1, 3, 3],
          [2, Number.NaN, 0],
        ]);
        const am = T.argmax(x, 1);
        expect(am.dtype).toBe('int32');
        expect(Array.from(await am.data())).toEqual([1, 1]);
        expect(Array.from(await T.argmin(x, -1).data())).toEqual([0, 1]);
        expect(Array.from(await T.argmax(x, 0, { keepDims: true }).data())).toEqual([1, 1, 0]);
        const [y, hy] = rand([3, 4, 5]);
        await expectClose(T.argmax(y, 1), R.reduce(hy, [1], R.combine.argmax), 'argmax');
      });

      it('a tie in max shares the gradient evenly', async () => {
        const x = T.tensor([1, 5, 5]).requireGrad();
        T.max(x).backward();
        expect(Array.from(await x.grad!.data())).toEqual([0, 0.5, 0.5]);
      });

      it('sums over size-0 axes to zero and rejects bad axes', async () => {
        expect(Array.from(await T.sum(T.zeros([0, 3]), 0).data())).toEqual([0, 0, 0]);
        expect(() => T.sum(T.zeros([2, 3]), 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
        expect(() => T.sum(T.zeros([2, 3]), [0, 0])).toThrow(RangeArgumentError);
        expect(() => T.max(T.zeros([0, 3]), 0)).toThrow(ShapeError);
      });
    });

    describe('matmul', () => {
      it('all four transpose combinations, batched with broadcast batch dims', async () => {
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            for (const [m, k, n, batchA, batchB] of [
              [3, 5, 4, [], []],
              [1, 7, 1, [2], []],
              [6, 4, 5, [2, 1], [3, 1, 1]],
              [17, 33, 9, [2], [2]],
            ] as [number, number, number, number[], number[]][]) {
              const [a, ha] = rand([...batchA, ...(transposeA ? [k, m] : [m, k])]);
              const [b, hb] = rand([...batchB, ...(transposeB ? [n, k] : [k, n])]);
              await expectClose(
                T.matmul(a, b, { transposeA, transposeB }),
                R.matmul(ha, hb, transposeA, transposeB),
                'matmul',
              );
            }
            const [a] = rand([2, ...(transposeA ? [4, 3] : [3, 4])]);
            const [b] = rand(transposeB ? [5, 4] : [4, 5]);
            await check((a, b) => T.matmul(a, b, { transposeA, transposeB }), [a, b]);
          }
        }
      });

      it('treats 1-D operands as vectors, handles size 0, and names mismatched shapes', async () => {
        const [a, ha] = rand([4]);
        const [b, hb] = rand([4, 3]);
        const y = T.matmul(a, b);
        expect(y.shape).toEqual([3]);
        await expectClose(y, R.matmul(R.host([1, 4], ha.values), hb).values, 'matmul');
        expect(T.matmul(b, T.zeros([3])).shape).toEqual([4]);
        expect(T.matmul(a, a).shape).toEqual([]);
        expect(Array.from(await T.matmul(T.zeros([2, 0]), T.zeros([0, 3])).data())).toEqual([
          0, 0, 0, 0, 0, 0,
        ]);
        expect(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5]))).toThrow(
          /matmul: inner dimensions differ: \[2, 3\] × \[4, 5\]/,
        );
      });
    });

    describe('movement', () => {
      it('reshape (with −1), expandDims, squeeze share values and pass gradients', async () => {
        const [x, hx] = rand([2, 3, 4]);
        await expectClose(T.reshape(x, [4, -1]), hx.values, 'reshape', [4, 6]);
        expect(T.expandDims(x, -1).shape).toEqual([2, 3, 4, 1]);
        expect(T.squeeze(T.zeros([1, 3, 1])).shape).toEqual([3]);
        expect(T.squeeze(T.zeros([1, 3, 1]), 2).shape).toEqual([1, 3]);
        expect(() => T.reshape(x, [5, -1])).toThrow(/cannot reshape \[2, 3, 4\] \(24 values\) to \[5, -1\]/);
        expect(() => T.squeeze(x, 0)).toThrow(ShapeError);
        await check((x) => T.reshape(T.mul(x, x), [6, 4]), [x]);
      });

      it('transpose by any permutation, with gradients', async () => {
        const [x, hx] = rand([2, 3, 4, 5]);
        for (const perm of [
          [3, 2, 1, 0],
          [0, 2, 1, 3],
          [1, 3, 0, 2],
        ]) {
          await expectClose(T.transpose(x, perm), R.permute(hx, perm), 'transpose');
        }
        await expectClose(T.transpose(x), R.permute(hx, [3, 2, 1, 0]), 'transpose');
        await check((x) => T.permute(x, [2, 0, 3, 1]), [x]);
        expect(() => T.transpose(x, [0, 0, 1, 2])).toThrow(RangeArgumentError);
      });

      it('broadcastTo, slice, pad, concat, split, stack', async () => {
        const [x, hx] = rand([3, 1, 2]);
        await expectClose(
          T.broadcastTo(x, [2, 3, 4, 2]),
          R.mapElementwise([hx, R.host([2, 3, 4, 2], new Float64Array(48))], (a) => a),
          'broadcastTo',
        );
        await check((x) => T.broadcastTo(x, [2, 3, 4, 2]), [x]);
        expect(() => T.broadcastTo(x, [2, 2, 2])).toThrow(ShapeError);

        const y = T.tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        expect(await T.slice(y, [0, 1], [2, 2]).array()).toEqual([
          [2, 3],
          [5, 6],
        ]);
        expect(await T.slice(y, [1]).array()).toEqual([[4, 5, 6]]);
        expect(() => T.slice(y, [0, 2], [1, 2])).toThrow(
          /slice \[2, 4\) is out of range for axis 1 of shape \[2, 3\]/,
        );
        expect(
          await T.pad(
            y,
            [
              [1, 0],
              [0, 2],
            ],
            9,
          ).array(),
        ).toEqual([
          [9, 9, 9, 9, 9],
          [1, 2, 3, 9, 9],
          [4, 5, 6, 9, 9],
        ]);
        expect(await T.concat([y, T.tensor([[7, 8, 9]])], 0).array()).toEqual([
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ]);
        expect(await T.concat([y, T.tensor([[0], [0]])], -1).array()).toEqual([
          [1, 2, 3, 0],
          [4, 5, 6, 0],
        ]);
        expect(() => T.concat([y, T.zeros([2, 2, 1])], 0)).toThrow(ShapeError);
        const parts = T.split(y, [1, 2], 1);
        expect(await parts[1]!.array()).toEqual([
          [2, 3],
          [5, 6],
        ]);
        expect(() => T.split(y, 2, 1)).toThrow(ShapeError);
        expect(T.stack([y, y, y], 1).shape).toEqual([2, 3, 3]);

        const [a] = rand([2, 3]);
        const [b] = rand([2, 2]);
        await check((a) => T.slice(a, [1, 1], [1, 2]), [a]);
        await check(
          (a) =>
            T.pad(a, [
              [0, 1],
              [2, 0],
            ]),
          [a],
        );
        await check((a, b) => T.concat([a, b], 1), [a, b]);
        await check((a) => T.mul(T.split(a, 3, 1)[2]!, 2), [a]);
        await check((a, b) => T.stack([T.slice(a, [0, 0], [2, 2]), b], 0), [a, b]);
      });

      it('gather along any axis with n-d indices; its gradient scatter-adds repeats', async () => {
        const [x, hx] = rand([4, 3, 2]);
        const idx = ints([3, 0, 3, 1], [2, 2]);
        const y = T.gather(x, idx, 0);
        expect(y.shape).toEqual([2, 2, 3, 2]);
        const expected = [3, 0, 3, 1].flatMap((r) => Array.from(hx.values.subarray(r * 6, r * 6 + 6)));
        await expectClose(y, expected, 'gather');
        const y1 = T.gather(x, ints([2, 0]), 1);
        expect(y1.shape).toEqual([4, 2, 2]);
        const e1: number[] = [];
        for (let i = 0; i < 4; i++)
          for (const j of [2, 0]) for (let k = 0; k < 2; k++) e1.push(hx.values[i * 6 + j * 2 + k]!);
        await expectClose(y1, e1, 'gather');
        await check((x) => T.gather(x, idx, 0), [x]);
        await check((x) => T.gather(x, ints([1, 1, 0]), 2), [x]);
        await expect(async () => {
          await T.gather(x, ints([4]), 0).data();
        }).rejects.toThrow(/gather/);
        expect(() => T.gather(x, T.tensor([1]), 0)).toThrow(
          /gather: expected indices of dtype int32, got float32/,
        );
      });

      it('oneHot rows (zero rows out of range)', async () => {
        expect(await T.oneHot(ints([2, 0, 5]), 3).array()).toEqual([
          [0, 0, 1],
          [1, 0, 0],
          [0, 0, 0],
        ]);
      });
    });

    describeIndexValidation();

    describe('neural-network ops (fused where the backend has them, composed otherwise)', () => {
      it('softmax and logSoftmax along any axis', async () => {
        const [x, hx] = rand([3, 5], -3, 3);
        await expectClose(T.softmax(x), R.mapRows(hx, R.rows.softmax), 'softmax');
        await expectClose(T.logSoftmax(x), R.mapRows(hx, R.rows.logSoftmax), 'logSoftmax');
        const t = R.permute(R.mapRows(R.permute(hx, [1, 0]), R.rows.softmax), [1, 0]);
        await expectClose(T.softmax(x, 0), t, 'softmax');
        await expectClose(T.softmax(T.tensor([[1000, 0, -1000]])), [1, 0, 0], 'softmax');
        await check((x) => T.softmax(x), [x]);
        await check((x) => T.logSoftmax(x, 0), [x]);
      });

      it('layerNorm with and without affine parameters', async () => {
        const [x, hx] = rand([4, 6], -2, 2);
        const [w] = rand([6]);
        const [b] = rand([6]);
        await expectClose(T.layerNorm(x), R.mapRows(hx, R.rows.layerNorm(1e-5)), 'layerNorm');
        await check((x) => T.layerNorm(x), [x]);
        await check((x, w, b) => T.layerNorm(x, { weight: w, bias: b, eps: 1e-3 }), [x, w, b]);
        expect(() => T.layerNorm(x, { weight: T.ones([5]) })).toThrow(
          /layerNorm: weight must have shape \[6\] for input \[4, 6\], got \[5\]/,
        );
      });

      it('crossEntropy with ignoreIndex and every reduction', async () => {
        const [logits, hl] = rand([4, 5], -2, 2);
        const labels = ints([1, 4, -100, 0]);
        const logp = R.mapRows(hl, R.rows.logSoftmax).values;
        const per = [1, 4, -1, 0].map((l, r) => (l < 0 ? 0 : -logp[r * 5 + l]!));
        await expectClose(T.crossEntropy(logits, labels, { reduction: 'none' }), per, 'crossEntropy');
        await expectClose(
          T.crossEntropy(logits, labels, { reduction: 'sum' }),
          [per.reduce((a, b) => a + b)],
          'crossEntropy',
        );
        await expectClose(T.crossEntropy(logits, labels), [per.reduce((a, b) => a + b) / 3], 'crossEntropy');
        await check((l) => T.crossEntropy(l, labels), [logits]);
        await check(
          (l) => T.crossEntropy(T.reshape(l, [2, 2, 5]), ints([0, 1, 2, 3], [2, 2]), { reduction: 'none' }),
          [logits],
        );
        expect(Number.isNaN(await T.crossEntropy(logits, ints([-100, -100, -100, -100])).itemAsync())).toBe(
          true,
        );
        await expect(async () => {
          await T.crossEntropy(logits, ints([0, 5, 0, 0])).data();
        }).rejects.toThrow(/crossEntropy/);
        expect(() => T.crossEntropy(logits, ints([0, 1]))).toThrow(
          /logits \[4, 5\] need labels of shape \[4\], got \[2\]/,
        );
      });

      it('siNormalize: ReLU then row-normalise, masked keys, all-zero rows', async () => {
        const x = T.tensor([
          [1, -1, 3],
          [-1, -2, -3],
          [2, 2, 4],
        ]);
        const keep = T.tensor([[1, 1, 0]]);
        await expectClose(
          T.siNormalize(x, { eps: 0 }),
          [0.25, 0, 0.75, Number.NaN, Number.NaN, Number.NaN, 0.25, 0.25, 0.5],
          'siNormalize',
        );
        await expectClose(
          T.siNormalize(x, { keep }),
          [1 / (1 + 1e-6), 0, 0, 0, 0, 0, 0.5 / (1 + 0.25e-6), 0.5 / (1 + 0.25e-6), 0],
          'siNormalize',
        );
        const [s] = rand([3, 4], -1, 1, 0.1);
        await check((s) => T.siNormalize(s, { keep: T.tensor([1, 0, 1, 1]) }), [s]);
        await check((s) => T.siNormalize(s), [s]);
      });

      it('fused kernels match the composed definitions', async () => {
        const [x] = rand([5, 7], -3, 3);
        const labels = ints([0, 6, -100, 3, 2]);
        const keep = T.tensor([1, 1, 0, 1, 1, 1, 0]);
        const ops: [string, () => Tensor][] = [
          ['softmax', () => T.softmax(x)],
          ['logSoftmax', () => T.logSoftmax(x)],
          ['layerNorm', () => T.layerNorm(x)],
          ['crossEntropy', () => T.crossEntropy(x, labels, { reduction: 'none' })],
          ['siNormalize', () => T.siNormalize(x, { keep })],
        ];
        for (const [name, run] of ops) {
          const fused = await run().data();
          const composed = await withoutFusedKernels(run).data();
          expectValuesClose(fused, composed, tol(name), `${name} fused vs composed`);
        }
      });

      it('dropout: seeded masks, 1/(1−p) scaling, identity when not training', async () => {
        const x = T.ones([1000]);
        const a = await T.dropout(x, 0.25, { seed: 7 }).data();
        const b = await T.dropout(x, 0.25, { seed: 7 }).data();
        expect(Array.from(a)).toEqual(Array.from(b));
        const kept = a.filter((v) => v !== 0);
        expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
        expect(Math.abs(kept.length / 1000 - 0.75)).toBeLessThan(0.05);
        expect(Array.from(await T.dropout(x, 0.5, { training: false }).data())).toEqual(
          Array.from(await x.data()),
        );
        expect(() => T.dropout(x, 1)).toThrow(RangeArgumentError);
        const [y] = rand([4, 4]);
        await check((y) => T.dropout(y, 0.5, { seed: 3 }), [y]);
      });
    });

    describe('in-place optimizer updates and sumOfSquares (kernels where the backend has them, composed otherwise)', () => {
      const both = async (run: () => Promise<void>) => {
        await run();
        await withoutFusedKernels(run);
      };

      it('sumOfSquares: the float64 reference, long inputs, gradients', async () => {
        await both(async () => {
          const [x, hx] = rand([3, 5]);
          await expectClose(
            T.sumOfSquares(x),
            [hx.values.reduce((a, v) => a + v * v, 0)],
            'sumOfSquares',
            [],
          );
          const [long, hLong] = rand([50_001], -2, 2);
          const expected = hLong.values.reduce((a, v) => a + v * v, 0);
          expectValuesClose(
            await T.sumOfSquares(long).data(),
            [expected],
            { atol: 0, rtol: 1e-5 },
            'sumOfSquares',
          );
          expect(await T.sumOfSquares(T.zeros([0])).itemAsync()).toBe(0);
        });
        const [x] = rand([2, 3]);
        await check((x) => T.sumOfSquares(x), [x]);
        expect(() => T.sumOfSquares(ints([1, 2]))).toThrow(DTypeError);
      });

      it('axpyInPlace: target − decay·target − step·scale·source, with and without a scale', async () => {
        await both(async () => {
          for (const withScale of [false, true]) {
            const [target, ht] = rand([4, 5]);
            const [source, hs] = rand([4, 5]);
            const scale = withScale ? T.tensor([0.25]) : null;
            const [decay, step] = [2e-3, 0.7];
            const s = withScale ? 0.25 : 1;
            const expected = ht.values.map((t, i) => t - decay * t - step * s * hs.values[i]!);
            noGrad(() => T.axpyInPlace(target, source, { decay, step, scale }));
            await expectClose(target, expected, 'axpyInPlace', [4, 5]);
            // the source and the scale are left as they were
            expect(Array.from(await source.data())).toEqual(Array.from(Float32Array.from(hs.values)));
          }
        });
      });

      it('adamInPlace: moments and parameter in one pass (Adam with L2, AdamW, moments only)', async () => {
        const cases = [
          { l2: 0.01, decay: 0, step: 0.1, gradScale: 0.5 },
          { l2: 0, decay: 1e-3, step: 0.05, gradScale: null },
          { l2: 0, decay: 0, step: 0, gradScale: null },
        ];
        await both(async () => {
          for (const c of cases) {
            const [param, hp] = rand([3, 4]);
            const [m, hm] = rand([3, 4], -0.1, 0.1);
            const [v, hv] = rand([3, 4], 0, 0.1);
            const [grad, hg] = rand([3, 4]);
            const o = { beta1: 0.9, beta2: 0.999, sqrtCorrection2: Math.sqrt(1 - 0.999 ** 3), eps: 1e-8 };
            const s = c.gradScale ?? 1;
            const d = hg.values.map((g, i) => s * g + c.l2 * hp.values[i]!);
            const m1 = hm.values.map((x, i) => o.beta1 * x + (1 - o.beta1) * d[i]!);
            const v1 = hv.values.map((x, i) => o.beta2 * x + (1 - o.beta2) * d[i]! ** 2);
            const p1 = hp.values.map(
              (x, i) => x - c.decay * x - (c.step * m1[i]!) / (Math.sqrt(v1[i]!) / o.sqrtCorrection2 + o.eps),
            );
            const gradScale = c.gradScale === null ? null : T.tensor([c.gradScale]);
            noGrad(() =>
              T.adamInPlace(param, m, v, grad, { ...o, l2: c.l2, decay: c.decay, step: c.step, gradScale }),
            );
            await expectClose(m, m1, 'adamInPlace');
            await expectClose(v, v1, 'adamInPlace');
            if (c.step === 0 && c.decay === 0) {
              expect(Array.from(await param.data())).toEqual(Array.from(Float32Array.from(hp.values)));
            } else {
              await expectClose(param, p1, 'adamInPlace');
            }
          }
        });
      });

      it('write no new storage when the backend has the kernels', () => {
        const kernels = getBackend().kernels;
        const target = T.ones([1000]);
        const other = T.ones([1000]);
        const m = T.zeros([1000]);
        const v = T.zeros([1000]);
        const scale = T.tensor([0.5]);
        const before = memory();
        resetPeakMemory();
        noGrad(() => {
          T.axpyInPlace(target, other, { decay: 0.1, step: 1, scale });
          T.adamInPlace(target, m, v, other, {
            beta1: 0.9,
            beta2: 0.99,
            step: 0.1,
            sqrtCorrection2: 1,
            eps: 1e-8,
          });
          T.sumOfSquares(target).dispose();
        });
        expect(memory().numBytes).toBe(before.numBytes);
        const fullyFused = kernels.axpyInPlace && kernels.adamInPlace && kernels.sumOfSquares;
        // a scalar result and nothing else
        if (fullyFused) expect(memory().peakBytes - before.numBytes).toBeLessThanOrEqual(4);
        for (const t of [target, other, m, v, scale]) t.dispose();
      });

      it('refuse targets another tensor can see, autograd recording, and mismatched arguments', async () => {
        const p = T.ones([2, 3]).requireGrad();
        const g = T.ones([2, 3]);
        expect(() => T.axpyInPlace(p, g, { step: 1 })).toThrow(GradientError);
        expect(() => T.axpyInPlace(p, g, { step: 1 })).toThrow(/inside noGrad/);
        // a saved input of a live graph
        const y = T.sum(T.mul(p, p));
        expect(() => noGrad(() => T.axpyInPlace(p, g, { step: 1 }))).toThrow(
          /shares its storage with 2 other tensor\(s\).*live autograd graph/,
        );
        y.backward();
        noGrad(() => T.axpyInPlace(p, g, { step: 1 }));
        expect(Array.from(await p.data())).toEqual([0, 0, 0, 0, 0, 0]);
        // a view
        const view = T.reshape(g, [6]);
        const t = T.ones([2, 3]);
        expect(() => noGrad(() => T.axpyInPlace(g, t, { step: 1 }))).toThrow(BackendError);
        view.dispose();
        noGrad(() => T.axpyInPlace(g, t, { step: 1 }));
        expect(() => noGrad(() => T.axpyInPlace(t, t, { step: 1 }))).toThrow(/every argument distinct/);
        expect(() => noGrad(() => T.axpyInPlace(t, T.ones([3, 2]), { step: 1 }))).toThrow(
          /source must have the target's shape \[2, 3\], got \[3, 2\]/,
        );
        expect(() => noGrad(() => T.axpyInPlace(t, g, { step: 1, scale: T.ones([2]) }))).toThrow(ShapeError);
        expect(() => noGrad(() => T.axpyInPlace(t, g, { step: Number.NaN }))).toThrow(
          /step must be a finite number/,
        );
        expect(() => noGrad(() => T.axpyInPlace(ints([1, 2]), ints([1, 2]), { step: 1 }))).toThrow(
          DTypeError,
        );
        expect(() =>
          noGrad(() =>
            T.adamInPlace(t, T.zeros([2, 3]), T.zeros([6]), g, {
              beta1: 0.9,
              beta2: 0.99,
              step: 1,
              sqrtCorrection2: 1,
              eps: 1e-8,
            }),
          ),
        ).toThrow(/expAvgSq must have the target's shape/);
      });
    });

    describe('random streams', () => {
      it('reproduce the reference Philox stream for every distribution', async () => {
        const shape = [257];
        for (const dist of [
          { kind: 'uniform', low: -2, high: 3 },
          { kind: 'bernoulli', p: 0.3 },
          { kind: 'normal', mean: 1, std: 2 },
          { kind: 'truncatedNormal', mean: 0, std: 0.02 },
        ] as const) {
          const expected = new Float32Array(257);
          fillRandom(dist, { seed: 42, offset: 1000 }, expected);
          const actual = T.random(shape, dist, { seed: 42, offset: 1000 });
          await expectClose(actual, expected, `random.${dist.kind}`);
        }
      });

      it('advance the global stream, and manualSeed restarts it', async () => {
        T.manualSeed(5);
        const a = await T.uniform([10]).data();
        const b = await T.uniform([10]).data();
        expect(Array.from(a)).not.toEqual(Array.from(b));
        T.manualSeed(5);
        expect(Array.from(await T.uniform([10]).data())).toEqual(Array.from(a));
        expect(T.getRngState()).toEqual({ seed: 5, offset: 10 });
        const big = await T.truncatedNormal([20000], 0, 1).data();
        expect(big.every((v) => Math.abs(v) <= 2)).toBe(true);
        const n = Array.from(await T.normal([20000], 0, 1).data());
        const mean = n.reduce((s, v) => s + v, 0) / n.length;
        const std = Math.sqrt(n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length);
        expect(Math.abs(mean)).toBeLessThan(0.03);
        expect(Math.abs(std - 1)).toBeLessThan(0.03);
        expect(() => T.bernoulli([2], 1.5)).toThrow(RangeArgumentError);
        expect(() => T.manualSeed(-1)).toThrow(RangeArgumentError);
      });
    });

    describe('autograd', () => {
      it('accumulates over repeated uses and repeated backward passes', async () => {
        const x = T.tensor([1, 2, 3]).requireGrad();
        T.sum(T.mul(x, x)).backward();
        expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6]);
        T.sum(T.add(x, x)).backward();
        expect(Array.from(await x.grad!.data())).toEqual([4, 6, 8]);
      });

      it('onLeafGradient: each leaf once, its gradient complete, the graph done with it (in-place updates allowed)', async () => {
        const x = T.tensor([[1, -2, 0.5]]);
        const w1 = T.tensor([0.5, 1, -1]).requireGrad();
        const w2 = T.tensor([2, 0.25, 1]).requireGrad();
        const unused = T.tensor([1, 1, 1]).requireGrad();
        const forward = () => tidy(() => T.sum(T.mul(T.exp(T.mul(x, w1)), T.mul(w2, w2))));
        forward().backward();
        const [g1, g2] = [Array.from(await w1.grad!.data()), Array.from(await w2.grad!.data())];
        w1.grad!.dispose();
        w2.grad!.dispose();
        w1.grad = null;
        w2.grad = null;
        const before = [Array.from(await w1.data()), Array.from(await w2.data())];
        const seen: Tensor[] = [];
        const loss = forward();
        T.sum(unused).dispose();
        loss.backward(undefined, {
          onLeafGradient: (leaf) => {
            seen.push(leaf);
            // no node of the graph still holds the leaf: an optimizer may update it here
            T.axpyInPlace(leaf, leaf.grad!, { step: 1 });
            leaf.grad!.dispose();
            leaf.grad = null;
          },
        });
        // w2 is used twice by one node and w1 once, deeper: both seen once; no gradient, no call
        expect(seen.length).toBe(2);
        expect(new Set(seen)).toEqual(new Set([w1, w2]));
        expect(w1.grad).toBeNull();
        expectValuesClose(
          await w1.data(),
          before[0]!.map((v, i) => v - g1[i]!),
          tol('default'),
          'w1',
        );
        expectValuesClose(
          await w2.data(),
          before[1]!.map((v, i) => v - g2[i]!),
          tol('default'),
          'w2',
        );
        // a leaf as the root
        const r = T.tensor(3).requireGrad();
        const roots: Tensor[] = [];
        r.backward(undefined, { onLeafGradient: (leaf) => roots.push(leaf) });
        expect(roots).toEqual([r]);
      });

      it('a graph is released by backward, and a second backward is a clear error', () => {
        const x = T.tensor([1, 2]).requireGrad();
        const loss = T.sum(T.exp(x));
        loss.backward();
        expect(() => loss.backward()).toThrow(GradientError);
        expect(() => loss.backward()).toThrow(/already released/);
      });

      it('needs a seed for non-scalar outputs and accepts an explicit one', async () => {
        const x = T.tensor([1, 2]).requireGrad();
        const y = T.mul(x, 3);
        expect(() => y.backward()).toThrow(/pass a seed gradient/);
        y.backward(T.tensor([1, 10]));
        expect(Array.from(await x.grad!.data())).toEqual([3, 30]);
      });

      it('noGrad and detach record nothing; int tensors cannot require gradients', () => {
        const x = T.tensor([1, 2]).requireGrad();
        expect(noGrad(() => T.mul(x, 2)).requiresGrad).toBe(false);
        expect(T.mul(x.detach(), 2).requiresGrad).toBe(false);
        expect(() => T.sum(T.mul(x.detach(), 2)).backward()).toThrow(GradientError);
        expect(() => ints([1]).requireGrad()).toThrow(/only float32 tensors can require gradients/);
      });

      it('intermediates disposed by tidy still back-propagate (the graph holds what it needs)', async () => {
        const w = T.tensor([
          [0.5, -1],
          [2, 1],
        ]).requireGrad();
        const loss = tidy(() => T.sum(T.tanh(T.matmul(T.tensor([[1, 2]]), w))));
        loss.backward();
        const h = [1 * 0.5 + 2 * 2, 1 * -1 + 2 * 1].map(Math.tanh);
        const expected = [1, 2].flatMap((xi) => h.map((hj) => xi * (1 - hj * hj)));
        await expectClose(w.grad!, expected, 'autograd');
      });
    });

    describe('memory', () => {
      it('tidy frees all but returned and kept tensors; dispose is idempotent; disposed use is an error', () => {
        const before = memory().numTensors;
        let kept: Tensor | undefined;
        const result = tidy(() => {
          const a = T.ones([4]);
          kept = escapeTidy(T.mul(a, 2));
          T.add(a, 1);
          return { value: T.exp(a) };
        });
        expect(memory().numTensors).toBe(before + 2);
        result.value.dispose();
        result.value.dispose();
        kept!.dispose();
        expect(memory().numTensors).toBe(before);
        expect(() => T.exp(result.value)).toThrow(DisposedError);
        expect(() => T.exp(result.value)).toThrow(/was disposed/);
        expect(() => tidy(() => Promise.resolve(1))).toThrow(/synchronous/);
      });

      it('composite ops, fused or composed, and a throwing tidy leave no intermediates behind', () => {
        const x = T.tensor([[-2, 0.5, 3]]);
        const labels = ints([2]);
        const ones = T.ones([3]);
        const before = memory().numTensors;
        const composite = () => [
          T.clamp(x, -1, 1),
          T.mul(x, 2),
          T.variance(x, -1, { keepDims: true }),
          T.softmax(x, 0),
          T.layerNorm(x, { weight: ones, bias: ones }),
          T.crossEntropy(x, labels),
          T.dropout(x, 0.5, { seed: 1 }),
          T.matmul(ones, ones),
          T.siNormalize(x),
        ];
        for (const run of [composite, () => withoutFusedKernels(composite)]) {
          const results = run();
          expect(memory().numTensors).toBe(before + results.length);
          for (const r of results) r.dispose();
        }
        expect(() =>
          tidy(() => {
            T.mul(x, 2);
            throw new RangeError('boom');
          }),
        ).toThrow('boom');
        expect(memory().numTensors).toBe(before);
      });

      it('reports live tensors and bytes per backend; views share storage', () => {
        const base = memory();
        const a = T.zeros([10, 10]);
        const view = T.reshape(a, [100]);
        const now = memory();
        expect(now.numTensors).toBe(base.numTensors + 2);
        expect(now.numBytes).toBe(base.numBytes + 400);
        expect(now.backends[options.backend]!.numBytes).toBe(
          (base.backends[options.backend]?.numBytes ?? 0) + 400,
        );
        a.dispose();
        expect(memory().numBytes).toBe(base.numBytes + 400);
        view.dispose();
        expect(memory().numBytes).toBe(base.numBytes);
      });

      it('100 training steps of a small MLP keep live tensors and bytes constant', async () => {
        T.manualSeed(1);
        const w1 = escapeTidy(T.mul(T.normal([8, 16]), 0.3)).requireGrad();
        const w2 = escapeTidy(T.mul(T.normal([16, 3]), 0.3)).requireGrad();
        const x = T.normal([32, 8]);
        const labels = T.cast(T.mul(T.uniform([32]), 3), 'int32');
        const params = [w1, w2];
        const losses: number[] = [];
        let baseline: { numTensors: number; numBytes: number } | null = null;
        for (let step = 0; step < 100; step++) {
          const loss = tidy(() => T.crossEntropy(T.matmul(T.relu(T.matmul(x, w1)), w2), labels));
          loss.backward();
          noGrad(() => {
            for (const p of params) {
              const updated = tidy(() => T.sub(p, T.mul(p.grad!, 0.5)));
              p.assign(updated);
              updated.dispose();
              p.grad!.dispose();
              p.grad = null;
            }
          });
          if (step % 20 === 0 || step === 99) losses.push(await loss.itemAsync());
          loss.dispose();
          const m = memory();
          baseline ??= { numTensors: m.numTensors, numBytes: m.numBytes };
          expect({ numTensors: m.numTensors, numBytes: m.numBytes }).toEqual(baseline);
        }
        expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
      });

      it('a failing op leaves tensors, memory and the tape as they were', async () => {
        const x = T.tensor([1, 2, 3]).requireGrad();
        const y = T.mul(x, 2);
        const other = T.zeros([2, 2]);
        const before = memory();
        expect(() => T.add(y, other)).toThrow(ShapeError);
        expect(() => T.matmul(y, other)).toThrow(ShapeError);
        expect(() => T.concat([y, other])).toThrow(ShapeError);
        expect(memory().numTensors).toBe(before.numTensors);
        expect(memory().numBytes).toBe(before.numBytes);
        T.sum(y).backward();
        expect(Array.from(await x.grad!.data())).toEqual([2, 2, 2]);
      });
    });

    describe('backends', () => {
      it('a kernel the backend lacks is an error naming op and backend', async () => {
        const backend = getBackend();
        const limitedName = `${options.backend}-without-matmul`;
        registerBackend(limitedName, () => limitedBackend(backend, limitedName, 'matmul'));
        await setBackend(limitedName);
        try {
          const a = T.ones([2, 2]);
          expect(() => T.matmul(a, a)).toThrow(BackendError);
          expect(() => T.matmul(a, a)).toThrow(`matmul: backend '${limitedName}' has no 'matmul' kernel`);
        } finally {
          await setBackend(options.backend);
        }
      });

      it.skipIf(!options.otherBackend)(
        'mixing backends in one op is an error, not a silent copy',
        async () => {
          await setBackend(options.otherBackend!);
          const b = T.ones([2]);
          await setBackend(options.backend);
          const a = T.ones([2]);
          expect(b.backend).toBe(options.otherBackend);
          expect(() => T.add(a, b)).toThrow(/add: inputs are on different backends/);
          const moved = await b.toAsync(options.backend);
          expect(moved.backend).toBe(options.backend);
          expect(Array.from(await T.add(a, moved).data())).toEqual([2, 2]);
        },
      );
    });
  });
}

/** A backend that shares `base`'s storage and kernels but declares one kernel missing. */
function limitedBackend(base: Backend, name: string, missing: keyof Backend['kernels']): Backend {
  const kernels = Object.create(base.kernels, { [missing]: { value: undefined } });
  return Object.create(base, {
    name: { value: name },
    kernels: { value: kernels },
    dispose: { value: () => {} },
  });
}

/** Elementwise closeness with IEEE semantics: NaN matches NaN, infinities match exactly. */
function expectValuesClose(
  actual: TypedArray | ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  label: string,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) {
        expect.fail(`${label}: element ${i} is ${a}, expected ${e}`);
      }
      continue;
    }
    if (!(Math.abs(a - e) <= tolerance.atol + tolerance.rtol * Math.abs(e))) {
      expect.fail(
        `${label}: element ${i} is ${a}, expected ${e} (atol ${tolerance.atol}, rtol ${tolerance.rtol})`,
      );
    }
  }
}
