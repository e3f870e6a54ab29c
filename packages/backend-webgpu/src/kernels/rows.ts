import { broadcastStrides, coalesce, type OutSpec, sizeOf, type View } from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import {
  f32Bits,
  IS_NAN,
  i32Bits,
  indexErrorsDecl,
  inputDecl,
  NEGATIVE_INFINITY,
  outputDecl,
  PARAMS_DECL,
  rowEntry,
  stridedOffsets,
  stridedParams,
  wgslType,
} from '../wgsl/common.js';
import { allocateOut, requireDType, storageOf } from './shared.js';

/**
 * How a row kernel spreads a row over threads: 'workgroup' gives each row a workgroup of
 * ROW_WORKGROUP threads that combine partial results through workgroup memory (GPUs); 'thread'
 * gives each row one thread, ROW_WORKGROUP rows per workgroup, with no barriers (CPU adapters,
 * where a barrier is a costly context switch and lanes are SIMD lanes that gain from
 * neighbouring rows).
 */
export type RowKernel = 'workgroup' | 'thread';

/** Threads per row-workgroup (GPUs: rows are short, and many rows keep the device busy), rows per workgroup (CPU adapters). */
const ROW_WORKGROUP = 64;

/** `ROW_THREADS` (the loop stride over a row's columns) and `groupReduce` for the kernel kind. */
function rowReductions(kind: RowKernel): string {
  if (kind === 'thread') {
    return `
const ROW_THREADS = 1u;
fn groupReduce(lid: u32, value: f32, isMax: bool) -> f32 { return value; }
`;
  }
  return `
const ROW_THREADS = ${ROW_WORKGROUP}u;
var<workgroup> scratch: array<f32, ${ROW_WORKGROUP}>;
fn groupReduce(lid: u32, value: f32, isMax: bool) -> f32 {
  scratch[lid] = value;
  workgroupBarrier();
  for (var stride = ${ROW_WORKGROUP / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      let other = scratch[lid + stride];
      scratch[lid] = select(scratch[lid] + other, max(scratch[lid], other), isMax);
    }
    workgroupBarrier();
  }
  let total = scratch[0];
  workgroupBarrier();
  return total;
}
`;
}

/** The entry point: `row` and `lid` (0 in a thread-per-row kernel). */
function rowKernelEntry(kind: RowKernel): string {
  if (kind === 'workgroup') return rowEntry(ROW_WORKGROUP);
  return `@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) thread: u32) {
  let row = (wid.y * nwg.x + wid.x) * ${ROW_WORKGROUP}u + thread;
  let lid = 0u;`;
}

/** Row max and Σ exp(x − max) of row `base`, shared by softmax, logSoftmax and crossEntropy. */
const ROW_LOG_SUM_EXP = `
  var localMax = ${NEGATIVE_INFINITY};
  for (var c = lid; c < C; c = c + ROW_THREADS) { localMax = max(localMax, x[base + c]); }
  let rowMax = groupReduce(lid, localMax, true);
  var localSum = 0.0;
  for (var c = lid; c < C; c = c + ROW_THREADS) { localSum = localSum + exp(x[base + c] - rowMax); }
  let rowSum = groupReduce(lid, localSum, false);
`;

function rowKernel(
  rt: GpuRuntime,
  kind: RowKernel,
  op: string,
  x: View,
  extraInputs: readonly GPUBuffer[],
  declarations: string,
  body: string,
  out: OutSpec,
  params: (rows: number, columns: number) => number[],
  extraOutputs: readonly GPUBuffer[] = [],
): GpuStorage {
  requireDType(op, 'x', x.dtype, ['float32']);
  const result = allocateOut(rt, op, out);
  const columns = x.shape[x.shape.length - 1] ?? 1;
  const rows = columns === 0 ? 0 : sizeOf(x.shape) / columns;
  if (rows === 0 || sizeOf(out.shape) === 0) return result;
  const shader = `${PARAMS_DECL}${IS_NAN}${inputDecl(1, 'x', 'f32')}${declarations}${rowReductions(kind)}
${rowKernelEntry(kind)}
  if (row >= param(0u)) { return; }
  let C = param(1u);
  let base = row * C;
${body}
}
`;
  rt.dispatch({
    op,
    shader,
    inputs: [storageOf(op, x).buffer, ...extraInputs],
    outputs: [result.buffer, ...extraOutputs],
    params: params(rows, columns),
    workgroups: kind === 'workgroup' ? rows : Math.ceil(rows / ROW_WORKGROUP),
  });
  return result;
}

const resultDecl = (binding: number) => outputDecl(binding, 'result', 'f32');

export function softmax(rt: GpuRuntime, kind: RowKernel, x: View, out: OutSpec): GpuStorage {
  return rowKernel(
    rt,
    kind,
    'softmax',
    x,
    [],
    resultDecl(2),
    `${ROW_LOG_SUM_EXP}
  for (var c = lid; c < C; c = c + ROW_THREADS) { result[base + c] = exp(x[base + c] - rowMax) / rowSum; }`,
    out,
    (rows, columns) => [rows, columns],
  );
}

