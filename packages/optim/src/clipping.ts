import {
  add,
  cast,
  div,
  escapeTidy,
  greater,
  maximum,
  minimum,
  mul,
  RangeArgumentError,
  sqrt,
  sumOfSquares,
  type Tensor,
  tidy,
} from '@sibert/tensor';

/**
 * Gradient clipping over a group's global gradient norm ‖g‖ (all its parameters as one vector),
 * `g ← g · min(1, threshold / ‖g‖)`:
 * - `relative`: threshold √(2Cλ/η)·‖x‖₂ (the paper's Relative Global Clipping; λ the group's weight
 *   decay, η its current scheduled LR, ‖x‖₂ the group's parameter norm); `sqrtC` defaults to 2;
 * - `norm`: the classic fixed threshold `maxNorm`.
 */
export type ClipSpec = { type: 'relative'; sqrtC?: number } | { type: 'norm'; maxNorm: number };

/** Checks a clip option and fills its defaults; `fail` throws naming the group. */
export function resolveClip(clip: ClipSpec, weightDecay: number, fail: (message: string) => never): ClipSpec {
  if (clip.type === 'relative') {
    const sqrtC = clip.sqrtC ?? 2;
    if (!(Number.isFinite(sqrtC) && sqrtC > 0)) fail(`relative clipping needs sqrtC > 0, got ${sqrtC}`);
    if (weightDecay === 0) {
      fail('relative clipping needs weightDecay > 0 (its threshold √(2Cλ/η)·‖x‖ is 0 when λ = 0)');
    }
    return { type: 'relative', sqrtC };
  }
  if (clip.type === 'norm') {
    if (!(Number.isFinite(clip.maxNorm) && clip.maxNorm > 0)) {
      fail(`norm clipping needs maxNorm > 0, got ${clip.maxNorm}`);
    }
    return { type: 'norm', maxNorm: clip.maxNorm };
  }
  return fail(
    `unknown clip type '${String((clip as { type: unknown }).type)}'; expected 'relative' or 'norm'`,
  );
}

/** Device scalars of one group's step, kept only until they are read back. */
export interface GroupStats {
  gradSq: Tensor;
  paramSq: Tensor;
  /** The clip threshold (a device scalar for relative clipping), or null when the group does not clip. */
  threshold: Tensor | number | null;
  /** What the gradients are multiplied by; null when they are left as they are. */
  factor: Tensor | null;
  /** 1 when clipping fired, else 0; null when the group did not clip this step. */
  fired: Tensor | null;
}

/** Keeps division by a zero gradient norm finite (the clip factor is then irrelevant). */
const TINY_NORM = 1e-30;

/**
 * Squared norms of a group's parameters and gradients and its clip factor, as device scalars (no
 * readback). They are kept, so they outlive a caller's enclosing tidy; free them with `disposeStats`.
 */
export function groupStats(
  params: readonly Tensor[],
  clip: ClipSpec | null,
  weightDecay: number,
  lr: number,
): GroupStats {
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  const paramSq = escapeTidy(totalSumOfSquares(params));
  const gradSq = escapeTidy(grads.length > 0 ? totalSumOfSquares(grads) : mul(paramSq, 0));
  return { gradSq, paramSq, ...clipStats(gradSq, paramSq, clip, weightDecay, lr) };
}

/**
 * The group's clip threshold: a kept device scalar for relative clipping, the fixed number for norm
 * clipping, +∞ when η = 0 (which moves nothing, so nothing clips), null when the group does not clip.
 */
export function clipThreshold(
  paramSq: Tensor,
  clip: ClipSpec | null,
  weightDecay: number,
  lr: number,
): Tensor | number | null {
  if (!clip) return null;
  if (clip.type === 'norm') return clip.maxNorm;
  if (lr === 0) return Number.POSITIVE_INFINITY;
  return escapeTidy(tidy(() => mul(sqrt(paramSq), (clip.sqrtC ?? 2) * Math.sqrt((2 * weightDecay) / lr))));
}

/**
 * The clip threshold, factor and fired flag for a gradient of squared norm `gradSq` (kept device
 * scalars; factor and fired null when the group does not clip).
 */
export function clipStats(
  gradSq: Tensor,
  paramSq: Tensor,
  clip: ClipSpec | null,
  weightDecay: number,
  lr: number,
): Pick<GroupStats, 'threshold' | 'factor' | 'fired'> {
  const threshold = clipThreshold(paramSq, clip, weightDecay, lr);
  if (threshold === null || threshold === Number.POSITIVE_INFINITY)
    return { threshold, factor: null, fired: null };
  return tidy(() => {
    const gradNorm = sqrt(gradSq);
    const factor = minimum(div(threshold, maximum(gradNorm, TINY_NORM)), 1);
    const fired = cast(greater(gradNorm, threshold), 'float32');
    return { threshold, factor: escapeTidy(factor), fired: escapeTidy(fired) };
  });
}

/**
 * Adds this step's `fired` to a group's clip counter, a float32 device scalar (created at the
 * group's first clipping step), so the count needs no readback; returns the counter.
 */
export function countClipping(counter: Tensor | null, fired: Tensor): Tensor {
  if (!counter) return escapeTidy(mul(fired, 1));
  tidy(() => counter.assign(add(counter, fired)));
  return counter;
}

export function disposeStats(stats: GroupStats): void {
  stats.gradSq.dispose();
  stats.paramSq.dispose();
  if (typeof stats.threshold === 'object') stats.threshold?.dispose();
  stats.factor?.dispose();
  stats.fired?.dispose();
}

/** Σ‖t‖² as a device scalar, one fused sum of squares per tensor (no tensor-sized temporary). */
export function totalSumOfSquares(tensors: readonly Tensor[]): Tensor {
  let total: Tensor | null = null;
  for (const t of tensors) {
    const before: Tensor | null = total;
    total = tidy(() => (before ? add(before, sumOfSquares(t)) : sumOfSquares(t)));
    before?.dispose();
  }
  if (!total) throw new RangeArgumentError('expected at least one tensor', 'totalSumOfSquares');
  return total;
}
