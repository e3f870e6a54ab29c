import { describe, expect, it } from 'vitest';
import {
  broadcastIndex,
  broadcastShapes,
  coordsOf,
  expectClose,
  randomView,
  seeded,
  sizeOfShape,
} from '../test-support.js';
import { type GemmKind, matmul, selectGemm } from './matmul.js';

/** Naive float64 batched matmul reading the transposes by index. */
function matmulReference(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
): { shape: number[]; values: number[] } {
  const ar = aShape.length;
  const br = bShape.length;
  const m = transposeA ? aShape[ar - 1]! : aShape[ar - 2]!;
  const k = transposeA ? aShape[ar - 2]! : aShape[ar - 1]!;
  const n = transposeB ? bShape[br - 2]! : bShape[br - 1]!;
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = broadcastShapes(aBatch, bBatch);
  const values: number[] = [];
  for (let t = 0; t < sizeOfShape(batch); t++) {
    const coords = coordsOf(t, batch);
    const aBase = broadcastIndex(coords, aBatch) * m * k;
    const bBase = broadcastIndex(coords, bBatch) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          sum +=
            a[aBase + (transposeA ? p * m + i : i * k + p)]! *
            b[bBase + (transposeB ? j * k + p : p * n + j)]!;
        }
        values.push(sum);
      }
    }
  }
  return { shape: [...batch, m, n], values };
}

/** [aShape, bShape] as stored for transposeA = transposeB = false, as [..., M, K] and [..., K, N]. */
const CASES: [number[], number[]][] = [
  [
    [1, 1],
    [1, 1],
  ],
  [
    [3, 5],
    [5, 7],
  ],
  [
    [17, 33],
    [33, 9],
  ],
  [
    [4, 8],
    [8, 16],
  ],
  [
    [37, 300],
    [300, 21],
  ],
  [
    [2, 5, 3],
    [3, 6],
  ],
  [
    [6, 5],
    [3, 5, 9],
  ],
  [
    [2, 1, 3, 4],
    [3, 4, 5],
  ],
  [
    [1, 2, 1, 5, 3],
    [2, 1, 4, 3, 4],
  ],
  [
    [0, 3],
    [3, 4],
  ],
  [
    [3, 0],
    [0, 4],
  ],
  [
    [2, 0, 3, 4],
    [4, 5],
  ],
];

function stored(shape: number[], transpose: boolean): number[] {
  if (!transpose) return shape;
  const r = shape.length;
  return [...shape.slice(0, r - 2), shape[r - 1]!, shape[r - 2]!];
}

for (const kind of ['wasm-simd', 'js'] as GemmKind[]) {
  describe(`matmul (${kind})`, () => {
    const { gemm, kind: actual } = selectGemm(kind);
    it('uses the requested implementation', () => {
      expect(actual).toBe(kind);
    });
    const random = seeded(21);
    for (const [aLogical, bLogical] of CASES) {
      it(`[${aLogical}] · [${bLogical}] in all four transpose combinations`, () => {
        for (const transposeA of [false, true]) {
          for (const transposeB of [false, true]) {
            const a = randomView(stored(aLogical, transposeA), random, 'float32', 1);
            const b = randomView(stored(bLogical, transposeB), random, 'float32', 1);
            const expected = matmulReference(
              a.handle as Float32Array,
              a.shape as number[],
              b.handle as Float32Array,
              b.shape as number[],
              transposeA,
              transposeB,
            );
            const out = matmul(
              a,
              b,
              transposeA,
              transposeB,
              { shape: expected.shape, dtype: 'float32' },
              gemm,
            );
            expectClose(out, expected.values, 1e-5, 1e-5);
          }
        }
      });
    }

    it('crosses the K, N and M blocking boundaries', () => {
      // K > 256 and N > 512 exercise the K and N blocks; M and N are not multiples of the tiles.
      const a = randomView([9, 530], random, 'float32', 1);
      const b = randomView([530, 517], random, 'float32', 1);
      const expected = matmulReference(
        a.handle as Float32Array,
        [9, 530],
        b.handle as Float32Array,
        [530, 517],
        false,
        false,
      );
      expectClose(
        matmul(a, b, false, false, { shape: [9, 517], dtype: 'float32' }, gemm),
        expected.values,
        1e-5,
        1e-5,
      );
    });
  });
}
