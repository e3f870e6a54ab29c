import { broadcastStrides, coalesce, type OutSpec, sizeOf, type View } from '@sibert/tensor';
import { gpuError } from '../errors.js';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import { inputDecl, outputDecl, PARAMS_DECL, stridedOffsets, stridedParams } from '../wgsl/common.js';
import { allocateOut, requireDType, storageOf } from './shared.js';

/** Register tiling: a wx×wy workgroup computes a (wy·tm)×(wx·tn) block of C, one tm×tn block per thread. */
export interface MatmulTiling {
  /** 'workgroup': tiles staged in workgroup memory (GPUs); 'register': register tiles only (CPU adapters). */
  readonly kind: 'workgroup' | 'register';
  readonly wx: number;
  readonly wy: number;
  readonly tm: number;
  readonly tn: number;
  /** Depth of the K slice staged in workgroup memory per step (workgroup kind only). */
  readonly bk: number;
}

/** For GPUs: 64×64 blocks of C staged through workgroup memory, 4×4 per thread. */
export const WORKGROUP_TILING: MatmulTiling = { kind: 'workgroup', wx: 16, wy: 16, tm: 4, tn: 4, bk: 16 };
/** For CPU adapters (lavapipe): 8 rows × 64 lanes per workgroup, no workgroup memory (measured best in bench/). */
export const REGISTER_TILING: MatmulTiling = { kind: 'register', wx: 64, wy: 1, tm: 8, tn: 4, bk: 1 };
/**
 * The register kernels on SwiftShader: 4 rows per workgroup. SwiftShader's shader compiler never
 * finishes the scalar direct shader at 8 × 4 accumulators (createComputePipelineAsync does not
 * resolve in 100 s; Chromium 156), while 4 × 4 compiles in ~0.3 s.
 */
export const SWIFTSHADER_REGISTER_TILING: MatmulTiling = { ...REGISTER_TILING, tm: 4 };

/**
 * WGSL for C = op(A)·op(B) over broadcast batches. Both operands are staged through workgroup
 * memory as vec4 rows; the transposes only change how a tile is loaded (the loop reading global
 * memory walks the operand's contiguous axis), never the inner product loop.
 */
