import { sizeOf, stridesOf } from '@sibert/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { coordinates, download, sampleValues, upload } from './test-support.js';
import { openTestBackend } from './testing.js';

const backend = await openTestBackend();
afterAll(() => backend?.dispose());

function linear(coords: readonly number[], shape: readonly number[]): number {
  const strides = stridesOf(shape);
  return coords.reduce((sum, c, axis) => sum + c * strides[axis]!, 0);
}

describe.skipIf(!backend)('webgpu movement and indexing kernels', () => {
  const b = backend!;

  it('transpose permutes a rank-4 tensor', async () => {
    const shape = [2, 3, 4, 5];
    const perm = [2, 0, 3, 1];
    const outShape = perm.map((p) => shape[p]!);
    const values = sampleValues(120, 1);
    const got = await download(
      b,
      b.kernels.transpose!(upload(b, values, shape), perm, { shape: outShape, dtype: 'float32' }),
      outShape,
    );
    const want = new Float32Array(120).map((_, i) => {
      const oc = coordinates(i, outShape);
      const ic = new Array<number>(4);
      perm.forEach((p, axis) => {
        ic[p] = oc[axis]!;
      });
      return values[linear(ic, shape)]!;
    });
    expect(got).toEqual(want);
  });

  it('broadcastTo materialises size-1 and missing axes (int32)', async () => {
    const got = await download(
      b,
      b.kernels.broadcastTo!(upload(b, [1, 2, 3], [3, 1], 'int32'), { shape: [2, 3, 2], dtype: 'int32' }),
      [2, 3, 2],
      'int32',
    );
    expect(Array.from(got)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });

  it('slice takes a window', async () => {
    const shape = [4, 5, 6];
    const values = sampleValues(120, 2);
    const begin = [1, 2, 3];
    const outShape = [2, 3, 2];
    const got = await download(
      b,
      b.kernels.slice!(upload(b, values, shape), begin, { shape: outShape, dtype: 'float32' }),
      outShape,
    );
    const want = new Float32Array(sizeOf(outShape)).map((_, i) => {
      const c = coordinates(i, outShape).map((v, axis) => v + begin[axis]!);
      return values[linear(c, shape)]!;
    });
    expect(got).toEqual(want);
  });

  it('concat joins along a middle axis, including an empty input', async () => {
    const a = upload(b, [1, 2, 3, 4], [2, 1, 2]);
    const empty = upload(b, [], [2, 0, 2]);
    const c = upload(b, [5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 2]);
    const got = await download(
      b,
      b.kernels.concat!([a, empty, c], 1, { shape: [2, 3, 2], dtype: 'float32' }),
      [2, 3, 2],
    );
    expect(Array.from(got)).toEqual([1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]);
  });

  it('pad surrounds with a value', async () => {
    const got = await download(
      b,
      b.kernels.pad!(
        upload(b, [1, 2, 3, 4], [2, 2]),
        [
          [1, 0],
          [0, 2],
        ],
        -1,
        { shape: [3, 4], dtype: 'float32' },
      ),
      [3, 4],
    );
    expect(Array.from(got)).toEqual([-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1]);
  });

  it('gather along axes 0 and 1 with multi-dimensional indices', async () => {
    const shape = [4, 3];
    const values = sampleValues(12, 3);
    const x = upload(b, values, shape);
    const indices = upload(b, [3, 0, 3, 1], [2, 2], 'int32');
    const rows = await download(
      b,
      b.kernels.gather!(x, indices, 0, { shape: [2, 2, 3], dtype: 'float32' }),
      [12],
    );
    expect(Array.from(rows)).toEqual([3, 0, 3, 1].flatMap((r) => Array.from(values.slice(r * 3, r * 3 + 3))));
    const cols = upload(b, [2, 0], [2], 'int32');
    const picked = await download(b, b.kernels.gather!(x, cols, 1, { shape: [4, 2], dtype: 'float32' }), [8]);
    expect(Array.from(picked)).toEqual([0, 1, 2, 3].flatMap((r) => [values[r * 3 + 2]!, values[r * 3]!]));
  });

  it('scatterAdd sums duplicates in index order (axis 0 and axis 1)', async () => {
    const picks = [2, 0, 2, 2, 4, 0, 1];
    const updatesShape = [7, 3];
    const values = sampleValues(21, 4);
    const indices = upload(b, picks, [7], 'int32');
    const got = await download(
      b,
      b.kernels.scatterAdd!(upload(b, values, updatesShape), indices, 0, { shape: [5, 3], dtype: 'float32' }),
      [15],
    );
    const want = new Float32Array(15);
    picks.forEach((target, j) => {
      for (let r = 0; r < 3; r++) want[target * 3 + r]! += values[j * 3 + r]!;
    });
    expect(got).toEqual(want);

    const inner = upload(b, [1, 2, 3, 4, 5, 6], [2, 3]);
    const columns = upload(b, [1, 1, 0], [3], 'int32');
    const alongColumns = await download(
      b,
      b.kernels.scatterAdd!(inner, columns, 1, { shape: [2, 2], dtype: 'float32' }),
      [4],
    );
    expect(Array.from(alongColumns)).toEqual([3, 3, 6, 9]);
  });

  it('scatterAdd matches a sequential loop on a larger embedding-like case', async () => {
    const vocab = 50;
    const picks = 600;
    const width = 8;
    const indexValues = Array.from(sampleValues(picks, 9, 0, vocab), (v) => Math.floor(v));
    const values = sampleValues(picks * width, 10);
    const got = await download(
      b,
      b.kernels.scatterAdd!(upload(b, values, [picks, width]), upload(b, indexValues, [picks], 'int32'), 0, {
        shape: [vocab, width],
        dtype: 'float32',
      }),
      [vocab * width],
    );
    const want = new Float32Array(vocab * width);
    indexValues.forEach((target, j) => {
      for (let r = 0; r < width; r++) want[target * width + r]! += values[j * width + r]!;
    });
    expect(got).toEqual(want);
  });

  it('oneHot gives zero rows for out-of-range indices', async () => {
    const got = await download(
      b,
      b.kernels.oneHot!(upload(b, [0, 2, 5, -1], [2, 2], 'int32'), 3, { shape: [2, 2, 3], dtype: 'float32' }),
      [12],
    );
    expect(Array.from(got)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe.skipIf(!backend)('webgpu device-side index checks', () => {
  const b = backend!;

  it('gather, scatterAdd and crossEntropy report out-of-range indices at the next read', async () => {
    const x = upload(b, [1, 2, 3, 4], [2, 2]);
    const bad = upload(b, [0, 2], [2], 'int32');
    const gathered = b.kernels.gather!(x, bad, 0, { shape: [2, 2], dtype: 'float32' });
    await expect(b.read(gathered, 4, 'float32')).rejects.toThrow(
      /webgpu: gather: index 2 is out of range \[0, 2\)/,
    );
    expect(Array.from(await b.read(gathered, 4, 'float32'))).toEqual([1, 2, 0, 0]);

    b.kernels.scatterAdd!(x, upload(b, [-1, 0], [2], 'int32'), 0, { shape: [2, 2], dtype: 'float32' });
    await expect(b.sync()).rejects.toThrow(/webgpu: scatterAdd: index -1 is out of range \[0, 2\)/);

    const labels = upload(b, [1, 7], [2], 'int32');
    const losses = b.kernels.crossEntropy!(x, labels, -100, { shape: [2], dtype: 'float32' });
    await expect(b.read(losses, 2, 'float32')).rejects.toThrow(
      /webgpu: crossEntropy: index 7 is out of range \[0, 2\)/,
    );
    await b.sync();
  });
});
