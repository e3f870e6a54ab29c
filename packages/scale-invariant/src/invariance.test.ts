import '@sibert/backend-cpu';
import { Dropout, FeedForward, LayerNorm, Linear, Module, MultiHeadAttention } from '@sibert/nn';
import {
  add,
  crossEntropy,
  getRngState,
  layerNorm,
  manualSeed,
  mul,
  normal,
  type RngState,
  setRngState,
  sum,
  type Tensor,
  tensor,
  tidy,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { SIAttention } from './attention.js';
import { checkScaleInvariance, gradientOrthogonality } from './checks.js';
import { SIEmbedding, SIEncoder, SIEncoderLayer } from './encoder.js';
import { SIFeedForward } from './feed-forward.js';
import { gradients, relativeError } from './test-support.js';

const SCALES = [1e-3, 1e-1, 10, 1e3];
const TOLERANCE = 1e-4;

const ids = (v: number[][]) => tensor(v, undefined, 'int32');
const inputIds = ids([
  [2, 7, 3, 9, 1],
  [4, 4, 11, 0, 0],
]);
const attentionMask = ids([
  [1, 1, 1, 1, 1],
  [1, 1, 1, 0, 0],
]);
const config = {
  vocabSize: 12,
  hidden: 16,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 32,
  maxPositions: 8,
  dropout: 0.1,
  attentionDropout: 0.1,
};

/** The standard Post-LN BERT layer: LN(h + FF(h)), h = LN(x + MHA(x)); softmax, GELU, biases, affine LN. */
class PostLNLayer extends Module<[Tensor]> {
  attention = new MultiHeadAttention(16, 2);
  attentionNorm = new LayerNorm(16, { eps: 1e-12 });
  feedForward = new FeedForward(16, 32);
  outputNorm = new LayerNorm(16, { eps: 1e-12 });
  dropout = new Dropout(0.1);
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.attentionNorm.forward(add(x, this.dropout.forward(this.attention.forward(x))));
      return this.outputNorm.forward(add(h, this.dropout.forward(this.feedForward.forward(h))));
    });
  }
}

/** A loss that is scale invariant in the module's parameters when its output is homogeneous: Σ w·N(y). */
function normalizedLoss(y: Tensor): Tensor {
  return tidy(() => sum(mul(layerNorm(y, { eps: 0 }), normal(y.shape, 0, 1, { seed: 99 }))));
}

/**
 * Moves every parameter away from BERT's small init (and zero biases), where softmax attention is
 * almost uniform and the block almost linear, so the checks see the non-homogeneity that training
 * quickly reaches.
 */
function perturb(module: Module, std: number): void {
  for (const p of module.parameters()) p.assign(tidy(() => add(p, normal(p.shape, 0, std))));
}

/** The loss with the dropout stream rewound, so repeated calls see the same masks. */
function repeatable(loss: () => Tensor): () => Tensor {
  const state: RngState = getRngState();
  return () => {
    setRngState(state);
    return loss();
  };
}

/** ‖c·∇L(cθ) − ∇L(θ)‖ / ‖∇L(θ)‖: 0 when gradients scale as 1/c. */
function gradientScalingError(module: Module, loss: () => Tensor, c: number): number {
  const base = gradients(module, loss);
  const originals = module.parameters().map((p) => p.detach());
  const params = module.parameters();
  for (const [i, p] of params.entries()) p.assign(mul(originals[i]!, c));
  const scaled = gradients(module, loss).map((g) => g * c);
  for (const [i, p] of params.entries()) p.assign(originals[i]!);
  return relativeError(scaled, base);
}

