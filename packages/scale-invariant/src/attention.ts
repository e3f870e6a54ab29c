import {
  checkAttentionInputs,
  Dropout,
  type Initializer,
  Linear,
  Module,
  mergeHeads,
  splitHeads,
} from '@sibert/nn';
import {
  cast,
  equal,
  matmul,
  maximum,
  mul,
  noGrad,
  RangeArgumentError,
  relu,
  reshape,
  siNormalize,
  sum,
  type Tensor,
  tidy,
  where,
} from '@sibert/tensor';
import type { Homogeneity, HomogeneousModule, Wiring } from './homogeneity.js';

/**
 * Scale-invariant attention weights over the last axis of `scores` [..., keys]: relu(s)·keep, divided
 * by its row sum. `keep` (1 = attend, 0 = padding) broadcasts to the scores.
 *
 * A row with no positive kept score has no defined ratio; it attends uniformly over its kept keys
 * (the softmax analogue of equal scores), and a row whose keys are all masked attends uniformly over
 * all keys. Both choices depend only on signs, so the weights stay exactly 0-homogeneous, and no
 * epsilon is added to the row sum (an epsilon would break invariance once scores are small). Such
 * rows send no gradient to their scores (ReLU is flat there).
 */
export function siAttentionWeights(scores: Tensor, keep: Tensor | null = null): Tensor {
  return tidy(() => {
    const [emptyRow, safeKeep] = noGrad(() => {
      const kept = keep ? mul(relu(scores), keep) : relu(scores);
      const empty = equal(sum(kept, -1, { keepDims: true }), 0);
      const allMasked = keep ? cast(equal(sum(keep, -1, { keepDims: true }), 0), 'float32') : null;
      return [empty, keep && allMasked ? maximum(keep, allMasked) : null] as const;
    });
    return siNormalize(where(emptyRow, 1, scores), { keep: safeKeep, eps: 0 });
  });
}

export interface SIAttentionOptions {
  /**
   * Biases on the query, key and value projections. They are allowed only on a 0-homogeneous input
   * (as N(z) in the encoder layer), so with them the module is (0; 2), without them (x; x+2).
   * Default false (the paper's formula). The output projection never has a bias.
   */
  qkvBias?: boolean;
  /** Dropout on the attention weights (it keeps homogeneity). Default 0. */
  attentionDropout?: number;
  /** Weight initialiser (default truncated normal, std 0.02). */
  init?: Initializer;
}

/**
 * Multi-head scale-invariant self-attention (Li et al. 2022, §3.1): per head
 * A = N(ReLU(Q·Kᵀ)) (row normalisation, see `siAttentionWeights`), output Σ_h A_h·V_h·W_h^O.
 * The 1/√d temperature cancels in the normalisation and is left out. Input and output are
 * [batch, seq, hidden]; the optional `keyMask` is [batch, seq], 1 for keys to attend and 0 for
 * padding (int32 or float32), zeroed before the row sum.
 */
export class SIAttention extends Module<[Tensor, (Tensor | null)?]> implements HomogeneousModule {
  query: Linear;
  key: Linear;
  value: Linear;
  output: Linear;
  dropout: Dropout;
  readonly headDim: number;
  readonly homogeneity: Homogeneity;

  constructor(
    readonly hidden: number,
    readonly numHeads: number,
    options: SIAttentionOptions = {},
  ) {
    super();
    if (!(Number.isInteger(numHeads) && numHeads > 0 && hidden % numHeads === 0)) {
      throw new RangeArgumentError(
        `hidden (${hidden}) must be a multiple of numHeads (${numHeads})`,
        'SIAttention',
      );
    }
    this.headDim = hidden / numHeads;
    const qkvBias = options.qkvBias ?? false;
    const weightInit = options.init ? { weightInit: options.init } : {};
    this.query = new Linear(hidden, hidden, { bias: qkvBias, ...weightInit });
    this.key = new Linear(hidden, hidden, { bias: qkvBias, ...weightInit });
    this.value = new Linear(hidden, hidden, { bias: qkvBias, ...weightInit });
    this.output = new Linear(hidden, hidden, { bias: false, ...weightInit });
    this.dropout = new Dropout(options.attentionDropout ?? 0);
    this.homogeneity = qkvBias ? { input: 0, output: 2 } : { input: 'x', output: { plus: 2 } };
  }

  forward(x: Tensor, keyMask: Tensor | null = null): Tensor {
    checkAttentionInputs('SIAttention', this.hidden, x, keyMask);
    return tidy(() => {
      const q = splitHeads(this.query.forward(x), this.numHeads);
      const k = splitHeads(this.key.forward(x), this.numHeads);
      const v = splitHeads(this.value.forward(x), this.numHeads);
      const [batch, seq] = x.shape as [number, number];
      const keep = keyMask
        ? reshape(keyMask.dtype === 'float32' ? keyMask : cast(keyMask, 'float32'), [batch, 1, 1, seq])
        : null;
      const weights = this.dropout.forward(siAttentionWeights(matmul(q, k, { transposeB: true }), keep));
      return this.output.forward(mergeHeads(matmul(weights, v)));
    });
  }

  homogeneityWiring(): Wiring {
    return {
      input: 'x',
      steps: [
        { op: 'module', module: 'query', input: 'x', output: 'q' },
        { op: 'module', module: 'key', input: 'x', output: 'k' },
        { op: 'module', module: 'value', input: 'x', output: 'v' },
        { op: 'product', inputs: ['q', 'k'], output: 'scores', label: 'Q·Kᵀ' },
        { op: 'normalize', input: 'scores', output: 'weights', label: 'ReLU row normalisation' },
        { op: 'module', module: 'dropout', input: 'weights', output: 'dropped' },
        { op: 'product', inputs: ['dropped', 'v'], output: 'context', label: 'A·V' },
        { op: 'module', module: 'output', input: 'context', output: 'y' },
      ],
      output: 'y',
    };
  }
}