export function matmulShader(
  transposeA: boolean,
  transposeB: boolean,
  batchRank: number,
  tiling: MatmulTiling,
): string {
  const { wx, wy, tm, tn, bk } = tiling;
  const bm = wy * tm;
  const bn = wx * tn;
  const threads = wx * wy;
  const loadsA = (bm * bk) / threads;
  const loadsB = (bn * bk) / threads;
  if (!Number.isInteger(loadsA) || !Number.isInteger(loadsB) || tm % 4 !== 0 || tn % 4 !== 0) {
    throw gpuError('matmul', `tiling ${JSON.stringify(tiling)} does not divide evenly`);
  }
  // Batch layout: shape at slot 4, then A's and B's batch strides (see matmul()).
  const batchOffsets = stridedOffsets('batch', batchRank, 4, [4 + batchRank, 5 + 2 * batchRank]);
  // Tile coordinates of load l: walk the operand's contiguous axis fastest.
  const aCoords = transposeA
    ? `let mm = l % ${bm}u; let kk = l / ${bm}u;`
    : `let kk = l % ${bk}u; let mm = l / ${bk}u;`;
  const aIndex = transposeA ? 'k * M + m' : 'm * K + k';
  const bCoords = transposeB
    ? `let kk = l % ${bk}u; let nn = l / ${bk}u;`
    : `let nn = l % ${bn}u; let kk = l / ${bn}u;`;
  const bIndex = transposeB ? 'n * K + k' : 'k * N + n';

  let accDecl = '';
  let inner = '';
  let store = '';
  for (let i = 0; i < tm; i++) {
    for (let jv = 0; jv < tn / 4; jv++) accDecl += `    var acc${i}_${jv} = vec4<f32>(0.0);\n`;
  }
  for (let iv = 0; iv < tm / 4; iv++)
    inner += `      let a${iv} = tileA[kk * ${bm / 4}u + ty * ${tm / 4}u + ${iv}u];\n`;
  for (let jv = 0; jv < tn / 4; jv++)
    inner += `      let b${jv} = tileB[kk * ${bn / 4}u + tx * ${tn / 4}u + ${jv}u];\n`;
  const lanes = ['x', 'y', 'z', 'w'];
  for (let i = 0; i < tm; i++) {
    for (let jv = 0; jv < tn / 4; jv++) {
      inner += `      acc${i}_${jv} = fma(vec4<f32>(a${Math.floor(i / 4)}.${lanes[i % 4]}), b${jv}, acc${i}_${jv});\n`;
    }
  }
  for (let i = 0; i < tm; i++) {
    store += `    { let m = row0 + ${i}u;\n      if (m < M) {\n`;
    for (let jv = 0; jv < tn / 4; jv++) {
      for (let lane = 0; lane < 4; lane++) {
        store += `        if (col0 + ${jv * 4 + lane}u < N) { result[outBase + m * N + col0 + ${jv * 4 + lane}u] = acc${i}_${jv}.${lanes[lane]}; }\n`;
      }
    }
    store += '      }\n    }\n';
  }

  return `${PARAMS_DECL}${inputDecl(1, 'a', 'f32')}${inputDecl(2, 'b', 'f32')}${outputDecl(3, 'result', 'f32')}
var<workgroup> tileA: array<vec4<f32>, ${(bk * bm) / 4}>;
var<workgroup> tileB: array<vec4<f32>, ${(bk * bn) / 4}>;

@compute @workgroup_size(${wx}, ${wy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = param(0u);
  let N = param(1u);
  let K = param(2u);
  let batches = param(3u);
  let tx = local.x;
  let ty = local.y;
  let rowBlock = wid.y * ${bm}u;
  let colBlock = wid.x * ${bn}u;
  let row0 = rowBlock + ty * ${tm}u;
  let col0 = colBlock + tx * ${tn}u;
  for (var batch = wid.z; batch < batches; batch = batch + nwg.z) {
    ${batchOffsets}
    let baseA = off0;
    let baseB = off1;
    let outBase = batch * M * N;
${accDecl}
    for (var k0 = 0u; k0 < K; k0 = k0 + ${bk}u) {
      for (var q = 0u; q < ${loadsA}u; q = q + 1u) {
        let l = lid + q * ${threads}u;
        ${aCoords}
        let m = rowBlock + mm;
        let k = k0 + kk;
        var v = 0.0;
        if (m < M && k < K) { v = a[baseA + ${aIndex}]; }
        tileA[kk * ${bm / 4}u + mm / 4u][mm % 4u] = v;
      }
      for (var q = 0u; q < ${loadsB}u; q = q + 1u) {
        let l = lid + q * ${threads}u;
        ${bCoords}
        let n = colBlock + nn;
        let k = k0 + kk;
        var v = 0.0;
        if (n < N && k < K) { v = b[baseB + ${bIndex}]; }
        tileB[kk * ${bn / 4}u + nn / 4u][nn % 4u] = v;
      }
      workgroupBarrier();
      for (var kk = 0u; kk < ${bk}u; kk = kk + 1u) {
${inner}      }
      workgroupBarrier();
    }
${store}  }
}
`;
}

/**
 * WGSL for the same product without workgroup memory, shaped for CPU adapters (lavapipe), where
 * workgroup memory is ordinary memory, barriers are costly and lanes are SIMD lanes: a workgroup
 * owns tm rows of C (so every A read is uniform across the workgroup, one scalar load), and each
 * lane owns tn columns (one B read per column per k) with tm·tn accumulators in registers.
 */
