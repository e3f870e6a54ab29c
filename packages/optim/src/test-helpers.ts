// Shared by the tests only (not exported from the package).
import '@sibert/backend-cpu';
import { add, div, mul, sqrt, square, sum, type Tensor, tensor } from '@sibert/tensor';

/** A float32 parameter (requires gradients) from values. */
export function param(values: readonly number[], shape?: readonly number[]): Tensor {
  return tensor([...values], shape ? [...shape] : undefined).requireGrad();
}

/** Replaces `p.grad` with the given values (as backward would leave it). */
export function setGrad(p: Tensor, values: readonly number[]): void {
  p.grad?.dispose();
  p.grad = tensor([...values], [...p.shape]);
}

export function valuesOf(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

export function squaredNorm(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]! ** 2;
  return s;
}

/**
 * A scale-invariant toy loss L(w) = f(w/‖w‖) with f(u) = ⟨a, u⟩ + ½⟨b, u²⟩: smooth on the sphere,
 * and 0-homogeneous in w, so its gradient is orthogonal to w and (−1)-homogeneous.
 */
export function scaleInvariantLoss(w: Tensor, a: Tensor, b: Tensor): Tensor {
  const u = div(w, sqrt(sum(square(w))));
  return add(sum(mul(a, u)), mul(sum(mul(b, square(u))), 0.5));
}
