import type { JobParams, Task, TaskKernels, ThreadPool } from './threads.js';

/**
 * The WASM SIMD matmul, split into tasks for the thread pool. Operands and output live in the
 * heap; a job packs every A tile ([k][MR], zero-padded past m) and B tile ([k][NR], zero-padded
 * past n) of every distinct operand matrix, then a second job multiplies: each task owns a
 * block of C (a run of MR-row tiles × up to `nc` columns of one batch) and writes it whole, so
 * no two tasks touch the same memory and the result does not depend on the thread count.
 * Transposes and broadcast batches are strides and a per-batch table; nothing is materialised.
 *
 * Both jobs take the parameters of `GemmJob` (element offsets are float indices into the heap).
 */

export const MR = 4;
export const NR = 8;
const PACK_TILES = 16;
/** C blocks are sized so one block of packed B (k × nc floats) fits a 512 KiB L2 cache. */
const L2_FLOATS = 131072;
const MAX_NC = 512;
/** Below this many multiply-adds a matmul is not worth waking the workers. */
const PARALLEL_MIN_MACS = 1 << 18;

/** The parameters of both GEMM jobs. */
const GEMM_PARAMS = [
  'm',
  'n',
  'k',
  'batches',
  'aBase',
  'aRowStride',
  'aColStride',
  'aMatrices',
  'bBase',
  'bRowStride',
  'bColStride',
  'bMatrices',
  'cBase',
  /** Where the packed A and B tiles go. */
  'packedA',
  'packedB',
  /** Heap int32 index of the batch table: [A matrix, B matrix] per batch. */
  'batchTable',
  /** Columns per C block. */
  'nc',
  /** Row tiles per C block. */
  'rowTiles',
  /** Tiles per pack task. */
  'packTiles',
  /** MR × nc floats per thread, for partial tiles. */
  'scratch',
  'mTiles',
  'nTiles',
] as const;
type GemmJob = JobParams<(typeof GEMM_PARAMS)[number]>;

/** Task: pack `packTiles` tiles: the first tasks take A's tiles (all matrices), the rest B's. */
function packOperandTiles(
  job: GemmJob,
  f32: Float32Array,
  _i32: Int32Array,
  _wasm: TaskKernels,
  index: number,
): void {
  const m = job.m;
  const n = job.n;
  const k = job.k;
  const packTiles = job.packTiles;
  const mTiles = job.mTiles;
  const nTiles = job.nTiles;
  const aTiles = job.aMatrices * mTiles;
  const aTasks = Math.ceil(aTiles / packTiles);
  if (index < aTasks) {
    // A tile g = (matrix, t): rows t·4 …, packed [k][4] at packedA + g·k·4.
    const first = index * packTiles;
    const end = Math.min(first + packTiles, aTiles);
    const ars = job.aRowStride;
    const acs = job.aColStride;
    for (let g = first; g < end; g++) {
      const matrix = Math.floor(g / mTiles);
      const row0 = (g - matrix * mTiles) * 4;
      const height = Math.min(4, m - row0);
      let s = job.aBase + matrix * m * k + row0 * ars;
      let d = job.packedA + g * k * 4;
      if (height === 4) {
        for (let p = 0; p < k; p++, s += acs, d += 4) {
          f32[d] = f32[s]!;
          f32[d + 1] = f32[s + ars]!;
          f32[d + 2] = f32[s + 2 * ars]!;
          f32[d + 3] = f32[s + 3 * ars]!;
        }
      } else {
        for (let p = 0; p < k; p++, s += acs, d += 4) {
          for (let r = 0; r < 4; r++) f32[d + r] = r < height ? f32[s + r * ars]! : 0;
        }
      }
    }
    return;
  }
  // B tile g = (matrix, u): columns u·8 …, packed [k][8] at packedB + g·k·8.
  const first = (index - aTasks) * packTiles;
  const end = Math.min(first + packTiles, job.bMatrices * nTiles);
  const brs = job.bRowStride;
  const bcs = job.bColStride;
  for (let g = first; g < end; g++) {
    const matrix = Math.floor(g / nTiles);
    const col0 = (g - matrix * nTiles) * 8;
    const width = Math.min(8, n - col0);
    let s = job.bBase + matrix * k * n + col0 * bcs;
    let d = job.packedB + g * k * 8;
    if (width === 8) {
      for (let p = 0; p < k; p++, s += brs, d += 8) {
        f32[d] = f32[s]!;
        f32[d + 1] = f32[s + bcs]!;
        f32[d + 2] = f32[s + 2 * bcs]!;
        f32[d + 3] = f32[s + 3 * bcs]!;
        f32[d + 4] = f32[s + 4 * bcs]!;
        f32[d + 5] = f32[s + 5 * bcs]!;
        f32[d + 6] = f32[s + 6 * bcs]!;
        f32[d + 7] = f32[s + 7 * bcs]!;
      }
    } else {
      for (let p = 0; p < k; p++, s += brs, d += 8) {
        for (let x = 0; x < 8; x++) f32[d + x] = x < width ? f32[s + x * bcs]! : 0;
      }
    }
  }
}

