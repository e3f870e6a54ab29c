import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import type { BaseOptimizer } from './base-optimizer.js';
import { LAMB } from './lamb.js';
import type { BaseGroupOptions } from './options.js';
import { linearWarmupDecay } from './schedule.js';
import { SGD } from './sgd.js';
import type { OptimizerStateDict } from './state-dict.js';
import { param, setGrad, valuesOf } from './test-helpers.js';

const X = [
  [0.5, -1, 2],
  [1.5, 0.25],
];
const gradAt = (t: number, i: number) => X[i]!.map((_, j) => Math.sin(3 * t + 2 * i + j) * (1 + t));

type Make = (params: ReturnType<typeof param>[]) => BaseOptimizer<BaseGroupOptions>;

const makers: Record<string, Make> = {
  'SGD + momentum + relative clipping': (ps) =>
    new SGD(
      [
        { params: [['a', ps[0]!]], clip: { type: 'relative' }, weightDecay: 0.1 },
        { params: [['b', ps[1]!]], lr: 0.05 },
      ],
      {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        schedule: linearWarmupDecay({ warmupSteps: 3, totalSteps: 10 }),
      },
    ),
  Adam: (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.01 }),
  AdamW: (ps) => new AdamW(ps, { lr: 0.01, clip: { type: 'norm', maxNorm: 1 } }),
  LAMB: (ps) => new LAMB(ps, { lr: 0.01, weightDecay: 0.01 }),
};

function runSteps(
  opt: BaseOptimizer<BaseGroupOptions>,
  ps: ReturnType<typeof param>[],
  from: number,
  to: number,
): number[][] {
  const out: number[][] = [];
  for (let t = from; t < to; t++) {
    for (const [i, p] of ps.entries()) setGrad(p, gradAt(t, i));
    opt.step();
    out.push(...ps.map(valuesOf));
  }
  return out;
}

describe('stateDict / loadStateDict', () => {
  for (const [label, make] of Object.entries(makers)) {
    it(`${label}: resuming gives bit-identical next steps`, async () => {
      const ps = X.map((x) => param(x));
      const opt = make(ps);
      runSteps(opt, ps, 0, 4);
      const saved = structuredClone(await opt.stateDict());
      const savedParams = ps.map(valuesOf);
      const uninterrupted = runSteps(opt, ps, 4, 8);

      const resumedParams = savedParams.map((x) => param(x));
      const resumed = make(resumedParams);
      await resumed.loadStateDict(saved);
      expect(resumed.stepCount).toBe(4);
      expect(runSteps(resumed, resumedParams, 4, 8)).toEqual(uninterrupted);
    });
  }

  it('restores the clip counter and the options', async () => {
    const ps = X.map((x) => param(x));
    const opt = makers['SGD + momentum + relative clipping']!(ps);
    setGrad(ps[0]!, [100, 100, 100]);
    setGrad(ps[1]!, [0, 0]);
    opt.step();
    const saved = await opt.stateDict();
    expect(saved.groups[0]!.clipCount).toBe(1);
    expect(saved.groups[0]!.options).toMatchObject({
      lr: 0.1,
      weightDecay: 0.1,
      momentum: 0.9,
      name: 'group0',
    });
    const other = new SGD([{ params: [['a', param(X[0]!)]] }, { params: [['b', param(X[1]!)]] }], {
      lr: 1,
      momentum: 0.5,
    });
    await other.loadStateDict(saved);
    expect(other.groupOptions()[0]).toMatchObject({
      lr: 0.1,
      weightDecay: 0.1,
      clip: { type: 'relative', sqrtC: 2 },
    });
    expect((await other.stateDict()).groups[0]!.clipCount).toBe(1);
  });

  it('refuses a state dict from another optimizer or another parameter layout, changing nothing', async () => {
    const ps = X.map((x) => param(x));
    const adam = new Adam(ps, { lr: 0.01 });
    const saved: OptimizerStateDict = await adam.stateDict();
    await expect(new SGD(ps, { lr: 0.1 }).loadStateDict(saved)).rejects.toThrow(
      /from Adam, this optimizer is SGD/,
    );
    const reordered = new Adam([ps[1]!, ps[0]!], { lr: 0.01 });
    await expect(reordered.loadStateDict(saved)).rejects.toThrow(
      /layout differs at position 0: expected param0 \[2\]/,
    );
    const fewer = new Adam([ps[0]!], { lr: 0.01 });
    await expect(fewer.loadStateDict(saved)).rejects.toThrow(/2 vs 1 parameters|1 vs 2 parameters/);
    const twoGroups = new Adam([{ params: [ps[0]!] }, { params: [ps[1]!] }], { lr: 0.01 });
    await expect(twoGroups.loadStateDict(saved)).rejects.toThrow(/has 1 groups, this optimizer 2/);
    const truncated = structuredClone(saved);
    truncated.groups[0]!.params[0]!.state.expAvg = new Float32Array(2);
    await expect(adam.loadStateDict(truncated)).rejects.toThrow(
      /state 'expAvg' of 'param0' has 2 values, expected 3/,
    );
    const badOptions = structuredClone(saved);
    badOptions.groups[0]!.options.lr = -1;
    await expect(adam.loadStateDict(badOptions)).rejects.toThrow(/lr must be a finite number >= 0, got -1/);
    expect(adam.groupOptions()[0]!.lr).toBe(0.01);
  });
});