export function matmulDirectShader(
  transposeA: boolean,
  transposeB: boolean,
  batchRank: number,
  tiling: MatmulTiling,
): string {
  const { wx, tm, tn } = tiling;
  const aAt = (row: string) => (transposeA ? `a[baseA + k * M + ${row}]` : `a[baseA + ${row} * K + k]`);
  const bAt = (col: string) => (transposeB ? `b[baseB + ${col} * K + k]` : `b[baseB + k * N + ${col}]`);
  let setup = '';
  let inner = '';
  let store = '';
  for (let i = 0; i < tm; i++) setup += `    let r${i} = min(row0 + ${i}u, M - 1u);\n`;
  for (let j = 0; j < tn; j++) setup += `    let c${j} = min(col0 + ${j * wx}u, N - 1u);\n`;
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) setup += `    var acc${i}_${j} = 0.0;\n`;
  for (let i = 0; i < tm; i++) inner += `      let a${i} = ${aAt(`r${i}`)};\n`;
  for (let j = 0; j < tn; j++) inner += `      let b${j} = ${bAt(`c${j}`)};\n`;
  for (let i = 0; i < tm; i++)
    for (let j = 0; j < tn; j++) inner += `      acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});\n`;
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++) {
      store += `    if (row0 + ${i}u < M && col0 + ${j * wx}u < N) { result[outBase + (row0 + ${i}u) * N + col0 + ${j * wx}u] = acc${i}_${j}; }\n`;
    }
  }
  return registerKernel({
    declarations: `${inputDecl(1, 'a', 'f32')}${inputDecl(2, 'b', 'f32')}${outputDecl(3, 'result', 'f32')}`,
    tiling,
    lanes: `let col0 = wid.x * ${wx * tn}u + lid;`,
    batchRank,
    setup,
    kStep: 1,
    inner,
    store,
  });
}

/**
 * The CPU-adapter variant when B is not transposed and N is a multiple of 4: each lane owns four
 * adjacent columns and reads them as one vec4 per k; the workgroup's tm rows of A are uniform loads.
 */
export function matmulDirectVec4Shader(
  transposeA: boolean,
  vectorA: boolean,
  batchRank: number,
  tiling: MatmulTiling,
): string {
  const { wx, tm } = tiling;
  const aAt = (row: string) => (transposeA ? `a[baseA + k * M + ${row}]` : `a[baseA + ${row} * K + k]`);
  let setup = '';
  let inner = '';
  let store = '';
  for (let i = 0; i < tm; i++)
    setup += `    let r${i} = min(row0 + ${i}u, M - 1u);\n    var acc${i} = vec4<f32>(0.0);\n`;
  if (vectorA) {
    // Four k per step: one vec4 of each A row, four vec4 rows of B.
    for (let i = 0; i < tm; i++) inner += `      let a${i} = a[(baseA + r${i} * K + k) / 4u];\n`;
    for (let step = 0; step < 4; step++) {
      inner += `      let bv${step} = b[(baseB + (k + ${step}u) * N) / 4u + quad];\n`;
      for (let i = 0; i < tm; i++)
        inner += `      acc${i} = fma(vec4<f32>(a${i}[${step}]), bv${step}, acc${i});\n`;
    }
  } else {
    for (let i = 0; i < tm; i++) inner += `      let a${i} = ${aAt(`r${i}`)};\n`;
    inner += '      let bv = b[(baseB + k * N) / 4u + quad];\n';
    for (let i = 0; i < tm; i++) inner += `      acc${i} = fma(vec4<f32>(a${i}), bv, acc${i});\n`;
  }
  for (let i = 0; i < tm; i++) {
    store += `    if (row0 + ${i}u < M && inRange) { result[(outBase + (row0 + ${i}u) * N) / 4u + quad] = acc${i}; }\n`;
  }
  const aDecl = vectorA
    ? '@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;\n'
    : inputDecl(1, 'a', 'f32');
  return registerKernel({
    declarations: `${aDecl}@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> result: array<vec4<f32>>;
`,
    tiling,
    lanes: `let quads = N / 4u;
  let inRange = wid.x * ${wx}u + lid < quads;
  let quad = min(wid.x * ${wx}u + lid, quads - 1u);`,
    batchRank,
    setup,
    kStep: vectorA ? 4 : 1,
    inner,
    store,
  });
}

