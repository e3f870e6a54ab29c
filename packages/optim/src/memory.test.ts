import { memory, resetPeakMemory, tidy } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, AdamW } from './adam.js';
import { LAMB } from './lamb.js';
import type { Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';
import { param, setGrad } from './test-helpers.js';

const COUNT = 12;
const SIZE = 1000;
const BYTES = SIZE * 4;

function params() {
  const ps = Array.from({ length: COUNT }, (_, i) =>
    param(Array.from({ length: SIZE }, (_, j) => Math.sin(i + j))),
  );
  for (const [i, p] of ps.entries())
    setGrad(
      p,
      Array.from({ length: SIZE }, (_, j) => Math.cos(i * j)),
    );
  return ps;
}

const makers: [string, (ps: ReturnType<typeof params>) => Optimizer, number][] = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.01, clip: { type: 'relative' } }), 0],
  ['SGD + momentum', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), 1],
  ['Adam', (ps) => new Adam(ps, { lr: 0.1 }), 2],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.1, clip: { type: 'norm', maxNorm: 1 } }), 2],
  ['LAMB', (ps) => new LAMB(ps, { lr: 0.1 }), 2],
];

describe('memory', () => {
  for (const [name, make, floatsPerParam] of makers) {
    it(`${name}: holds ${floatsPerParam} float(s) of state per parameter, updates in place, frees every temporary`, async () => {
      const ps = params();
      const before = memory().numBytes;
      const opt = make(ps);
      const held = memory().numBytes - before;
      expect(opt.stateBytes()).toBe(floatsPerParam * COUNT * BYTES);
      expect(held).toBe(opt.stateBytes());

      opt.step();
      // the clip counter is one float32 scalar per clipping group, not per-parameter state
      const steady = memory().numBytes;
      expect(steady - before - held).toBeLessThanOrEqual(4);
      resetPeakMemory();
      for (let i = 0; i < 3; i++) opt.step();
      await opt.step({ report: true });
      tidy(() => opt.step());
      expect(memory().numBytes).toBe(steady);
      // workspace: at most 5 parameter-sized temporaries (measured 2 to 5) plus a few scalars,
      // however many parameters there are
      expect(memory().peakBytes - steady).toBeLessThanOrEqual(5 * BYTES + 64);
      opt.zeroGrad();
      opt.dispose();
      for (const p of ps) p.dispose();
      expect(memory().numBytes).toBe(before - COUNT * 2 * BYTES);
    });
  }
});
