import { type ReduceOp, sizeOf } from '@sibert/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { coordinates, download, expectClose, sampleValues, upload } from './test-support.js';
import { openTestBackend } from './testing.js';
import { TOLERANCE } from './tolerances.js';

const backend = await openTestBackend();
afterAll(() => backend?.dispose());

/** float64 reference: reduces `axes` of x (argmax/argmin: first index, NaN wins). */
function referenceReduce(
  values: ArrayLike<number>,
  shape: readonly number[],
  op: ReduceOp,
  axes: readonly number[],
): number[] {
  const outShape = shape.filter((_, axis) => !axes.includes(axis));
  const out = new Array<number>(sizeOf(outShape)).fill(Number.NaN);
  const seen = new Array<number>(out.length).fill(0);
  const best = new Array<number>(out.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = coordinates(i, shape);
    const o =
      sizeOf(outShape) === 0
        ? 0
        : coordinatesToIndex(
            c.filter((_, axis) => !axes.includes(axis)),
            outShape,
          );
    const v = values[i]!;
    const r = axes.length === 1 ? c[axes[0]!]! : 0;
    const k = seen[o]!++;
    if (op === 'sum') out[o] = k === 0 ? v : out[o]! + v;
    else if (op === 'max' || op === 'min') {
      if (k === 0 || Number.isNaN(v) || (op === 'max' ? v > out[o]! : v < out[o]!))
        out[o] = Number.isNaN(out[o]!) && k > 0 ? out[o]! : v;
    } else {
      const current = out[o]!;
      const takes =
        k === 0 ||
        (!Number.isNaN(current) && (Number.isNaN(v) || (op === 'argmax' ? v > current : v < current)));
      if (takes) {
        out[o] = v;
        best[o] = r;
      }
    }
  }
  return op === 'argmax' || op === 'argmin' ? best : out;
}

function coordinatesToIndex(c: readonly number[], shape: readonly number[]): number {
  let index = 0;
  for (let axis = 0; axis < shape.length; axis++) index = index * shape[axis]! + c[axis]!;
  return index;
}

describe.skipIf(!backend)('webgpu reduce kernel', () => {
  const b = backend!;
  const shape = [3, 4, 5];

  for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
    it(`sum/max/min over axes ${axes.join(',')}`, async () => {
      const values = sampleValues(60, 11);
      const x = upload(b, values, shape);
      const outShape = shape.filter((_, axis) => !axes.includes(axis));
      for (const op of ['sum', 'max', 'min'] as const) {
        const got = await download(
          b,
          b.kernels.reduce!(x, op, axes, { shape: outShape, dtype: 'float32' }),
          outShape,
        );
        expectClose(got, referenceReduce(values, shape, op, axes), TOLERANCE.reduceSum, `${op} over ${axes}`);
      }
    });
  }

  it('argmax/argmin: first index on ties, NaN wins', async () => {
    const values = [1, 3, 3, 0, 2, Number.NaN, 5, Number.NaN, 0, 0, 0, 0];
    const x = upload(b, values, [3, 4]);
    const argmax = await download(
      b,
      b.kernels.reduce!(x, 'argmax', [1], { shape: [3], dtype: 'int32' }),
      [3],
      'int32',
    );
    expect(Array.from(argmax)).toEqual([1, 1, 0]);
    const argmin = await download(
      b,
      b.kernels.reduce!(x, 'argmin', [1], { shape: [3], dtype: 'int32' }),
      [3],
      'int32',
    );
    expect(Array.from(argmin)).toEqual([3, 1, 0]);
    const down = await download(
      b,
      b.kernels.reduce!(x, 'argmax', [0], { shape: [4], dtype: 'int32' }),
      [4],
      'int32',
    );
    expect(Array.from(down)).toEqual(referenceReduce(values, [3, 4], 'argmax', [0]));
  });

  it('max propagates NaN', async () => {
    const x = upload(b, [1, Number.NaN, 3, 2], [2, 2]);
    const got = await download(b, b.kernels.reduce!(x, 'max', [1], { shape: [2], dtype: 'float32' }), [2]);
    expect(Array.from(got)).toEqual([Number.NaN, 3]);
  });

  it('long reductions use a workgroup per output and stay accurate', async () => {
    const length = 5000;
    const values = sampleValues(2 * length, 12);
    const x = upload(b, values, [2, length]);
    for (const op of ['sum', 'max', 'min', 'argmax', 'argmin'] as const) {
      const dtype = op.startsWith('arg') ? 'int32' : 'float32';
      const got = await download(b, b.kernels.reduce!(x, op, [1], { shape: [2], dtype }), [2], dtype);
      expectClose(got, referenceReduce(values, [2, length], op, [1]), { rtol: 1e-5, atol: 1e-3 }, op);
    }
  });

  it('int32 sum/max/argmax', async () => {
    const x = upload(b, [5, -2, 7, 7, 1, 0], [2, 3], 'int32');
    const sum = await download(
      b,
      b.kernels.reduce!(x, 'sum', [0], { shape: [3], dtype: 'int32' }),
      [3],
      'int32',
    );
    expect(Array.from(sum)).toEqual([12, -1, 7]);
    const max = await download(
      b,
      b.kernels.reduce!(x, 'max', [1], { shape: [2], dtype: 'int32' }),
      [2],
      'int32',
    );
    expect(Array.from(max)).toEqual([7, 7]);
    const argmax = await download(
      b,
      b.kernels.reduce!(x, 'argmax', [1], { shape: [2], dtype: 'int32' }),
      [2],
      'int32',
    );
    expect(Array.from(argmax)).toEqual([2, 0]);
  });
});
