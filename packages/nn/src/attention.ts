import {
  add,
  cast,
  DTypeError,
  formatShape,
  matmul,
  mul,
  RangeArgumentError,
  reshape,
  ShapeError,
  softmax,
  sub,
  type Tensor,
  tidy,
  transpose,
} from '@sibert/tensor';
import { Dropout } from './dropout.js';
import type { Initializer } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** [batch, seq, heads·headDim] → [batch, heads, seq, headDim]. */
export function splitHeads(x: Tensor, numHeads: number): Tensor {
  const [batch, seq, hidden] = x.shape as [number, number, number];
  return tidy(() => transpose(reshape(x, [batch, seq, numHeads, hidden / numHeads]), [0, 2, 1, 3]));
}

/** [batch, heads, seq, headDim] → [batch, seq, heads·headDim]. */
export function mergeHeads(x: Tensor): Tensor {
  const [batch, heads, seq, headDim] = x.shape as [number, number, number, number];
  return tidy(() => reshape(transpose(x, [0, 2, 1, 3]), [batch, seq, heads * headDim]));
}

/**
 * Checks an attention input [batch, seq, hidden] and, when given, a key mask [batch, seq];
 * `layer` names the caller in the error.
 */
export function checkAttentionInputs(layer: string, hidden: number, x: Tensor, mask?: Tensor | null): void {
  if (x.rank !== 3 || x.shape[2] !== hidden) {
    throw new ShapeError(`expected input [batch, seq, ${hidden}], got ${formatShape(x.shape)}`, layer);
  }
  if (mask && (mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1])) {
    throw new ShapeError(
      `expected a key mask [${x.shape[0]}, ${x.shape[1]}] for input ${formatShape(x.shape)}, got ${formatShape(mask.shape)}`,
      layer,
    );
  }
}

/**
 * Turns a key-padding mask [batch, seq] (1 = attend, 0 = padding; int32 or float32) into the additive
 * float32 mask MultiHeadAttention takes: 0 where attended, `maskValue` where padded.
 */
export function additiveKeyPaddingMask(mask: Tensor, maskValue = -1e9): Tensor {
  return tidy(() => mul(sub(mask.dtype === 'float32' ? mask : cast(mask, 'float32'), 1), -maskValue));
}

export interface MultiHeadAttentionOptions {
  /** Biases on the query, key, value and output projections. Default true (BERT). */
  bias?: boolean;
  /** Dropout on the attention probabilities. Default 0. */
  attentionDropout?: number;
  /** Weight initialiser of the projections (default truncated normal, std 0.02). */
  init?: Initializer;
}

/**
 * Standard (softmax) multi-head self-attention, BERT's: per head softmax(QKᵀ/√d + mask)·V, heads
 * concatenated, then the output projection. Input and output are [batch, seq, hidden]. The optional
 * mask is additive, [batch, seq] over keys (see `additiveKeyPaddingMask`), broadcast over heads and
 * queries.
 */
export class MultiHeadAttention extends Module<[Tensor, (Tensor | null)?]> {
  query: Linear;
  key: Linear;
  value: Linear;
  output: Linear;
  dropout: Dropout;
  readonly headDim: number;

  constructor(
    readonly hidden: number,
    readonly numHeads: number,
    options: MultiHeadAttentionOptions = {},
  ) {
    super();
    if (!(Number.isInteger(numHeads) && numHeads > 0 && hidden % numHeads === 0)) {
      throw new RangeArgumentError(
        `hidden (${hidden}) must be a multiple of numHeads (${numHeads})`,
        'MultiHeadAttention',
      );
    }
    this.headDim = hidden / numHeads;
    const linear = { bias: options.bias ?? true, ...(options.init ? { weightInit: options.init } : {}) };
    this.query = new Linear(hidden, hidden, linear);
    this.key = new Linear(hidden, hidden, linear);
    this.value = new Linear(hidden, hidden, linear);
    this.output = new Linear(hidden, hidden, linear);
    this.dropout = new Dropout(options.attentionDropout ?? 0);
  }

  forward(x: Tensor, attentionMask: Tensor | null = null): Tensor {
    checkAttentionInputs('MultiHeadAttention', this.hidden, x, attentionMask);
    if (attentionMask && attentionMask.dtype !== 'float32') {
      throw new DTypeError(
        `expected an additive float32 mask, got ${attentionMask.dtype}; convert with additiveKeyPaddingMask()`,
        'MultiHeadAttention',
      );
    }
    return tidy(() => {
      const q = splitHeads(this.query.forward(x), this.numHeads);
      const k = splitHeads(this.key.forward(x), this.numHeads);
      const v = splitHeads(this.value.forward(x), this.numHeads);
      let scores = mul(matmul(q, k, { transposeB: true }), 1 / Math.sqrt(this.headDim));
      if (attentionMask) {
        const [batch, seq] = attentionMask.shape as [number, number];
        scores = add(scores, reshape(attentionMask, [batch, 1, 1, seq]));
      }
      const probs = this.dropout.forward(softmax(scores, -1));
      return this.output.forward(mergeHeads(matmul(probs, v)));
    });
  }
}