describe('scale invariance of the SI modules (CPU, float32)', () => {
  it('SIAttention is (x; x+2): degree 0 → 2 and degree 1 → 3, with padding', async () => {
    manualSeed(1);
    const attention = new SIAttention(16, 2, { attentionDropout: 0.1 });
    const x = normal([2, 5, 16], 0, 1, { seed: 2 });
    const r0 = await checkScaleInvariance(attention, [x, attentionMask], { scales: SCALES });
    expect(r0.outputDegree).toBe(2);
    expect(r0.maxRelativeChange).toBeLessThan(TOLERANCE);
    const r1 = await checkScaleInvariance(attention, [x, attentionMask], {
      inputDegrees: [1, 0],
      outputDegree: 3,
    });
    expect(r1.maxRelativeChange).toBeLessThan(TOLERANCE);
  });

  it('SIAttention with Q/K/V biases is (0; 2)', async () => {
    manualSeed(3);
    const attention = new SIAttention(16, 2, { qkvBias: true });
    for (const p of [attention.query.bias!, attention.key.bias!]) p.assign(normal([16], 0, 0.02));
    const x = normal([2, 5, 16], 0, 1, { seed: 4 });
    expect((await checkScaleInvariance(attention, [x])).maxRelativeChange).toBeLessThan(TOLERANCE);
    // with a 1-homogeneous input the bias breaks it
    const broken = await checkScaleInvariance(attention, [x], { inputDegrees: [1], outputDegree: 3 });
    expect(broken.maxRelativeChange).toBeGreaterThan(1e-2);
  });

  it('SIFeedForward is (0; 2)', async () => {
    manualSeed(5);
    const ff = new SIFeedForward(16, 32);
    ff.intermediate.bias!.assign(normal([32], 0, 0.02));
    const report = await checkScaleInvariance(ff, [normal([2, 5, 16], 0, 1, { seed: 6 })]);
    expect(report.outputDegree).toBe(2);
    expect(report.maxRelativeChange).toBeLessThan(TOLERANCE);
  });

  it('SIEncoderLayer is (2; 2), dropout on', async () => {
    manualSeed(7);
    const layer = new SIEncoderLayer({ hidden: 16, numHeads: 2, intermediateSize: 32 });
    const z = normal([2, 5, 16], 0, 0.02, { seed: 8 });
    const report = await checkScaleInvariance(layer, [z, attentionMask]);
    expect(report.byScale.map((s) => s.scale)).toEqual(SCALES);
    expect(report.maxRelativeChange).toBeLessThan(TOLERANCE);
  });

  it('SIEmbedding is (0; 2), with token types and without', async () => {
    manualSeed(9);
    const plain = await checkScaleInvariance(new SIEmbedding({ ...config, paddingIdx: 0 }), [inputIds]);
    expect(plain.outputDegree).toBe(2);
    expect(plain.maxRelativeChange).toBeLessThan(TOLERANCE);
    const embedding = new SIEmbedding({ ...config, paddingIdx: 0, typeVocabSize: 2 });
    const report = await checkScaleInvariance(embedding, [
      inputIds,
      ids([
        [0, 0, 0, 1, 1],
        [0, 1, 1, 1, 1],
      ]),
    ]);
    expect(report.outputDegree).toBe(2);
    expect(report.maxRelativeChange).toBeLessThan(TOLERANCE);
  });

  it('SIEncoder is scale invariant in all its parameters jointly, dropout on', async () => {
    manualSeed(10);
    const encoder = new SIEncoder(config);
    const report = await checkScaleInvariance(encoder, [inputIds, { attentionMask }]);
    expect(report.outputDegree).toBe(0);
    expect(report.maxRelativeChange).toBeLessThan(TOLERANCE);
  });

  it('a scale-invariant loss has gradients orthogonal to θ that scale as 1/c', async () => {
    manualSeed(11);
    const encoder = new SIEncoder(config);
    const head = new Linear(16, 12);
    const labels = ids([
      [1, 2, 3, 4, 5],
      [6, 7, 8, -100, -100],
    ]);
    const loss = repeatable(() =>
      tidy(() => crossEntropy(head.forward(encoder.forward(inputIds, { attentionMask })), labels)),
    );
    expect(await gradientOrthogonality(loss, encoder.parameters())).toBeLessThan(TOLERANCE);
    for (const c of SCALES) expect(gradientScalingError(encoder, loss, c)).toBeLessThan(TOLERANCE);
  });

  it('each SI block under N has orthogonal gradients that scale as 1/c', async () => {
    manualSeed(12);
    const x = normal([2, 5, 16], 0, 1, { seed: 13 });
    const attention = new SIAttention(16, 2);
    const ff = new SIFeedForward(16, 32);
    const attentionLoss = () => normalizedLoss(attention.forward(x, attentionMask));
    const ffLoss = () => normalizedLoss(ff.forward(x));
    expect(await gradientOrthogonality(attentionLoss, attention.parameters())).toBeLessThan(TOLERANCE);
    expect(await gradientOrthogonality(ffLoss, ff.parameters())).toBeLessThan(TOLERANCE);
    for (const c of SCALES) {
      expect(gradientScalingError(attention, attentionLoss, c)).toBeLessThan(TOLERANCE);
      expect(gradientScalingError(ff, ffLoss, c)).toBeLessThan(TOLERANCE);
    }
  });
});

describe('the same checks fail for standard BERT blocks', () => {
  it('softmax attention is neither scale invariant nor 2-homogeneous', async () => {
    manualSeed(20);
    const attention = new MultiHeadAttention(16, 2);
    perturb(attention, 0.5);
    const x = normal([2, 5, 16], 0, 1, { seed: 21 });
    const asInvariant = await checkScaleInvariance(attention, [x]);
    const asDegree2 = await checkScaleInvariance(attention, [x], { outputDegree: 2 });
    expect(asInvariant.maxRelativeChange).toBeGreaterThan(0.1);
    expect(asDegree2.maxRelativeChange).toBeGreaterThan(0.1);
    const loss = () => normalizedLoss(attention.forward(x));
    expect(await gradientOrthogonality(loss, attention.parameters())).toBeGreaterThan(10 * TOLERANCE);
    expect(gradientScalingError(attention, loss, 10)).toBeGreaterThan(1e-2);
  });

  it('a Post-LN BERT layer is not scale invariant', async () => {
    manualSeed(22);
    const layer = new PostLNLayer();
    perturb(layer, 0.5);
    const x = normal([2, 5, 16], 0, 1, { seed: 23 });
    expect((await checkScaleInvariance(layer, [x])).maxRelativeChange).toBeGreaterThan(0.1);
    expect((await checkScaleInvariance(layer, [x], { outputDegree: 1 })).maxRelativeChange).toBeGreaterThan(
      0.1,
    );
    const loss = repeatable(() => normalizedLoss(layer.forward(x)));
    expect(await gradientOrthogonality(loss, layer.parameters())).toBeGreaterThan(10 * TOLERANCE);
    expect(gradientScalingError(layer, loss, 10)).toBeGreaterThan(1e-2);
  });
});
