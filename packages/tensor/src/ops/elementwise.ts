import { record } from '../autograd.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../backend.js';
import type { DType } from '../dtype.js';
import { tidy } from '../engine.js';
import { DTypeError, RangeArgumentError } from '../errors.js';
import { broadcastShapes, formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import {
  assertFloat,
  assertSameDType,
  commonBackend,
  out,
  runKernel,
  type TensorLike,
  toTensors,
} from './core.js';
import { sumTo } from './reduce.js';

// ---- unary ---------------------------------------------------------------------------------

/** Unary ops that also accept int32 (the others are float32 only). */
const INT_UNARY = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square']);

function unary(op: UnaryOp, x: Tensor): Tensor {
  if (!INT_UNARY.has(op)) assertFloat(op, x);
  const backend = commonBackend(op, [x]);
  return runKernel(op, backend, 'unary', out(x.shape, x.dtype), (fn) =>
    fn(x.view(op), op, out(x.shape, x.dtype)),
  );
}

export function neg(x: Tensor): Tensor {
  return record('neg', [x], unary('neg', x), (dy) => [neg(dy)]);
}

export function exp(x: Tensor): Tensor {
  const y = unary('exp', x);
  return record('exp', [x], y, (dy, [y]) => [mul(dy, y!)], [y]);
}

export function log(x: Tensor): Tensor {
  return record('log', [x], unary('log', x), (dy, [x]) => [div(dy, x!)], [x]);
}

export function sqrt(x: Tensor): Tensor {
  const y = unary('sqrt', x);
  return record('sqrt', [x], y, (dy, [y]) => [div(dy, mul(y!, 2))], [y]);
}

export function rsqrt(x: Tensor): Tensor {
  const y = unary('rsqrt', x);
  // d/dx x^(-1/2) = -1/2 · y³
  return record('rsqrt', [x], y, (dy, [y]) => [mul(dy, mul(pow(y!, 3), -0.5))], [y]);
}

export function abs(x: Tensor): Tensor {
  return record('abs', [x], unary('abs', x), (dy, [x]) => [mul(dy, sign(x!))], [x]);
}

/** −1, 0 or 1; its gradient is zero. */
export function sign(x: Tensor): Tensor {
  return record('sign', [x], unary('sign', x), (dy) => [mul(dy, 0)]);
}

export function square(x: Tensor): Tensor {
  return record('square', [x], unary('square', x), (dy, [x]) => [mul(dy, mul(x!, 2))], [x]);
}

export function reciprocal(x: Tensor): Tensor {
  const y = unary('reciprocal', x);
  return record('reciprocal', [x], y, (dy, [y]) => [neg(mul(dy, square(y!)))], [y]);
}

export function relu(x: Tensor): Tensor {
  return record('relu', [x], unary('relu', x), (dy, [x]) => [mul(dy, cast(greater(x!, 0), 'float32'))], [x]);
}

export function tanh(x: Tensor): Tensor {
  const y = unary('tanh', x);
  return record('tanh', [x], y, (dy, [y]) => [mul(dy, sub(1, square(y!)))], [y]);
}

export function sigmoid(x: Tensor): Tensor {
  const y = unary('sigmoid', x);
  return record('sigmoid', [x], y, (dy, [y]) => [mul(dy, mul(y!, sub(1, y!)))], [y]);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

export function erf(x: Tensor): Tensor {
  return record(
    'erf',
    [x],
    unary('erf', x),
    (dy, [x]) => [mul(dy, mul(exp(neg(square(x!))), TWO_OVER_SQRT_PI))],
    [x],
  );
}

export interface GeluOptions {
  /** 'none' (exact, erf) or 'tanh' (the approximation of the original BERT code). */
  approximate?: 'none' | 'tanh';
}

/** GELU: x·Φ(x), exactly (erf) or with the tanh approximation. */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate === 'tanh') {
    return record('gelu', [x], unary('geluTanh', x), (dy, [x]) => [mul(dy, geluTanhGrad(x!))], [x]);
  }
  if (approximate !== 'none') {
    throw new RangeArgumentError(
      `approximate must be 'none' or 'tanh', got '${String(approximate)}'`,
      'gelu',
    );
  }
  return record('gelu', [x], unary('gelu', x), (dy, [x]) => [mul(dy, geluGrad(x!))], [x]);
}

/** Φ(x) + x·φ(x). */
function geluGrad(x: Tensor): Tensor {
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI);
  return add(cdf, mul(x, pdf));
}

function geluTanhGrad(x: Tensor): Tensor {
  const x2 = square(x);
  const t = tanh(mul(mul(x, add(mul(x2, GELU_CUBIC), 1)), SQRT_2_OVER_PI));
  const dInner = mul(add(mul(x2, 3 * GELU_CUBIC), 1), SQRT_2_OVER_PI);
  return add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, square(t))), dInner));
}

// ---- binary --------------------------------------------------------------------------------

const INT_BINARY = new Set<BinaryOp>(['add', 'sub', 'mul', 'maximum', 'minimum']);

