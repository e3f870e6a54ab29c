import {
  type BinaryOp,
  broadcastStrides,
  type CompareOp,
  coalesce,
  type DType,
  type OutSpec,
  sizeOf,
  stridesOf,
  type UnaryOp,
  type View,
} from '@sibert/tensor';
import { gpuError } from '../errors.js';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import {
  ELEMENT_WORKGROUP,
  f32Bits,
  i32Bits,
  inputDecl,
  outputDecl,
  PARAMS_DECL,
  stridedOffsets,
  stridedParams,
  type WgslScalar,
  wgslType,
} from '../wgsl/common.js';
import { MATH_HELPERS } from '../wgsl/math.js';
import { allocateOut, requireDType, storageOf, workgroupsFor } from './shared.js';

interface StridedOperand {
  readonly buffer: GPUBuffer;
  readonly type: WgslScalar;
  readonly base: number;
  readonly strides: readonly number[];
}

interface MapSpec {
  readonly op: string;
  /** The index space walked, one thread per element. */
  readonly shape: readonly number[];
  readonly inputs: readonly StridedOperand[];
  readonly out: StridedOperand;
  /** The value written, in terms of v0..vk and `extra(j)` (the j-th extra scalar's param expression). */
  readonly expression: (extra: (j: number) => string) => string;
  readonly extras?: readonly number[];
}

const mapShaders = new Map<string, string>();

/**
 * Elements (or vec4s) each thread handles, WORKGROUP apart. Fewer, fuller workgroups: on lavapipe
 * the cost of starting a workgroup rivals a 256-element map (1M-element scale: 8.4 ms at one
 * element per thread, 1.2–1.6 ms as vec4s four per thread; scratch timing on this machine).
 */
const STEPS_PER_THREAD = 4;

/**
 * The one strided elementwise kernel behind unary/binary/compare/where/cast/fill and all
 * movement ops: each operand (and the output) is a base offset plus strides over `shape`.
 * When the innermost axis is contiguous (or broadcast) for every operand and splits into whole
 * vec4s, threads move vec4s: the expression runs once per component.
 */
export function runMap(rt: GpuRuntime, spec: MapSpec): void {
  const count = sizeOf(spec.shape);
  if (count === 0) return;
  const operands = [...spec.inputs, spec.out];
  const layout = coalesce(
    spec.shape,
    operands.map((operand) => operand.strides),
  );
  const vector = vectorLayout(layout, operands);
  const shape = vector ? vector.shape : layout.shape;
  const rank = shape.length;
  const lanes = vector ? count / 4 : count;
  const params: number[] = [lanes];
  const { shapeSlot, operandSlots } = stridedParams(
    params,
    shape,
    operands.map((operand, k) =>
      vector ? vector.operands[k]! : { base: operand.base, strides: layout.strides[k]! },
    ),
  );
  const extraSlot = params.length;
  params.push(...(spec.extras ?? []));
  const expression = spec.expression((j) => `param(${extraSlot + j}u)`);
  const types = spec.inputs.map((input) => input.type).join(',');
  const kinds = vector ? vector.operands.map((operand) => (operand.splat ? 's' : 'v')).join('') : 'scalar';
  // The source depends only on this key; reusing one string object keeps the pipeline lookup cheap.
  const key = `${rank}|${types}|${spec.out.type}|${kinds}|${expression}`;
  let shader = mapShaders.get(key);
  if (shader === undefined) {
    shader = mapShader(spec, rank, shapeSlot, operandSlots, expression, vector);
    mapShaders.set(key, shader);
  }
  rt.dispatch({
    op: spec.op,
    shader,
    inputs: spec.inputs.map((input) => input.buffer),
    outputs: [spec.out.buffer],
    params,
    workgroups: workgroupsFor(lanes, ELEMENT_WORKGROUP * STEPS_PER_THREAD),
  });
}

interface VectorOperand {
  readonly base: number;
  readonly strides: readonly number[];
  /** Broadcast along the innermost axis: one scalar read, splat to all four components. */
  readonly splat: boolean;
}

/**
 * The layout in vec4 units when every operand's innermost stride is 1 (base and outer strides
 * then multiples of 4) or 0, and the innermost axis is a multiple of 4; else null.
 */
