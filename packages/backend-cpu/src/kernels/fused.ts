import { broadcastStrides, type OutSpec, sizeOf, type TypedArray, type View } from '@sibert/tensor';
import { runRows } from './parallel.js';
import type { CpuRuntime } from './runtime.js';

// Each kernel runs its rows through the WASM row kernels (`wasm-rows.ts`) when its arrays live in
// the heap, else through the JavaScript loops below (the reference).

/** [rows, n] view of a tensor around its last axis. */
function rowsOf(shape: readonly number[]): [number, number] {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  return [n === 0 ? 0 : sizeOf(shape) / n, n];
}

export function softmax(rt: CpuRuntime, x: View, out: OutSpec): Float32Array {
  const src = x.handle as Float32Array;
  const dst = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  const [rows, n] = rowsOf(x.shape);
  const kernels = rt.heapKernels(src, dst);
  if (kernels) {
    runRows(kernels, rt.pool, 'softmax_rows', dst.byteOffset, src.byteOffset, rows, n);
    return dst;
  }
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = src[base + i]!;
      if (v > max || Number.isNaN(v)) max = v;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(src[base + i]! - max);
      dst[base + i] = e;
      sum += e;
    }
    const scale = 1 / sum;
    for (let i = 0; i < n; i++) dst[base + i]! *= scale;
  }
  return dst;
}

export function logSoftmax(rt: CpuRuntime, x: View, out: OutSpec): Float32Array {
  const src = x.handle as Float32Array;
  const dst = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  const [rows, n] = rowsOf(x.shape);
  const wasm = rt.heapKernels(src, dst)?.rows;
  if (wasm) {
    for (let r = 0, p = src.byteOffset, o = dst.byteOffset; r < rows; r++, p += 4 * n, o += 4 * n) {
      const max = wasm.max_row(p, n);
      wasm.shift_row(o, p, n, max + Math.log(wasm.sum_exp_shift_row(p, n, max)));
    }
    return dst;
  }
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    const shift = logSumExp(src, base, n);
    for (let i = 0; i < n; i++) dst[base + i] = src[base + i]! - shift;
  }
  return dst;
}

/** log Σ exp(src[base … base+n)), shifted by the row max. */
function logSumExp(src: Float32Array, base: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = src[base + i]!;
    if (v > max || Number.isNaN(v)) max = v;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(src[base + i]! - max);
  return max + Math.log(sum);
}

export function layerNormalize(rt: CpuRuntime, x: View, eps: number, out: OutSpec): Float32Array {
  const src = x.handle as Float32Array;
  const dst = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  const [rows, n] = rowsOf(x.shape);
  const kernels = rt.heapKernels(src, dst);
  if (kernels) {
    runRows(kernels, rt.pool, 'layer_norm_rows', dst.byteOffset, src.byteOffset, rows, n, eps);
    return dst;
  }
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += src[base + i]!;
    const mean = sum / n;
    // Two passes: the variance of centred values does not cancel catastrophically.
    let squares = 0;
    for (let i = 0; i < n; i++) {
      const d = src[base + i]! - mean;
      squares += d * d;
    }
    const scale = 1 / Math.sqrt(squares / n + eps);
    for (let i = 0; i < n; i++) dst[base + i] = (src[base + i]! - mean) * scale;
  }
  return dst;
}

export function crossEntropy(
  rt: CpuRuntime,
  logits: View,
  labels: View,
  ignoreIndex: number,
  out: OutSpec,
): Float32Array {
  const src = logits.handle as Float32Array;
  const label = labels.handle as Int32Array;
  const dst = rt.allocate('float32', sizeOf(out.shape)) as Float32Array;
  const n = logits.shape[1]!;
  const wasm = rt.heapKernels(src)?.rows;
  for (let r = 0; r < dst.length; r++) {
    const target = label[r]!;
    if (target === ignoreIndex) continue;
    if (target < 0 || target >= n) {
      // Loss 0, reported at the next read (the backend contract's index validation).
      rt.reportBadIndex('crossEntropy', target, n);
      continue;
    }
    const base = r * n;
    let logSum: number;
    if (wasm) {
      const p = src.byteOffset + 4 * base;
      const max = wasm.max_row(p, n);
      logSum = max + Math.log(wasm.sum_exp_shift_row(p, n, max));
    } else {
      logSum = logSumExp(src, base, n);
    }
    dst[r] = logSum - src[base + target]!;
  }
  return dst;
}

export function siNormalize(
  rt: CpuRuntime,
  x: View,
  keep: View | null,
  eps: number,
  out: OutSpec,
): Float32Array {
  const src = x.handle as Float32Array;
  const dst = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  const [rows, n] = rowsOf(x.shape);
  const wasm = rt.heapKernels(src, dst)?.rows;
  if (keep === null) {
    if (wasm) {
      for (let r = 0, p = src.byteOffset, o = dst.byteOffset; r < rows; r++, p += 4 * n, o += 4 * n) {
        wasm.scale_row(o, o, n, 1 / (wasm.relu_row(o, p, n) + eps));
      }
      return dst;
    }
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const v = src[base + i]!;
        const a = Math.max(v, 0);
        dst[base + i] = a;
        sum += a;
      }
      const scale = 1 / (sum + eps);
      for (let i = 0; i < n; i++) dst[base + i]! *= scale;
    }
    return dst;
  }
  const mask = keep.handle as TypedArray;
  const keepStrides = broadcastStrides(keep.shape, x.shape);
  const rank = x.shape.length;
  const keepInner = rank === 0 ? 0 : keepStrides[rank - 1]!;
  // The WASM rows take a float32 mask that runs along the row.
  const keepRows = keepInner === 1 && mask instanceof Float32Array && rt.heapKernels(mask) ? wasm : undefined;
  for (let r = 0; r < rows; r++) {
    // keep's offset for this row: decompose r over x's leading axes.
    let rest = r;
    let k = 0;
    for (let d = rank - 2; d >= 0; d--) {
      const extent = x.shape[d]!;
      const index = rest % extent;
      rest = (rest - index) / extent;
      k += index * keepStrides[d]!;
    }
    const base = r * n;
    if (keepRows) {
      const o = dst.byteOffset + 4 * base;
      const sum = keepRows.relu_keep_row(o, src.byteOffset + 4 * base, mask.byteOffset + 4 * k, n);
      keepRows.scale_row(o, o, n, 1 / (sum + eps));
      continue;
    }
    let sum = 0;
    for (let i = 0; i < n; i++, k += keepInner) {
      const v = src[base + i]!;
      const a = Math.max(v, 0) * mask[k]!;
      dst[base + i] = a;
      sum += a;
    }
    const scale = 1 / (sum + eps);
    for (let i = 0; i < n; i++) dst[base + i]! *= scale;
  }
  return dst;
}
