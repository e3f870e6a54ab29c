import { type OutSpec, sizeOf, type View } from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import {
  ELEMENT_WORKGROUP,
  indexErrorsDecl,
  inputDecl,
  linearEntry,
  outputDecl,
  PARAMS_DECL,
  wgslType,
} from '../wgsl/common.js';
import { fillWords } from './elementwise.js';
import { allocateOut, requireDType, storageOf, workgroupsFor } from './shared.js';

/** Views x as [outer, extent, inner] around `axis`. */
function aroundAxis(
  shape: readonly number[],
  axis: number,
): { outer: number; extent: number; inner: number } {
  return {
    outer: sizeOf(shape.slice(0, axis)),
    extent: shape[axis]!,
    inner: sizeOf(shape.slice(axis + 1)),
  };
}

export function gather(rt: GpuRuntime, x: View, indices: View, axis: number, out: OutSpec): GpuStorage {
  const name = 'gather';
  requireDType(name, 'indices', indices.dtype, ['int32']);
  const result = allocateOut(rt, name, out);
  const count = sizeOf(out.shape);
  if (count === 0) return result;
  const { outer, extent, inner } = aroundAxis(x.shape, axis);
  const picks = sizeOf(indices.shape);
  const type = wgslType(x.dtype);
  const shader = `${PARAMS_DECL}${inputDecl(1, 'x', type)}${inputDecl(2, 'indices', 'i32')}${outputDecl(3, 'result', type)}${indexErrorsDecl(4)}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let inner = param(3u);
  let picks = param(2u);
  let r = index % inner;
  let rest = index / inner;
  let j = rest % picks;
  let o = rest / picks;
  let source = indices[j];
  if (source < 0 || u32(source) >= param(1u)) {
    reportBadIndex(param(5u), source);
    result[index] = ${type}(0);
    return;
  }
  result[index] = x[(o * param(1u) + u32(source)) * inner + r];
}
`;
  rt.dispatch({
    op: name,
    shader,
    inputs: [storageOf(name, x).buffer, storageOf(name, indices).buffer],
    outputs: [result.buffer, rt.indexErrorBuffer],
    params: [count, extent, picks, inner, outer, rt.indexCheck(name, extent)],
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
  return result;
}

/**
 * Deterministic scatter-add without float atomics: bucket the update rows by their target index
 * (count, prefix sum, stable placement by rank among equal indices), then let each output cell
 * sum its bucket in ascending j. The summation order equals a sequential loop over j.
 */
export function scatterAdd(
  rt: GpuRuntime,
  updates: View,
  indices: View,
  axis: number,
  out: OutSpec,
): GpuStorage {
  const name = 'scatterAdd';
  requireDType(name, 'indices', indices.dtype, ['int32']);
  const result = allocateOut(rt, name, out);
  const count = sizeOf(out.shape);
  if (count === 0) return result;
  const { outer, extent, inner } = aroundAxis(out.shape, axis);
  const picks = sizeOf(indices.shape);
  const type = wgslType(out.dtype);
  const indexBuffer = storageOf(name, indices).buffer;
  const counts = rt.allocate(name, extent);
  const starts = rt.allocate(name, extent + 1);
  const ranks = rt.allocate(name, Math.max(picks, 1));
  const order = rt.allocate(name, Math.max(picks, 1));
  const params = [count, extent, picks, inner, outer, rt.indexCheck(name, extent)];

  fillWords(rt, name, counts.buffer, extent, 0);
  rt.dispatch({
    op: name,
    shader: `${PARAMS_DECL}${inputDecl(1, 'indices', 'i32')}${outputDecl(2, 'counts', 'atomic<u32>')}${outputDecl(3, 'ranks', 'u32')}${indexErrorsDecl(4)}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(2u)) { return; }
  let bucket = indices[index];
  if (bucket < 0 || u32(bucket) >= param(1u)) {
    reportBadIndex(param(5u), bucket);
    return;
  }
  var rank = 0u;
  for (var j = 0u; j < index; j = j + 1u) {
    if (indices[j] == bucket) { rank = rank + 1u; }
  }
  ranks[index] = rank;
  atomicAdd(&counts[u32(bucket)], 1u);
}
`,
    inputs: [indexBuffer],
    outputs: [counts.buffer, ranks.buffer, rt.indexErrorBuffer],
    params,
    workgroups: workgroupsFor(picks, ELEMENT_WORKGROUP),
  });
  // Exclusive prefix sum over `extent` counts in one workgroup: each thread scans a chunk.
  rt.dispatch({
    op: name,
    shader: `${PARAMS_DECL}${inputDecl(1, 'counts', 'u32')}${outputDecl(2, 'starts', 'u32')}
var<workgroup> chunkTotals: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let extent = param(1u);
  let chunk = (extent + 255u) / 256u;
  let begin = min(lid * chunk, extent);
  let end = min(begin + chunk, extent);
  var total = 0u;
  for (var a = begin; a < end; a = a + 1u) { total = total + counts[a]; }
  chunkTotals[lid] = total;
  workgroupBarrier();
  if (lid == 0u) {
    var running = 0u;
    for (var t = 0u; t < 256u; t = t + 1u) {
      let value = chunkTotals[t];
      chunkTotals[t] = running;
      running = running + value;
    }
    starts[extent] = running;
  }
  workgroupBarrier();
  var running = chunkTotals[lid];
  for (var a = begin; a < end; a = a + 1u) {
    starts[a] = running;
    running = running + counts[a];
  }
}
`,
    inputs: [counts.buffer],
    outputs: [starts.buffer],
    params,
    workgroups: 1,
  });
  rt.dispatch({
    op: name,
    shader: `${PARAMS_DECL}${inputDecl(1, 'indices', 'i32')}${inputDecl(2, 'starts', 'u32')}${inputDecl(3, 'ranks', 'u32')}${outputDecl(4, 'order', 'u32')}
${linearEntry(ELEMENT_WORKGROUP)}
  let bucket = indices[index];
  if (index >= param(2u) || bucket < 0 || u32(bucket) >= param(1u)) { return; }
  order[starts[u32(bucket)] + ranks[index]] = index;
}
`,
    inputs: [indexBuffer, starts.buffer, ranks.buffer],
    outputs: [order.buffer],
    params,
    workgroups: workgroupsFor(picks, ELEMENT_WORKGROUP),
  });
  rt.dispatch({
    op: name,
    shader: `${PARAMS_DECL}${inputDecl(1, 'updates', type)}${inputDecl(2, 'starts', 'u32')}${inputDecl(3, 'order', 'u32')}${outputDecl(4, 'result', type)}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let inner = param(3u);
  let extent = param(1u);
  let picks = param(2u);
  let r = index % inner;
  let rest = index / inner;
  let bucket = rest % extent;
  let o = rest / extent;
  var sum = ${type}(0);
  for (var s = starts[bucket]; s < starts[bucket + 1u]; s = s + 1u) {
    sum = sum + updates[(o * picks + order[s]) * inner + r];
  }
  result[index] = sum;
}
`,
    inputs: [storageOf(name, updates).buffer, starts.buffer, order.buffer],
    outputs: [result.buffer],
    params,
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
  // Recorded work runs in queue order, so the scratch buffers may be reused by later dispatches.
  for (const scratch of [counts, starts, ranks, order]) rt.release(name, scratch);
  return result;
}

export function oneHot(rt: GpuRuntime, indices: View, depth: number, out: OutSpec): GpuStorage {
  const name = 'oneHot';
  requireDType(name, 'indices', indices.dtype, ['int32']);
  const result = allocateOut(rt, name, out);
  const count = sizeOf(out.shape);
  if (count === 0) return result;
  rt.dispatch({
    op: name,
    shader: `${PARAMS_DECL}${inputDecl(1, 'indices', 'i32')}${outputDecl(2, 'result', wgslType(out.dtype))}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let depth = param(1u);
  let hit = indices[index / depth] == i32(index % depth);
  result[index] = select(0.0, 1.0, hit);
}
`,
    inputs: [storageOf(name, indices).buffer],
    outputs: [result.buffer],
    params: [count, depth],
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
  return result;
}
