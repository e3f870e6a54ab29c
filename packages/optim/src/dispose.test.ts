import { DisposedError, memory } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { Adam } from './adam.js';
import { CombinedOptimizer } from './combined.js';
import { LAMB } from './lamb.js';
import { SGD } from './sgd.js';
import { param, setGrad } from './test-helpers.js';

describe('dispose', () => {
  it('frees the moments and the clip counter, once; any later use is a DisposedError', async () => {
    const p = param([1, 2, 3]);
    const before = memory().numTensors;
    const adam = new Adam([p], { lr: 0.1, clip: { type: 'norm', maxNorm: 0.1 } });
    setGrad(p, [1, 1, 1]);
    adam.step();
    // two moments and the clip counter
    expect(memory().numTensors - before).toBe(3 + 1);
    adam.dispose();
    expect(memory().numTensors - before).toBe(1); // the gradient, which belongs to the parameter
    adam.dispose();
    expect(memory().numTensors - before).toBe(1);
    expect(() => adam.step()).toThrow(DisposedError);
    expect(() => adam.step()).toThrow(/Adam\.step: the optimizer was disposed/);
    expect(() => adam.zeroGrad()).toThrow(DisposedError);
    expect(() => adam.stateBytes()).toThrow(DisposedError);
    expect(() => adam.lrAt(0)).toThrow(DisposedError);
    await expect(adam.stateDict()).rejects.toThrow(DisposedError);
  });

  it('of a CombinedOptimizer frees every part', () => {
    const [a, b] = [param([1, 2]), param([3, 4, 5])];
    const before = memory().numTensors;
    const sgd = new SGD([a], { lr: 0.1, momentum: 0.9 });
    const lamb = new LAMB([b], { lr: 0.1 });
    const both = new CombinedOptimizer([sgd, lamb]);
    // SGD's momentum buffer and LAMB's two moments
    expect(memory().numTensors - before).toBe(3);
    both.dispose();
    both.dispose();
    expect(memory().numTensors).toBe(before);
    expect(() => both.step()).toThrow(/CombinedOptimizer\.step: the optimizer was disposed/);
    expect(() => sgd.step()).toThrow(DisposedError);
    expect(a.isDisposed || b.isDisposed).toBe(false);
  });
});
