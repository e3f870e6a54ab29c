import {
  bernoulliThreshold,
  type OutSpec,
  type RandomDistribution,
  type RandomStream,
  sizeOf,
  splitU64,
} from '@sibert/tensor';
import type { GpuRuntime, GpuStorage } from '../runtime.js';
import { ELEMENT_WORKGROUP, f32Bits, linearEntry, outputDecl, PARAMS_DECL } from '../wgsl/common.js';
import { allocateOut, requireDType, workgroupsFor } from './shared.js';

/** Philox4x32-10 exactly as rng.ts: 32×32→64-bit products from 16-bit halves (WGSL has no mulhi). */
const PHILOX = `
fn mulHi(a: u32, b: u32) -> u32 {
  let aH = a >> 16u; let aL = a & 0xffffu; let bH = b >> 16u; let bL = b & 0xffffu;
  let lh = aL * bH; let hl = aH * bL;
  let mid = ((aL * bL) >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return aH * bH + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}
fn philox(c0: u32, c1: u32, k0: u32, k1: u32) -> vec4<u32> {
  var x = vec4<u32>(c0, c1, 0u, 0u);
  var key = vec2<u32>(k0, k1);
  for (var round = 0u; round < 10u; round = round + 1u) {
    let hi0 = mulHi(0xd2511f53u, x.x); let lo0 = 0xd2511f53u * x.x;
    let hi1 = mulHi(0xcd9e8d57u, x.z); let lo1 = 0xcd9e8d57u * x.z;
    x = vec4<u32>(hi1 ^ x.y ^ key.x, lo1, hi0 ^ x.w ^ key.y, lo0);
    key = key + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return x;
}
const U24: f32 = 5.9604644775390625e-8;
const TWO_PI: f32 = 6.283185307179586;
// ln(u1) for u1 = ((w >> 8) + 1)·2⁻²⁴. WGSL bounds log only absolutely (2⁻²¹) near 1, where
// ln(u1) is tiny, so there it goes through log1p(u1 − 1) = 2·atanh(s), s = (u1 − 1)/(u1 + 1),
// with u1 − 1 exact in f32.
fn logUnit(w: u32) -> f32 {
  let n = (w >> 8u) + 1u;
  let u = f32(n) * U24;
  if (u < 0.5) { return log(u); }
  let y = -f32(16777216u - n) * U24;
  let s = y / (2.0 + y);
  let s2 = s * s;
  return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0))))));
}
fn radius(w: u32) -> f32 { return sqrt(-2.0 * logUnit(w)); }
fn angle(w: u32) -> f32 { return TWO_PI * f32(w >> 8u) * U24; }
`;

/** Each distribution's value from the four words w (params: 5 = first scalar, 6 = second). */
const SAMPLES: Record<RandomDistribution['kind'], string> = {
  uniform: 'paramF(5u) + (paramF(6u) - paramF(5u)) * (f32(w.x >> 8u) * U24)',
  bernoulli: 'select(0.0, 1.0, (w.x >> 8u) < param(5u))',
  normal: 'paramF(5u) + paramF(6u) * (radius(w.x) * cos(angle(w.y)))',
  truncatedNormal: 'paramF(5u) + paramF(6u) * truncated(w)',
};

const TRUNCATED = `
fn truncated(w: vec4<u32>) -> f32 {
  let r0 = radius(w.x); let t0 = angle(w.y);
  let first = r0 * cos(t0);
  if (abs(first) <= 2.0) { return first; }
  let second = r0 * sin(t0);
  if (abs(second) <= 2.0) { return second; }
  let r1 = radius(w.z); let t1 = angle(w.w);
  let third = r1 * cos(t1);
  if (abs(third) <= 2.0) { return third; }
  let fourth = r1 * sin(t1);
  if (abs(fourth) <= 2.0) { return fourth; }
  return clamp(first, -2.0, 2.0);
}
`;

function distributionParams(dist: RandomDistribution): [number, number] {
  switch (dist.kind) {
    case 'uniform':
      return [f32Bits(dist.low), f32Bits(dist.high)];
    case 'bernoulli':
      return [bernoulliThreshold(dist.p), 0];
    case 'normal':
    case 'truncatedNormal':
      return [f32Bits(dist.mean), f32Bits(dist.std)];
  }
}

export function random(
  rt: GpuRuntime,
  dist: RandomDistribution,
  stream: RandomStream,
  out: OutSpec,
): GpuStorage {
  const name = `random(${dist.kind})`;
  requireDType(name, 'out', out.dtype, ['float32']);
  const result = allocateOut(rt, name, out);
  const count = sizeOf(out.shape);
  if (count === 0) return result;
  const [seedLo, seedHi] = splitU64(stream.seed);
  const [offsetLo, offsetHi] = splitU64(stream.offset);
  const shader = `${PARAMS_DECL}${outputDecl(1, 'result', 'f32')}${PHILOX}${dist.kind === 'truncatedNormal' ? TRUNCATED : ''}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let counterLo = param(1u) + index;
  let counterHi = param(2u) + select(0u, 1u, counterLo < index);
  let w = philox(counterLo, counterHi, param(3u), param(4u));
  result[index] = ${SAMPLES[dist.kind]};
}
`;
  rt.dispatch({
    op: name,
    shader,
    inputs: [],
    outputs: [result.buffer],
    params: [count, offsetLo, offsetHi, seedLo, seedHi, ...distributionParams(dist)],
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
  return result;
}
