import '@sibert/backend-cpu';
import { SGD } from '@sibert/optim';
import { div, mean, memory, mul, square, sum, type Tensor, tensor } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { trainStep } from './step.js';

/** A parameter w and the loss Σw² (gradient 2w), with mean(w) as a metric. */
function toy(values: number[]) {
  const w = tensor(values).requireGrad();
  const optimizer = new SGD([['w', w]], { lr: 0.1 });
  const forward = () => ({ loss: sum(square(w)), meanW: mean(w) });
  return { w, optimizer, forward };
}

const values = (t: Tensor) => Array.from(t.dataSync());

describe('trainStep', () => {
  it('reads the loss before the update and the metrics, updates, clears gradients and frees what it made', async () => {
    const { w, optimizer, forward } = toy([1, -2]);
    const before = memory().numTensors;
    const result = await trainStep(optimizer, forward);
    expect(result.loss).toBeCloseTo(5, 6);
    expect(result.metrics).toEqual({ meanW: -0.5 });
    expect(result.updated).toBe(true);
    expect(result.report).toBeNull();
    // w ← w − 0.1 · 2w = 0.8 w
    expect(values(w)).toEqual([expect.closeTo(0.8, 6), expect.closeTo(-1.6, 6)]);
    expect(w.grad).toBeNull();
    expect(memory().numTensors).toBe(before);
  });

  it('multiplies the loss by lossScale for backward and reports it unscaled', async () => {
    const { w, optimizer, forward } = toy([1, -2]);
    const result = await trainStep(optimizer, forward, { lossScale: 2 });
    expect(result.loss).toBeCloseTo(5, 6);
    // the gradient doubled: w ← w − 0.1 · 4w = 0.6 w
    expect(values(w)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(-1.2, 6)]);
  });

  it('with skipNonFinite leaves the weights alone at a non-finite loss', async () => {
    const w = tensor([1, 2]).requireGrad();
    const optimizer = new SGD([['w', w]], { lr: 0.1 });
    const before = memory().numTensors;
    const result = await trainStep(optimizer, () => ({ loss: div(sum(w), tensor(0)) }), {
      skipNonFinite: true,
    });
    expect(result.updated).toBe(false);
    expect(result.loss).toBe(Number.POSITIVE_INFINITY);
    expect(values(w)).toEqual([1, 2]);
    expect(w.grad).toBeNull();
    expect(memory().numTensors).toBe(before);
  });

  it("returns the optimizer's report when asked, and calls afterBackward with the gradients in place", async () => {
    const { w, optimizer, forward } = toy([3, 4]);
    let gradSeen: number[] = [];
    const result = await trainStep(optimizer, forward, {
      report: true,
      afterBackward: () => {
        gradSeen = values(w.grad!);
      },
    });
    expect(gradSeen).toEqual([6, 8]);
    expect(result.report?.step).toBe(1);
    expect(result.report?.groups[0]?.gradNorm).toBeCloseTo(10, 5);
  });

  it('updateInBackward: the same update inside the backward pass, gradients already freed after it', async () => {
    const a = toy([1, -2]);
    const b = toy([1, -2]);
    let gradAfter: Tensor | null | undefined;
    for (let i = 0; i < 3; i++) {
      const ra = await trainStep(a.optimizer, a.forward);
      const rb = await trainStep(b.optimizer, b.forward, {
        updateInBackward: true,
        report: true,
        afterBackward: () => {
          gradAfter = b.w.grad;
        },
      });
      expect(rb.loss).toBeCloseTo(ra.loss, 6);
      expect(rb.report?.step).toBe(i + 1);
    }
    expect(gradAfter).toBeNull();
    expect(values(b.w)).toEqual(values(a.w).map((v) => expect.closeTo(v, 6)));
  });

  it('a metric whose graph saved a parameter does not block the in-place update', async () => {
    const w = tensor([1, -2]).requireGrad();
    const optimizer = new SGD([['w', w]], { lr: 0.1 });
    const before = memory().numTensors;
    for (const updateInBackward of [false, true]) {
      const result = await trainStep(optimizer, () => ({ loss: sum(square(w)), wTimesW: sum(mul(w, w)) }), {
        updateInBackward,
      });
      expect(result.metrics.wTimesW).toBeCloseTo(result.loss, 6);
    }
    expect(values(w)).toEqual([expect.closeTo(0.64, 6), expect.closeTo(-1.28, 6)]);
    expect(memory().numTensors).toBe(before);
  });
});
