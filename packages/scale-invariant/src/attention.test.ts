import '@sibert/backend-cpu';
import { gradcheck, manualSeed, mul, normal, ShapeError, sum, type Tensor, tensor } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { SIAttention, siAttentionWeights } from './attention.js';
import { maxAbsDiff, relativeError, values } from './test-support.js';

interface Weights {
  query: Float64Array;
  key: Float64Array;
  value: Float64Array;
  output: Float64Array;
}

/**
 * SI attention by direct loops in float64: per head a_j = relu(q_i·k_j)·keep_j, A_ij = a_j / Σ a; a row
 * with Σ a = 0 is uniform over kept keys, or over all keys when none is kept.
 */
function referenceSIAttention(
  w: Weights,
  x: Float64Array,
  [batch, seq, hidden]: [number, number, number],
  heads: number,
  keep: number[][] | null,
): Float64Array {
  const project = (input: Float64Array, weight: Float64Array) => {
    const out = new Float64Array(batch * seq * hidden);
    for (let r = 0; r < batch * seq; r++) {
      for (let o = 0; o < hidden; o++) {
        let s = 0;
        for (let i = 0; i < hidden; i++) s += input[r * hidden + i]! * weight[o * hidden + i]!;
        out[r * hidden + o] = s;
      }
    }
    return out;
  };
  const [q, k, v] = [project(x, w.query), project(x, w.key), project(x, w.value)];
  const d = hidden / heads;
  const context = new Float64Array(batch * seq * hidden);
  const at = (b: number, t: number, h: number, c: number) => (b * seq + t) * hidden + h * d + c;
  for (let b = 0; b < batch; b++) {
    const kept = Array.from({ length: seq }, (_, j) => (keep ? keep[b]![j]! : 1));
    const keptCount = kept.reduce((s, m) => s + m, 0);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const a = kept.map((m, j) => {
          let s = 0;
          for (let c = 0; c < d; c++) s += q[at(b, i, h, c)]! * k[at(b, j, h, c)]!;
          return Math.max(s, 0) * m;
        });
        const total = a.reduce((s, v) => s + v, 0);
        const weights =
          total > 0
            ? a.map((v) => v / total)
            : keptCount > 0
              ? kept.map((m) => m / keptCount)
              : kept.map(() => 1 / seq);
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let j = 0; j < seq; j++) s += weights[j]! * v[at(b, j, h, c)]!;
          context[at(b, i, h, c)] = s;
        }
      }
    }
  }
  return project(context, w.output);
}

const projection =
  (seed: number, std = 0.5) =>
  (shape: readonly number[]) =>
    normal(shape, 0, std, { seed });

describe('siAttentionWeights', () => {
  it('normalises relu(scores)·keep per row; empty rows are uniform over kept keys', () => {
    const scores = tensor([
      [1, -2, 3],
      [-1, -1, -5],
      [0.5, 2, 2],
    ]);
    const keep = tensor([[1, 1, 0]]);
    const w = values(siAttentionWeights(scores, keep));
    expect(maxAbsDiff(w, [1, 0, 0, 0.5, 0.5, 0, 0.2, 0.8, 0])).toBeLessThan(1e-7);
    const unmasked = values(siAttentionWeights(scores));
    expect(
      maxAbsDiff(unmasked, [0.25, 0, 0.75, 1 / 3, 1 / 3, 1 / 3, 0.5 / 4.5, 2 / 4.5, 2 / 4.5]),
    ).toBeLessThan(1e-7);
  });

  it('a row whose keys are all masked is uniform over all keys', () => {
    const w = values(siAttentionWeights(tensor([[1, 2, 3, 4]]), tensor([[0, 0, 0, 0]])));
    expect(maxAbsDiff(w, [0.25, 0.25, 0.25, 0.25])).toBeLessThan(1e-7);
  });

  it('is exactly scale invariant: no epsilon in the row sum', () => {
    const scores = normal([4, 6], 0, 1, { seed: 1 });
    const base = values(siAttentionWeights(scores));
    for (const c of [1e-12, 1e-6, 1e6]) {
      expect(maxAbsDiff(values(siAttentionWeights(mul(scores, c))), base)).toBeLessThan(1e-6);
    }
  });

  it('passes gradcheck, empty rows included (their gradient is zero)', async () => {
    const keep = tensor([[1, 1, 0, 1]]);
    const scores = tensor([
      [1, -2, 3, 0.5],
      [-1, -1, 4, -0.5],
      [0.7, 2, -2, 1.5],
    ]);
    await gradcheck((s) => siAttentionWeights(s!, keep), [scores]);
    const leaf = scores.detach().requireGrad();
    sum(mul(siAttentionWeights(leaf, keep), tensor([[1, 2, 3, 4]]))).backward();
    expect(Array.from(leaf.grad!.dataSync().subarray(4, 8))).toEqual([0, 0, 0, 0]);
  });
});

