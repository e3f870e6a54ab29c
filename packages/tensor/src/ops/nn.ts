import { record } from '../autograd.js';
import { fusedKernelsEnabled, noGrad, tidy } from '../engine.js';
import { RangeArgumentError, ShapeError } from '../errors.js';
import { formatShape, normalizeAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertDType, assertFloat, commonBackend, out, runKernel } from './core.js';
import { add, cast, div, exp, greater, log, mul, notEqual, relu, rsqrt, sub } from './elementwise.js';
import { oneHot, reshape, swapAxes } from './movement.js';
import { bernoulli, type StreamOptions } from './random.js';
import { max, mean, sum, variance } from './reduce.js';

/**
 * Fused ops: each runs the backend's fused kernel when it has one (and fused kernels are on), else
 * its composed definition; both share one VJP. The conformance suite checks they agree.
 */
function fusedAvailable(
  x: Tensor,
  kernel: 'softmax' | 'logSoftmax' | 'layerNormalize' | 'crossEntropy' | 'siNormalize',
): boolean {
  return fusedKernelsEnabled() && x.storage(kernel).backend.kernels[kernel] !== undefined;
}

/** Moves `axis` last, applies `fn`, moves it back. */
function alongLastAxis(x: Tensor, axis: number, op: string, fn: (x: Tensor) => Tensor): Tensor {
  const a = normalizeAxis(axis, x.rank, op);
  return tidy(() => (a === x.rank - 1 ? fn(x) : swapAxes(fn(swapAxes(x, a, -1)), a, -1)));
}

/** softmax along `axis` (last by default). */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertFloat('softmax', x);
  if (x.rank === 0) throw new ShapeError('needs a tensor of rank ≥ 1', 'softmax');
  return alongLastAxis(x, axis, 'softmax', (x) => {
    const y = fusedAvailable(x, 'softmax')
      ? runKernel('softmax', commonBackend('softmax', [x]), 'softmax', out(x.shape, 'float32'), (fn) =>
          fn(x.view('softmax'), out(x.shape, 'float32')),
        )
      : noGrad(() => {
          const shifted = sub(x, max(x, -1, { keepDims: true }));
          const e = exp(shifted);
          return div(e, sum(e, -1, { keepDims: true }));
        });
    return record(
      'softmax',
      [x],
      y,
      (dy, [y]) => [mul(y!, sub(dy, sum(mul(dy, y!), -1, { keepDims: true })))],
      [y],
    );
  });
}

/** log(softmax(x)) along `axis`, computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  assertFloat('logSoftmax', x);
  if (x.rank === 0) throw new ShapeError('needs a tensor of rank ≥ 1', 'logSoftmax');
  return alongLastAxis(x, axis, 'logSoftmax', (x) => {
    const y = fusedAvailable(x, 'logSoftmax')
      ? runKernel(
          'logSoftmax',
          commonBackend('logSoftmax', [x]),
          'logSoftmax',
          out(x.shape, 'float32'),
          (fn) => fn(x.view('logSoftmax'), out(x.shape, 'float32')),
        )
      : noGrad(() => {
          const shifted = sub(x, max(x, -1, { keepDims: true }));
          return sub(shifted, log(sum(exp(shifted), -1, { keepDims: true })));
        });
    return record(
      'logSoftmax',
      [x],
      y,
      (dy, [y]) => [sub(dy, mul(exp(y!), sum(dy, -1, { keepDims: true })))],
      [y],
    );
  });
}

export interface LayerNormOptions {
  /** Scale γ of shape [features] (omit for LayerNorm without affine parameters). */
  weight?: Tensor | null;
  /** Shift β of shape [features]. */
  bias?: Tensor | null;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/** Layer normalisation over the last axis: (x − mean)/√(var + eps), then ·γ + β when given. */
export function layerNorm(x: Tensor, options: LayerNormOptions = {}): Tensor {
  const op = 'layerNorm';
  assertFloat(op, x);
  const eps = options.eps ?? 1e-5;
  if (!(eps >= 0)) throw new RangeArgumentError(`eps must be >= 0, got ${eps}`, op);
  if (x.rank === 0) throw new ShapeError('needs a tensor of rank ≥ 1', op);
  const features = x.shape[x.rank - 1]!;
  for (const [name, p] of [
    ['weight', options.weight],
    ['bias', options.bias],
  ] as const) {
    if (p && !shapesEqual(p.shape, [features])) {
      throw new ShapeError(
        `${name} must have shape [${features}] for input ${formatShape(x.shape)}, got ${formatShape(p.shape)}`,
        op,
      );
    }
  }
  return tidy(() => {
    const normalized = fusedAvailable(x, 'layerNormalize')
      ? runKernel(op, commonBackend(op, [x]), 'layerNormalize', out(x.shape, 'float32'), (fn) =>
          fn(x.view(op), eps, out(x.shape, 'float32')),
        )
      : noGrad(() => {
          const centered = sub(x, mean(x, -1, { keepDims: true }));
          return mul(centered, rsqrt(add(variance(x, -1, { keepDims: true }), eps)));
        });
    const xhat = record(
      op,
      [x],
      normalized,
      // dx = rstd · (dy − mean(dy) − x̂ · mean(dy · x̂))
      (dy, [x, xhat]) => {
        const rstd = rsqrt(add(variance(x!, -1, { keepDims: true }), eps));
        const centeredDy = sub(dy, mean(dy, -1, { keepDims: true }));
        return [mul(rstd, sub(centeredDy, mul(xhat!, mean(mul(dy, xhat!), -1, { keepDims: true }))))];
      },
      [x, normalized],
    );
    const scaled = options.weight ? mul(xhat, options.weight) : xhat;
    return options.bias ? add(scaled, options.bias) : scaled;
  });
}

