import { coalesce, type OutSpec, type ReduceOp, sizeOf, stridesOf, type View } from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import {
  ELEMENT_WORKGROUP,
  IS_NAN,
  inputDecl,
  linearEntry,
  NEGATIVE_INFINITY,
  outputDecl,
  PARAMS_DECL,
  POSITIVE_INFINITY,
  rowEntry,
  stridedOffsets,
  stridedParams,
  wgslType,
} from '../wgsl/common.js';
import { allocateOut, storageOf, workgroupsFor } from './shared.js';

/** Threads that cooperate on one output when the reduced extent is long. */
const GROUP_REDUCE_WORKGROUP = 256;
/** Reductions at least this long, with few outputs, get a workgroup per output instead of a thread. */
const GROUP_REDUCE_MIN_LENGTH = 1024;
const GROUP_REDUCE_MAX_OUTPUTS = 4096;

/**
 * The running state of a reduction in WGSL: `best`/`bestIndex`, seeded by the first element.
 * `better(v, vi, b, bi)` decides whether candidate v (reduced index vi) replaces b; the index
 * breaks ties towards the first occurrence and NaN wins for max/min/arg ops.
 */
function combineCode(op: ReduceOp, type: 'f32' | 'i32'): { init: string; better: string; merge: string } {
  const isFloat = type === 'f32';
  const nan = (name: string) => (isFloat ? `isNan(${name})` : 'false');
  if (op === 'sum') return { init: `${type}(0)`, better: '', merge: 'best = best + v;' };
  const isMax = op === 'max' || op === 'argmax';
  const comparison = isMax ? '>' : '<';
  return {
    init: isMax ? lowest(type) : highest(type),
    better: `fn better(v: ${type}, vi: u32, b: ${type}, bi: u32) -> bool {
  if (bi == 0xffffffffu) { return true; }
  if (${nan('b')}) { return ${nan('v')} && vi < bi; }
  if (${nan('v')}) { return true; }
  return v ${comparison} b || (v == b && vi < bi);
}`,
    merge: 'if (better(v, vi, best, bestIndex)) { best = v; bestIndex = vi; }',
  };
}

function lowest(type: 'f32' | 'i32'): string {
  return type === 'f32' ? NEGATIVE_INFINITY : 'i32(-2147483647 - 1)';
}

function highest(type: 'f32' | 'i32'): string {
  return type === 'f32' ? POSITIVE_INFINITY : '2147483647';
}

/** Σ x² over every element: the sum reduction reading squares, so no x-sized temporary exists. */
export function sumOfSquares(rt: GpuRuntime, x: View, out: OutSpec): GpuStorage {
  const flat = { ...x, shape: [sizeOf(x.shape)] };
  return reduce(rt, flat, 'sum', [0], out, true);
}

export function reduce(
  rt: GpuRuntime,
  x: View,
  op: ReduceOp,
  axes: readonly number[],
  out: OutSpec,
  squares = false,
): GpuStorage {
  const name = squares ? 'sumOfSquares' : `reduce(${op})`;
  const result = allocateOut(rt, name, out);
  const outCount = sizeOf(out.shape);
  if (outCount === 0) return result;
  const strides = stridesOf(x.shape);
  const keptAxes = x.shape.map((_, axis) => axis).filter((axis) => !axes.includes(axis));
  const kept = coalesce(
    keptAxes.map((axis) => x.shape[axis]!),
    [keptAxes.map((axis) => strides[axis]!)],
  );
  const reduced = coalesce(
    axes.map((axis) => x.shape[axis]!),
    [axes.map((axis) => strides[axis]!)],
  );
  const length = sizeOf(reduced.shape);
  const type = wgslType(x.dtype);
  const outType = op === 'argmax' || op === 'argmin' ? 'i32' : type;
  const result32 = op === 'argmax' || op === 'argmin' ? 'i32(bestIndex)' : 'best';
  const { init, better, merge } = combineCode(op, type);

  const params: number[] = [outCount, length];
  const keptSlots = stridedParams(params, kept.shape, [{ base: 0, strides: kept.strides[0]! }]);
  const reducedSlots = stridedParams(params, reduced.shape, [{ base: 0, strides: reduced.strides[0]! }]);
  const header =
    PARAMS_DECL + IS_NAN + inputDecl(1, 'x', type) + outputDecl(2, 'result', outType) + better + '\n';
  const baseOffset = `${stridedOffsets('outIndex', kept.shape.length, keptSlots.shapeSlot, keptSlots.operandSlots)}
  let base = off0;`;
  const reducedOffset = `${stridedOffsets('vi', reduced.shape.length, reducedSlots.shapeSlot, reducedSlots.operandSlots)}
      let v = ${squares ? 'x[base + off0] * x[base + off0]' : 'x[base + off0]'};`;

  // Along rows (the reduced elements adjacent in memory) a workgroup per output reads coalesced;
  // down columns, a thread per output already does, its neighbours reading the next addresses, and
  // skips the barriers (costly on CPU adapters such as lavapipe, where every barrier is a thread sync).
  const alongRows = reduced.strides[0]!.at(-1) === 1;
  const grouped =
    length >= GROUP_REDUCE_MIN_LENGTH &&
    outCount <= GROUP_REDUCE_MAX_OUTPUTS &&
    (alongRows || outCount < ELEMENT_WORKGROUP);
  let shader: string;
  if (!grouped) {
    shader = `${header}${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let outIndex = index;
  ${baseOffset}
  var best: ${type} = ${init};
  var bestIndex = 0xffffffffu;
  for (var vi = 0u; vi < param(1u); vi = vi + 1u) {
    {
      ${reducedOffset}
      ${merge}
    }
  }
  result[index] = ${result32};
}
`;
  } else {
    const size = GROUP_REDUCE_WORKGROUP;
    shader = `${header}
var<workgroup> partial: array<${type}, ${size}>;
var<workgroup> partialIndex: array<u32, ${size}>;
${rowEntry(size)}
  if (row >= param(0u)) { return; }
  let outIndex = row;
  ${baseOffset}
  var best: ${type} = ${init};
  var bestIndex = 0xffffffffu;
  for (var vi = lid; vi < param(1u); vi = vi + ${size}u) {
    {
      ${reducedOffset}
      ${merge}
    }
  }
  partial[lid] = best;
  partialIndex[lid] = bestIndex;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride = stride >> 1u) {
    if (lid < stride) {
      let v = partial[lid + stride];
      let vi = partialIndex[lid + stride];
      best = partial[lid];
      bestIndex = partialIndex[lid];
      ${merge}
      partial[lid] = best;
      partialIndex[lid] = bestIndex;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    best = partial[0];
    bestIndex = partialIndex[0];
    result[row] = ${result32};
  }
}
`;
  }
  rt.dispatch({
    op: name,
    shader,
    inputs: [storageOf(name, x).buffer],
    outputs: [result.buffer],
    params,
    workgroups: grouped ? outCount : workgroupsFor(outCount, ELEMENT_WORKGROUP),
  });
  return result;
}
