import { RangeArgumentError, tensor } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import { LAMB } from './lamb.js';
import type { ScheduleSpec } from './schedule.js';
import { SGD } from './sgd.js';
import { param } from './test-helpers.js';

describe('bad options are clear errors at construction', () => {
  const p = () => param([1, 2]);

  it('learning rate, weight decay, momentum, betas, eps', () => {
    expect(() => new SGD([p()], { lr: -0.1 })).toThrow(
      /group 'group0': lr must be a finite number >= 0, got -0.1/,
    );
    expect(() => new SGD([p()], { lr: Number.NaN })).toThrow(/lr must be/);
    expect(() => new SGD([p()], { lr: 0.1, weightDecay: -1 })).toThrow(
      /weightDecay must be a finite number >= 0, got -1/,
    );
    expect(() => new SGD([p()], { lr: 0.1, momentum: 1 })).toThrow(/momentum must be in \[0, 1\), got 1/);
    expect(() => new SGD([p()], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
    expect(() => new Adam([p()], { lr: 0.1, betas: [0.9, 1] })).toThrow(
      /betas must be two numbers in \[0, 1\)/,
    );
    expect(() => new AdamW([p()], { lr: 0.1, eps: 0 })).toThrow(/eps must be a finite number > 0, got 0/);
    expect(() => new LAMB([p()], { lr: 0.1, betas: [-0.1, 0.9] })).toThrow(/betas/);
    expect(() => new SGD([p()], { lr: 0.1, weightDecay: 0.1, clip: { type: 'relative', sqrtC: 0 } })).toThrow(
      /sqrtC > 0/,
    );
    expect(() => new SGD([p()], { lr: 0.1, clip: { type: 'norm', maxNorm: -1 } })).toThrow(
      /maxNorm > 0, got -1/,
    );
    expect(() => new SGD([p()], { lr: 0.1, clip: { type: 'value' } as never })).toThrow(
      /unknown clip type 'value'/,
    );
  });

  it('unknown schedules', () => {
    const schedule = { kind: 'step' } as unknown as ScheduleSpec;
    expect(() => new SGD([p()], { lr: 0.1, schedule })).toThrow(/unknown schedule kind 'step'/);
  });

  it('per-group options override the defaults, and are checked per group', () => {
    const opt = new SGD(
      [
        { params: [p()], name: 'encoder', weightDecay: 0.01 },
        { params: [p()], lr: 0.5 },
      ],
      { lr: 0.1 },
    );
    expect(opt.groupOptions().map((o) => [o.name, o.lr, o.weightDecay])).toEqual([
      ['encoder', 0.1, 0.01],
      ['group1', 0.5, 0],
    ]);
    expect(opt.lrAt(1)).toBe(0.5);
    expect(() => new SGD([{ params: [p()] }, { params: [p()], lr: -1 }], { lr: 0.1 })).toThrow(
      /group 'group1': lr/,
    );
  });

  it('groups with no parameters, parameters claimed twice, non-float parameters', () => {
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/group 'group0' has no parameters/);
    expect(() => new SGD([{ params: [] }], { lr: 0.1 })).toThrow(/group 'group0' has no parameters/);
    const shared = p();
    expect(() => new SGD([{ params: [['w', shared]] }, { params: [['w2', shared]] }], { lr: 0.1 })).toThrow(
      /parameter 'w2' is claimed twice \(group 'group0' as 'w' and group 'group1'\)/,
    );
    expect(() => new SGD([tensor([1, 2], [2], 'int32')], { lr: 0.1 })).toThrow(/must be float32, got int32/);
    expect(() => new SGD([p()], { lr: -1 })).toThrow(RangeArgumentError);
  });

  it('setOptions validates and cannot change the state layout', () => {
    const opt = new SGD([p()], { lr: 0.1 });
    opt.setOptions(0, { lr: 0.2 });
    expect(opt.lrAt(0)).toBe(0.2);
    expect(() => opt.setOptions(0, { lr: -2 })).toThrow(/lr must be/);
    expect(() => opt.setOptions(0, { momentum: 0.9 })).toThrow(/change the per-parameter state/);
    expect(() => opt.setOptions(3, { lr: 1 })).toThrow(/no group 3; there are 1/);
  });

  it('accepts named parameters from a Map or pairs, and names plain lists param<i>', () => {
    const named = new SGD(new Map([['enc.w', p()]]), { lr: 0.1 });
    expect(named.parameters().map((x) => x.name)).toEqual(['enc.w']);
    const plain = new SGD([{ params: [p(), p()] }, { params: [p()] }], { lr: 0.1 });
    expect(plain.parameters().map((x) => x.name)).toEqual(['param0', 'param1', 'param2']);
  });
});

describe('option names come from the defaults', () => {
  const p = () => param([1, 2]);

  it('an option the optimizer does not have is an error, naming the ones it has', () => {
    expect(() => new Adam([p()], { lr: 0.1, momentum: 0.9 } as never)).toThrow(
      /group 'group0': unknown option\(s\) momentum; the options are lr, weightDecay, clip, schedule, scaleInvariant, betas, eps, name/,
    );
    expect(() => new SGD([{ params: [p()], betas: [0.9, 0.99] } as never], { lr: 0.1 })).toThrow(
      /unknown option\(s\) betas/,
    );
  });

  it('a state dict keeps only the options the optimizer has', async () => {
    const sgd = new SGD([p()], { lr: 0.1, momentum: 0.5 });
    const saved = await sgd.stateDict();
    saved.groups[0]!.options.retired = true;
    await sgd.loadStateDict(saved);
    expect(Object.keys(sgd.groupOptions()[0]!)).not.toContain('retired');
  });
});
