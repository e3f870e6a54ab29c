import { type Initializer, Linear, Module, ReLU } from '@sibert/nn';
import { formatShape, ShapeError, type Tensor, tidy } from '@sibert/tensor';
import type { Homogeneity, HomogeneousModule, Wiring } from './homogeneity.js';

export interface SIFeedForwardOptions {
  /** Weight initialiser (default truncated normal, std 0.02). */
  init?: Initializer;
}

/**
 * W2·ReLU(W1·u + b1), (0; 2)-homogeneous: b1 is added to the 1-homogeneous W1·u, and there is no
 * output bias, which would have to be 2-homogeneous.
 */
export class SIFeedForward extends Module<[Tensor]> implements HomogeneousModule {
  intermediate: Linear;
  activation = new ReLU();
  output: Linear;
  readonly homogeneity: Homogeneity = { input: 0, output: 2 };

  constructor(
    readonly hidden: number,
    readonly intermediateSize: number,
    options: SIFeedForwardOptions = {},
  ) {
    super();
    const weightInit = options.init ? { weightInit: options.init } : {};
    this.intermediate = new Linear(hidden, intermediateSize, { bias: true, ...weightInit });
    this.output = new Linear(intermediateSize, hidden, { bias: false, ...weightInit });
  }

  forward(u: Tensor): Tensor {
    if (u.rank === 0 || u.shape[u.rank - 1] !== this.hidden) {
      throw new ShapeError(
        `expected input [..., ${this.hidden}], got ${formatShape(u.shape)}`,
        'SIFeedForward',
      );
    }
    return tidy(() => this.output.forward(this.activation.forward(this.intermediate.forward(u))));
  }

  homogeneityWiring(): Wiring {
    return {
      input: 'u',
      steps: [
        { op: 'module', module: 'intermediate', input: 'u', output: 'h' },
        { op: 'module', module: 'activation', input: 'h', output: 'r' },
        { op: 'module', module: 'output', input: 'r', output: 'y' },
      ],
      output: 'y',
    };
  }
}
