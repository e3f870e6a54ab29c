import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CombinedOptimizer } from './combined.js';
import { LAMB } from './lamb.js';
import { linearWarmupDecay, piecewiseSchedule } from './schedule.js';
import { SGD } from './sgd.js';
import type { StateDict } from './state-dict.js';
import { param, setGrad } from './test-helpers.js';

/**
 * Written by the optimizers before they were split into files: run folders hold this format, so
 * it must not change, not even the order of the keys.
 */
const FIXTURE = new URL('./fixtures/combined-state-dict.json', import.meta.url);

function setup() {
  const enc = param([0.5, -1, 2, 1.5], [2, 2]);
  const headW = param([1, -1, 0.5, 0.25, 2, -0.5], [2, 3]);
  const headB = param([0.1, -0.2, 0.3]);
  const sgd = new SGD([['encoder.w', enc]], {
    lr: 0.1,
    weightDecay: 0.01,
    momentum: 0.9,
    clip: { type: 'relative' },
    scaleInvariant: true,
    name: 'encoder',
    schedule: piecewiseSchedule({ factor: 0.1, atFractions: [0.6, 0.9], totalSteps: 10 }),
  });
  const lamb = new LAMB(
    [
      { params: [['head.w', headW]], name: 'heads' },
      { params: [['head.b', headB]], lr: 0.02, clip: { type: 'norm', maxNorm: 0.5 } },
    ],
    { lr: 0.01, weightDecay: 0.01, schedule: linearWarmupDecay({ warmupSteps: 2, totalSteps: 10 }) },
  );
  return { params: [enc, headW, headB], optimizer: new CombinedOptimizer([sgd, lamb]) };
}

const toJson = (dict: StateDict) =>
  JSON.stringify(dict, (_key, v) => (v instanceof Float32Array ? Array.from(v) : v));

/** The format alone: every state buffer replaced by its length, so key order and options compare exactly. */
const formatOf = (dict: StateDict) =>
  JSON.stringify(dict, (_key, v) => (v instanceof Float32Array ? `float32[${v.length}]` : v));

/** Every state buffer's values, in order. */
function stateValues(dict: StateDict): number[] {
  const values: number[] = [];
  JSON.stringify(dict, (_key, v) => {
    if (v instanceof Float32Array) values.push(...v);
    return v;
  });
  return values;
}

/** The JSON back as a state dict: each parameter's `state` buffers as Float32Arrays. */
const fromJson = (text: string): StateDict =>
  JSON.parse(text, (key, v) =>
    key === 'state'
      ? Object.fromEntries(
          Object.entries(v as Record<string, number[]>).map(([k, a]) => [k, Float32Array.from(a)]),
        )
      : v,
  );

describe('the state-dict format', () => {
  const fixture = readFileSync(FIXTURE, 'utf8');

  it('is what the optimizers wrote before, key order included (values to float32 rounding: updates are computed in one pass now)', async () => {
    const { params, optimizer } = setup();
    for (let t = 1; t <= 3; t++) {
      for (const p of params)
        setGrad(
          p,
          Array.from({ length: p.size }, (_, j) => Math.sin(3 * t + j) * 10 * t),
        );
      optimizer.step();
    }
    const dict = await optimizer.stateDict();
    const expected = fromJson(fixture);
    expect(formatOf(dict)).toBe(formatOf(expected));
    const [actual, before] = [stateValues(dict), stateValues(expected)];
    expect(actual.length).toBeGreaterThan(0);
    expect(actual.length).toBe(before.length);
    for (const [i, v] of actual.entries())
      expect(Math.abs(v - before[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(v)));
  });

  it('loads a snapshot written before and writes it back unchanged', async () => {
    const { optimizer } = setup();
    await optimizer.loadStateDict(fromJson(fixture));
    expect(optimizer.stepCount).toBe(3);
    expect(toJson(await optimizer.stateDict())).toBe(toJson(fromJson(fixture)));
  });
});
