import {
  type BinaryOp,
  broadcastStrides,
  type CompareOp,
  type OutSpec,
  sizeOf,
  stridesOf,
  type TypedArray,
  type UnaryOp,
  type View,
} from '@sibert/tensor';
import { BINARY_ROWS, type BinaryRow, COMPARE_ROWS, mulIntRow } from './binary-rows.js';
import { erf, gelu, geluTanh } from './math.js';
import { runElementwise } from './parallel.js';
import type { CpuRuntime } from './runtime.js';
import { forEachRow, planWalk } from './walk.js';
import { WASM_BINARY, WASM_UNARY } from './wasm-elementwise.js';

// Float32 work on arrays in the heap runs in the WASM SIMD kernels (`wasm-elementwise.ts`), a
// whole contiguous call split over `pool` when it is large; everything else runs the JavaScript
// loops here, which are the reference.

export function fill(rt: CpuRuntime, value: number, out: OutSpec): TypedArray {
  return value === 0
    ? rt.allocate(out.dtype, sizeOf(out.shape))
    : rt.allocateUninitialized(out.dtype, sizeOf(out.shape)).fill(value);
}

export function cast(rt: CpuRuntime, x: View, out: OutSpec): TypedArray {
  if (x.dtype === 'int32' && out.dtype === 'float32') {
    const src = x.handle as TypedArray;
    const dst = rt.allocateUninitialized(out.dtype, src.length);
    const kernels = rt.heapKernels(src, dst);
    if (kernels) {
      runElementwise(kernels, rt.pool, 'cast_i32_f32', dst.byteOffset, [src.byteOffset], [true], src.length);
      return dst;
    }
    rt.recycle(dst);
  }
  const src = x.handle as TypedArray;
  // `set` converts per element: float → int32 truncates toward zero (NaN → 0).
  const dst = rt.allocateUninitialized(out.dtype, src.length);
  dst.set(src);
  return dst;
}

/** One loop per op (a switch outside the loop, never inside it). */
export function unary(rt: CpuRuntime, x: View, op: UnaryOp, out: OutSpec): TypedArray {
  const src = x.handle as TypedArray;
  const n = src.length;
  const dst = rt.allocateUninitialized(out.dtype, n);
  const isInt = out.dtype === 'int32';
  const kernels = !isInt && op in WASM_UNARY ? rt.heapKernels(src, dst) : null;
  if (kernels) {
    runElementwise(kernels, rt.pool, op, dst.byteOffset, [src.byteOffset], [true], n);
    return dst;
  }
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) dst[i] = -src[i]!;
      break;
    case 'exp':
      for (let i = 0; i < n; i++) dst[i] = Math.exp(src[i]!);
      break;
    case 'log':
      for (let i = 0; i < n; i++) dst[i] = Math.log(src[i]!);
      break;
    case 'sqrt':
      for (let i = 0; i < n; i++) dst[i] = Math.sqrt(src[i]!);
      break;
    case 'rsqrt':
      for (let i = 0; i < n; i++) dst[i] = 1 / Math.sqrt(src[i]!);
      break;
    case 'abs':
      for (let i = 0; i < n; i++) dst[i] = Math.abs(src[i]!);
      break;
    case 'sign':
      for (let i = 0; i < n; i++) dst[i] = Math.sign(src[i]!);
      break;
    case 'square':
      if (isInt) {
        for (let i = 0; i < n; i++) dst[i] = Math.imul(src[i]!, src[i]!);
      } else {
        for (let i = 0; i < n; i++) {
          const v = src[i]!;
          dst[i] = v * v;
        }
      }
      break;
    case 'reciprocal':
      for (let i = 0; i < n; i++) dst[i] = 1 / src[i]!;
      break;
    case 'relu':
      // `Math.max(v, 0)` keeps NaN as NaN.
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        dst[i] = Math.max(v, 0);
      }
      break;
    case 'tanh':
      for (let i = 0; i < n; i++) dst[i] = Math.tanh(src[i]!);
      break;
    case 'sigmoid':
      for (let i = 0; i < n; i++) dst[i] = 1 / (1 + Math.exp(-src[i]!));
      break;
    case 'erf':
      for (let i = 0; i < n; i++) dst[i] = erf(src[i]!);
      break;
    case 'gelu':
      for (let i = 0; i < n; i++) dst[i] = gelu(src[i]!);
      break;
    case 'geluTanh':
      for (let i = 0; i < n; i++) dst[i] = geluTanh(src[i]!);
      break;
  }
  return dst;
}

/** Kernel-name suffix of a row's broadcast pattern: each operand contiguous (v) or one value (s). */
function pattern(...strides: number[]): string | undefined {
  let suffix = '';
  for (const s of strides) {
    if (s !== 0 && s !== 1) return undefined;
    suffix += s === 1 ? 'v' : 's';
  }
  return suffix;
}