function binary(
  op: BinaryOp,
  aLike: TensorLike,
  bLike: TensorLike,
  build: (a: Tensor, b: Tensor, y: Tensor) => Tensor,
): Tensor {
  return tidy(() => {
    const [a, b] = toTensors(op, [aLike, bLike]) as [Tensor, Tensor];
    assertSameDType(op, a, b);
    if (!INT_BINARY.has(op)) assertFloat(op, a);
    const shape = broadcastShapes(op, a.shape, b.shape);
    const backend = commonBackend(op, [a, b]);
    const y = runKernel(op, backend, 'binary', out(shape, a.dtype), (fn) =>
      fn(a.view(op), b.view(op), op, out(shape, a.dtype)),
    );
    return build(a, b, y);
  });
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('add', a, b, (a, b, y) =>
    record('add', [a, b], y, (dy, _, needs) => [
      needs[0] ? sumTo(dy, a.shape) : null,
      needs[1] ? sumTo(dy, b.shape) : null,
    ]),
  );
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('sub', a, b, (a, b, y) =>
    record('sub', [a, b], y, (dy, _, needs) => [
      needs[0] ? sumTo(dy, a.shape) : null,
      needs[1] ? sumTo(neg(dy), b.shape) : null,
    ]),
  );
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('mul', a, b, (a, b, y) =>
    record(
      'mul',
      [a, b],
      y,
      (dy, [a, b], needs) => [
        needs[0] ? sumTo(mul(dy, b!), a!.shape) : null,
        needs[1] ? sumTo(mul(dy, a!), b!.shape) : null,
      ],
      [a, b],
    ),
  );
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('div', a, b, (a, b, y) =>
    record(
      'div',
      [a, b],
      y,
      (dy, [a, b], needs) => [
        needs[0] ? sumTo(div(dy, b!), a!.shape) : null,
        needs[1] ? sumTo(neg(div(mul(dy, a!), square(b!))), b!.shape) : null,
      ],
      [a, b],
    ),
  );
}

/** a^b elementwise (float32). The gradient for b uses log(a) where a > 0 and 0 elsewhere. */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binary('pow', a, b, (a, b, y) =>
    record(
      'pow',
      [a, b],
      y,
      (dy, [a, b, y], needs) => [
        needs[0] ? sumTo(mul(dy, mul(b!, pow(a!, sub(b!, 1)))), a!.shape) : null,
        needs[1]
          ? sumTo(mul(dy, mul(y!, where(greater(a!, 0), log(maximum(a!, 1e-30)), 0))), b!.shape)
          : null,
      ],
      [a, b, y],
    ),
  );
}

/** Elementwise maximum; on ties the gradient goes to `a`. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary('maximum', a, b, (a, b, y) =>
    record(
      'maximum',
      [a, b],
      y,
      (dy, [a, b], needs) => {
        const takeA = cast(greaterEqual(a!, b!), 'float32');
        return [
          needs[0] ? sumTo(mul(dy, takeA), a!.shape) : null,
          needs[1] ? sumTo(mul(dy, sub(1, takeA)), b!.shape) : null,
        ];
      },
      [a, b],
    ),
  );
}

/** Elementwise minimum; on ties the gradient goes to `a`. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary('minimum', a, b, (a, b, y) =>
    record(
      'minimum',
      [a, b],
      y,
      (dy, [a, b], needs) => {
        const takeA = cast(lessEqual(a!, b!), 'float32');
        return [
          needs[0] ? sumTo(mul(dy, takeA), a!.shape) : null,
          needs[1] ? sumTo(mul(dy, sub(1, takeA)), b!.shape) : null,
        ];
      },
      [a, b],
    ),
  );
}

/** Limits x to [low, high]; the gradient flows where low ≤ x ≤ high. */
export function clamp(x: Tensor, low: number, high: number): Tensor {
  if (!(low <= high)) throw new RangeArgumentError(`low (${low}) must be <= high (${high})`, 'clamp');
  return tidy(() => minimum(maximum(x, low), high));
}

// ---- comparisons and selection ---------------------------------------------------------------

function compare(op: CompareOp, aLike: TensorLike, bLike: TensorLike): Tensor {
  return tidy(() => {
    const [a, b] = toTensors(op, [aLike, bLike]) as [Tensor, Tensor];
    assertSameDType(op, a, b);
    const shape = broadcastShapes(op, a.shape, b.shape);
    return runKernel(op, commonBackend(op, [a, b]), 'compare', out(shape, 'int32'), (fn) =>
      fn(a.view(op), b.view(op), op, out(shape, 'int32')),
    );
  });
}

/** a > b as int32 0/1 (no gradient). */
export const greater = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);
export const less = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const equal = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);

/** cond ? a : b elementwise, all broadcast; cond is any dtype (non-zero is true). */
export function where(cond: Tensor, aLike: TensorLike, bLike: TensorLike): Tensor {
  const op = 'where';
  return tidy(() => {
    const [a, b] = toTensors(op, [aLike, bLike]) as [Tensor, Tensor];
    assertSameDType(op, a, b);
    const shape = broadcastShapes(op, cond.shape, a.shape, b.shape);
    const backend = commonBackend(op, [cond, a, b]);
    const y = runKernel(op, backend, 'where', out(shape, a.dtype), (fn) =>
      fn(cond.view(op), a.view(op), b.view(op), out(shape, a.dtype)),
    );
    return record(
      op,
      [a, b],
      y,
      (dy, [cond], needs) => [
        needs[0] ? sumTo(where(cond!, dy, 0), a.shape) : null,
        needs[1] ? sumTo(where(cond!, 0, dy), b.shape) : null,
      ],
      [cond],
    );
  });
}

/** Converts dtype (float → int truncates toward zero). Gradients flow only float → float. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const op = 'cast';
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new DTypeError(`unknown dtype '${String(dtype)}' (from ${x.dtype} ${formatShape(x.shape)})`, op);
  }
  return runKernel(op, commonBackend(op, [x]), 'cast', out(x.shape, dtype), (fn) =>
    fn(x.view(op), out(x.shape, dtype)),
  );
}
