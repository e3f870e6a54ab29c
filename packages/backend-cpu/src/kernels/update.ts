import type { AdamUpdate, OutSpec, View } from '@sibert/tensor';
import type { CpuRuntime } from './runtime.js';

/**
 * The in-place optimizer updates and the fused Σx². Each is one pass in float64 arithmetic over
 * the float32 storage (the engine has checked that the targets own their storage alone), so an
 * update allocates nothing and rounds once per element.
 */

const data = (view: View) => view.handle as Float32Array;
const scaleOf = (scale: View | null) => (scale ? data(scale)[0]! : 1);

export function axpyInPlace(
  target: View,
  source: View,
  decay: number,
  step: number,
  scale: View | null,
): void {
  const t = data(target);
  const s = data(source);
  const k = step * scaleOf(scale);
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    t[i] = x - decay * x - k * s[i]!;
  }
}

export function adamInPlace(param: View, expAvg: View, expAvgSq: View, grad: View, u: AdamUpdate): void {
  const [p, m, v, g] = [data(param), data(expAvg), data(expAvgSq), data(grad)];
  const s = scaleOf(u.gradScale);
  const [a1, a2] = [1 - u.beta1, 1 - u.beta2];
  const moveParam = u.decay !== 0 || u.step !== 0;
  for (let i = 0; i < p.length; i++) {
    const x = p[i]!;
    const d = s * g[i]! + u.l2 * x;
    const mi = Math.fround(u.beta1 * m[i]! + a1 * d);
    const vi = Math.fround(u.beta2 * v[i]! + a2 * d * d);
    m[i] = mi;
    v[i] = vi;
    if (moveParam) p[i] = x - u.decay * x - (u.step * mi) / (Math.sqrt(vi) / u.sqrtCorrection2 + u.eps);
  }
}

export function sumOfSquares(rt: CpuRuntime, x: View, out: OutSpec): Float32Array {
  const values = data(x);
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]! * values[i]!;
  const result = rt.allocateUninitialized(out.dtype, 1) as Float32Array;
  result[0] = total;
  return result;
}
