import '@sibert/backend-cpu';
import {
  DTypeError,
  gradcheck,
  manualSeed,
  memory,
  normal,
  ShapeError,
  sum,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { additiveKeyPaddingMask, MultiHeadAttention } from './attention.js';
import { maxAbsDiff, values, withParameters } from './test-support.js';

/** Direct loops in float64: per head softmax(q·k/√d + mask)·v, then the output projection. */
function referenceAttention(
  layer: MultiHeadAttention,
  x: Float64Array,
  [batch, seq, hidden]: number[],
  additiveMask: Float64Array | null,
): Float64Array {
  const p = (name: string) => values(layer.stateDict().get(name)!);
  const project = (input: Float64Array, name: string) => {
    const w = p(`${name}.weight`);
    const b = p(`${name}.bias`);
    const out = new Float64Array(batch! * seq! * hidden!);
    for (let r = 0; r < batch! * seq!; r++) {
      for (let o = 0; o < hidden!; o++) {
        let s = b[o]!;
        for (let i = 0; i < hidden!; i++) s += input[r * hidden! + i]! * w[o * hidden! + i]!;
        out[r * hidden! + o] = s;
      }
    }
    return out;
  };
  const [q, k, v] = [project(x, 'query'), project(x, 'key'), project(x, 'value')];
  const d = layer.headDim;
  const context = new Float64Array(batch! * seq! * hidden!);
  for (let b = 0; b < batch!; b++) {
    for (let h = 0; h < layer.numHeads; h++) {
      for (let i = 0; i < seq!; i++) {
        const scores = Array.from({ length: seq! }, (_, j) => {
          let s = 0;
          for (let c = 0; c < d; c++)
            s += q[(b * seq! + i) * hidden! + h * d + c]! * k[(b * seq! + j) * hidden! + h * d + c]!;
          return s / Math.sqrt(d) + (additiveMask ? additiveMask[b * seq! + j]! : 0);
        });
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const total = e.reduce((a, c) => a + c, 0);
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let j = 0; j < seq!; j++) s += (e[j]! / total) * v[(b * seq! + j) * hidden! + h * d + c]!;
          context[(b * seq! + i) * hidden! + h * d + c] = s;
        }
      }
    }
  }
  return project(context, 'output');
}

describe('MultiHeadAttention', () => {
  it('matches a direct loop implementation, with and without a key-padding mask', () => {
    manualSeed(1);
    const layer = new MultiHeadAttention(6, 2, { init: (shape) => normal(shape, 0, 0.5) });
    for (const name of ['query.bias', 'key.bias', 'value.bias', 'output.bias']) {
      layer
        .stateDict()
        .get(name)!
        .assign(normal([6], 0, 0.5));
    }
    const x = normal([2, 3, 6], 0, 1, { seed: 2 });
    const plain = values(layer.forward(x));
    expect(maxAbsDiff(plain, referenceAttention(layer, values(x), [2, 3, 6], null))).toBeLessThan(1e-5);

    const mask = additiveKeyPaddingMask(
      tensor(
        [
          [1, 1, 0],
          [1, 0, 0],
        ],
        undefined,
        'int32',
      ),
    );
    expect(Array.from(mask.dataSync())).toEqual([0, 0, -1e9, 0, -1e9, -1e9]);
    const masked = values(layer.forward(x, mask));
    expect(maxAbsDiff(masked, referenceAttention(layer, values(x), [2, 3, 6], values(mask)))).toBeLessThan(
      1e-5,
    );
    expect(maxAbsDiff(masked, plain)).toBeGreaterThan(1e-3);
  });

  it('passes gradcheck for the input and the projections', async () => {
    manualSeed(3);
    const layer = new MultiHeadAttention(4, 2, { init: (shape) => normal(shape, 0, 0.5) });
    const mask = additiveKeyPaddingMask(
      tensor([
        [1, 1, 1],
        [1, 1, 0],
      ]),
    );
    await gradcheck(
      (x, wq, wk, wv, wo) =>
        withParameters(
          layer,
          { 'query.weight': wq!, 'key.weight': wk!, 'value.weight': wv!, 'output.weight': wo! },
          () => layer.forward(x!, mask),
        ),
      [
        normal([2, 3, 4], 0, 1, { seed: 4 }),
        layer.query.weight,
        layer.key.weight,
        layer.value.weight,
        layer.output.weight,
      ],
    );
  });

  it('leaks no tensors through forward and backward', () => {
    const layer = new MultiHeadAttention(4, 2, { attentionDropout: 0.1 });
    const x = normal([2, 3, 4], 0, 1, { seed: 5 });
    const mask = additiveKeyPaddingMask(
      tensor([
        [1, 1, 0],
        [1, 1, 1],
      ]),
    );
    const live = memory().numTensors;
    const loss = tidy(() => sum(layer.forward(x, mask)));
    loss.backward();
    loss.dispose();
    layer.zeroGrad();
    expect(memory().numTensors).toBe(live);
  });

  it('names itself, the expected and the actual shapes on wrong inputs', () => {
    const layer = new MultiHeadAttention(4, 2);
    expect(() => layer.forward(normal([2, 3, 5]))).toThrow(ShapeError);
    expect(() => layer.forward(normal([2, 3, 5]))).toThrow(
      'MultiHeadAttention: expected input [batch, seq, 4], got [2, 3, 5]',
    );
    expect(() => layer.forward(normal([2, 3, 4]), tensor([[0, 0]]))).toThrow(
      'MultiHeadAttention: expected a key mask [2, 3] for input [2, 3, 4], got [1, 2]',
    );
    expect(() => layer.forward(normal([1, 2, 4]), tensor([[1, 0]], undefined, 'int32'))).toThrow(DTypeError);
    expect(() => new MultiHeadAttention(6, 4)).toThrow(/multiple of numHeads/);
  });
});
