import '@sibert/backend-cpu';
import {
  DTypeError,
  gradcheck,
  manualSeed,
  normal,
  RangeArgumentError,
  ShapeError,
  sum,
  type Tensor,
  tensor,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { GELU, ReLU } from './activation.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { FeedForward } from './feed-forward.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { maxAbsDiff, values, withParameters } from './test-support.js';

const ids = (v: number[][]) => tensor(v, undefined, 'int32');

function expectShapeError(fn: () => unknown, ...parts: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ShapeError);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

describe('Linear', () => {
  it('computes x·Wᵀ + b with W stored [out, in]', () => {
    const layer = new Linear(2, 3);
    layer.loadStateDict({
      weight: tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      bias: tensor([1, 0, -1]),
    });
    const y = layer.forward(
      tensor([
        [1, 1],
        [2, -1],
      ]),
    );
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.dataSync())).toEqual([4, 7, 10, 1, 2, 3]);
  });

  it('keeps leading axes and works without bias', () => {
    const layer = new Linear(2, 1, { bias: false });
    expect(layer.bias).toBeNull();
    layer.loadStateDict({ weight: tensor([[2, -1]]) });
    const y = layer.forward(
      tensor([
        [
          [1, 2],
          [3, 4],
        ],
        [
          [0, 1],
          [1, 0],
        ],
      ]),
    );
    expect(y.shape).toEqual([2, 2, 1]);
    expect(Array.from(y.dataSync())).toEqual([0, 2, -1, 2]);
  });

  it('passes gradcheck for input, weight and bias', async () => {
    manualSeed(1);
    const layer = new Linear(4, 3);
    const x = normal([2, 5, 4], 0, 1, { seed: 2 });
    const b = normal([3], 0, 1, { seed: 3 });
    await gradcheck(
      (x, w, b) => withParameters(layer, { weight: w!, bias: b! }, () => layer.forward(x!)),
      [x, layer.weight, b],
    );
  });

  it('names itself, the expected and the actual shape on a wrong input', () => {
    expectShapeError(() => new Linear(4, 3).forward(tensor([[1, 2, 3]])), 'Linear', '[..., 4]', '[1, 3]');
  });
});

