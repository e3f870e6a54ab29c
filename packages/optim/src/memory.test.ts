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

/** Half matrices, half vectors: LAMB treats the two differently. */
function params() {
  const ps = Array.from({ length: COUNT }, (_, i) =>
    param(
      Array.from({ length: SIZE }, (_, j) => Math.sin(i + j)),
      i % 2 === 0 ? [SIZE / 10, 10] : [SIZE],
    ),
  );
  for (const [i, p] of ps.entries())
    setGrad(
      p,
      Array.from({ length: SIZE }, (_, j) => Math.cos(i * j)),
    );
  return ps;
}

/** Name, optimizer, floats of state per parameter element, parameter-sized temporaries a step may make. */
const makers: [string, (ps: ReturnType<typeof params>) => Optimizer, number, number][] = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1, weightDecay: 0.01, clip: { type: 'relative' } }), 0, 0],
  ['SGD + Nesterov momentum', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true }), 1, 0],
  ['Adam', (ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.01 }), 2, 0],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.1, clip: { type: 'norm', maxNorm: 1 } }), 2, 0],
  // a matrix's direction, whole for its norm, and the few tensors that compute it
  ['LAMB', (ps) => new LAMB(ps, { lr: 0.1, weightDecay: 0.01 }), 2, 3],
];

describe('memory', () => {
  for (const [name, make, floatsPerParam, temporaries] of makers) {
    it(`${name}: holds ${floatsPerParam} float(s) of state per parameter, updates in place with ${temporaries} parameter-sized temporaries, frees every temporary`, async () => {
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
      // the engine's peak during the steps, not live bytes before and after, which cannot see a
      // temporary: a few scalars (norms, clip factors) beyond the parameter-sized ones
      expect(memory().peakBytes - steady).toBeLessThanOrEqual(temporaries * BYTES + 64);
      opt.zeroGrad();
      opt.dispose();
      for (const p of ps) p.dispose();
      expect(memory().numBytes).toBe(before - COUNT * 2 * BYTES);
    });
  }
});
