import { dropout, RangeArgumentError, type Tensor } from '@sibert/tensor';
import { Module } from './module.js';

/**
 * Zeroes elements with probability p in training mode (scaling the rest by 1/(1−p)); the identity
 * in eval mode. Masks come from the engine's seeded global stream.
 */
export class Dropout extends Module<[Tensor]> {
  constructor(readonly p = 0.1) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeArgumentError(`p must be in [0, 1), got ${p}`, 'Dropout');
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training });
  }
}
