import type { DType } from '@sibert/tensor';

/** Threads per workgroup of the one-thread-per-element kernels. */
export const ELEMENT_WORKGROUP = 256;

export type WgslScalar = 'f32' | 'i32' | 'u32';

export function wgslType(dtype: DType): 'f32' | 'i32' {
  return dtype === 'float32' ? 'f32' : 'i32';
}

/**
 * Every kernel reads its shapes, strides and scalars from one uniform block of 64 words, so a
 * pipeline serves every shape of its rank. Floats travel bit-cast.
 */
export const PARAMS_DECL = `
@group(0) @binding(0) var<uniform> params: array<vec4<u32>, 16>;
fn param(i: u32) -> u32 { return params[i >> 2u][i & 3u]; }
fn paramF(i: u32) -> f32 { return bitcast<f32>(param(i)); }
fn paramI(i: u32) -> i32 { return bitcast<i32>(param(i)); }
`;

export function inputDecl(binding: number, name: string, type: WgslScalar): string {
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;\n`;
}

export function outputDecl(binding: number, name: string, type: WgslScalar | 'atomic<u32>'): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<${type}>;\n`;
}

/** Entry point of a kernel over a linear index space split across a 2-D grid of workgroups. */
export function linearEntry(workgroupSize: number): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = (wid.y * nwg.x + wid.x) * ${workgroupSize}u + lid;`;
}

/** Entry point of a kernel that gives one workgroup to each row (rows split across a 2-D grid). */
export function rowEntry(workgroupSize: number): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;`;
}

/**
 * NaN test on the bits (WGSL lets compilers assume `x != x` is false), and non-finite constants
 * held in private variables, because WGSL rejects NaN/∞ in constant expressions.
 */
export const IS_NAN = `
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> POSITIVE_INFINITY_BITS: u32 = 0x7f800000u;
var<private> NEGATIVE_INFINITY_BITS: u32 = 0xff800000u;
`;

export const POSITIVE_INFINITY = 'bitcast<f32>(POSITIVE_INFINITY_BITS)';
export const NEGATIVE_INFINITY = 'bitcast<f32>(NEGATIVE_INFINITY_BITS)';

/**
 * Code that walks a linear index `indexVar` over `rank` axes (sizes at param slots
 * `shapeSlot..`) and accumulates, per operand, `base + Σ coord·stride` into `off<k>`
 * (base at `operandSlots[k]`, strides right after it).
 */
export function stridedOffsets(
  indexVar: string,
  rank: number,
  shapeSlot: number,
  operandSlots: readonly number[],
): string {
  let code = `var rem = ${indexVar};\n`;
  operandSlots.forEach((slot, k) => {
    code += `var off${k} = param(${slot}u);\n`;
  });
  for (let axis = rank - 1; axis >= 0; axis--) {
    if (axis === 0) code += `{ let coord = rem;\n`;
    else code += `{ let dim = param(${shapeSlot + axis}u); let coord = rem % dim; rem = rem / dim;\n`;
    operandSlots.forEach((slot, k) => {
      code += `  off${k} = off${k} + coord * param(${slot + 1 + axis}u);\n`;
    });
    code += '}\n';
  }
  return code;
}

/** Writes a strided layout (shape, then base + strides per operand) as parameter words. */
export function stridedParams(
  params: number[],
  shape: readonly number[],
  operands: readonly { base: number; strides: readonly number[] }[],
): { shapeSlot: number; operandSlots: number[] } {
  const shapeSlot = params.length;
  params.push(...shape);
  const operandSlots: number[] = [];
  for (const operand of operands) {
    operandSlots.push(params.length);
    params.push(operand.base, ...operand.strides);
  }
  return { shapeSlot, operandSlots };
}

const floatView = new Float32Array(1);
const wordView = new Uint32Array(floatView.buffer);

/** The bits of `value` as an f32, for passing floats through the u32 parameter block. */
export function f32Bits(value: number): number {
  floatView[0] = value;
  return wordView[0]!;
}

/** The bits of `value` as an i32 (two's complement), for the u32 parameter block. */
export function i32Bits(value: number): number {
  return value >>> 0;
}

/**
 * Records the first out-of-range index a kernel meets (check id and value) in the runtime's
 * index-error buffer, bound read-write as `indexErrors`; the host throws at the next read.
 */
export function indexErrorsDecl(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> indexErrors: array<atomic<u32>>;
fn reportBadIndex(check: u32, value: i32) {
  loop {
    let swap = atomicCompareExchangeWeak(&indexErrors[0], 0u, check);
    if (swap.exchanged) { atomicStore(&indexErrors[1], bitcast<u32>(value)); break; }
    if (swap.old_value != 0u) { break; }
  }
}
`;
}
