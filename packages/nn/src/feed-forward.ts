import { formatShape, ShapeError, type Tensor, tidy } from '@sibert/tensor';
import { GELU } from './activation.js';
import { Dropout } from './dropout.js';
import type { Initializer } from './init.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface FeedForwardOptions {
  /** Dropout on the output. Default 0. */
  dropout?: number;
  /** GELU variant. Default 'none' (exact). */
  approximate?: 'none' | 'tanh';
  /** Weight initialiser (default truncated normal, std 0.02). */
  init?: Initializer;
}

/** BERT's position-wise feed-forward: output(GELU(intermediate(x))), both with biases, then dropout. */
export class FeedForward extends Module<[Tensor]> {
  intermediate: Linear;
  activation: GELU;
  output: Linear;
  dropout: Dropout;

  constructor(
    readonly hidden: number,
    readonly intermediateSize: number,
    options: FeedForwardOptions = {},
  ) {
    super();
    const linear = options.init ? { weightInit: options.init } : {};
    this.intermediate = new Linear(hidden, intermediateSize, linear);
    this.activation = new GELU({ approximate: options.approximate ?? 'none' });
    this.output = new Linear(intermediateSize, hidden, linear);
    this.dropout = new Dropout(options.dropout ?? 0);
  }

  forward(x: Tensor): Tensor {
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.hidden) {
      throw new ShapeError(
        `expected input [..., ${this.hidden}], got ${formatShape(x.shape)}`,
        'FeedForward',
      );
    }
    return tidy(() =>
      this.dropout.forward(this.output.forward(this.activation.forward(this.intermediate.forward(x)))),
    );
  }
}
