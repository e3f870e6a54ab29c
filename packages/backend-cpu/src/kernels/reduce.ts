import { type OutSpec, type ReduceOp, sizeOf, stridesOf, type TypedArray, type View } from '@sibert/tensor';
import type { CpuRuntime } from './runtime.js';
import { forEachRow, planWalk } from './walk.js';

export function reduce(
  rt: CpuRuntime,
  x: View,
  op: ReduceOp,
  axes: readonly number[],
  out: OutSpec,
): TypedArray {
  if (op === 'argmax' || op === 'argmin') return argReduce(rt, x, op === 'argmax', axes[0]!, out);
  const src = x.handle as TypedArray;
  const outSize = sizeOf(out.shape);
  const dst = rt.allocateUninitialized(out.dtype, outSize);
  if (outSize === 0) return dst;
  const identity = op === 'sum' ? 0 : op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  // Accumulate in float64: sums keep their precision, and int32 sums wrap only once at the end.
  // Float32 sums in the heap run their rows in WASM, accumulating into a float64 row in the heap.
  const wasm = op === 'sum' && x.dtype === 'float32' ? rt.heapKernels(src, dst)?.rows : undefined;
  const scratch = wasm ? rt.allocate('float32', 2 * outSize) : undefined;
  const acc = scratch
    ? new Float64Array(scratch.buffer, scratch.byteOffset, outSize)
    : new Float64Array(outSize);
  if (identity !== 0) acc.fill(identity);
  if (src.length > 0) {
    // Walk x in memory order; out strides are 0 on reduced axes, so each x row lands on its out cell(s).
    const reduced = new Set(axes);
    const outStrides = new Array<number>(x.shape.length).fill(0);
    let stride = 1;
    for (let d = x.shape.length - 1; d >= 0; d--) {
      if (reduced.has(d)) continue;
      outStrides[d] = stride;
      stride *= x.shape[d]!;
    }
    const walk = planWalk(x.shape, [stridesOf(x.shape), outStrides]);
    const last = walk.shape.length - 1;
    const innerOutStride = walk.strides[1]![last]!;
    const row = innerOutStride === 0 ? REDUCE_ROW_TO_CELL[op] : REDUCE_ROW_TO_ROW[op];
    if (wasm) {
      const [s0, a0] = [src.byteOffset, acc.byteOffset];
      if (innerOutStride === 0) {
        forEachRow(walk, [0, 0], (offsets, n) => {
          const o = offsets[1]!;
          acc[o] = acc[o]! + wasm.sum_row(s0 + 4 * offsets[0]!, n);
        });
      } else {
        forEachRow(walk, [0, 0], (offsets, n) =>
          wasm.accumulate_row(a0 + 8 * offsets[1]!, s0 + 4 * offsets[0]!, n),
        );
      }
    } else {
      forEachRow(walk, [0, 0], (offsets, n) => row(acc, offsets[1]!, src, offsets[0]!, n));
    }
  }
  for (let i = 0; i < outSize; i++) dst[i] = acc[i]!;
  if (scratch) rt.recycle(scratch);
  return dst;
}

/** Combines src[s … s+n) into acc[o] (the innermost axis is reduced). */
type ReduceRow = (acc: Float64Array, o: number, src: TypedArray, s: number, n: number) => void;

const REDUCE_ROW_TO_CELL: Record<'sum' | 'max' | 'min', ReduceRow> = {
  sum(acc, o, src, s, n) {
    let total = 0;
    for (let i = 0; i < n; i++) total += src[s + i]!;
    acc[o] = acc[o]! + total;
  },
  max(acc, o, src, s, n) {
    let best = acc[o]!;
    // Once best is NaN nothing compares greater, so the first NaN sticks.
    for (let i = 0; i < n; i++) {
      const v = src[s + i]!;
      if (v > best || Number.isNaN(v)) best = v;
    }
    acc[o] = best;
  },
  min(acc, o, src, s, n) {
    let best = acc[o]!;
    for (let i = 0; i < n; i++) {
      const v = src[s + i]!;
      if (v < best || Number.isNaN(v)) best = v;
    }
    acc[o] = best;
  },
};

/** Combines src[s … s+n) elementwise into acc[o … o+n) (the innermost axis is kept). */
const REDUCE_ROW_TO_ROW: Record<'sum' | 'max' | 'min', ReduceRow> = {
  sum(acc, o, src, s, n) {
    for (let i = 0; i < n; i++) acc[o + i] = acc[o + i]! + src[s + i]!;
  },
  max(acc, o, src, s, n) {
    for (let i = 0; i < n; i++) {
      const v = src[s + i]!;
      const best = acc[o + i]!;
      if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) acc[o + i] = v;
    }
  },
  min(acc, o, src, s, n) {
    for (let i = 0; i < n; i++) {
      const v = src[s + i]!;
      const best = acc[o + i]!;
      if (v < best || (Number.isNaN(v) && !Number.isNaN(best))) acc[o + i] = v;
    }
  },
};

/** Index of the extreme along one axis: first index on ties, the first NaN wins. */
function argReduce(rt: CpuRuntime, x: View, isMax: boolean, axis: number, out: OutSpec): Int32Array {
  const src = x.handle as TypedArray;
  const dst = rt.allocate('int32', sizeOf(out.shape)) as Int32Array;
  const n = x.shape[axis]!;
  if (dst.length === 0 || n === 0) return dst;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= x.shape[d]!;
  let inner = 1;
  for (let d = axis + 1; d < x.shape.length; d++) inner *= x.shape[d]!;
  const sign = isMax ? 1 : -1;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * n;
      let best = sign * src[base]!;
      let bestIndex = 0;
      if (!Number.isNaN(best)) {
        for (let k = 1; k < n; k++) {
          const v = sign * src[base + k]!;
          if (v > best) {
            best = v;
            bestIndex = k;
          } else if (Number.isNaN(v)) {
            bestIndex = k;
            break;
          }
        }
      }
      dst[o] = bestIndex;
    }
    return dst;
  }
  // Inner axes kept: scan k outermost so every read is contiguous.
  const best = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    const outBase = o * inner;
    for (let j = 0; j < inner; j++) best[j] = sign * src[base + j]!;
    for (let k = 1; k < n; k++) {
      const rowBase = base + k * inner;
      for (let j = 0; j < inner; j++) {
        const v = sign * src[rowBase + j]!;
        const b = best[j]!;
        if (v > b || (Number.isNaN(v) && !Number.isNaN(b))) {
          best[j] = v;
          dst[outBase + j] = k;
        }
      }
    }
  }
  return dst;
}
