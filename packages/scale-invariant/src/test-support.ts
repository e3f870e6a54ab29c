import type { Module } from '@sibert/nn';
import type { Tensor } from '@sibert/tensor';

/** Row-major float64 copy of a tensor's values. */
export function values(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/** The largest |a − b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

/** The gradients of `params` (concatenated, float64) after one backward of `loss()`; grads are cleared. */
export function gradients(module: Module, loss: () => Tensor): Float64Array {
  module.zeroGrad();
  const value = loss();
  value.backward();
  value.dispose();
  const parts = module.parameters().map((p) => (p.grad ? values(p.grad) : new Float64Array(p.size)));
  module.zeroGrad();
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
