import type { BinaryOp, CompareOp, DType, OutSpec, UnaryOp, View } from '@sibert/tensor';
import { gpuError } from '../errors.js';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import { f32Bits, i32Bits } from '../wgsl/common.js';
import { allocateOut, requireDType } from './shared.js';

import { broadcastInput, contiguousOut, runMap, type StridedOperand } from './strided-map.js';

const FLOAT_UNARY: Record<UnaryOp, string> = {
  neg: '-v0',
  exp: 'exp(v0)',
  log: 'log(v0)',
  sqrt: 'sqrt(v0)',
  rsqrt: 'inverseSqrt(v0)',
  abs: 'abs(v0)',
  sign: 'sign(v0)',
  square: 'v0 * v0',
  reciprocal: '1.0 / v0',
  relu: 'select(v0, 0.0, v0 < 0.0)',
  tanh: 'tanhSafe(v0)',
  sigmoid: '1.0 / (1.0 + exp(-v0))',
  erf: 'erfApprox(v0)',
  gelu: '0.5 * v0 * (1.0 + erfApprox(v0 * 0.7071067811865476))',
  geluTanh: '0.5 * v0 * (1.0 + tanhSafe(0.7978845608028654 * (v0 + 0.044715 * v0 * v0 * v0)))',
};

const INT_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: '-v0',
  abs: 'abs(v0)',
  sign: 'sign(v0)',
  square: 'v0 * v0',
  relu: 'max(v0, 0)',
};

export function unary(rt: GpuRuntime, x: View, op: UnaryOp, out: OutSpec): GpuStorage {
  const name = `unary(${op})`;
  const expression = x.dtype === 'float32' ? FLOAT_UNARY[op] : INT_UNARY[op];
  if (expression === undefined) {
    throw gpuError(name, `x must be float32, got ${x.dtype}`);
  }
  const result = allocateOut(rt, name, out);
  runMap(rt, {
    op: name,
    shape: out.shape,
    inputs: [broadcastInput(name, x, out.shape)],
    out: contiguousOut(result, out),
    expression: () => expression,
  });
  return result;
}

const FLOAT_BINARY: Record<BinaryOp, string> = {
  add: 'v0 + v1',
  sub: 'v0 - v1',
  mul: 'v0 * v1',
  div: 'v0 / v1',
  pow: 'powF(v0, v1)',
  maximum: 'maxNan(v0, v1)',
  minimum: 'minNan(v0, v1)',
};

const INT_BINARY: Partial<Record<BinaryOp, string>> = {
  add: 'v0 + v1',
  sub: 'v0 - v1',
  mul: 'v0 * v1',
  maximum: 'max(v0, v1)',
  minimum: 'min(v0, v1)',
};

export function binary(rt: GpuRuntime, a: View, b: View, op: BinaryOp, out: OutSpec): GpuStorage {
  const name = `binary(${op})`;
  const expression = out.dtype === 'float32' ? FLOAT_BINARY[op] : INT_BINARY[op];
  if (expression === undefined) {
    throw gpuError(name, `operands must be float32, got ${out.dtype}`);
  }
  const result = allocateOut(rt, name, out);
  runMap(rt, {
    op: name,
    shape: out.shape,
    inputs: [broadcastInput(name, a, out.shape), broadcastInput(name, b, out.shape)],
    out: contiguousOut(result, out),
    expression: () => expression,
  });
  return result;
}

const COMPARISONS: Record<CompareOp, string> = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '==', ne: '!=' };

export function compare(rt: GpuRuntime, a: View, b: View, op: CompareOp, out: OutSpec): GpuStorage {
  const name = `compare(${op})`;
  if (a.dtype !== b.dtype) {
    throw gpuError(name, `operands must share a dtype, got ${a.dtype} and ${b.dtype}`);
  }
  requireDType(name, 'out', out.dtype, ['int32']);
  const result = allocateOut(rt, name, out);
  runMap(rt, {
    op: name,
    shape: out.shape,
    inputs: [broadcastInput(name, a, out.shape), broadcastInput(name, b, out.shape)],
    out: contiguousOut(result, out),
    expression: () => `select(0, 1, v0 ${COMPARISONS[op]} v1)`,
  });
  return result;
}

export function where(rt: GpuRuntime, cond: View, a: View, b: View, out: OutSpec): GpuStorage {
  const name = 'where';
  const result = allocateOut(rt, name, out);
  runMap(rt, {
    op: name,
    shape: out.shape,
    inputs: [
      broadcastInput(name, cond, out.shape),
      broadcastInput(name, a, out.shape),
      broadcastInput(name, b, out.shape),
    ],
    out: contiguousOut(result, out),
    expression: () => 'select(v2, v1, v0 != 0)',
  });
  return result;
}

function castExpression(from: DType, to: DType): string {
  if (from === to) return 'v0';
  return to === 'int32' ? 'toInt(v0)' : 'f32(v0)';
}

export function cast(rt: GpuRuntime, x: View, out: OutSpec): GpuStorage {
  const name = 'cast';
  const result = allocateOut(rt, name, out);
  runMap(rt, {
    op: name,
    shape: out.shape,
    inputs: [broadcastInput(name, x, out.shape)],
    out: contiguousOut(result, out),
    expression: () => castExpression(x.dtype, out.dtype),
  });
  return result;
}

export function fillInto(
  rt: GpuRuntime,
  op: string,
  target: StridedOperand,
  shape: readonly number[],
  value: number,
): void {
  const isFloat = target.type === 'f32';
  runMap(rt, {
    op,
    shape,
    inputs: [],
    out: target,
    expression: (extra) => (isFloat ? `bitcast<f32>(${extra(0)})` : `bitcast<i32>(${extra(0)})`),
    extras: [isFloat ? f32Bits(value) : i32Bits(value)],
  });
}

export function fill(rt: GpuRuntime, value: number, out: OutSpec): GpuStorage {
  const result = allocateOut(rt, 'fill', out);
  fillInto(rt, 'fill', contiguousOut(result, out), out.shape, value);
  return result;
}

/** Fills a raw buffer of `count` 32-bit words with `value` (used for scratch buffers). */
export function fillWords(rt: GpuRuntime, op: string, buffer: GPUBuffer, count: number, value: number): void {
  fillInto(rt, op, { buffer, type: 'i32', base: 0, strides: [1] }, [count], value);
}
