import '@sibert/backend-cpu';
import { Dropout, FeedForward, LayerNorm, Linear, Module, MultiHeadAttention, ReLU } from '@sibert/nn';
import type { Tensor } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { SIAttention } from './attention.js';
import { SIEncoder, SIEncoderLayer } from './encoder.js';
import { SIFeedForward } from './feed-forward.js';
import {
  checkHomogeneity,
  formatHomogeneity,
  type Homogeneity,
  type HomogeneousModule,
  type Wiring,
} from './homogeneity.js';

const config = { vocabSize: 10, hidden: 8, numLayers: 2, numHeads: 2, intermediateSize: 16, maxPositions: 8 };

/** A PreNorm layer assembled from standard BERT parts, wired like SIEncoderLayer. */
class BertPartsLayer extends Module<[Tensor]> implements HomogeneousModule {
  attentionNorm = new LayerNorm(8, { elementwiseAffine: false });
  attention = new MultiHeadAttention(8, 2);
  feedForwardNorm = new LayerNorm(8, { elementwiseAffine: false });
  feedForward = new FeedForward(8, 16);
  dropout = new Dropout(0.1);
  readonly homogeneity: Homogeneity = { input: 2, output: 2 };
  forward(z: Tensor): Tensor {
    return z;
  }
  homogeneityWiring(): Wiring {
    return new SIEncoderLayer({ hidden: 8, numHeads: 2, intermediateSize: 16 }).homogeneityWiring();
  }
}

/** Claims (0; 2) but has one Linear. */
class OneLinear extends Module<[Tensor]> implements HomogeneousModule {
  dense = new Linear(4, 4, { bias: false });
  readonly homogeneity: Homogeneity = { input: 0, output: 2 };
  forward(x: Tensor): Tensor {
    return this.dense.forward(x);
  }
  homogeneityWiring(): Wiring {
    return { input: 'x', steps: [{ op: 'module', module: 'dense', input: 'x', output: 'y' }], output: 'y' };
  }
}

class Opaque extends Module<[Tensor]> {
  dense = new Linear(2, 2);
  forward(x: Tensor): Tensor {
    return this.dense.forward(x);
  }
}

describe('checkHomogeneity', () => {
  it('finds no violation in SIEncoder and derives its (0; 0) degrees through every layer', () => {
    const encoder = new SIEncoder(config);
    expect(checkHomogeneity(encoder)).toEqual({ outputDegree: 0, violations: [] });
    expect(checkHomogeneity(encoder.layers[0]!)).toEqual({ outputDegree: 2, violations: [] });
    expect(checkHomogeneity(encoder.embeddings)).toEqual({ outputDegree: 2, violations: [] });
    expect(checkHomogeneity(new SIFeedForward(4, 8))).toEqual({ outputDegree: 2, violations: [] });
    expect(checkHomogeneity(new SIAttention(4, 2), 1)).toEqual({ outputDegree: 3, violations: [] });
    expect(formatHomogeneity(new SIAttention(4, 2).homogeneity)).toBe('(x; x+2)');
    expect(formatHomogeneity(encoder.layers[0]!.homogeneity)).toBe('(2; 2)');
  });

  it('reports a bias added to a 2-homogeneous tensor, by path', () => {
    const encoder = new SIEncoder(config);
    encoder.layers[1]!.feedForward.output = new Linear(16, 8, { bias: true });
    const report = checkHomogeneity(encoder);
    expect(report.outputDegree).toBeNull();
    expect(report.violations).toEqual([
      {
        path: 'layers.1.feedForward.output',
        message:
          'bias added to a 2-homogeneous tensor: a bias is 1-homogeneous, so a Linear with bias needs a 0-homogeneous input (got 1)',
      },
    ]);
  });

  it('reports a residual sum of different degrees (an affine norm before attention)', () => {
    const encoder = new SIEncoder(config);
    encoder.layers[0]!.attentionNorm = new LayerNorm(8);
    expect(checkHomogeneity(encoder).violations).toEqual([
      {
        path: 'layers.0: attention residual',
        message: 'adds tensors of degrees 2 and 3; every term of a sum needs the same degree',
      },
    ]);
  });

  it('reports softmax attention and a GELU feed-forward, by path', () => {
    // what is computed from a broken value is not reported again: the GELU after it goes unmentioned
    const report = checkHomogeneity(new BertPartsLayer());
    expect(report).toEqual({
      outputDegree: null,
      violations: [
        {
          path: 'attention',
          message: 'softmax attention is not homogeneous: softmax(c²·s) ≠ softmax(s) (SIAttention is)',
        },
      ],
    });
    const encoder = new SIEncoder(config);
    (encoder.layers[0] as unknown as { feedForward: Module }).feedForward = new FeedForward(8, 16);
    expect(checkHomogeneity(encoder).violations).toEqual([
      { path: 'layers.0.feedForward.activation', message: 'GELU is not positively homogeneous (ReLU is)' },
    ]);
  });

  it('reports wrong input degrees, biased Q/K/V on a homogeneous input, and broken declarations', () => {
    const biased = checkHomogeneity(new SIAttention(4, 2, { qkvBias: true }), 2);
    expect(biased.violations.map((v) => v.path)).toEqual(['(root)', 'query', 'key', 'value']);
    expect(biased.violations[0]!.message).toBe(
      'SIAttention (0; 2) needs a 0-homogeneous input, got a 2-homogeneous one',
    );
    expect(checkHomogeneity(new OneLinear()).violations).toEqual([
      { path: '(root)', message: 'OneLinear declares (0; 2) but its wiring maps degree 0 to 1, not 2' },
    ]);
  });

  it('reports modules with no rule and children left out of the wiring', () => {
    const encoder = new SIEncoder(config);
    (encoder.layers[0] as unknown as { feedForward: Module }).feedForward = new Opaque();
    expect(checkHomogeneity(encoder).violations).toEqual([
      {
        path: 'layers.0.feedForward',
        message:
          'Opaque has no homogeneity rule: implement HomogeneousModule (homogeneity and homogeneityWiring)',
      },
    ]);
    const ff = new SIFeedForward(4, 8);
    Object.assign(ff, { extra: new Linear(2, 2), relu: new ReLU() });
    expect(checkHomogeneity(ff).violations).toEqual([
      { path: 'extra', message: 'holds parameters but is not in the homogeneity wiring' },
    ]);
  });
});

describe('checkHomogeneity on a malformed wiring', () => {
  it('names the module and the unknown child', () => {
    class Misnamed extends OneLinear {
      override homogeneityWiring(): Wiring {
        return {
          input: 'x',
          steps: [{ op: 'module', module: 'dens', input: 'x', output: 'y' }],
          output: 'y',
        };
      }
    }
    expect(() => checkHomogeneity(new Misnamed())).toThrow(
      "checkHomogeneity: the homogeneity wiring of (root) names 'dens', which is not a child module",
    );
  });
});
