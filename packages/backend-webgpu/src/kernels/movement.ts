import { type OutSpec, stridesOf, type View } from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import { wgslType } from '../wgsl/common.js';
import { fillInto } from './elementwise.js';
import { allocateOut, storageOf } from './shared.js';
import { broadcastInput, contiguousOut, runMap, type StridedOperand } from './strided-map.js';

// Movement ops: one strided copy each (the strided map with the identity expression).

function copy(
  rt: GpuRuntime,
  op: string,
  shape: readonly number[],
  from: StridedOperand,
  to: StridedOperand,
): void {
  runMap(rt, { op, shape, inputs: [from], out: to, expression: () => 'v0' });
}

export function transpose(rt: GpuRuntime, x: View, perm: readonly number[], out: OutSpec): GpuStorage {
  const name = 'transpose';
  const result = allocateOut(rt, name, out);
  const strides = stridesOf(x.shape);
  copy(
    rt,
    name,
    out.shape,
    {
      buffer: storageOf(name, x).buffer,
      type: wgslType(x.dtype),
      base: 0,
      strides: perm.map((p) => strides[p]!),
    },
    contiguousOut(result, out),
  );
  return result;
}

export function broadcastTo(rt: GpuRuntime, x: View, out: OutSpec): GpuStorage {
  const name = 'broadcastTo';
  const result = allocateOut(rt, name, out);
  copy(rt, name, out.shape, broadcastInput(name, x, out.shape), contiguousOut(result, out));
  return result;
}

export function slice(rt: GpuRuntime, x: View, begin: readonly number[], out: OutSpec): GpuStorage {
  const name = 'slice';
  const result = allocateOut(rt, name, out);
  const strides = stridesOf(x.shape);
  const base = begin.reduce((sum, start, axis) => sum + start * strides[axis]!, 0);
  copy(
    rt,
    name,
    out.shape,
    { buffer: storageOf(name, x).buffer, type: wgslType(x.dtype), base, strides },
    contiguousOut(result, out),
  );
  return result;
}

export function concat(rt: GpuRuntime, xs: readonly View[], axis: number, out: OutSpec): GpuStorage {
  const name = 'concat';
  const result = allocateOut(rt, name, out);
  const outStrides = stridesOf(out.shape);
  let offset = 0;
  for (const x of xs) {
    copy(rt, name, x.shape, broadcastInput(name, x, x.shape), {
      ...contiguousOut(result, out),
      base: offset * outStrides[axis]!,
    });
    offset += x.shape[axis]!;
  }
  return result;
}

export function pad(
  rt: GpuRuntime,
  x: View,
  paddings: readonly (readonly [number, number])[],
  value: number,
  out: OutSpec,
): GpuStorage {
  const name = 'pad';
  const result = allocateOut(rt, name, out);
  const target = contiguousOut(result, out);
  fillInto(rt, name, target, out.shape, value);
  const base = paddings.reduce((sum, [before], axis) => sum + before * target.strides[axis]!, 0);
  copy(rt, name, x.shape, broadcastInput(name, x, x.shape), { ...target, base });
  return result;
}
