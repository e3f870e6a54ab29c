import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import { CombinedOptimizer } from './combined.js';
import { createOptimizer } from './create.js';
import { LAMB } from './lamb.js';
import { SGD } from './sgd.js';
import { param, setGrad, valuesOf } from './test-helpers.js';

describe('createOptimizer', () => {
  it('builds each kind with its options, as its constructor does', () => {
    const sgd = createOptimizer('sgd', [param([1])], { lr: 0.1, momentum: 0.9 });
    expect(sgd).toBeInstanceOf(SGD);
    expect(sgd.groupOptions()[0]!.momentum).toBe(0.9);
    expect(createOptimizer('adam', [param([1])], { lr: 0.1 })).toBeInstanceOf(Adam);
    expect(createOptimizer('adamw', [param([1])], { lr: 0.1 }).groupOptions()[0]!.weightDecay).toBe(0.01);
    const lamb = createOptimizer('lamb', [{ params: [param([1])], adaptVectors: true }], { lr: 0.1 });
    expect(lamb).toBeInstanceOf(LAMB);
    expect(lamb.groupOptions()[0]!.adaptVectors).toBe(true);
    expect(new AdamW([param([1])], { lr: 0.1 }).name).toBe('AdamW');
  });

  it('gives the same steps as the constructor', () => {
    const [a, b] = [param([1, -2]), param([1, -2])];
    const built = createOptimizer('lamb', [a], { lr: 0.1, weightDecay: 0.01 });
    const direct = new LAMB([b], { lr: 0.1, weightDecay: 0.01 });
    for (const [p, opt] of [
      [a, built],
      [b, direct],
    ] as const) {
      setGrad(p, [0.5, 0.25]);
      opt.step();
    }
    expect(valuesOf(a)).toEqual(valuesOf(b));
  });

  it('refuses an unknown kind and an option the kind does not have', () => {
    expect(() => createOptimizer('rmsprop' as 'sgd', [param([1])], { lr: 0.1 })).toThrow(
      /unknown optimizer kind 'rmsprop'; expected one of sgd, adam, adamw, lamb/,
    );
    expect(() => createOptimizer('adam', [param([1])], { lr: 0.1, momentum: 0.9 } as never)).toThrow(
      /unknown option\(s\) momentum/,
    );
  });

  it("combines into one optimizer whose report keeps each part's report at its position", async () => {
    const [encoder, head] = [param([3, 4]), param([1, 0])];
    const both = new CombinedOptimizer([
      createOptimizer('sgd', [encoder], { lr: 0.1, weightDecay: 0.01, scaleInvariant: true }),
      createOptimizer('lamb', [head], { lr: 0.01 }),
    ]);
    setGrad(encoder, [0.4, -0.3]);
    setGrad(head, [0, 2]);
    const report = await both.step({ report: true });
    const [sgd, lamb] = report.parts;
    expect(sgd.groups[0]!.effectiveLr).toBeCloseTo(0.1 / 25, 8);
    expect(sgd.gradNorm).toBeCloseTo(0.5, 6);
    expect(lamb.groups[0]!.optimizer).toBe('LAMB');
    expect(report.groups).toEqual([...sgd.groups, ...lamb.groups]);
    expect(both.optimizers[0].lrAt(0)).toBe(0.1);
    expect(both.stepCount).toBe(1);
  });
});
