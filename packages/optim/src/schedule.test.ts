import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  cosineSchedule,
  linearDecay,
  linearWarmup,
  linearWarmupDecay,
  multiplySchedules,
  piecewiseSchedule,
  type ScheduleSpec,
  scheduleFactor,
  validateSchedule,
} from './schedule.js';

const at = (spec: ScheduleSpec, steps: number[]) => steps.map((s) => scheduleFactor(spec, s));

describe('LR schedules', () => {
  it('constant is 1 everywhere', () => {
    expect(at(constantSchedule(), [0, 1, 1e6])).toEqual([1, 1, 1]);
  });

  it("piecewise divides by 10 at 60% and 90% of training (the paper's schedule)", () => {
    const spec = piecewiseSchedule({ factor: 0.1, atFractions: [0.6, 0.9], totalSteps: 1000 });
    const values = at(spec, [0, 599, 600, 899, 900, 999]);
    expect(values.map((v) => Number(v.toPrecision(12)))).toEqual([1, 1, 0.1, 0.1, 0.01, 0.01]);
    const bySteps = piecewiseSchedule({ factor: 0.5, atSteps: [3, 5] });
    expect(at(bySteps, [2, 3, 4, 5, 100])).toEqual([1, 0.5, 0.5, 0.25, 0.25]);
  });

  it('linear warmup starts above 0 and reaches 1 at warmupSteps − 1', () => {
    expect(at(linearWarmup(4), [0, 1, 2, 3, 10])).toEqual([0.25, 0.5, 0.75, 1, 1]);
  });

  it('linear decay and cosine go from 1 at startStep to finalFactor at totalSteps', () => {
    expect(at(linearDecay({ startStep: 2, totalSteps: 6 }), [0, 2, 3, 5, 6, 9])).toEqual([
      1, 1, 0.75, 0.25, 0, 0,
    ]);
    const cosine = cosineSchedule({ totalSteps: 4, finalFactor: 0.1 });
    const values = at(cosine, [0, 2, 4, 8]);
    expect(values[0]).toBe(1);
    expect(values[1]).toBeCloseTo(0.55, 12);
    expect(values[2]).toBeCloseTo(0.1, 12);
    expect(values[3]).toBeCloseTo(0.1, 12);
  });

  it('composes: warmup then linear decay, and products of any schedules', () => {
    const spec = linearWarmupDecay({ warmupSteps: 2, totalSteps: 6 });
    expect(at(spec, [0, 1, 2, 4, 6])).toEqual([0.5, 1, 1, 0.5, 0]);
    expect(at(linearWarmupDecay({ warmupSteps: 0, totalSteps: 4 }), [0, 2, 4])).toEqual([1, 0.5, 0]);
    const product = multiplySchedules(linearWarmup(2), piecewiseSchedule({ factor: 0.1, atSteps: [3] }));
    expect(at(product, [0, 1, 3]).map((v) => Number(v.toPrecision(12)))).toEqual([0.5, 1, 0.1]);
  });

  it('is a pure function of the step (same value whatever was asked before)', () => {
    const spec = linearWarmupDecay({ warmupSteps: 10, totalSteps: 100 });
    const forward = at(spec, [5, 50, 99]);
    const backward = at(spec, [99, 50, 5]).reverse();
    expect(backward).toEqual(forward);
  });

  it('rejects unknown kinds and bad parameters, naming the problem', () => {
    expect(() => validateSchedule({ kind: 'exponential' })).toThrow(/unknown schedule kind 'exponential'/);
    expect(() => validateSchedule(null)).toThrow(/expected a schedule spec/);
    expect(() => linearWarmup(0)).toThrow(/warmupSteps must be an integer >= 1, got 0/);
    expect(() => piecewiseSchedule({ factor: 0.1, atFractions: [0.6] })).toThrow(/totalSteps/);
    expect(() => piecewiseSchedule({ factor: 0.1, atFractions: [1.5], totalSteps: 10 })).toThrow(/fraction/);
    expect(() => piecewiseSchedule({ factor: 0.1 })).toThrow(/exactly one of atSteps or atFractions/);
    expect(() => linearDecay({ startStep: 5, totalSteps: 5 })).toThrow(/totalSteps must be an integer >= 6/);
    expect(() => cosineSchedule({ totalSteps: 10, finalFactor: -1 })).toThrow(/finalFactor/);
    expect(() => multiplySchedules({ kind: 'nope' } as unknown as ScheduleSpec)).toThrow(
      /unknown schedule kind/,
    );
  });
});
