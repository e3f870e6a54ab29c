import {
  broadcastStrides,
  type OutSpec,
  sizeOf,
  stridesOf,
  type TypedArray,
  type View,
} from '@sibert/tensor';
import type { CpuRuntime } from './runtime.js';
import { forEachRow, planWalk } from './walk.js';

/** Below this many elements a plain loop beats `TypedArray.set(subarray)` (which allocates a view). */
const BULK_COPY_MIN = 64;

/** dst[dstOffset + Σ i·dstStrides] = src[srcOffset + Σ i·srcStrides] over every index i of `shape`. */
export function copyStrided(
  rt: CpuRuntime,
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  if (sizeOf(shape) === 0) return;
  const walk = planWalk(shape, [dstStrides, srcStrides]);
  const last = walk.shape.length - 1;
  const sd = walk.strides[0]![last]!;
  const ss = walk.strides[1]![last]!;
  // Contiguous rows between arrays in the heap: memory.copy, with no view made per row.
  const wasm = sd === 1 && ss === 1 ? rt.heapKernels(src, dst)?.rows : undefined;
  if (wasm) {
    const [d0, s0] = [dst.byteOffset, src.byteOffset];
    forEachRow(walk, [dstOffset, srcOffset], (offsets, n) =>
      wasm.copy_row(d0 + 4 * offsets[0]!, s0 + 4 * offsets[1]!, n),
    );
    return;
  }
  forEachRow(walk, [dstOffset, srcOffset], (offsets, n) => {
    let d = offsets[0]!;
    let s = offsets[1]!;
    if (sd === 1 && ss === 1) {
      if (n >= BULK_COPY_MIN) {
        dst.set(src.subarray(s, s + n), d);
      } else {
        for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
      }
      return;
    }
    for (let i = 0; i < n; i++, d += sd, s += ss) dst[d] = src[s]!;
  });
}

export function transpose(rt: CpuRuntime, x: View, perm: readonly number[], out: OutSpec): TypedArray {
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape));
  const xStrides = stridesOf(x.shape);
  const srcStrides = perm.map((axis) => xStrides[axis]!);
  copyStrided(rt, x.handle as TypedArray, 0, srcStrides, dst, 0, stridesOf(out.shape), out.shape);
  return dst;
}

export function broadcastTo(rt: CpuRuntime, x: View, out: OutSpec): TypedArray {
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape));
  const srcStrides = broadcastStrides(x.shape, out.shape);
  copyStrided(rt, x.handle as TypedArray, 0, srcStrides, dst, 0, stridesOf(out.shape), out.shape);
  return dst;
}

export function slice(rt: CpuRuntime, x: View, begin: readonly number[], out: OutSpec): TypedArray {
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape));
  const xStrides = stridesOf(x.shape);
  let offset = 0;
  for (let d = 0; d < begin.length; d++) offset += begin[d]! * xStrides[d]!;
  copyStrided(rt, x.handle as TypedArray, offset, xStrides, dst, 0, stridesOf(out.shape), out.shape);
  return dst;
}

export function concat(rt: CpuRuntime, xs: readonly View[], axis: number, out: OutSpec): TypedArray {
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape));
  const outStrides = stridesOf(out.shape);
  let axisOffset = 0;
  for (const x of xs) {
    const src = x.handle as TypedArray;
    copyStrided(rt, src, 0, stridesOf(x.shape), dst, axisOffset * outStrides[axis]!, outStrides, x.shape);
    axisOffset += x.shape[axis]!;
  }
  return dst;
}

export function pad(
  rt: CpuRuntime,
  x: View,
  paddings: readonly (readonly [number, number])[],
  value: number,
  out: OutSpec,
): TypedArray {
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape)).fill(value);
  const outStrides = stridesOf(out.shape);
  let offset = 0;
  for (let d = 0; d < paddings.length; d++) offset += paddings[d]![0] * outStrides[d]!;
  copyStrided(rt, x.handle as TypedArray, 0, stridesOf(x.shape), dst, offset, outStrides, x.shape);
  return dst;
}

/** x viewed as [outer, axisExtent, inner] around `axis`. */
function splitAround(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return [outer, shape[axis]!, inner];
}

/**
 * Reports the first of `index` outside [0, bound) to `rt` (the backend contract's timing: at the
 * next read); returns whether all are inside. One pass over the indices, not over the data.
 */
function checkIndices(rt: CpuRuntime, op: string, index: Int32Array, bound: number): boolean {
  for (let j = 0; j < index.length; j++) {
    const v = index[j]!;
    if (v < 0 || v >= bound) {
      rt.reportBadIndex(op, v, bound);
      return false;
    }
  }
  return true;
}

/** Out-of-range indices read zeros (and are reported, see `checkIndices`). */
export function gather(rt: CpuRuntime, x: View, indices: View, axis: number, out: OutSpec): TypedArray {
  const src = x.handle as TypedArray;
  const index = indices.handle as Int32Array;
  const dst = rt.allocateUninitialized(out.dtype, sizeOf(out.shape));
  const [outer, extent, inner] = splitAround(x.shape, axis);
  const valid = checkIndices(rt, 'gather', index, extent);
  if (dst.length === 0) return dst;
  const count = index.length;
  let d = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * extent * inner;
    for (let j = 0; j < count; j++) {
      const s = base + index[j]! * inner;
      if (!valid && (index[j]! < 0 || index[j]! >= extent)) {
        dst.fill(0, d, d + inner);
      } else if (inner >= BULK_COPY_MIN) {
        dst.set(src.subarray(s, s + inner), d);
      } else {
        for (let i = 0; i < inner; i++) dst[d + i] = src[s + i]!;
      }
      d += inner;
    }
  }
  return dst;
}

/** Updates at out-of-range indices are dropped (and reported, see `checkIndices`). */
export function scatterAdd(
  rt: CpuRuntime,
  updates: View,
  indices: View,
  axis: number,
  out: OutSpec,
): TypedArray {
  const src = updates.handle as TypedArray;
  const index = indices.handle as Int32Array;
  const dst = rt.allocate(out.dtype, sizeOf(out.shape));
  const [outer, extent, inner] = splitAround(out.shape, axis);
  const valid = checkIndices(rt, 'scatterAdd', index, extent);
  if (dst.length === 0 || src.length === 0) return dst;
  const count = index.length;
  let s = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * extent * inner;
    for (let j = 0; j < count; j++) {
      const d = base + index[j]! * inner;
      if (valid || (index[j]! >= 0 && index[j]! < extent)) {
        for (let i = 0; i < inner; i++) dst[d + i]! += src[s + i]!;
      }
      s += inner;
    }
  }
  return dst;
}

export function oneHot(rt: CpuRuntime, indices: View, depth: number, out: OutSpec): Float32Array {
  const index = indices.handle as Int32Array;
  const dst = rt.allocate('float32', sizeOf(out.shape)) as Float32Array;
  for (let i = 0; i < index.length; i++) {
    const v = index[i]!;
    if (v >= 0 && v < depth) dst[i * depth + v] = 1;
  }
  return dst;
}
