import { add, formatShape, matmul, reshape, ShapeError, type Tensor, tidy } from '@sibert/tensor';
import { type Initializer, truncatedNormal, zeros } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface LinearOptions {
  /** Add a bias. Default true. */
  bias?: boolean;
  /** Default truncated normal, std 0.02 (BERT). */
  weightInit?: Initializer;
  /** Default zeros. */
  biasInit?: Initializer;
}

/**
 * y = x·Wᵀ + b over the last axis. The weight is stored [out, in], as PyTorch and HuggingFace store
 * it, so checkpoints map one to one; the product reads it transposed in place, without a copy.
 */
export class Linear extends Module<[Tensor]> {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    this.weight = new Parameter(
      (options.weightInit ?? truncatedNormal(0.02))([outFeatures, inFeatures]),
      'weight',
    );
    this.bias =
      (options.bias ?? true) ? new Parameter((options.biasInit ?? zeros())([outFeatures]), 'bias') : null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`expected input [..., ${this.inFeatures}], got ${formatShape(x.shape)}`, 'Linear');
    }
    // One [rows, in] × [in, out] product (not a batched one) keeps the weight gradient a single GEMM.
    return tidy(() => {
      const product = matmul(reshape(x, [-1, this.inFeatures]), this.weight, { transposeB: true });
      const biased = this.bias ? add(product, this.bias) : product;
      return reshape(biased, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}