export function logSoftmax(rt: GpuRuntime, kind: RowKernel, x: View, out: OutSpec): GpuStorage {
  return rowKernel(
    rt,
    kind,
    'logSoftmax',
    x,
    [],
    resultDecl(2),
    `${ROW_LOG_SUM_EXP}
  let shift = rowMax + log(rowSum);
  for (var c = lid; c < C; c = c + ROW_THREADS) { result[base + c] = x[base + c] - shift; }`,
    out,
    (rows, columns) => [rows, columns],
  );
}

export function layerNormalize(
  rt: GpuRuntime,
  kind: RowKernel,
  x: View,
  eps: number,
  out: OutSpec,
): GpuStorage {
  return rowKernel(
    rt,
    kind,
    'layerNormalize',
    x,
    [],
    resultDecl(2),
    `
  var localSum = 0.0;
  for (var c = lid; c < C; c = c + ROW_THREADS) { localSum = localSum + x[base + c]; }
  let mean = groupReduce(lid, localSum, false) / f32(C);
  var localSquares = 0.0;
  for (var c = lid; c < C; c = c + ROW_THREADS) { let d = x[base + c] - mean; localSquares = localSquares + d * d; }
  let variance = groupReduce(lid, localSquares, false) / f32(C);
  let scale = 1.0 / sqrt(variance + paramF(2u));
  for (var c = lid; c < C; c = c + ROW_THREADS) { result[base + c] = (x[base + c] - mean) * scale; }`,
    out,
    (rows, columns) => [rows, columns, f32Bits(eps)],
  );
}

export function crossEntropy(
  rt: GpuRuntime,
  kind: RowKernel,
  logits: View,
  labels: View,
  ignoreIndex: number,
  out: OutSpec,
): GpuStorage {
  requireDType('crossEntropy', 'labels', labels.dtype, ['int32']);
  return rowKernel(
    rt,
    kind,
    'crossEntropy',
    logits,
    [storageOf('crossEntropy', labels).buffer],
    inputDecl(2, 'labels', 'i32') + resultDecl(3) + indexErrorsDecl(4),
    `${ROW_LOG_SUM_EXP}
  if (lid == 0u) {
    let label = labels[row];
    var loss = 0.0;
    if (label != paramI(2u)) {
      if (label < 0 || u32(label) >= C) {
        reportBadIndex(param(3u), label);
      } else {
        loss = rowMax + log(rowSum) - x[base + u32(label)];
      }
    }
    result[row] = loss;
  }`,
    out,
    (rows, columns) => [rows, columns, i32Bits(ignoreIndex), rt.indexCheck('crossEntropy', columns)],
    [rt.indexErrorBuffer],
  );
}

export function siNormalize(
  rt: GpuRuntime,
  kind: RowKernel,
  x: View,
  keep: View | null,
  eps: number,
  out: OutSpec,
): GpuStorage {
  const op = 'siNormalize';
  if (keep === null) {
    return rowKernel(
      rt,
      kind,
      op,
      x,
      [],
      resultDecl(2),
      `
  var localSum = 0.0;
  for (var c = lid; c < C; c = c + ROW_THREADS) { localSum = localSum + max(x[base + c], 0.0); }
  let denominator = groupReduce(lid, localSum, false) + paramF(2u);
  for (var c = lid; c < C; c = c + ROW_THREADS) { result[base + c] = max(x[base + c], 0.0) / denominator; }`,
      out,
      (rows, columns) => [rows, columns, f32Bits(eps)],
    );
  }
  // keep's offset for x's element e: e's coordinates over x's (coalesced) shape times keep's strides.
  const layout = coalesce(x.shape, [broadcastStrides(keep.shape, x.shape)]);
  const keepParams: number[] = [0, 0, 0];
  const slots = stridedParams(keepParams, layout.shape, [{ base: 0, strides: layout.strides[0]! }]);
  const kept = (element: string) =>
    `{ let e = ${element};\n${stridedOffsets('e', layout.shape.length, slots.shapeSlot, slots.operandSlots)}
    kept = max(x[e], 0.0) * f32(keep[off0]); }`;
  return rowKernel(
    rt,
    kind,
    op,
    x,
    [storageOf(op, keep).buffer],
    inputDecl(2, 'keep', wgslType(keep.dtype)) + resultDecl(3),
    `
  var localSum = 0.0;
  for (var c = lid; c < C; c = c + ROW_THREADS) {
    var kept = 0.0;
    ${kept('base + c')}
    localSum = localSum + kept;
  }
  let denominator = groupReduce(lid, localSum, false) + paramF(2u);
  for (var c = lid; c < C; c = c + ROW_THREADS) {
    var kept = 0.0;
    ${kept('base + c')}
    result[base + c] = kept / denominator;
  }`,
    out,
    (rows, columns) => {
      keepParams[0] = rows;
      keepParams[1] = columns;
      keepParams[2] = f32Bits(eps);
      return keepParams;
    },
  );
}