/**
 * Broadcasts `row` over the output; with `wasmOp`, rows run in the WASM kernel `${wasmOp}_${pattern}`
 * when every array lives in the heap.
 */
function broadcastBinary(
  rt: CpuRuntime,
  a: View,
  b: View,
  row: BinaryRow,
  out: OutSpec,
  wasmOp?: string,
): TypedArray {
  const size = sizeOf(out.shape);
  const dst = rt.allocateUninitialized(out.dtype, size);
  if (size === 0) return dst;
  const av = a.handle as TypedArray;
  const bv = b.handle as TypedArray;
  const walk = planWalk(out.shape, [
    stridesOf(out.shape),
    broadcastStrides(a.shape, out.shape),
    broadcastStrides(b.shape, out.shape),
  ]);
  const last = walk.shape.length - 1;
  const sa = walk.strides[1]![last]!;
  const sb = walk.strides[2]![last]!;
  const suffix = pattern(sa, sb);
  const kernels = wasmOp && suffix && suffix !== 'ss' ? rt.heapKernels(dst, av, bv) : null;
  if (kernels) {
    const name = `${wasmOp}_${suffix}`;
    const [d0, a0, b0] = [dst.byteOffset, av.byteOffset, bv.byteOffset];
    if (walk.shape.length === 1) {
      runElementwise(kernels, rt.pool, name, d0, [a0, b0], [sa === 1, sb === 1], size);
      return dst;
    }
    const kernel = kernels.elementwise[name]!;
    forEachRow(walk, [0, 0, 0], (offsets, n) =>
      kernel(d0 + 4 * offsets[0]!, a0 + 4 * offsets[1]!, b0 + 4 * offsets[2]!, n),
    );
    return dst;
  }
  forEachRow(walk, [0, 0, 0], (offsets, n) =>
    row(dst, offsets[0]!, av, offsets[1]!, sa, bv, offsets[2]!, sb, n),
  );
  return dst;
}

export function binary(rt: CpuRuntime, a: View, b: View, op: BinaryOp, out: OutSpec): TypedArray {
  const isFloat = out.dtype === 'float32';
  const row = op === 'mul' && !isFloat ? mulIntRow : BINARY_ROWS[op];
  return broadcastBinary(rt, a, b, row, out, isFloat && op in WASM_BINARY ? op : undefined);
}

export function compare(rt: CpuRuntime, a: View, b: View, op: CompareOp, out: OutSpec): TypedArray {
  const isFloat = a.dtype === 'float32' && b.dtype === 'float32';
  return broadcastBinary(rt, a, b, COMPARE_ROWS[op], out, isFloat ? op : undefined);
}

export function where(rt: CpuRuntime, cond: View, a: View, b: View, out: OutSpec): TypedArray {
  const size = sizeOf(out.shape);
  const dst = rt.allocateUninitialized(out.dtype, size);
  if (size === 0) return dst;
  const cv = cond.handle as TypedArray;
  const av = a.handle as TypedArray;
  const bv = b.handle as TypedArray;
  const walk = planWalk(out.shape, [
    stridesOf(out.shape),
    broadcastStrides(cond.shape, out.shape),
    broadcastStrides(a.shape, out.shape),
    broadcastStrides(b.shape, out.shape),
  ]);
  const last = walk.shape.length - 1;
  const sc = walk.strides[1]![last]!;
  const sa = walk.strides[2]![last]!;
  const sb = walk.strides[3]![last]!;
  const suffix = pattern(sc, sa, sb);
  // The kernels test int32 conditions by their bits (a float −0 is false, which bits would not say).
  const kernels = suffix !== undefined && cond.dtype === 'int32' ? rt.heapKernels(dst, cv, av, bv) : null;
  if (kernels) {
    const name = `where_${suffix}`;
    const bases = [dst.byteOffset, cv.byteOffset, av.byteOffset, bv.byteOffset];
    if (walk.shape.length === 1) {
      runElementwise(kernels, rt.pool, name, bases[0]!, bases.slice(1), [sc === 1, sa === 1, sb === 1], size);
      return dst;
    }
    const kernel = kernels.elementwise[name]!;
    forEachRow(walk, [0, 0, 0, 0], (offsets, n) =>
      kernel(
        bases[0]! + 4 * offsets[0]!,
        bases[1]! + 4 * offsets[1]!,
        bases[2]! + 4 * offsets[2]!,
        bases[3]! + 4 * offsets[3]!,
        n,
      ),
    );
    return dst;
  }
  forEachRow(walk, [0, 0, 0, 0], (offsets, n) => {
    const o = offsets[0]!;
    let ic = offsets[1]!;
    let ia = offsets[2]!;
    let ib = offsets[3]!;
    for (let i = 0; i < n; i++, ic += sc, ia += sa, ib += sb) dst[o + i] = cv[ic] !== 0 ? av[ia]! : bv[ib]!;
  });
  return dst;
}