describe('SIAttention', () => {
  const shape: [number, number, number] = [2, 3, 6];

  function setup(seed: number) {
    manualSeed(seed);
    const layer = new SIAttention(6, 2, { init: projection(seed) });
    const weights = (): Weights => ({
      query: values(layer.query.weight),
      key: values(layer.key.weight),
      value: values(layer.value.weight),
      output: values(layer.output.weight),
    });
    return { layer, weights };
  }

  it('matches a direct loop implementation, with padding masks and all-zero rows', () => {
    const { layer, weights } = setup(1);
    const x = values(normal(shape, 0, 1, { seed: 2 }));
    // token 1 of batch 0 is the zero vector: its query is 0, so its scores are all 0 (an empty row)
    x.fill(0, 6, 12);
    const input = tensor(Float32Array.from(x), shape);
    const cases: (number[][] | null)[] = [
      null,
      [
        [1, 1, 0],
        [1, 0, 0],
      ],
      [
        [1, 0, 1],
        [0, 0, 0],
      ],
    ];
    for (const keep of cases) {
      const mask = keep ? tensor(keep, undefined, 'int32') : null;
      const y = values(layer.forward(input, mask));
      const expected = referenceSIAttention(weights(), x, shape, 2, keep);
      expect(relativeError(y, expected)).toBeLessThan(1e-5);
    }
  });

  it('gradients match finite differences of the loop implementation', () => {
    const { layer, weights } = setup(3);
    const xValues = values(normal(shape, 0, 1, { seed: 4 }));
    xValues.fill(0, 12, 18);
    const keep = [
      [1, 1, 1],
      [1, 1, 0],
    ];
    const projectionWeights: Float64Array = Float64Array.from({ length: 36 }, (_, i) => Math.sin(i + 1));
    const loss = (w: Weights, x: Float64Array) =>
      referenceSIAttention(w, x, shape, 2, keep).reduce((s, v, i) => s + v * projectionWeights[i]!, 0);

    const x = tensor(Float32Array.from(xValues), shape).requireGrad();
    sum(
      mul(
        layer.forward(x, tensor(keep, undefined, 'int32')),
        tensor(Float32Array.from(projectionWeights), shape),
      ),
    ).backward();

    const h = 1e-6;
    const numeric = (read: () => Float64Array, write: (v: Float64Array) => void): Float64Array =>
      read().map((_, i) => {
        const at = (delta: number) => {
          const v = read();
          v[i] = v[i]! + delta;
          write(v);
          const value = loss(current, currentX);
          v[i] = v[i]! - delta;
          write(v);
          return value;
        };
        return (at(h) - at(-h)) / (2 * h);
      });
    const current = weights();
    let currentX: Float64Array = xValues.slice();
    for (const name of ['query', 'key', 'value', 'output'] as const) {
      const expected = numeric(
        () => current[name].slice(),
        (v) => {
          current[name] = v;
        },
      );
      expect(relativeError(values(layer[name].weight.grad!), expected)).toBeLessThan(1e-4);
    }
    const expectedX = numeric(
      () => currentX.slice(),
      (v) => {
        currentX = v;
      },
    );
    // At the zero token itself the weights jump (an empty row turns non-empty under any perturbation
    // of its query), so there is no derivative there to compare.
    const outside = (v: Float64Array) => Float64Array.from([...v.subarray(0, 12), ...v.subarray(18)]);
    expect(relativeError(outside(values(x.grad!)), outside(expectedX))).toBeLessThan(1e-4);
  });

  it('passes gradcheck through the layer', async () => {
    const { layer } = setup(5);
    const mask = tensor(
      [
        [1, 1, 0],
        [1, 1, 1],
      ],
      undefined,
      'int32',
    );
    await gradcheck((x) => layer.forward(x!, mask), [normal(shape, 0, 1, { seed: 6 })]);
  });

  it('has no output bias, and Q/K/V biases only on request', () => {
    const plain = new SIAttention(4, 2);
    expect(plain.namedParameters().map(([n]) => n)).toEqual([
      'query.weight',
      'key.weight',
      'value.weight',
      'output.weight',
    ]);
    expect(plain.homogeneity).toEqual({ input: 'x', output: { plus: 2 } });
    const biased = new SIAttention(4, 2, { qkvBias: true });
    expect(biased.namedParameters().map(([n]) => n)).toEqual([
      'query.weight',
      'query.bias',
      'key.weight',
      'key.bias',
      'value.weight',
      'value.bias',
      'output.weight',
    ]);
    expect(biased.homogeneity).toEqual({ input: 0, output: 2 });
  });

  it('names itself, the expected and the actual shapes on wrong inputs', () => {
    const layer = new SIAttention(4, 2);
    expect(() => layer.forward(normal([2, 3, 5]))).toThrow(ShapeError);
    expect(() => layer.forward(normal([2, 3, 5]))).toThrow(
      'SIAttention: expected input [batch, seq, 4], got [2, 3, 5]',
    );
    expect(() => layer.forward(normal([2, 3, 4]), tensor([[1, 1, 1]]))).toThrow(
      'SIAttention: expected a key mask [2, 3] for input [2, 3, 4], got [1, 3]',
    );
  });
});

export type { Tensor };