describe('Embedding', () => {
  it('looks up rows by int32 id', () => {
    const table = new Embedding(3, 2);
    table.loadStateDict({
      weight: tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    });
    const y = table.forward(
      ids([
        [2, 0],
        [1, 1],
      ]),
    );
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([5, 6, 1, 2, 3, 4, 3, 4]);
  });

  it("starts the padding row at zero, looks it up as it is and sends it no gradient (PyTorch's padding_idx)", () => {
    manualSeed(3);
    const table = new Embedding(4, 3, { paddingIdx: 1 });
    expect(Array.from(table.weight.dataSync().subarray(3, 6))).toEqual([0, 0, 0]);
    table.loadStateDict({
      weight: tensor([
        [1, 1, 1],
        [9, 9, 9],
        [2, 2, 2],
        [3, 3, 3],
      ]),
    });
    const y = table.forward(ids([[1, 2, 1]]));
    expect(Array.from(y.dataSync())).toEqual([9, 9, 9, 2, 2, 2, 9, 9, 9]);
    sum(y).backward();
    expect(Array.from(table.weight.grad!.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
  });

  it('passes gradcheck for the table', async () => {
    manualSeed(4);
    const table = new Embedding(5, 3);
    const tokens = ids([
      [0, 4, 4],
      [2, 1, 0],
    ]);
    await gradcheck(
      (w) => withParameters(table, { weight: w! }, () => table.forward(tokens)),
      [table.weight],
    );
  });

  it('rejects float ids and bad padding indices', () => {
    expect(() => new Embedding(3, 2).forward(tensor([[0, 1]]))).toThrow(DTypeError);
    expect(() => new Embedding(3, 2).forward(tensor([[0, 1]]))).toThrow(
      /Embedding: expected int32 ids, got float32 \[1, 2\]/,
    );
    expect(() => new Embedding(3, 2, { paddingIdx: 3 })).toThrow(RangeArgumentError);
  });
});

describe('LayerNorm', () => {
  it('normalises over the last axis, then scales and shifts', () => {
    const norm = new LayerNorm(4, { eps: 0 });
    norm.loadStateDict({ weight: tensor([1, 2, 1, 1]), bias: tensor([0, 0, 1, 0]) });
    const y = values(norm.forward(tensor([[1, 2, 3, 4]])));
    // mean 2.5, variance 1.25
    const s = Math.sqrt(1.25);
    expect(maxAbsDiff(y, [-1.5 / s, (2 * -0.5) / s, 0.5 / s + 1, 1.5 / s])).toBeLessThan(1e-6);
  });

  it('has no parameters without affine', () => {
    const norm = new LayerNorm(3, { elementwiseAffine: false });
    expect(norm.numParameters()).toBe(0);
    expect(norm.elementwiseAffine).toBe(false);
    const y = values(norm.forward(tensor([[0, 3, 6]])));
    expect(maxAbsDiff(y, [-Math.sqrt(1.5), 0, Math.sqrt(1.5)])).toBeLessThan(1e-5);
  });

  it('passes gradcheck for input, weight and bias', async () => {
    const norm = new LayerNorm(5);
    const w = normal([5], 1, 0.3, { seed: 5 });
    const b = normal([5], 0, 0.3, { seed: 6 });
    await gradcheck(
      (x, w, b) => withParameters(norm, { weight: w!, bias: b! }, () => norm.forward(x!)),
      [normal([3, 5], 0, 1, { seed: 7 }), w, b],
    );
  });

  it('names itself and the shapes on a wrong input', () => {
    expectShapeError(() => new LayerNorm(4).forward(tensor([1, 2, 3])), 'LayerNorm', '[..., 4]', '[3]');
  });
});

describe('activations and dropout', () => {
  it('ReLU and GELU match hand values', () => {
    const x = tensor([-1, 0, 1, 2]);
    expect(Array.from(new ReLU().forward(x).dataSync())).toEqual([0, 0, 1, 2]);
    // x·Φ(x): Φ(1) = 0.841344746, Φ(2) = 0.977249868, Φ(−1) = 0.158655254
    expect(
      maxAbsDiff(values(new GELU().forward(x)), [-0.158655254, 0, 0.841344746, 1.954499736]),
    ).toBeLessThan(1e-6);
    expect(
      maxAbsDiff(values(new GELU({ approximate: 'tanh' }).forward(tensor([1]))), [0.84119199]),
    ).toBeLessThan(1e-6);
  });

  it('Dropout zeroes about p of the elements and rescales the rest in training only', () => {
    manualSeed(8);
    const drop = new Dropout(0.25);
    const y = values(drop.forward(tensor(new Float32Array(4000).fill(1), [4000])));
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / 4000).toBeGreaterThan(0.22);
    expect(zeros / 4000).toBeLessThan(0.28);
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    drop.eval();
    expect(Array.from(drop.forward(tensor([1, 2])).dataSync())).toEqual([1, 2]);
    expect(() => new Dropout(1)).toThrow(RangeArgumentError);
  });
});

describe('FeedForward', () => {
  it('is output(GELU(intermediate(x)))', () => {
    const ff = new FeedForward(2, 3);
    ff.loadStateDict({
      'intermediate.weight': tensor([
        [1, 0],
        [0, 1],
        [1, -1],
      ]),
      'intermediate.bias': tensor([0, 1, 0]),
      'output.weight': tensor([
        [1, 1, 1],
        [0, 2, 0],
      ]),
      'output.bias': tensor([0.5, 0]),
    });
    const gelu = (v: number) => v * 0.5 * (1 + erf(v / Math.SQRT2));
    const [a, b] = [1, -2];
    const h = [gelu(a), gelu(b + 1), gelu(a - b)];
    const y = values(ff.forward(tensor([[a, b]])));
    expect(maxAbsDiff(y, [h[0]! + h[1]! + h[2]! + 0.5, 2 * h[1]!])).toBeLessThan(1e-5);
  });

  it('passes gradcheck for the input and both weights', async () => {
    manualSeed(9);
    const ff = new FeedForward(4, 6, { init: (shape) => normal(shape, 0, 0.5) });
    await gradcheck(
      (x, w1, w2) =>
        withParameters(ff, { 'intermediate.weight': w1!, 'output.weight': w2! }, () => ff.forward(x!)),
      [normal([2, 3, 4], 0, 1, { seed: 10 }), ff.intermediate.weight, ff.output.weight],
    );
  });

  it('names itself and the shapes on a wrong input', () => {
    expectShapeError(
      () => new FeedForward(4, 8).forward(tensor([[1, 2]])),
      'FeedForward',
      '[..., 4]',
      '[1, 2]',
    );
  });
});

/** Abramowitz–Stegun 7.1.26 is too coarse here; a series is exact enough for |x| ≤ 3. */
function erf(x: number): number {
  let term = x;
  let total = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    total += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * total;
}

export type { Tensor };
