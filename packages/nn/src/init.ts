import {
  full,
  normal as normalTensor,
  RangeArgumentError,
  type Shape,
  type Tensor,
  truncatedNormal as truncatedNormalTensor,
  uniform as uniformTensor,
} from '@sibert/tensor';

/**
 * Initialisers: each returns a function from a shape to a fresh float32 tensor. The random ones draw
 * from the engine's seeded global stream, so `manualSeed(s)` makes a model's initial weights
 * reproducible on every backend.
 */
export type Initializer = (shape: Shape) => Tensor;

/** Normal(mean, std) truncated at mean ± 2·std: BERT's initialiser (std 0.02). */
export function truncatedNormal(std = 0.02, mean = 0): Initializer {
  return (shape) => truncatedNormalTensor(shape, mean, std);
}

export function normal(std = 1, mean = 0): Initializer {
  return (shape) => normalTensor(shape, mean, std);
}

export function uniform(low = 0, high = 1): Initializer {
  if (!(low <= high)) throw new RangeArgumentError(`low (${low}) must be <= high (${high})`, 'init.uniform');
  return (shape) => uniformTensor(shape, low, high);
}

export function zeros(): Initializer {
  return (shape) => full(shape, 0);
}

export function ones(): Initializer {
  return (shape) => full(shape, 1);
}

/**
 * Glorot/Xavier uniform: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)). For a matrix stored
 * [out, in] (as Linear stores it) fanIn is the last axis and fanOut the one before; leading axes
 * multiply both, as in PyTorch.
 */
export function xavierUniform(gain = 1): Initializer {
  return (shape) => {
    if (shape.length < 2) {
      throw new RangeArgumentError(
        `needs a shape of rank >= 2 to know fan-in and fan-out, got [${shape.join(', ')}]`,
        'init.xavierUniform',
      );
    }
    const receptive = shape.slice(0, -2).reduce((n, d) => n * d, 1);
    const fanIn = shape[shape.length - 1]! * receptive;
    const fanOut = shape[shape.length - 2]! * receptive;
    const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
    return uniformTensor(shape, -bound, bound);
  };
}