function vectorLayout(
  layout: { shape: readonly number[]; strides: readonly (readonly number[])[] },
  operands: readonly StridedOperand[],
): { shape: number[]; operands: VectorOperand[] } | null {
  const rank = layout.shape.length;
  if (rank === 0 || layout.shape[rank - 1]! % 4 !== 0) return null;
  const result: VectorOperand[] = [];
  for (const [k, operand] of operands.entries()) {
    const strides = layout.strides[k]!;
    const inner = strides[rank - 1]!;
    if (inner === 0) {
      result.push({ base: operand.base, strides, splat: true });
    } else if (
      inner === 1 &&
      operand.base % 4 === 0 &&
      strides.every((s, axis) => axis === rank - 1 || s % 4 === 0)
    ) {
      result.push({
        base: operand.base / 4,
        strides: strides.map((s, axis) => (axis === rank - 1 ? 1 : s / 4)),
        splat: false,
      });
    } else {
      return null;
    }
  }
  if (result.at(-1)!.splat) return null;
  return { shape: [...layout.shape.slice(0, -1), layout.shape[rank - 1]! / 4], operands: result };
}

function mapShader(
  spec: MapSpec,
  rank: number,
  shapeSlot: number,
  operandSlots: readonly number[],
  expression: string,
  vector: { operands: readonly VectorOperand[] } | null,
): string {
  const outIndex = spec.inputs.length;
  const isVec = (k: number) => vector !== null && !vector.operands[k]!.splat;
  let shader = PARAMS_DECL + MATH_HELPERS;
  spec.inputs.forEach((input, k) => {
    shader += isVec(k)
      ? `@group(0) @binding(${1 + k}) var<storage, read> x${k}: array<vec4<${input.type}>>;\n`
      : inputDecl(1 + k, `x${k}`, input.type);
  });
  shader += vector
    ? `@group(0) @binding(${1 + outIndex}) var<storage, read_write> result: array<vec4<${spec.out.type}>>;\n`
    : outputDecl(1 + outIndex, 'result', spec.out.type);
  let body = stridedOffsets('index', rank, shapeSlot, operandSlots);
  if (vector) {
    spec.inputs.forEach((input, k) => {
      body += isVec(k)
        ? `let p${k} = x${k}[off${k}];\n`
        : `let p${k} = vec4<${input.type}>(x${k}[off${k}]);\n`;
    });
    body += `var r: vec4<${spec.out.type}>;\n`;
    for (const lane of ['x', 'y', 'z', 'w']) {
      const values = spec.inputs.map((_, k) => `let v${k} = p${k}.${lane}; `).join('');
      body += `{ ${values}r.${lane} = ${expression}; }\n`;
    }
    body += `result[off${outIndex}] = r;\n`;
  } else {
    spec.inputs.forEach((_, k) => {
      body += `let v${k} = x${k}[off${k}];\n`;
    });
    body += `result[off${outIndex}] = ${expression};\n`;
  }
  const block = ELEMENT_WORKGROUP * STEPS_PER_THREAD;
  return `${shader}@compute @workgroup_size(${ELEMENT_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let first = (wid.y * nwg.x + wid.x) * ${block}u + lid;
  for (var step = 0u; step < ${STEPS_PER_THREAD}u; step = step + 1u) {
    let index = first + step * ${ELEMENT_WORKGROUP}u;
    if (index >= param(0u)) { return; }
${body}  }
}
`;
}

function contiguousOut(storage: GpuStorage, out: OutSpec): StridedOperand {
  return { buffer: storage.buffer, type: wgslType(out.dtype), base: 0, strides: stridesOf(out.shape) };
}

function broadcastInput(op: string, view: View, outShape: readonly number[]): StridedOperand {
  return {
    buffer: storageOf(op, view).buffer,
    type: wgslType(view.dtype),
    base: 0,
    strides: broadcastStrides(view.shape, outShape),
  };
}

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

function fillInto(
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

// --- movement --------------------------------------------------------------------------------

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
    copy(
      rt,
      name,
      x.shape,
      {
        buffer: storageOf(name, x).buffer,
        type: wgslType(x.dtype),
        base: 0,
        strides: stridesOf(x.shape),
      },
      {
        buffer: result.buffer,
        type: wgslType(out.dtype),
        base: offset * outStrides[axis]!,
        strides: outStrides,
      },
    );
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
  copy(
    rt,
    name,
    x.shape,
    {
      buffer: storageOf(name, x).buffer,
      type: wgslType(x.dtype),
      base: 0,
      strides: stridesOf(x.shape),
    },
    { ...target, base },
  );
  return result;
}
