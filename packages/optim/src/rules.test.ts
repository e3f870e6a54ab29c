import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import { LAMB } from './lamb.js';
import type { Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';
import { param, setGrad, valuesOf } from './test-helpers.js';

// Each rule against the formula evaluated in float64. The optimizer runs in float32, so values
// agree to float32 rounding: relative 1e-6 on values of order 1 after a few steps.
const X0 = [1, -2, 0.5, 3];
const GRADS = [
  [0.5, 0.25, -1, 2],
  [-0.3, 0.8, 0.1, 1.5],
  [0.05, -0.6, 0.7, -0.2],
];

function run(optimizer: (p: ReturnType<typeof param>) => Optimizer): number[][] {
  const p = param(X0);
  const opt = optimizer(p);
  return GRADS.map((g) => {
    setGrad(p, g);
    opt.step();
    return valuesOf(p);
  });
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  for (const [t, row] of actual.entries()) {
    for (const [i, v] of row.entries()) {
      const want = expected[t]![i]!;
      expect(Math.abs(v - want)).toBeLessThan(1e-6 * (1 + Math.abs(want)));
    }
  }
}

function reference(update: (x: number[], g: number[], t: number, state: number[][]) => number[]): number[][] {
  let x = [...X0];
  const state: number[][] = [X0.map(() => 0), X0.map(() => 0)];
  return GRADS.map((g, t) => (x = update(x, g, t + 1, state)));
}

describe('SGD', () => {
  it('takes x ← (1 − ηλ)x − ηg (hand-computed)', () => {
    const p = param([1, -2]);
    const opt = new SGD([p], { lr: 0.1, weightDecay: 0.1 });
    setGrad(p, [0.5, 0.25]);
    opt.step();
    expect(valuesOf(p)[0]).toBeCloseTo(0.94, 6);
    expect(valuesOf(p)[1]).toBeCloseTo(-2.005, 6);
    opt.step();
    expect(valuesOf(p)[0]).toBeCloseTo(0.8806, 6);
    expect(valuesOf(p)[1]).toBeCloseTo(-2.00995, 6);
  });

  it('without momentum holds no per-parameter state', () => {
    const opt = new SGD([param(X0)], { lr: 0.1, weightDecay: 0.01 });
    expect(opt.stateBytes()).toBe(0);
  });

  it('heavy-ball and Nesterov momentum follow torch.optim.SGD', () => {
    for (const nesterov of [false, true]) {
      const [lr, wd, mu] = [0.1, 0.01, 0.9];
      const actual = run((p) => new SGD([p], { lr, weightDecay: wd, momentum: mu, nesterov }));
      const expected = reference((x, g, _t, [buf]) =>
        x.map((xi, i) => {
          const d = g[i]! + wd * xi;
          buf![i] = mu * buf![i]! + d;
          return xi - lr * (nesterov ? d + mu * buf![i]! : buf![i]!);
        }),
      );
      expectClose(actual, expected);
    }
    expect(new SGD([param(X0)], { lr: 0.1, momentum: 0.9 }).stateBytes()).toBe(4 * X0.length);
  });
});

describe('Adam family', () => {
  const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];

  it('Adam: the first step moves each coordinate by ≈ lr against the gradient sign', () => {
    const p = param([1, -2]);
    const opt = new Adam([p], { lr: 0.5 });
    setGrad(p, [3, -0.25]);
    opt.step();
    expect(valuesOf(p)[0]).toBeCloseTo(0.5, 6);
    expect(valuesOf(p)[1]).toBeCloseTo(-1.5, 6);
    expect(opt.stateBytes()).toBe(2 * 4 * 2);
  });

  it('Adam couples L2 decay into the gradient; AdamW decouples it', () => {
    for (const decoupled of [false, true]) {
      const make = decoupled ? AdamW : Adam;
      const actual = run((p) => new make([p], { lr, weightDecay: wd, betas: [b1, b2], eps }));
      const expected = reference((x, g, t, [m, v]) =>
        x.map((xi, i) => {
          const d = decoupled ? g[i]! : g[i]! + wd * xi;
          m![i] = b1 * m![i]! + (1 - b1) * d;
          v![i] = b2 * v![i]! + (1 - b2) * d * d;
          const step = m![i]! / (1 - b1 ** t) / (Math.sqrt(v![i]! / (1 - b2 ** t)) + eps);
          return xi - lr * step - (decoupled ? lr * wd * xi : 0);
        }),
      );
      expectClose(actual, expected);
    }
  });

  it('LAMB scales the Adam direction plus decay by the trust ratio ‖x‖/‖u‖', () => {
    const lambEps = 1e-6;
    const actual = run(
      (p) => new LAMB([p], { lr, weightDecay: wd, betas: [b1, b2], eps: lambEps, adaptVectors: true }),
    );
    const expected = reference((x, g, t, [m, v]) => {
      const u = x.map((xi, i) => {
        m![i] = b1 * m![i]! + (1 - b1) * g[i]!;
        v![i] = b2 * v![i]! + (1 - b2) * g[i]! ** 2;
        return m![i]! / (1 - b1 ** t) / (Math.sqrt(v![i]! / (1 - b2 ** t)) + lambEps) + wd * xi;
      });
      const trust = Math.hypot(...x) / Math.hypot(...u);
      return x.map((xi, i) => xi - lr * trust * u[i]!);
    });
    expectClose(actual, expected);
    expect(new LAMB([param(X0)], { lr }).stateBytes()).toBe(2 * 4 * X0.length);
  });

  it('LAMB gives vectors (biases, norm gains) the plain Adam direction plus decay unless adaptVectors', () => {
    const lambEps = 1e-6;
    const actual = run((p) => new LAMB([p], { lr, weightDecay: wd, betas: [b1, b2], eps: lambEps }));
    const expected = reference((x, g, t, [m, v]) =>
      x.map((xi, i) => {
        m![i] = b1 * m![i]! + (1 - b1) * g[i]!;
        v![i] = b2 * v![i]! + (1 - b2) * g[i]! ** 2;
        return xi - lr * (m![i]! / (1 - b1 ** t) / (Math.sqrt(v![i]! / (1 - b2 ** t)) + lambEps) + wd * xi);
      }),
    );
    expectClose(actual, expected);
  });

  it('LAMB scales a matrix by its trust ratio without adaptVectors', () => {
    const p = param([1, -2, 0.5, 3], [2, 2]);
    const opt = new LAMB([p], { lr: 0.1 });
    setGrad(p, [1, 1, 1, 1]);
    opt.step();
    // The first Adam direction is sign(g) = ones (‖u‖ = 2), ‖x‖ = √14.25: x − 0.1·(√14.25/2)·1.
    const shift = (0.1 * Math.sqrt(14.25)) / 2;
    [1 - shift, -2 - shift, 0.5 - shift, 3 - shift].forEach((want, i) => {
      expect(valuesOf(p)[i]).toBeCloseTo(want, 5);
    });
  });

  it('LAMB uses trust ratio 1 for a zero parameter', () => {
    const p = param([0, 0, 0, 0], [2, 2]);
    const opt = new LAMB([p], { lr: 0.1 });
    setGrad(p, [2, -1, 2, -1]);
    opt.step();
    expect(valuesOf(p)[0]).toBeCloseTo(-0.1, 5);
    expect(valuesOf(p)[1]).toBeCloseTo(0.1, 5);
  });
});
