import { broadcastStrides, type Kernels, type OutSpec, sizeOf, type View } from '@sibert/tensor';
import { type GemmOperands, gemm, gemmScratchFloats } from './gemm.js';
import type { CpuRuntime, WasmRuntime } from './runtime.js';
import type { ThreadPool } from './threads.js';

/**
 * One strided single-matrix product C[m×n] += A[m×k]·B[k×n], C contiguous at cOffset.
 * A(i, p) = a[aOffset + i·aRowStride + p·aColStride], B(p, j) = b[bOffset + p·bRowStride + j·bColStride],
 * so transposes are just swapped strides. The plain-JavaScript implementation is `gemmTiled`.
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

export type MatmulKind = 'wasm-simd' | 'js';

export interface MatmulImplementation {
  /** The implementation in use ('wasm-simd' falls back to 'js' where WebAssembly SIMD is missing). */
  readonly kind: MatmulKind;
  /** Threads a large matmul is split over (1 for 'js'). */
  readonly threads: number;
  readonly matmul: Kernels['matmul'];
}

/** The matmul kernel of a kind on `rt` (and its thread pool, for 'wasm-simd'). */
export function createMatmul(rt: CpuRuntime, kind: MatmulKind): MatmulImplementation {
  const { wasm, pool } = rt;
  if (kind === 'js' || !wasm || !pool)
    return {
      kind: 'js',
      threads: 1,
      matmul: (a, b, tA, tB, out) => matmulWith(rt, gemmTiled, a, b, tA, tB, out),
    };
  return {
    kind: 'wasm-simd',
    threads: pool.threads,
    matmul: (a, b, tA, tB, out) => matmulWasm(rt, wasm, pool, a, b, tA, tB, out),
  };
}

/** The batch structure of a batched matmul with broadcast batch dims. */
interface Batched {
  m: number;
  n: number;
  k: number;
  batches: number;
  /** Per batch: the index of its A matrix and of its B matrix among the stored ones. */
  aIndex: Int32Array;
  bIndex: Int32Array;
}

function batched(a: View, b: View, transposeA: boolean, out: OutSpec): Batched {
  const rank = out.shape.length;
  const ar = a.shape.length;
  const batchShape = out.shape.slice(0, rank - 2);
  const aBatchStrides = broadcastStrides(a.shape.slice(0, ar - 2), batchShape);
  const bBatchStrides = broadcastStrides(b.shape.slice(0, b.shape.length - 2), batchShape);
  const batches = sizeOf(batchShape);
  const aIndex = new Int32Array(batches);
  const bIndex = new Int32Array(batches);
  for (let batch = 0; batch < batches; batch++) {
    let rest = batch;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const extent = batchShape[d]!;
      const index = rest % extent;
      rest = (rest - index) / extent;
      aIndex[batch]! += index * aBatchStrides[d]!;
      bIndex[batch]! += index * bBatchStrides[d]!;
    }
  }
  return {
    m: out.shape[rank - 2]!,
    n: out.shape[rank - 1]!,
    k: transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!,
    batches,
    aIndex,
    bIndex,
  };
}

/** Batched matmul, every batch through a single-matrix `gemm`. */
export function matmulWith(
  rt: CpuRuntime,
  gemm: Gemm,
  a: View,
  b: View,
  transposeA: boolean,
  transposeB: boolean,
  out: OutSpec,
): Float32Array {
  const { m, n, k, batches, aIndex, bIndex } = batched(a, b, transposeA, out);
  const c = rt.allocate('float32', sizeOf(out.shape)) as Float32Array;
  if (c.length === 0 || k === 0) return c;
  // A stored [M, K] (or [K, M] when transposed); B stored [K, N] (or [N, K]).
  for (let batch = 0; batch < batches; batch++) {
    gemm(
      m,
      n,
      k,
      a.handle as Float32Array,
      aIndex[batch]! * m * k,
      transposeA ? 1 : k,
      transposeA ? m : 1,
      b.handle as Float32Array,
      bIndex[batch]! * k * n,
      transposeB ? 1 : n,
      transposeB ? k : 1,
      c,
      batch * m * n,
    );
  }
  return c;
}

/**
 * Batched matmul by the WASM SIMD GEMM (`gemm.ts`) on the pool's threads. Operands outside the
 * heap (plain arrays: where tensors cannot live in shared memory, or kernels called directly) are
 * copied in first, the result copied out.
 */
function matmulWasm(
  rt: CpuRuntime,
  wasm: WasmRuntime,
  pool: ThreadPool,
  a: View,
  b: View,
  transposeA: boolean,
  transposeB: boolean,
  out: OutSpec,
): Float32Array {
  const shape = batched(a, b, transposeA, out);
  const { m, n, k, batches } = shape;
  const av = a.handle as Float32Array;
  const bv = b.handle as Float32Array;
  const c = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  if (c.length === 0) return c;
  if (k === 0) return c.fill(0);
  const { heap } = wasm;
  const operands: GemmOperands = {
    m,
    n,
    k,
    batches,
    a: 0,
    b: 0,
    c: 0,
    aRowStride: transposeA ? 1 : k,
    aColStride: transposeA ? m : 1,
    bRowStride: transposeB ? 1 : n,
    bColStride: transposeB ? k : 1,
    aMatrices: av.length / (m * k),
    bMatrices: bv.length / (k * n),
    batchTable: 0,
  };
  // One scratch block: the batch table, staged operands, then the GEMM's own scratch.
  const staged = [av, bv, c].map((array) => (heap.owns(array) ? 0 : array.length));
  const tableFloats = 2 * batches;
  const gemmFloats = gemmScratchFloats(operands, pool.threads);
  const scratch = heap.allocate('float32', tableFloats + staged[0]! + staged[1]! + staged[2]! + gemmFloats);
  if (!scratch) {
    // The heap cannot grow that far: multiply in JavaScript instead.
    rt.recycle(c);
    return matmulWith(rt, gemmTiled, a, b, transposeA, transposeB, out);
  }
  try {
    const f32 = heap.f32; // after the allocation, which may have grown the memory
    let at = scratch.byteOffset / 4;
    operands.batchTable = at;
    const i32 = new Int32Array(f32.buffer);
    for (let batch = 0; batch < batches; batch++) {
      i32[at + 2 * batch] = shape.aIndex[batch]!;
      i32[at + 2 * batch + 1] = shape.bIndex[batch]!;
    }
    at += tableFloats;
    const place = (array: Float32Array, floats: number): number => {
      if (floats === 0) return array.byteOffset / 4;
      const offset = at;
      at += floats;
      return offset;
    };
    operands.a = place(av, staged[0]!);
    operands.b = place(bv, staged[1]!);
    operands.c = place(c, staged[2]!);
    if (staged[0]) f32.set(av, operands.a);
    if (staged[1]) f32.set(bv, operands.b);
    gemm(pool, operands, at);
    if (staged[2]) c.set(f32.subarray(operands.c, operands.c + c.length));
  } finally {
    heap.release(scratch);
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