/**
 * The CPU-adapter variant for A·Bᵀ when K is a multiple of 4: A's rows and B's rows both run
 * along k, so each lane owns tn columns of C (rows of B, strided by the workgroup width) and reads
 * four k at a time from each as one vec4; the workgroup's tm rows of A are uniform vec4 loads.
 */
export function matmulDirectDotShader(batchRank: number, tiling: MatmulTiling): string {
  const { wx, tm, tn } = tiling;
  let setup = '';
  let inner = '';
  let store = '';
  for (let i = 0; i < tm; i++) setup += `    let r${i} = min(row0 + ${i}u, M - 1u);\n`;
  for (let j = 0; j < tn; j++) setup += `    let c${j} = min(col0 + ${j * wx}u, N - 1u);\n`;
  for (let i = 0; i < tm; i++)
    for (let j = 0; j < tn; j++) setup += `    var acc${i}_${j} = vec4<f32>(0.0);\n`;
  for (let i = 0; i < tm; i++) inner += `      let a${i} = a[(baseA + r${i} * K + k) / 4u];\n`;
  for (let j = 0; j < tn; j++) inner += `      let b${j} = b[(baseB + c${j} * K + k) / 4u];\n`;
  for (let i = 0; i < tm; i++)
    for (let j = 0; j < tn; j++) inner += `      acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});\n`;
  for (let i = 0; i < tm; i++) {
    for (let j = 0; j < tn; j++) {
      const acc = `acc${i}_${j}`;
      store += `    if (row0 + ${i}u < M && col0 + ${j * wx}u < N) { result[outBase + (row0 + ${i}u) * N + col0 + ${j * wx}u] = (${acc}.x + ${acc}.y) + (${acc}.z + ${acc}.w); }\n`;
    }
  }
  return registerKernel({
    declarations: `@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
${outputDecl(3, 'result', 'f32')}`,
    tiling,
    lanes: `let col0 = wid.x * ${wx * tn}u + lid;`,
    batchRank,
    setup,
    kStep: 4,
    inner,
    store,
  });
}

/**
 * The skeleton the register kernels share: a workgroup of `wx` lanes owns `tm` rows of C from
 * `row0`; `lanes` places each lane's columns; per batch, `setup`, a k loop of `kStep`, `store`.
 */
function registerKernel(parts: {
  declarations: string;
  tiling: MatmulTiling;
  lanes: string;
  batchRank: number;
  setup: string;
  kStep: number;
  inner: string;
  store: string;
}): string {
  const { wx, tm } = parts.tiling;
  const rank = parts.batchRank;
  const batchOffsets = stridedOffsets('batch', rank, 4, [4 + rank, 5 + 2 * rank]);
  return `${PARAMS_DECL}${parts.declarations}@compute @workgroup_size(${wx})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let M = param(0u);
  let N = param(1u);
  let K = param(2u);
  let batches = param(3u);
  let row0 = wid.y * ${tm}u;
  ${parts.lanes}
  for (var batch = wid.z; batch < batches; batch = batch + nwg.z) {
    ${batchOffsets}
    let baseA = off0;
    let baseB = off1;
    let outBase = batch * M * N;
${parts.setup}
    for (var k = 0u; k < K; k = k + ${parts.kStep}u) {
${parts.inner}    }
${parts.store}  }
}
`;
}

