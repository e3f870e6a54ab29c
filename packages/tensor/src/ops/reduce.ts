import { record } from '../autograd.js';
import type { ReduceOp } from '../backend.js';
import { fusedKernelsEnabled, noGrad, tidy } from '../engine.js';
import { ShapeError } from '../errors.js';
import { formatShape, normalizeAxes, normalizeAxis, type Shape, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, commonBackend, out, runKernel } from './core.js';
import { full } from './creation.js';
import { cast, div, equal, mul, square, sub } from './elementwise.js';
import { broadcastTo, reshape } from './movement.js';

export interface ReduceOptions {
  /** Keep reduced axes as size 1. */
  keepDims?: boolean;
}

type Axes = number | readonly number[];

function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduceKernel(
  op: ReduceOp,
  x: Tensor,
  axes: readonly number[],
  keepDims: boolean,
  name: string,
): Tensor {
  const reducedShape = x.shape.filter((_, i) => !axes.includes(i));
  const dtype = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  return tidy(() => {
    const y =
      axes.length === 0
        ? reshape(x, x.shape)
        : runKernel(name, commonBackend(name, [x]), 'reduce', out(reducedShape, dtype), (fn) =>
            fn(x.view(name), op, axes, out(reducedShape, dtype)),
          );
    return keepDims ? reshape(y, keptShape(x.shape, axes)) : y;
  });
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  const list = normalizeAxes(axes, x.rank, 'sum');
  const y = reduceKernel('sum', x, list, options.keepDims ?? false, 'sum');
  return record('sum', [x], y, (dy) => [broadcastTo(reshape(dy, keptShape(x.shape, list)), x.shape)]);
}

/**
 * Σ x² over every element, a scalar: the backend's fused kernel where it has one (no x-sized
 * temporary, which is what gradient clipping needs), else sum(square(x)).
 */
export function sumOfSquares(x: Tensor): Tensor {
  const op = 'sumOfSquares';
  assertFloat(op, x);
  const backend = commonBackend(op, [x]);
  const y =
    fusedKernelsEnabled() && backend.kernels.sumOfSquares
      ? runKernel(op, backend, op, out([], 'float32'), (fn) => fn(x.view(op), out([], 'float32')))
      : noGrad(() => tidy(() => sum(square(x))));
  return record(op, [x], y, (dy, [x]) => [mul(x!, mul(dy, 2))], [x]);
}

/** Mean over `axes` (all by default); the mean of nothing is NaN. */
export function mean(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  assertFloat('mean', x);
  const list = normalizeAxes(axes, x.rank, 'mean');
  const count = list.reduce((n, a) => n * x.shape[a]!, 1);
  return tidy(() => div(sum(x, list, options), count));
}

export interface VarianceOptions extends ReduceOptions {
  /** Divide by n − 1 instead of n. Default false (the biased estimate layer norm uses). */
  unbiased?: boolean;
}

/** Variance over `axes` (all by default). */
export function variance(x: Tensor, axes?: Axes, options: VarianceOptions = {}): Tensor {
  assertFloat('variance', x);
  const list = normalizeAxes(axes, x.rank, 'variance');
  const count = list.reduce((n, a) => n * x.shape[a]!, 1);
  return tidy(() => {
    const centered = sub(x, mean(x, list, { keepDims: true }));
    return div(sum(square(centered), list, options), options.unbiased ? count - 1 : count);
  });
}

function extremum(op: 'max' | 'min', x: Tensor, axes: Axes | undefined, options: ReduceOptions): Tensor {
  const list = normalizeAxes(axes, x.rank, op);
  if (list.some((a) => x.shape[a] === 0)) {
    throw new ShapeError(`cannot take the ${op} over an empty axis of shape ${formatShape(x.shape)}`, op);
  }
  const y = reduceKernel(op, x, list, options.keepDims ?? false, op);
  // The gradient is shared evenly between tied extrema.
  return record(
    op,
    [x],
    y,
    (dy, [x, y]) => {
      const shape = keptShape(x!.shape, list);
      const hit = cast(equal(x!, reshape(y!, shape)), 'float32');
      const ties = sum(hit, list, { keepDims: true });
      return [mul(hit, div(reshape(dy, shape), ties))];
    },
    [x, y],
  );
}

export function max(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return extremum('max', x, axes, options);
}

export function min(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return extremum('min', x, axes, options);
}

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, axis: number, options: ReduceOptions): Tensor {
  if (x.rank === 0) return full([], 0, 'int32', commonBackend(op, [x]));
  const a = normalizeAxis(axis, x.rank, op);
  if (x.shape[a] === 0) {
    throw new ShapeError(`cannot take the ${op} over an empty axis of shape ${formatShape(x.shape)}`, op);
  }
  return reduceKernel(op, x, [a], options.keepDims ?? false, op);
}

/** Index of the largest value along `axis` (int32; first on ties; NaN counts as largest). */
export function argmax(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return argExtremum('argmax', x, axis, options);
}

export function argmin(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return argExtremum('argmin', x, axis, options);
}

/** Sums `x` down to `shape` (the adjoint of broadcasting `shape` to x.shape). */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  const lead = x.rank - shape.length;
  if (lead < 0) {
    throw new ShapeError(`cannot sum ${formatShape(x.shape)} down to ${formatShape(shape)}`, 'sumTo');
  }
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  if (sizeOf(x.shape.filter((_, i) => !axes.includes(i))) !== sizeOf(shape)) {
    throw new ShapeError(`cannot sum ${formatShape(x.shape)} down to ${formatShape(shape)}`, 'sumTo');
  }
  return tidy(() => reshape(sum(x, axes), shape));
}