export interface CrossEntropyOptions {
  /** Labels equal to this contribute nothing (and are not counted by 'mean'). Default −100. */
  ignoreIndex?: number;
  /** 'mean' over non-ignored labels (default), 'sum', or 'none' (per-label losses). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between `logits` [..., C] and int32 class `labels` [...] (log-softmax then
 * negative log-likelihood). With 'mean', a batch where every label is ignored gives NaN.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  assertFloat(op, logits);
  assertDType(op, labels, 'int32', 'labels');
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = options.reduction ?? 'mean';
  if (!['mean', 'sum', 'none'].includes(reduction)) {
    throw new RangeArgumentError(`reduction must be 'mean', 'sum' or 'none', got '${reduction}'`, op);
  }
  if (logits.rank === 0 || !shapesEqual(logits.shape.slice(0, -1), labels.shape)) {
    throw new ShapeError(
      `logits ${formatShape(logits.shape)} need labels of shape ${formatShape(logits.shape.slice(0, -1))}, got ${formatShape(labels.shape)}`,
      op,
    );
  }
  const classes = logits.shape[logits.rank - 1]!;
  const backend = commonBackend(op, [logits, labels]);
  const rows = labels.size;
  return tidy(() => {
    const logits2 = reshape(logits, [rows, classes]);
    const labels1 = reshape(labels, [rows]);
    const valid = cast(notEqual(labels1, ignoreIndex), 'float32');
    const perRow = fusedAvailable(logits, 'crossEntropy')
      ? runKernel(op, backend, 'crossEntropy', out([rows], 'float32'), (fn) =>
          fn(logits2.view(op), labels1.view(op), ignoreIndex, out([rows], 'float32')),
        )
      : noGrad(() => {
          const picked = sum(mul(logSoftmax(logits2), oneHot(labels1, classes)), -1);
          return mul(mul(picked, -1), valid);
        });
    // d(loss_i)/d(logits_i) = softmax(logits_i) − onehot(label_i), zero for ignored rows.
    const losses = record(
      op,
      [logits2],
      perRow,
      (dy, [logits2, labels1, valid]) => {
        const p = softmax(logits2!);
        const target = oneHot(labels1!, classes);
        return [mul(sub(p, target), reshape(mul(dy, valid!), [rows, 1]))];
      },
      [logits2, labels1, valid],
    );
    if (reduction === 'none') return reshape(losses, labels.shape);
    if (reduction === 'sum') return sum(losses);
    return div(sum(losses), sum(valid));
  });
}

export interface DropoutOptions extends StreamOptions {
  /** Dropout is the identity when false. Default true. */
  training?: boolean;
}

/** Zeroes each element with probability p (from the seeded stream) and scales the rest by 1/(1−p). */
export function dropout(x: Tensor, p: number, options: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  assertFloat(op, x);
  if (!(p >= 0 && p < 1)) throw new RangeArgumentError(`p must be in [0, 1), got ${p}`, op);
  if (options.training === false || p === 0) return reshape(x, x.shape);
  return tidy(() => {
    // The nested tidy frees the mask before the product is allocated: two x-sized temporaries at
    // the peak, not three.
    const scaled = tidy(() => mul(bernoulli(x.shape, 1 - p, options), 1 / (1 - p)));
    return mul(x, scaled);
  });
}

export interface SiNormalizeOptions {
  /** 1 for keys to keep, 0 for masked (padding) keys; broadcasts to the scores. */
  keep?: Tensor | null;
  /** Added to each row sum; a row with no positive kept score becomes all zeros. Default 1e-6. */
  eps?: number;
}

/**
 * Scale-invariant attention normalisation over the last axis (Li et al. 2022):
 * a = relu(x)·keep, out = a / (Σ a + eps). Positively homogeneous scores give scale-invariant weights.
 */
export function siNormalize(x: Tensor, options: SiNormalizeOptions = {}): Tensor {
  const op = 'siNormalize';
  assertFloat(op, x);
  const eps = options.eps ?? 1e-6;
  if (!(eps >= 0)) throw new RangeArgumentError(`eps must be >= 0, got ${eps}`, op);
  if (x.rank === 0) throw new ShapeError('needs a tensor of rank ≥ 1', op);
  const keep = options.keep ?? null;
  if (keep) assertFloat(op, keep);
  const backend = commonBackend(op, keep ? [x, keep] : [x]);
  return tidy(() => {
    const y = fusedAvailable(x, 'siNormalize')
      ? runKernel(op, backend, 'siNormalize', out(x.shape, 'float32'), (fn) =>
          fn(x.view(op), keep ? keep.view(op) : null, eps, out(x.shape, 'float32')),
        )
      : noGrad(() => {
          const a = keep ? mul(relu(x), keep) : relu(x);
          return div(a, add(sum(a, -1, { keepDims: true }), eps));
        });
    // With s = Σa + eps and y = a/s: da = (dy − Σ dy·y)/s, dx = da · [x > 0] · keep.
    return record(
      op,
      [x],
      y,
      (dy, [x, y, keep]) => {
        const a = keep ? mul(relu(x!), keep) : relu(x!);
        const s = add(sum(a, -1, { keepDims: true }), eps);
        const da = div(sub(dy, sum(mul(dy, y!), -1, { keepDims: true })), s);
        const gate = cast(greater(x!, 0), 'float32');
        return [mul(da, keep ? mul(gate, keep) : gate)];
      },
      keep ? [x, y, keep] : [x, y],
    );
  });
}
