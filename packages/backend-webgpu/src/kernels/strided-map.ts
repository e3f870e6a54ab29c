import { broadcastStrides, coalesce, type OutSpec, sizeOf, stridesOf, type View } from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import {
  ELEMENT_WORKGROUP,
  inputDecl,
  outputDecl,
  PARAMS_DECL,
  stridedOffsets,
  stridedParams,
  type WgslScalar,
  wgslType,
} from '../wgsl/common.js';
import { MATH_HELPERS } from '../wgsl/math.js';
import { storageOf, workgroupsFor } from './shared.js';

export interface StridedOperand {
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
  const key = `map|${rank}|${types}|${spec.out.type}|${kinds}|${expression}`;
  const shader = rt.shaderSource(key, () =>
    mapShader(spec, rank, shapeSlot, operandSlots, expression, vector),
  );
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

export function contiguousOut(storage: GpuStorage, out: OutSpec): StridedOperand {
  return { buffer: storage.buffer, type: wgslType(out.dtype), base: 0, strides: stridesOf(out.shape) };
}

export function broadcastInput(op: string, view: View, outShape: readonly number[]): StridedOperand {
  return {
    buffer: storageOf(op, view).buffer,
    type: wgslType(view.dtype),
    base: 0,
    strides: broadcastStrides(view.shape, outShape),
  };
}
