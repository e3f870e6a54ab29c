import { formatShape, layerNorm, ShapeError, type Tensor } from '@sibert/tensor';
import { ones, zeros } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface LayerNormModuleOptions {
  /** Added to the variance. Default 1e-5 (PyTorch; BERT checkpoints use 1e-12). */
  eps?: number;
  /** Learn a scale γ (init 1) and shift β (init 0). Default true. */
  elementwiseAffine?: boolean;
}

/** Layer normalisation over the last axis, with or without affine parameters. */
export class LayerNorm extends Module<[Tensor]> {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly normalizedShape: number,
    options: LayerNormModuleOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones()([normalizedShape]), 'weight') : null;
    this.bias = affine ? new Parameter(zeros()([normalizedShape]), 'bias') : null;
  }

  get elementwiseAffine(): boolean {
    return this.weight !== null;
  }

  forward(x: Tensor): Tensor {
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.normalizedShape) {
      throw new ShapeError(
        `expected input [..., ${this.normalizedShape}], got ${formatShape(x.shape)}`,
        'LayerNorm',
      );
    }
    return layerNorm(x, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}