export function matmul(
  rt: GpuRuntime,
  a: View,
  b: View,
  transposeA: boolean,
  transposeB: boolean,
  out: OutSpec,
  tiling: MatmulTiling,
): GpuStorage {
  const name = 'matmul';
  requireDType(name, 'a', a.dtype, ['float32']);
  requireDType(name, 'b', b.dtype, ['float32']);
  const result = allocateOut(rt, name, out);
  const rank = out.shape.length;
  const M = out.shape[rank - 2]!;
  const N = out.shape[rank - 1]!;
  const K = transposeA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batchShape = out.shape.slice(0, rank - 2);
  const batches = sizeOf(batchShape);
  if (M * N * batches === 0) return result;
  const matrixStrides = (shape: readonly number[]) => {
    const batchDims = shape.slice(0, shape.length - 2);
    const perMatrix = shape[shape.length - 2]! * shape[shape.length - 1]!;
    return broadcastStrides(batchDims, batchShape).map((stride) => stride * perMatrix);
  };
  const batchLayout = coalesce(batchShape, [matrixStrides(a.shape), matrixStrides(b.shape)]);
  const batchRank = batchLayout.shape.length;
  const register = tiling.kind === 'register';
  const vectorB = register && !transposeB && N % 4 === 0;
  const dotRows = register && transposeB && !transposeA && K % 4 === 0 && K >= DOT_MIN_DEPTH;
  // Register kernels: no wider a workgroup than C has columns for (lanes past N only idle).
  const columnsPerLane = vectorB ? 4 : dotRows ? DOT_COLUMNS_PER_LANE : tiling.tn;
  const lanes = register ? laneCount(tiling.wx, N, columnsPerLane) : tiling.wx;
  const shader = vectorB
    ? matmulDirectVec4Shader(transposeA, !transposeA && K % 4 === 0, batchRank, { ...tiling, wx: lanes })
    : dotRows
      ? matmulDirectDotShader(batchRank, { ...tiling, wx: lanes, tn: DOT_COLUMNS_PER_LANE })
      : register
        ? matmulDirectShader(transposeA, transposeB, batchRank, { ...tiling, wx: lanes })
        : matmulShader(transposeA, transposeB, batchRank, tiling);
  const bm = register ? tiling.tm : tiling.wy * tiling.tm;
  const bn = lanes * columnsPerLane;
  rt.dispatch({
    op: name,
    shader,
    inputs: [storageOf(name, a).buffer, storageOf(name, b).buffer],
    outputs: [result.buffer],
    params: matmulParams(
      M,
      N,
      K,
      batches,
      batchLayout.shape,
      batchLayout.strides[0]!,
      batchLayout.strides[1]!,
    ),
    workgroups: [
      Math.ceil(N / bn),
      Math.ceil(M / bm),
      Math.min(batches, rt.limits.maxComputeWorkgroupsPerDimension),
    ],
  });
  return result;
}

/**
 * The A·Bᵀ kernel of CPU adapters: 4 columns of C per lane, used from K = 512 on. On lavapipe (2
 * cores) it took 70–82 ms for 1024×1024·(256×1024)ᵀ against 110–127 ms for the strided scalar
 * kernel, and measured no better at K = 256 (scratch timing of both, three alternating runs).
 */
const DOT_COLUMNS_PER_LANE = 4;
const DOT_MIN_DEPTH = 512;

/** The lanes of a register-kernel workgroup: at most `wx`, at least 8, no more than N needs. */
function laneCount(wx: number, N: number, columnsPerLane: number): number {
  let lanes = 8;
  while (lanes < wx && lanes * columnsPerLane < N) lanes *= 2;
  return Math.min(lanes, wx);
}

function matmulParams(
  M: number,
  N: number,
  K: number,
  batches: number,
  batchShape: readonly number[],
  stridesA: readonly number[],
  stridesB: readonly number[],
): number[] {
  const params = [M, N, K, batches];
  stridedParams(params, batchShape, [
    { base: 0, strides: stridesA },
    { base: 0, strides: stridesB },
  ]);
  return params;
}
