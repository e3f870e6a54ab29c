import '@sibert/backend-cpu';
import { Linear } from '@sibert/nn';
import {
  crossEntropy,
  DTypeError,
  gradcheck,
  manualSeed,
  memory,
  normal,
  ShapeError,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { checkScaleInvariance, gradientOrthogonality } from './checks.js';
import { SIEmbedding, SIEncoder, SIEncoderLayer } from './encoder.js';
import { SIFeedForward } from './feed-forward.js';
import { maxAbsDiff, values } from './test-support.js';

const ids = (v: number[][]) => tensor(v, undefined, 'int32');
const config = { vocabSize: 10, hidden: 8, numLayers: 2, numHeads: 2, intermediateSize: 16, maxPositions: 6 };
const inputIds = ids([
  [1, 2, 3, 4],
  [5, 6, 0, 0],
]);
const attentionMask = ids([
  [1, 1, 1, 1],
  [1, 1, 0, 0],
]);

describe('SIEncoder', () => {
  it('has BERT-like dotted parameter paths and no bias where the rules forbid one', () => {
    const names = new SIEncoder({ ...config, typeVocabSize: 2 }).namedParameters().map(([n]) => n);
    expect(names.slice(0, 7)).toEqual([
      'embeddings.wordEmbeddings.weight',
      'embeddings.positionEmbeddings.weight',
      'embeddings.tokenTypeEmbeddings.weight',
      'embeddings.norm.weight',
      'embeddings.norm.bias',
      'embeddings.projection.weight',
      'layers.0.attention.query.weight',
    ]);
    expect(names).toContain('layers.1.feedForward.intermediate.bias');
    expect(names.filter((n) => n.endsWith('.bias'))).toEqual([
      'embeddings.norm.bias',
      'layers.0.feedForward.intermediate.bias',
      'layers.1.feedForward.intermediate.bias',
    ]);
  });

  it('has no token-type table unless asked for one (a shared offset that plain SGD inflates)', () => {
    const names = new SIEncoder(config).namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.includes('tokenType'))).toEqual([]);
    expect(names.slice(0, 3)).toEqual([
      'embeddings.wordEmbeddings.weight',
      'embeddings.positionEmbeddings.weight',
      'embeddings.norm.weight',
    ]);
  });

  it('is deterministic in eval mode and draws dropout masks in training mode', () => {
    manualSeed(1);
    const encoder = new SIEncoder({ ...config, dropout: 0.3, attentionDropout: 0.3 });
    const train1 = values(encoder.forward(inputIds, { attentionMask }));
    const train2 = values(encoder.forward(inputIds, { attentionMask }));
    expect(maxAbsDiff(train1, train2)).toBeGreaterThan(1e-3);
    encoder.eval();
    const eval1 = values(encoder.forward(inputIds, { attentionMask }));
    expect(maxAbsDiff(eval1, values(encoder.forward(inputIds, { attentionMask })))).toBe(0);
  });

  it('outputs N(z): every position has mean 0 and variance 1', () => {
    manualSeed(2);
    const y = values(new SIEncoder(config).eval().forward(inputIds, { attentionMask }));
    for (let row = 0; row < 8; row++) {
      const v = y.subarray(row * 8, row * 8 + 8);
      const mean = v.reduce((s, x) => s + x, 0) / 8;
      const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / 8;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-4);
    }
  });

  it('leaks no tensors through forward, backward and the checks', async () => {
    manualSeed(3);
    const encoder = new SIEncoder(config);
    const head = new Linear(8, 10);
    const labels = ids([
      [1, 2, 3, 4],
      [5, 6, -100, -100],
    ]);
    const loss = () =>
      tidy(() => crossEntropy(head.forward(encoder.forward(inputIds, { attentionMask })), labels));
    const live = memory().numTensors;
    await checkScaleInvariance(encoder, [inputIds, { attentionMask }]);
    await gradientOrthogonality(loss, encoder.parameters());
    head.zeroGrad();
    expect(memory().numTensors).toBe(live);
    const value = loss();
    value.backward();
    value.dispose();
    encoder.zeroGrad();
    head.zeroGrad();
    expect(memory().numTensors).toBe(live);
  });

  it('names the module, the expected and the actual shapes on wrong inputs', () => {
    const encoder = new SIEncoder(config);
    expect(() => encoder.forward(inputIds, { attentionMask: ids([[1, 1, 1, 1]]) })).toThrow(
      'SIEncoder: expected an attention mask [2, 4] like the input ids, got [1, 4]',
    );
    expect(() => encoder.forward(ids([[1, 2, 3, 4, 5, 6, 7]]))).toThrow(
      'SIEmbedding: sequence length 7 exceeds maxPositions 6 (input ids [1, 7])',
    );
    expect(() => encoder.forward(tensor([[1, 2]]))).toThrow(DTypeError);
    expect(() => encoder.embeddings.forward(tensor([1, 2], undefined, 'int32'))).toThrow(
      'SIEmbedding: expected input ids [batch, seq], got [2]',
    );
    expect(() => new SIEmbedding({ ...config, typeVocabSize: 2 }).forward(inputIds, ids([[0, 1]]))).toThrow(
      'SIEmbedding: expected token type ids [2, 4] like the input ids, got [1, 2]',
    );
    expect(() => new SIEmbedding(config).forward(inputIds, ids([[0, 0, 0, 0]]))).toThrow(
      'SIEmbedding: this embedding stage has no token types (typeVocabSize 0): pass no tokenTypeIds',
    );
    expect(() => new SIEmbedding({ ...config, typeVocabSize: 1.5 })).toThrow(
      'SIEmbedding: expected typeVocabSize to be an integer ≥ 0, got 1.5',
    );
    const layer = new SIEncoderLayer({ hidden: 8, numHeads: 2, intermediateSize: 16 });
    expect(() => layer.forward(normal([2, 4, 6]))).toThrow(ShapeError);
    expect(() => layer.forward(normal([2, 4, 6]))).toThrow(
      'SIEncoderLayer: expected input [batch, seq, 8], got [2, 4, 6]',
    );
    expect(() => new SIFeedForward(8, 16).forward(normal([3, 4]))).toThrow(
      'SIFeedForward: expected input [..., 8], got [3, 4]',
    );
  });
});