/** Task: one C block = (batch, column block, run of row tiles), written by the WASM panel. */
function multiplyBlock(
  job: GemmJob,
  f32: Float32Array,
  i32: Int32Array,
  wasm: TaskKernels,
  index: number,
  thread: number,
): void {
  const m = job.m;
  const n = job.n;
  const k = job.k;
  const nc = job.nc;
  const rowTiles = job.rowTiles;
  const mTiles = job.mTiles;
  const nTiles = job.nTiles;
  const rowBlocks = Math.ceil(mTiles / rowTiles);
  const colBlocks = Math.ceil(n / nc);
  const rowBlock = index % rowBlocks;
  const rest = (index - rowBlock) / rowBlocks;
  const colBlock = rest % colBlocks;
  const batch = (rest - colBlock) / colBlocks;
  const aMatrix = i32[job.batchTable + 2 * batch]!;
  const bMatrix = i32[job.batchTable + 2 * batch + 1]!;
  const col0 = colBlock * nc;
  const width = Math.min(nc, n - col0);
  const tiles = Math.ceil(width / 8);
  const fullTiles = Math.floor(width / 8);
  const bStride = k * 8 * 4;
  const bBlock = 4 * (job.packedB + (bMatrix * nTiles + col0 / 8) * k * 8);
  const scratch = job.scratch + thread * 4 * nc;
  const fullRowTiles = Math.floor(m / 4);
  const tEnd = Math.min(mTiles, (rowBlock + 1) * rowTiles);
  for (let t = rowBlock * rowTiles; t < tEnd; t++) {
    const aTile = 4 * (job.packedA + (aMatrix * mTiles + t) * k * 4);
    const c = job.cBase + batch * m * n + t * 4 * n + col0;
    if (t < fullRowTiles) {
      if (fullTiles > 0) wasm.panel(fullTiles, k, aTile, bBlock, 4 * c, 4 * n, bStride);
      if (fullTiles < tiles) {
        // The last, partial column tile goes through the scratch tile.
        wasm.panel(1, k, aTile, bBlock + fullTiles * bStride, 4 * scratch, 32, bStride);
        const col = fullTiles * 8;
        for (let r = 0; r < 4; r++) {
          for (let x = col; x < width; x++) f32[c + r * n + x] = f32[scratch + r * 8 + x - col]!;
        }
      }
    } else {
      // The last, partial row tile: the whole block row through the scratch rows.
      wasm.panel(tiles, k, aTile, bBlock, 4 * scratch, 32 * tiles, bStride);
      for (let r = 0; r < m - t * 4; r++) {
        for (let x = 0; x < width; x++) f32[c + r * n + x] = f32[scratch + r * 8 * tiles + x]!;
      }
    }
  }
}

export const gemmPack: Task<(typeof GEMM_PARAMS)[number]> = { params: GEMM_PARAMS, run: packOperandTiles };
export const gemmMultiply: Task<(typeof GEMM_PARAMS)[number]> = { params: GEMM_PARAMS, run: multiplyBlock };
export const GEMM_TASKS: readonly Task[] = [gemmPack, gemmMultiply];

export interface GemmOperands {
  m: number;
  n: number;
  k: number;
  batches: number;
  /** Heap element offsets of A, B and C (C: [batches][m][n], contiguous). */
  a: number;
  b: number;
  c: number;
  aRowStride: number;
  aColStride: number;
  bRowStride: number;
  bColStride: number;
  /** Distinct matrices stored in A and in B (broadcast batches share them). */
  aMatrices: number;
  bMatrices: number;
  /** Heap int32 index of the batch table: [A matrix, B matrix] per batch. */
  batchTable: number;
}

/** Heap floats the scratch of `gemm` needs: packed operands and the per-thread edge tiles. */
export function gemmScratchFloats(op: GemmOperands, threads: number): number {
  const mPad = Math.ceil(op.m / MR) * MR;
  const nPad = Math.ceil(op.n / NR) * NR;
  return op.aMatrices * mPad * op.k + op.bMatrices * nPad * op.k + threads * MR * columnsPerBlock(op.k);
}

function columnsPerBlock(k: number): number {
  return Math.max(NR, Math.min(MAX_NC, Math.floor(L2_FLOATS / k / NR) * NR));
}

/** C = A·B for every batch, with `scratch` (gemmScratchFloats floats) at heap offset `scratchAt`. */
export function gemm(pool: ThreadPool, op: GemmOperands, scratchAt: number): void {
  const { m, n, k } = op;
  const mTiles = Math.ceil(m / MR);
  const nTiles = Math.ceil(n / NR);
  const nc = columnsPerBlock(k);
  const packedA = scratchAt;
  const packedB = packedA + op.aMatrices * mTiles * MR * k;
  const edges = packedB + op.bMatrices * nTiles * NR * k;
  const parallel = m * n * k * op.batches >= PARALLEL_MIN_MACS;
  const threads = parallel ? pool.threads : 1;
  // Enough C blocks that every thread gets several (the last ones finish unevenly).
  const blocks = op.batches * Math.ceil(n / nc);
  let rowTiles = 16;
  while (rowTiles > 1 && blocks * Math.ceil(mTiles / rowTiles) < 4 * threads) rowTiles >>= 1;
  const job: GemmJob = {
    m,
    n,
    k,
    batches: op.batches,
    aBase: op.a,
    aRowStride: op.aRowStride,
    aColStride: op.aColStride,
    aMatrices: op.aMatrices,
    bBase: op.b,
    bRowStride: op.bRowStride,
    bColStride: op.bColStride,
    bMatrices: op.bMatrices,
    cBase: op.c,
    packedA,
    packedB,
    batchTable: op.batchTable,
    nc,
    rowTiles,
    packTiles: PACK_TILES,
    scratch: edges,
    mTiles,
    nTiles,
  };
  const packTasks =
    Math.ceil((op.aMatrices * mTiles) / PACK_TILES) + Math.ceil((op.bMatrices * nTiles) / PACK_TILES);
  pool.run(gemmPack, job, packTasks, parallel);
  pool.run(gemmMultiply, job, blocks * Math.ceil(mTiles / rowTiles), parallel);
}
