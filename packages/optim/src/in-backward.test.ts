import {
  add,
  matmul,
  memory,
  mul,
  resetPeakMemory,
  sum,
  type Tensor,
  tanh,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { AdamW } from './adam.js';
import { CombinedOptimizer } from './combined.js';
import { LAMB } from './lamb.js';
import type { Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';
import { param, valuesOf } from './test-helpers.js';

/** A two-layer toy: x → tanh(x·w1 + b1)·w2, its loss the mean square of the output minus a target. */
function toy() {
  const w1 = param(
    Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 0.5),
    [3, 4],
  );
  const b1 = param([0.1, -0.2, 0.05, 0]);
  const w2 = param([0.3, -0.4, 0.2, 0.5], [4, 1]);
  const x = tensor([
    [1, 0.5, -1],
    [0.2, -0.3, 0.8],
  ]);
  const loss = (t: number) =>
    tidy(() => {
      const y = matmul(tanh(add(matmul(x, w1), b1)), w2);
      const d = add(y, -0.5 * t);
      return mul(sum(mul(d, d)), 0.5);
    });
  return { params: { w1, b1, w2 }, loss };
}

type Params = ReturnType<typeof toy>['params'];
const makers: [string, (p: Params) => Optimizer][] = [
  ['SGD + WD', (p) => new SGD(Object.entries(p), { lr: 0.2, weightDecay: 0.01 })],
  ['SGD + momentum', (p) => new SGD(Object.entries(p), { lr: 0.1, momentum: 0.9 })],
  ['AdamW', (p) => new AdamW(Object.entries(p), { lr: 0.05 })],
  [
    'SGD + LAMB (combined)',
    (p) =>
      new CombinedOptimizer([
        new SGD([['w1', p.w1]], { lr: 0.2, weightDecay: 0.01 }),
        new LAMB(
          [
            ['b1', p.b1],
            ['w2', p.w2],
          ],
          { lr: 0.05 },
        ),
      ]),
  ],
];

const valuesAll = (p: Params) => Object.values(p).map(valuesOf);

describe('backwardAndStep: the update inside backward', () => {
  for (const [name, make] of makers) {
    it(`${name}: the same parameters as backward then step, the gradients freed`, async () => {
      const [a, b] = [toy(), toy()];
      const [optA, optB] = [make(a.params), make(b.params)];
      for (let t = 1; t <= 4; t++) {
        a.loss(t).backward();
        optA.step();
        optA.zeroGrad();
        const report = await optB.backwardAndStep(b.loss(t), { report: true });
        expect(report.step).toBe(t);
        expect(Object.values(b.params).every((p) => p.grad === null)).toBe(true);
      }
      const [va, vb] = [valuesAll(a.params), valuesAll(b.params)];
      for (const [i, values] of vb.entries())
        for (const [j, v] of values.entries()) expect(v).toBeCloseTo(va[i]![j]!, 6);
      expect(optB.stepCount).toBe(4);
    });
  }

  it('clips with the previous step’s gradient norm: none on the first step, min(1, c/‖g_{t−1}‖) after', async () => {
    const maxNorm = 0.05;
    const [a, b] = [toy(), toy()];
    const plain = new SGD(Object.entries(a.params), { lr: 0.1 });
    const clipped = new SGD(Object.entries(b.params), { lr: 0.1, clip: { type: 'norm', maxNorm } });
    const norms: number[] = [];
    for (let t = 1; t <= 3; t++) {
      // the reference: plain SGD on the gradient scaled by the stale factor, computed here
      a.loss(t).backward();
      const factor = t === 1 ? 1 : Math.min(1, maxNorm / norms[t - 2]!);
      for (const p of Object.values(a.params)) {
        const g = p.grad!;
        p.grad = mul(g, factor);
        g.dispose();
      }
      plain.step();
      plain.zeroGrad();
      const report = await clipped.backwardAndStep(b.loss(t), { report: true });
      norms.push(report.gradNorm);
      const group = report.groups[0]!;
      expect(group.clipFactor).toBeCloseTo(factor, 6);
      expect(group.clipped).toBe(t > 1 && norms[t - 2]! > maxNorm);
      for (const [i, values] of valuesAll(b.params).entries())
        for (const [j, v] of values.entries()) expect(v).toBeCloseTo(valuesAll(a.params)[i]![j]!, 6);
    }
    expect(norms[0]).toBeGreaterThan(maxNorm);
  });

  it('resumes exactly: the stale norm travels in the state dict', async () => {
    const clip = { type: 'relative' as const, sqrtC: 0.5 };
    const [a, b] = [toy(), toy()];
    const optA = new SGD(Object.entries(a.params), { lr: 0.5, weightDecay: 0.01, clip });
    for (let t = 1; t <= 2; t++) optA.backwardAndStep(a.loss(t));
    const saved = await optA.stateDict();
    expect(saved.groups[0]!.previousGradNormSq).toBeGreaterThan(0);
    for (const [name, p] of Object.entries(a.params)) {
      // assign shares the value's storage: free the value, or the parameter cannot be updated in place
      const copy = tensor(valuesOf(p), [...p.shape]);
      b.params[name as keyof Params].assign(copy);
      copy.dispose();
    }
    const optB = new SGD(Object.entries(b.params), { lr: 0.5, weightDecay: 0.01, clip });
    await optB.loadStateDict(saved);
    optA.backwardAndStep(a.loss(3));
    optB.backwardAndStep(b.loss(3));
    expect(valuesAll(b.params)).toEqual(valuesAll(a.params));
    // a plain step() leaves no stale norm behind in the format
    const c = toy();
    const optC = new SGD(Object.entries(c.params), { lr: 0.5, weightDecay: 0.01, clip });
    c.loss(1).backward();
    optC.step();
    expect('previousGradNormSq' in (await optC.stateDict()).groups[0]!).toBe(false);
  });

  it('never holds every gradient at once', () => {
    const count = 12;
    const size = 1000;
    const run = (inBackward: boolean) => {
      const ps = Array.from({ length: count }, (_, i) =>
        param(Array.from({ length: size }, (_, j) => Math.cos(i + j))),
      );
      const opt = new SGD(ps, { lr: 0.01, weightDecay: 0.01, clip: { type: 'relative' } });
      const loss = () => tidy(() => ps.reduce<Tensor>((acc, p) => add(acc, sum(mul(p, p))), tensor(0)));
      const l = loss();
      const before = memory().numBytes;
      resetPeakMemory();
      if (inBackward) opt.backwardAndStep(l);
      else {
        l.backward();
        opt.step();
        opt.zeroGrad();
      }
      const peak = memory().peakBytes - before;
      opt.dispose();
      for (const p of ps) p.dispose();
      return peak;
    };
    const [separate, inBackward] = [run(false), run(true)];
    // backward then step: every gradient exists before the first update
    expect(separate).toBeGreaterThanOrEqual(count * size * 4);
    // in backward: a few parameter-sized tensors in flight (the sum's broadcast gradient, the two
    // terms of mul's and their sum), whatever the number of parameters
    expect(inBackward).toBeLessThanOrEqual(4 * size * 4 + 64);
  });
});
