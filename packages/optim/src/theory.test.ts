import {
  add,
  div,
  manualSeed,
  mul,
  normal,
  sqrt,
  square,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import type { ClipSpec } from './clipping.js';
import { SGD } from './sgd.js';
import { param, scaleInvariantLoss, squaredNorm, valuesOf } from './test-helpers.js';

// The theory of SGD + weight decay on scale-invariant losses (DESIGN.md §4, PAPER.md §2–3), on toy
// losses in float32. Tolerances are stated where they are used.

const D = 16;
/** Fixed, arbitrary coefficients of the smooth function on the sphere. */
const A = Array.from({ length: D }, (_, i) => Math.sin(1.7 * i + 0.3));
const B = Array.from({ length: D }, (_, i) => 2 * Math.cos(0.9 * i));
const X0 = Array.from({ length: D }, (_, i) => Math.cos(2.3 * i + 1) * 0.1);

/** Runs SGD on `loss` from `x0` and returns the iterates (values after each step). */
function train(options: {
  x0: number[];
  lr: number;
  weightDecay: number;
  steps: number;
  lossScale?: number;
  clip?: ClipSpec;
  loss?: (w: Tensor) => Tensor;
}): { iterates: number[][]; grads: number[][] } {
  const a = tensor(A);
  const b = tensor(B);
  const w = param(options.x0);
  const opt = new SGD([w], { lr: options.lr, weightDecay: options.weightDecay, clip: options.clip ?? null });
  const loss = options.loss ?? ((v: Tensor) => scaleInvariantLoss(v, a, b));
  const iterates: number[][] = [];
  const grads: number[][] = [];
  for (let t = 0; t < options.steps; t++) {
    opt.zeroGrad();
    tidy(() => mul(loss(w), options.lossScale ?? 1).backward());
    grads.push(valuesOf(w.grad!));
    opt.step();
    iterates.push(valuesOf(w));
  }
  opt.zeroGrad();
  for (const t of [a, b, w]) t.dispose();
  return { iterates, grads };
}

describe('norm dynamics of SGD + WD on a scale-invariant loss', () => {
  it('‖x_{t+1}‖² = (1−ηλ)²‖x_t‖² + η²‖g_t‖² at every step (the gradient is orthogonal to x)', () => {
    const [lr, wd] = [0.05, 0.1];
    const check = (loss?: (w: Tensor) => Tensor) => {
      const { iterates, grads } = train({
        x0: X0,
        lr,
        weightDecay: wd,
        steps: 40,
        ...(loss ? { loss } : {}),
      });
      let worst = 0;
      let previous = X0;
      for (const [t, x] of iterates.entries()) {
        const predicted = (1 - lr * wd) ** 2 * squaredNorm(previous) + lr ** 2 * squaredNorm(grads[t]!);
        worst = Math.max(worst, Math.abs(squaredNorm(x) / predicted - 1));
        previous = x;
      }
      return worst;
    };
    // float32: values round at ~6e-8 relative and the computed gradient is orthogonal to x only to
    // rounding; measured worst ~2e-7 of ‖x‖² over 40 steps, so 2e-6 leaves a 10× margin.
    expect(check()).toBeLessThan(2e-6);
    // Control: add a term that is not scale invariant and the identity fails by far more.
    const c = tensor(A);
    expect(check((w) => add(scaleInvariantLoss(w, c, c), sum(mul(w, c))))).toBeGreaterThan(1e-3);
    c.dispose();
  });

  it('reaches the equilibrium ‖x‖² ≈ √(η/(2λ))·σ within 10% after O(1/(ηλ)) steps, from norms 1e-2 and 1e2', () => {
    // Stochastic loss L_t(w) = ⟨ξ_t, w/‖w‖⟩ with ξ_t ~ N(0, s²I): the gradient on the unit sphere is
    // ξ_t projected off x, so σ² = E‖g‖² = (d−1)s² = 1. Predicted ‖x‖⁴ = ησ²/(λ(2−ηλ)).
    const d = 32;
    const s = 1 / Math.sqrt(d - 1);
    const [lr, wd] = [0.1, 0.05];
    const steps = Math.round(8 / (lr * wd));
    const predicted = Math.sqrt(lr / (wd * (2 - lr * wd)));
    expect(predicted).toBeCloseTo(Math.sqrt(lr / (2 * wd)), 2);
    for (const initialNorm of [1e-2, 1e2]) {
      manualSeed(7);
      const direction = Array.from({ length: d }, (_, i) => Math.sin(i + 0.5));
      const scale = initialNorm / Math.sqrt(squaredNorm(direction));
      const w = param(direction.map((v) => v * scale));
      const opt = new SGD([w], { lr, weightDecay: wd });
      const tail: number[] = [];
      for (let t = 0; t < steps; t++) {
        opt.zeroGrad();
        tidy(() => {
          const xi = normal([d], 0, s);
          sum(mul(xi, div(w, sqrt(sum(square(w)))))).backward();
        });
        opt.step();
        if (t >= steps - 200) tail.push(squaredNorm(w.dataSync()));
      }
      // averaged over the last 200 steps: per-step noise of ‖x‖² is a few percent
      const mean = tail.reduce((x, y) => x + y, 0) / tail.length;
      expect(Math.abs(mean / predicted - 1)).toBeLessThan(0.1);
      opt.zeroGrad();
      w.dispose();
    }
  });
});

describe('scaling equivalences', () => {
  const [lr, wd] = [0.1, 0.05];
  // starts at a small norm so that relative clipping fires in the first steps
  const clip: ClipSpec = { type: 'relative' };

  it('(L, η, λ) → (cL, η/c, cλ) leaves the iterates unchanged, with and without clipping', () => {
    for (const clipping of [undefined, clip]) {
      const base = train({ x0: X0, lr, weightDecay: wd, steps: 20, ...(clipping ? { clip: clipping } : {}) });
      // c = 4 is a power of two: every float32 operation scales exactly, so iterates are bit-identical
      const exact = train({
        x0: X0,
        lr: lr / 4,
        weightDecay: 4 * wd,
        steps: 20,
        lossScale: 4,
        clip: clipping,
      });
      expect(exact.iterates).toEqual(base.iterates);
      // c = 3 rounds differently: equal to float32 accuracy (relative 1e-5 after 20 steps)
      const close = train({
        x0: X0,
        lr: lr / 3,
        weightDecay: 3 * wd,
        steps: 20,
        lossScale: 3,
        clip: clipping,
      });
      expect(maxRelativeDifference(close.iterates, base.iterates)).toBeLessThan(1e-5);
    }
  });

  it('(x₀, η, λ) → (c·x₀, c²η, λ/c²) leaves the directions unchanged on a scale-invariant loss', () => {
    for (const clipping of [undefined, clip]) {
      const base = train({ x0: X0, lr, weightDecay: wd, steps: 20, clip: clipping });
      const twice = train({
        x0: X0.map((v) => 2 * v),
        lr: 4 * lr,
        weightDecay: wd / 4,
        steps: 20,
        clip: clipping,
      });
      // c = 2: the whole trajectory is exactly twice the original
      expect(twice.iterates).toEqual(base.iterates.map((x) => x.map((v) => 2 * v)));
      const thrice = train({
        x0: X0.map((v) => 3 * v),
        lr: 9 * lr,
        weightDecay: wd / 9,
        steps: 20,
        clip: clipping,
      });
      expect(maxRelativeDifference(thrice.iterates.map(unit), base.iterates.map(unit))).toBeLessThan(1e-5);
    }
  });

  it('clipping fires on this trajectory (so the equivalences above cover it)', async () => {
    const w = param(X0);
    const a = tensor(A);
    const opt = new SGD([w], { lr, weightDecay: wd, clip });
    tidy(() => scaleInvariantLoss(w, a, a).backward());
    expect((await opt.step({ report: true })).groups[0]!.clipped).toBe(true);
  });
});

function unit(x: number[]): number[] {
  const norm = Math.sqrt(squaredNorm(x));
  return x.map((v) => v / norm);
}

function maxRelativeDifference(a: number[][], b: number[][]): number {
  let worst = 0;
  for (const [t, x] of a.entries()) {
    const y = b[t]!;
    const scale = Math.sqrt(squaredNorm(y));
    worst = Math.max(worst, Math.sqrt(squaredNorm(x.map((v, i) => v - y[i]!))) / scale);
  }
  return worst;
}
