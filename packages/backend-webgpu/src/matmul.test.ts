import { describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  coordinates,
  download,
  expectClose,
  openLayoutBackends,
  sampleValues,
  upload,
} from './test-support.js';
import { matmulTolerance, TOLERANCE } from './tolerances.js';

const backends = await openLayoutBackends('matmulKernel', ['workgroup', 'register']);
const backend = backends[0]![1];

/** float64 batched matmul with broadcast batch dims and transpose flags. */
function referenceMatmul(
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
  outShape: readonly number[],
): Float64Array {
  const rank = outShape.length;
  const [M, N] = [outShape[rank - 2]!, outShape[rank - 1]!];
  const K = transposeA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
  const batchShape = outShape.slice(0, -2);
  const batches = batchShape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(batches * M * N);
  for (let batch = 0; batch < batches; batch++) {
    const c = coordinates(batch, batchShape);
    const aBase = broadcastIndex(c, aShape.slice(0, -2)) * M * K;
    const bBase = broadcastIndex(c, bShape.slice(0, -2)) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const av = a[aBase + (transposeA ? k * M + m : m * K + k)]!;
          const bv = b[bBase + (transposeB ? n * K + k : k * N + n)]!;
          sum += av * bv;
        }
        out[(batch * M + m) * N + n] = sum;
      }
    }
  }
  return out;
}

describe.skipIf(!backend).each(backends)('webgpu matmul kernel (%s)', (_, gpuOrNull) => {
  const gpu = gpuOrNull!;

  const shapes: [number, number, number][] = [
    [67, 45, 70], // ragged: scalar paths and partial tiles
    [72, 48, 36], // multiples of 4: the vec4 paths
    [13, 516, 70], // long K, a multiple of 4: the A·Bᵀ vec4-dot path of CPU adapters
    [9, 8, 300], // wide N: several register-kernel workgroups across columns
  ];
  for (const [M, K, N] of shapes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        it(`${M}×${K}×${N}, transposeA=${transposeA} transposeB=${transposeB}`, async () => {
          const aShape = transposeA ? [K, M] : [M, K];
          const bShape = transposeB ? [N, K] : [K, N];
          const a = sampleValues(M * K, 1);
          const b = sampleValues(K * N, 2);
          const got = await download(
            gpu,
            gpu.kernels.matmul!(upload(gpu, a, aShape), upload(gpu, b, bShape), transposeA, transposeB, {
              shape: [M, N],
              dtype: 'float32',
            }),
            [M, N],
          );
          expectClose(
            got,
            referenceMatmul(a, aShape, b, bShape, transposeA, transposeB, [M, N]),
            matmulTolerance(K),
            'matmul',
          );
        });
      }
    }
  }

  it('broadcasts batch dimensions ([2,1,M,K] x [3,K,N], B transposed)', async () => {
    const [M, K, N] = [5, 17, 9];
    const aShape = [2, 1, M, K];
    const bShape = [3, N, K];
    const outShape = [2, 3, M, N];
    const a = sampleValues(2 * M * K, 3);
    const b = sampleValues(3 * N * K, 4);
    const got = await download(
      gpu,
      gpu.kernels.matmul!(upload(gpu, a, aShape), upload(gpu, b, bShape), false, true, {
        shape: outShape,
        dtype: 'float32',
      }),
      outShape,
    );
    expectClose(
      got,
      referenceMatmul(a, aShape, b, bShape, false, true, outShape),
      TOLERANCE.matmul,
      'batched matmul',
    );
  });

  it('K = 0 gives zeros and M = 0 an empty result', async () => {
    const zeros = await download(
      gpu,
      gpu.kernels.matmul!(upload(gpu, [], [3, 0]), upload(gpu, [], [0, 2]), false, false, {
        shape: [3, 2],
        dtype: 'float32',
      }),
      [3, 2],
    );
    expect(Array.from(zeros)).toEqual([0, 0, 0, 0, 0, 0]);
    const empty = gpu.kernels.matmul!(
      upload(gpu, [], [0, 4]),
      upload(gpu, new Array(8).fill(1), [4, 2]),
      false,
      false,
      {
        shape: [0, 2],
        dtype: 'float32',
      },
    );
    expect((await download(gpu, empty, [0, 2])).length).toBe(0);
  });

  it('rejects int32 operands', () => {
    const a = upload(gpu, [1, 2, 3, 4], [2, 2], 'int32');
    expect(() => gpu.kernels.matmul!(a, a, false, false, { shape: [2, 2], dtype: 'int32' })).toThrow(
      /matmul: a must be float32/,
    );
  });
});
