import type { OutSpec, View } from '@sibert/tensor';
import { createWasmGemm } from './gemm-wasm.js';
import { broadcastStrides, sizeOf } from './layout.js';

/**
 * One strided single-matrix product C[m×n] += A[m×k]·B[k×n], C contiguous at cOffset.
 * A(i, p) = a[aOffset + i·aRowStride + p·aColStride], B(p, j) = b[bOffset + p·bRowStride + j·bColStride],
 * so transposes are just swapped strides. Implementations: `gemmTiled` (plain JavaScript) and the
 * WASM SIMD one from `createWasmGemm`; a threaded one would slot in the same way.
 */
export type Gemm = (
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  aRowStride: number,
  aColStride: number,
  b: Float32Array,
  bOffset: number,
  bRowStride: number,
  bColStride: number,
  c: Float32Array,
  cOffset: number,
) => void;

export type GemmKind = 'wasm-simd' | 'js';

let wasmGemm: Gemm | null | undefined;

/** The GEMM of a kind; 'wasm-simd' falls back to 'js' where WebAssembly SIMD is unavailable. */
export function selectGemm(kind: GemmKind): { kind: GemmKind; gemm: Gemm } {
  if (kind === 'wasm-simd') {
    if (wasmGemm === undefined) wasmGemm = createWasmGemm();
    if (wasmGemm !== null) return { kind, gemm: wasmGemm };
  }
  return { kind: 'js', gemm: gemmTiled };
}

/** Batched matmul with broadcast batch dims; every batch goes through `gemm`. */
export function matmul(
  a: View,
  b: View,
  transposeA: boolean,
  transposeB: boolean,
  out: OutSpec,
  gemm: Gemm,
): Float32Array {
  const av = a.handle as Float32Array;
  const bv = b.handle as Float32Array;
  const rank = out.shape.length;
  const m = out.shape[rank - 2]!;
  const n = out.shape[rank - 1]!;
  const ar = a.shape.length;
  const k = transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const c = new Float32Array(sizeOf(out.shape));
  if (c.length === 0 || k === 0) return c;
  // A stored [M, K] (or [K, M] when transposed); B stored [K, N] (or [N, K]).
  const aRowStride = transposeA ? 1 : k;
  const aColStride = transposeA ? m : 1;
  const bRowStride = transposeB ? 1 : n;
  const bColStride = transposeB ? k : 1;
  const batchShape = out.shape.slice(0, rank - 2);
  const aBatchStrides = broadcastStrides(a.shape.slice(0, ar - 2), batchShape);
  const bBatchStrides = broadcastStrides(b.shape.slice(0, b.shape.length - 2), batchShape);
  const batches = sizeOf(batchShape);
  const aMatrix = m * k;
  const bMatrix = k * n;
  for (let batch = 0; batch < batches; batch++) {
    let rest = batch;
    let aOffset = 0;
    let bOffset = 0;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const extent = batchShape[d]!;
      const index = rest % extent;
      rest = (rest - index) / extent;
      aOffset += index * aBatchStrides[d]!;
      bOffset += index * bBatchStrides[d]!;
    }
    gemm(
      m,
      n,
      k,
      av,
      aOffset * aMatrix,
      aRowStride,
      aColStride,
      bv,
      bOffset * bMatrix,
      bRowStride,
      bColStride,
      c,
      batch * m * n,
    );
  }
  return c;
}

/** K and N block sizes: a KC×NC block of B (256 KiB) stays in L2 while 4-row panels of A stream through L1. */
const KC = 256;
const NC = 256;

/**
 * Register-tiled, cache-blocked product: 4×4 tiles of C accumulate in 16 locals (doubles) over a
 * K block, then add into C. No packing, so every transpose combination runs in place.
 */
export const gemmTiled: Gemm = (m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff) => {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const ars2 = 2 * ars;
  const ars3 = 3 * ars;
  const bcs2 = 2 * bcs;
  const bcs3 = 3 * bcs;
  for (let jc = 0; jc < n; jc += NC) {
    const jEnd = Math.min(jc + NC, n);
    const j4End = Math.min(jEnd, n4);
    for (let kc = 0; kc < k; kc += KC) {
      const kLen = Math.min(KC, k - kc);
      for (let i = 0; i < m4; i += 4) {
        const aPanel = aOff + i * ars + kc * acs;
        const cRow = cOff + i * n;
        for (let j = jc; j < j4End; j += 4) {
          let c00 = 0,
            c01 = 0,
            c02 = 0,
            c03 = 0;
          let c10 = 0,
            c11 = 0,
            c12 = 0,
            c13 = 0;
          let c20 = 0,
            c21 = 0,
            c22 = 0,
            c23 = 0;
          let c30 = 0,
            c31 = 0,
            c32 = 0,
            c33 = 0;
          let pa = aPanel;
          let pb = bOff + kc * brs + j * bcs;
          for (let p = 0; p < kLen; p++) {
            const a0 = a[pa]!;
            const a1 = a[pa + ars]!;
            const a2 = a[pa + ars2]!;
            const a3 = a[pa + ars3]!;
            const b0 = b[pb]!;
            const b1 = b[pb + bcs]!;
            const b2 = b[pb + bcs2]!;
            const b3 = b[pb + bcs3]!;
            c00 += a0 * b0;
            c01 += a0 * b1;
            c02 += a0 * b2;
            c03 += a0 * b3;
            c10 += a1 * b0;
            c11 += a1 * b1;
            c12 += a1 * b2;
            c13 += a1 * b3;
            c20 += a2 * b0;
            c21 += a2 * b1;
            c22 += a2 * b2;
            c23 += a2 * b3;
            c30 += a3 * b0;
            c31 += a3 * b1;
            c32 += a3 * b2;
            c33 += a3 * b3;
            pa += acs;
            pb += brs;
          }
          let pc = cRow + j;
          c[pc]! += c00;
          c[pc + 1]! += c01;
          c[pc + 2]! += c02;
          c[pc + 3]! += c03;
          pc += n;
          c[pc]! += c10;
          c[pc + 1]! += c11;
          c[pc + 2]! += c12;
          c[pc + 3]! += c13;
          pc += n;
          c[pc]! += c20;
          c[pc + 1]! += c21;
          c[pc + 2]! += c22;
          c[pc + 3]! += c23;
          pc += n;
          c[pc]! += c30;
          c[pc + 1]! += c31;
          c[pc + 2]! += c32;
          c[pc + 3]! += c33;
        }
      }
      // Edges: leftover rows (all columns of this N block) and leftover columns (full-tile rows).
      edgeDots(m4, m, jc, jEnd, kc, kLen, n, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff);
      if (j4End < jEnd)
        edgeDots(0, m4, j4End, jEnd, kc, kLen, n, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff);
    }
  }
};

/** Plain dot products for the cells [i0, i1) × [j0, j1) over one K block. */
function edgeDots(
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  kc: number,
  kLen: number,
  n: number,
  a: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  b: Float32Array,
  bOff: number,
  brs: number,
  bcs: number,
  c: Float32Array,
  cOff: number,
): void {
  for (let i = i0; i < i1; i++) {
    for (let j = j0; j < j1; j++) {
      let sum = 0;
      let pa = aOff + i * ars + kc * acs;
      let pb = bOff + kc * brs + j * bcs;
      for (let p = 0; p < kLen; p++) {
        sum += a[pa]! * b[pb]!;
        pa += acs;
        pb += brs;
      }
      c[cOff + i * n + j]! += sum;
    }
  }
}
