import { type GeluOptions, gelu, relu, type Tensor } from '@sibert/tensor';
import { Module } from './module.js';

export class ReLU extends Module<[Tensor]> {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** GELU, exact (erf) by default; `{ approximate: 'tanh' }` is the original BERT code's variant. */
export class GELU extends Module<[Tensor]> {
  readonly approximate: 'none' | 'tanh';

  constructor(options: GeluOptions = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}
