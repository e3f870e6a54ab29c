import type { OutSpec, View } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { download, expectClose, openLayoutBackends, sampleValues, upload } from './test-support.js';
import { TOLERANCE, UNARY_TOLERANCE } from './tolerances.js';
import type { WebGpuBackend } from './webgpu-backend.js';

const backends = await openLayoutBackends('rowKernel', ['workgroup', 'thread']);
const backend = backends[0]![1];

const ROWS = 70; // more rows than one thread-per-row workgroup holds (64)
const COLUMNS = 130; // more than one row-workgroup stride (64) and not a multiple of it

function rowsOf(values: Float32Array): Float32Array[] {
  return Array.from({ length: ROWS }, (_, r) => values.slice(r * COLUMNS, (r + 1) * COLUMNS));
}

function referenceSoftmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const exps = Array.from(row, (v) => Math.exp(v - max));
  const sum = exps.reduce((s, v) => s + v, 0);
  return exps.map((v) => v / sum);
}

/** The composed definitions, built from this backend's primitive kernels. */
function composedSoftmax(b: WebGpuBackend, x: View): View {
  const k = b.kernels;
  const f = (shape: number[]): OutSpec => ({ shape, dtype: 'float32' });
  const max = { handle: k.reduce!(x, 'max', [1], f([ROWS])), shape: [ROWS, 1], dtype: 'float32' as const };
  const shifted = {
    handle: k.binary!(x, max, 'sub', f([ROWS, COLUMNS])),
    shape: [ROWS, COLUMNS],
    dtype: 'float32' as const,
  };
  const exps = {
    handle: k.unary!(shifted, 'exp', f([ROWS, COLUMNS])),
    shape: [ROWS, COLUMNS],
    dtype: 'float32' as const,
  };
  const sum = { handle: k.reduce!(exps, 'sum', [1], f([ROWS])), shape: [ROWS, 1], dtype: 'float32' as const };
  return {
    handle: k.binary!(exps, sum, 'div', f([ROWS, COLUMNS])),
    shape: [ROWS, COLUMNS],
    dtype: 'float32',
  };
}

describe.skipIf(!backend).each(backends)('webgpu fused kernels (%s row kernels)', (_, gpuOrNull) => {
  const b = gpuOrNull!;
  const shape = [ROWS, COLUMNS];
  const out: OutSpec = { shape, dtype: 'float32' };
  const values = sampleValues(ROWS * COLUMNS, 21, -8, 8);

  it('softmax matches float64 and the composed ops', async () => {
    const x = upload(b, values, shape);
    const got = await download(b, b.kernels.softmax!(x, out), shape);
    expectClose(got, rowsOf(values).flatMap(referenceSoftmax), TOLERANCE.softmax, 'softmax');
    const composed = await download(b, composedSoftmax(b, x).handle, shape);
    expectClose(got, composed, TOLERANCE.softmax, 'softmax vs composed');
  });

  it('logSoftmax matches float64', async () => {
    const got = await download(b, b.kernels.logSoftmax!(upload(b, values, shape), out), shape);
    const want = rowsOf(values).flatMap((row) => referenceSoftmax(row).map(Math.log));
    expectClose(got, want, TOLERANCE.softmax, 'logSoftmax');
  });

  it('layerNormalize matches float64 (biased variance)', async () => {
    const eps = 1e-5;
    const got = await download(b, b.kernels.layerNormalize!(upload(b, values, shape), eps, out), shape);
    const want = rowsOf(values).flatMap((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / COLUMNS;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / COLUMNS;
      return Array.from(row, (v) => (v - mean) / Math.sqrt(variance + eps));
    });
    expectClose(got, want, TOLERANCE.layerNormalize, 'layerNormalize');
  });

  it('crossEntropy matches −log softmax at the label, 0 at ignoreIndex', async () => {
    const labels = Array.from({ length: ROWS }, (_, r) => [3, -100, 129, 0, 64, -100][r % 6]!);
    const got = await download(
      b,
      b.kernels.crossEntropy!(upload(b, values, shape), upload(b, labels, [ROWS], 'int32'), -100, {
        shape: [ROWS],
        dtype: 'float32',
      }),
      [ROWS],
    );
    const want = rowsOf(values).map((row, r) =>
      labels[r] === -100 ? 0 : -Math.log(referenceSoftmax(row)[labels[r]!]!),
    );
    expectClose(got, want, TOLERANCE.softmax, 'crossEntropy');
  });

  it('siNormalize with and without a broadcast keep mask; a fully masked row is 0', async () => {
    const eps = 1e-6;
    const heads = 2;
    const queries = 3;
    const keys = COLUMNS;
    const scoreShape = [heads, queries, keys];
    const scores = sampleValues(heads * queries * keys, 22, -1, 2);
    const keepValues = Array.from({ length: heads * keys }, (_, i) =>
      i % 7 === 3 || i >= keys ? (i < keys + keys ? 1 : 0) : 1,
    );
    for (let k = 0; k < keys; k++) keepValues[keys + k] = 0; // head 1: every key masked
    const keepShape = [heads, 1, keys];
    const got = await download(
      b,
      b.kernels.siNormalize!(upload(b, scores, scoreShape), upload(b, keepValues, keepShape), eps, {
        shape: scoreShape,
        dtype: 'float32',
      }),
      scoreShape,
    );
    const want: number[] = [];
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < queries; q++) {
        const row = Array.from(
          { length: keys },
          (_, k) => Math.max(scores[(h * queries + q) * keys + k]!, 0) * keepValues[h * keys + k]!,
        );
        const sum = row.reduce((s, v) => s + v, 0);
        want.push(...row.map((v) => v / (sum + eps)));
      }
    }
    expectClose(got, want, TOLERANCE.siNormalize, 'siNormalize with keep');
    expect(Array.from(got.slice(queries * keys)).every((v) => v === 0)).toBe(true);

    const unmasked = await download(
      b,
      b.kernels.siNormalize!(upload(b, scores, scoreShape), null, eps, {
        shape: scoreShape,
        dtype: 'float32',
      }),
      scoreShape,
    );
    const wantUnmasked: number[] = [];
    for (let r = 0; r < heads * queries; r++) {
      const row = Array.from(scores.slice(r * keys, (r + 1) * keys), (v) => Math.max(v, 0));
      const sum = row.reduce((s, v) => s + v, 0);
      wantUnmasked.push(...row.map((v) => v / (sum + eps)));
    }
    expectClose(unmasked, wantUnmasked, TOLERANCE.siNormalize, 'siNormalize without keep');
  });

  it('gelu (fused unary) matches its composition from erf', async () => {
    const x = upload(b, values, shape);
    const fused = await download(b, b.kernels.unary!(x, 'gelu', out), shape);
    const k = b.kernels;
    const scaled = {
      handle: k.binary!(x, upload(b, [Math.SQRT1_2], [1]), 'mul', out),
      shape,
      dtype: 'float32' as const,
    };
    const erf = { handle: k.unary!(scaled, 'erf', out), shape, dtype: 'float32' as const };
    const onePlus = {
      handle: k.binary!(erf, upload(b, [1], [1]), 'add', out),
      shape,
      dtype: 'float32' as const,
    };
    const half = {
      handle: k.binary!(x, upload(b, [0.5], [1]), 'mul', out),
      shape,
      dtype: 'float32' as const,
    };
    const composed = await download(b, k.binary!(half, onePlus, 'mul', out), shape);
    expectClose(fused, composed, UNARY_TOLERANCE.gelu, 'gelu vs composed');
  });
});
