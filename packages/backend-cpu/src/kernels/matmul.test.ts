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
import { createMatmul, type MatmulKind } from './matmul.js';
import { CpuRuntime } from './runtime.js';

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

const IMPLEMENTATIONS: [MatmulKind, number][] = [
  ['wasm-simd', 1],
  ['wasm-simd', 2],
  ['js', 1],
];

for (const [kind, threads] of IMPLEMENTATIONS) {
  describe(`matmul (${kind}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
    const implementation = createMatmul(new CpuRuntime(kind === 'js' ? 1 : threads), kind);
    const matmul = implementation.matmul;
    it('uses the requested implementation', () => {
      expect(implementation.kind).toBe(kind);
      expect(implementation.threads).toBe(threads);
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
            const out = matmul(a, b, transposeA, transposeB, { shape: expected.shape, dtype: 'float32' });
            expectClose(out as Float32Array, expected.values, 1e-5, 1e-5);
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
        matmul(a, b, false, false, { shape: [9, 517], dtype: 'float32' }) as Float32Array,
        expected.values,
        1e-5,
        1e-5,
      );
    });
  });
}

describe('matmul on several threads', () => {
  const one = createMatmul(new CpuRuntime(1), 'wasm-simd').matmul;
  const two = createMatmul(new CpuRuntime(2), 'wasm-simd').matmul;
  const random = seeded(5);
  // Large enough to be split (broadcast batches, odd edges, every transpose); the split must not
  // change a single bit, since each block of C is computed by one thread in a fixed order.
  for (const [aShape, bShape] of [
    [
      [3, 1, 67, 130],
      [1, 2, 130, 45],
    ],
    [
      [131, 300],
      [300, 129],
    ],
  ] as [number[], number[]][]) {
    it(`[${aShape}] · [${bShape}] matches the reference and the one-thread result exactly`, () => {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = randomView(stored(aShape, transposeA), random, 'float32', 1);
          const b = randomView(stored(bShape, transposeB), random, 'float32', 1);
          const expected = matmulReference(
            a.handle as Float32Array,
            a.shape as number[],
            b.handle as Float32Array,
            b.shape as number[],
            transposeA,
            transposeB,
          );
          const out = { shape: expected.shape, dtype: 'float32' as const };
          const single = one(a, b, transposeA, transposeB, out) as Float32Array;
          const split = two(a, b, transposeA, transposeB, out) as Float32Array;
          expectClose(split, expected.values, 1e-5, 1e-5);
          expect(Array.from(split)).toEqual(Array.from(single));
        }
      }
    });
  }
});
