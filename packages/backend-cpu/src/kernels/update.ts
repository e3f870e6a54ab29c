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
  const p = data(param);
  const m = data(expAvg);
  const v = data(expAvgSq);
  const g = data(grad);
  const s = scaleOf(u.gradScale);
  const { l2, beta1, beta2, decay, step, sqrtCorrection2, eps } = u;
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  const n = p.length;
  // two passes, moments then parameter: V8 runs them faster than one loop doing both
  for (let i = 0; i < n; i++) {
    const d = s * g[i]! + l2 * p[i]!;
    m[i] = beta1 * m[i]! + a1 * d;
    v[i] = beta2 * v[i]! + a2 * d * d;
  }
  if (decay === 0 && step === 0) return;
  // the stored (float32) moments, as the composed definition reads them
  for (let i = 0; i < n; i++) {
    const x = p[i]!;
    p[i] = x - decay * x - (step * m[i]!) / (Math.sqrt(v[i]!) / sqrtCorrection2 + eps);
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
