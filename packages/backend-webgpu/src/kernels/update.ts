import { type AdamUpdate, sizeOf, type View } from '@sibert/tensor';
import type { GpuRuntime } from '../runtime.js';
import {
  ELEMENT_WORKGROUP,
  f32Bits,
  inputDecl,
  linearEntry,
  outputDecl,
  PARAMS_DECL,
} from '../wgsl/common.js';
import { storageOf, workgroupsFor } from './shared.js';

/**
 * The in-place optimizer updates: one thread per element reads and writes the targets' own
 * buffers (bound read_write; the engine has checked that nothing else shares them). A scale is a
 * one-element buffer read by every thread, so a clip factor never leaves the device; without one
 * the shader variant multiplies by nothing.
 */

const scaleCode = (binding: number, scale: View | null) =>
  scale ? { decl: inputDecl(binding, 'scale', 'f32'), value: 'scale[0]' } : { decl: '', value: '1.0' };

export function axpyInPlace(
  rt: GpuRuntime,
  target: View,
  source: View,
  decay: number,
  step: number,
  scale: View | null,
): void {
  const op = 'axpyInPlace';
  const count = sizeOf(target.shape);
  const s = scaleCode(2, scale);
  const shader = rt.shaderSource(`${op}|${scale ? 'scaled' : 'plain'}`, () => {
    const targetBinding = scale ? 3 : 2;
    return `${PARAMS_DECL}${inputDecl(1, 'source', 'f32')}${s.decl}${outputDecl(targetBinding, 'y', 'f32')}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let x = y[index];
  y[index] = x - paramF(1u) * x - paramF(2u) * ${s.value} * source[index];
}
`;
  });
  rt.dispatch({
    op,
    shader,
    inputs: [storageOf(op, source).buffer, ...(scale ? [storageOf(op, scale).buffer] : [])],
    outputs: [storageOf(op, target).buffer],
    params: [count, f32Bits(decay), f32Bits(step)],
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
}

export function adamInPlace(
  rt: GpuRuntime,
  param: View,
  expAvg: View,
  expAvgSq: View,
  grad: View,
  u: AdamUpdate,
): void {
  const op = 'adamInPlace';
  const count = sizeOf(param.shape);
  const s = scaleCode(2, u.gradScale);
  const moveParam = u.decay !== 0 || u.step !== 0;
  const key = `${op}|${u.gradScale ? 'scaled' : 'plain'}|${moveParam ? 'param' : 'moments'}`;
  const shader = rt.shaderSource(key, () => {
    const first = u.gradScale ? 3 : 2;
    return `${PARAMS_DECL}${inputDecl(1, 'grad', 'f32')}${s.decl}${outputDecl(first, 'p', 'f32')}${outputDecl(first + 1, 'm', 'f32')}${outputDecl(first + 2, 'v', 'f32')}
${linearEntry(ELEMENT_WORKGROUP)}
  if (index >= param(0u)) { return; }
  let x = p[index];
  let d = ${s.value} * grad[index] + paramF(1u) * x;
  let mi = paramF(2u) * m[index] + paramF(3u) * d;
  let vi = paramF(4u) * v[index] + paramF(5u) * d * d;
  m[index] = mi;
  v[index] = vi;
  ${moveParam ? 'p[index] = x - paramF(6u) * x - paramF(7u) * mi / (sqrt(vi) / paramF(8u) + paramF(9u));' : ''}
}
`;
  });
  rt.dispatch({
    op,
    shader,
    inputs: [storageOf(op, grad).buffer, ...(u.gradScale ? [storageOf(op, u.gradScale).buffer] : [])],
    outputs: [storageOf(op, param).buffer, storageOf(op, expAvg).buffer, storageOf(op, expAvgSq).buffer],
    params: [
      count,
      f32Bits(u.l2),
      f32Bits(u.beta1),
      f32Bits(1 - u.beta1),
      f32Bits(u.beta2),
      f32Bits(1 - u.beta2),
      f32Bits(u.decay),
      f32Bits(u.step),
      f32Bits(u.sqrtCorrection2),
      f32Bits(u.eps),
    ],
    workgroups: workgroupsFor(count, ELEMENT_WORKGROUP),
  });
}