describe('gradients of the SI blocks', () => {
  it('SIFeedForward passes gradcheck for its input and both weights', async () => {
    manualSeed(4);
    const ff = new SIFeedForward(4, 6, { init: (shape) => normal(shape, 0, 0.5) });
    await gradcheck(
      (u, w1, w2) => {
        const saved = [ff.intermediate.weight, ff.output.weight];
        Object.assign(ff.intermediate, { weight: w1 });
        Object.assign(ff.output, { weight: w2 });
        try {
          return ff.forward(u!);
        } finally {
          Object.assign(ff.intermediate, { weight: saved[0] });
          Object.assign(ff.output, { weight: saved[1] });
        }
      },
      [normal([2, 3, 4], 0, 1, { seed: 5 }), ff.intermediate.weight, ff.output.weight],
    );
  });

  it('SIEncoderLayer passes gradcheck for its input, with padding', async () => {
    manualSeed(6);
    const layer = new SIEncoderLayer({
      hidden: 8,
      numHeads: 2,
      intermediateSize: 16,
      dropout: 0,
      attentionDropout: 0,
      initStd: 0.5,
    });
    // A smaller step than gradcheck's 1e-2 keeps perturbations from crossing the ReLU kinks of the
    // scores and the feed-forward, where finite differences are meaningless.
    await gradcheck((z) => layer.forward(z!, attentionMask), [normal([2, 4, 8], 0, 1, { seed: 7 })], {
      eps: 3e-3,
      rtol: 2e-2,
      atol: 5e-3,
    });
  });
});
