import { describe, expect, it } from 'vitest';
import { CombinedOptimizer } from './combined.js';
import { LAMB } from './lamb.js';
import { SGD } from './sgd.js';
import type { OptimizerStateDict } from './state-dict.js';
import { param, setGrad, valuesOf } from './test-helpers.js';

function model() {
  return {
    encoder: param([3, 4]),
    head: param([1, -1, 0.5]),
    bias: param([0.1]),
  };
}

describe('CombinedOptimizer', () => {
  it('steps SGD on the scale-invariant encoder and LAMB on the head in one call, and reports both', async () => {
    const m = model();
    const sgd = new SGD([['encoder.w', m.encoder]], {
      lr: 0.1,
      weightDecay: 0.01,
      clip: { type: 'relative' },
      scaleInvariant: true,
      name: 'encoder',
    });
    const lamb = new LAMB(
      [
        ['head.w', m.head],
        ['head.b', m.bias],
      ],
      { lr: 0.01, name: 'heads' },
    );
    const both = new CombinedOptimizer([sgd, lamb], {
      cover: [
        ['encoder.w', m.encoder],
        ['head.w', m.head],
        ['head.b', m.bias],
      ],
    });
    setGrad(m.encoder, [0.4, -0.3]);
    setGrad(m.head, [1, 1, 1]);
    setGrad(m.bias, [1]);
    const report = await both.step({ report: true });
    expect(report.groups.map((g) => [g.optimizer, g.group])).toEqual([
      ['SGD', 'encoder'],
      ['LAMB', 'heads'],
    ]);
    expect(report.gradNorm).toBeCloseTo(Math.sqrt(0.25 + 4), 5);
    expect(report.paramNorm).toBeCloseTo(Math.sqrt(25 + 2.25 + 0.01), 5);
    expect(report.groups[0]!.effectiveLr).toBeCloseTo(0.1 / 25, 8);
    expect(valuesOf(m.encoder)[0]).toBeCloseTo(3 - 0.1 * (0.4 + 0.03), 6);
    expect(valuesOf(m.head)[0]).not.toBe(1);
    expect(both.stateBytes()).toBe(lamb.stateBytes());
    expect(both.stateBytes()).toBe(2 * 4 * 4);
    both.zeroGrad();
    expect([m.encoder.grad, m.head.grad, m.bias.grad]).toEqual([null, null, null]);
    expect(both.step()).toBeUndefined();
  });

  it('refuses a parameter claimed by two optimizers, or one left out when full coverage is asked', () => {
    const m = model();
    const sgd = new SGD([['encoder.w', m.encoder]], { lr: 0.1 });
    expect(() => new CombinedOptimizer([sgd, new LAMB([['enc', m.encoder]], { lr: 0.1 })])).toThrow(
      /parameter 'enc' is claimed twice \(optimizer 0 \(SGD\) as 'encoder.w' and optimizer 1 \(LAMB\)\)/,
    );
    const lamb = new LAMB([['head.w', m.head]], { lr: 0.1 });
    const all = Object.entries(m).map(([name, t]) => [name, t] as const);
    expect(() => new CombinedOptimizer([sgd, lamb], { cover: all })).toThrow(
      /1 parameter\(s\) are not claimed by any optimizer: 'bias'/,
    );
    expect(() => new CombinedOptimizer([sgd, lamb])).not.toThrow();
    expect(() => new CombinedOptimizer([])).toThrow(/at least one optimizer/);
  });

  it('saves and resumes all parts, checking every part before loading any', async () => {
    const m = model();
    const make = (mm: ReturnType<typeof model>) =>
      new CombinedOptimizer([
        new SGD([mm.encoder], { lr: 0.1, weightDecay: 0.01 }),
        new LAMB([mm.head, mm.bias], { lr: 0.01 }),
      ]);
    const both = make(m);
    const stepOnce = (mm: ReturnType<typeof model>, opt: CombinedOptimizer, t: number) => {
      setGrad(mm.encoder, [Math.sin(t), Math.cos(t)]);
      setGrad(mm.head, [t, -t, 1]);
      setGrad(mm.bias, [0.5 * t]);
      opt.step();
      return [mm.encoder, mm.head, mm.bias].map(valuesOf);
    };
    stepOnce(m, both, 1);
    const saved = structuredClone(await both.stateDict());
    const copy = {
      encoder: param(valuesOf(m.encoder)),
      head: param(valuesOf(m.head)),
      bias: param(valuesOf(m.bias)),
    };
    const resumed = make(copy);
    await resumed.loadStateDict(saved);
    expect(stepOnce(copy, resumed, 2)).toEqual(stepOnce(m, both, 2));

    const broken = structuredClone(saved);
    (broken.parts[1] as OptimizerStateDict).groups[0]!.params.pop();
    const untouched = make(model());
    await expect(untouched.loadStateDict(broken)).rejects.toThrow(/layout differs/);
    expect(untouched.optimizers[0]!.stepCount).toBe(0);
  });
});
