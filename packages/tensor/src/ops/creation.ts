import type { Backend } from '../backend.js';
import { allocArray, type DType, isDType, type TypedArray } from '../dtype.js';
import { getBackend } from '../engine.js';
import { DTypeError, RangeArgumentError, ShapeError } from '../errors.js';
import { assertValidShape, formatShape, type Shape, sizeOf } from '../shape.js';
import { fromValues, type Tensor } from '../tensor.js';
import { commonBackend, out, runKernel } from './core.js';

type Nested = number | readonly Nested[];

/**
 * A tensor from values: a number, nested arrays, or a typed array (with `shape`).
 * dtype defaults to int32 for an Int32Array, else float32.
 */
export function tensor(values: Nested | TypedArray, shape?: Shape, dtype?: DType): Tensor {
  const op = 'tensor';
  if (dtype !== undefined && !isDType(dtype)) {
    throw new DTypeError(`unknown dtype '${String(dtype)}'; expected float32 or int32`, op);
  }
  const inferredShape: number[] = [];
  let flat: ArrayLike<number>;
  if (ArrayBuffer.isView(values)) {
    flat = values;
    inferredShape.push(values.length);
  } else {
    const list: number[] = [];
    flatten(values, 0, inferredShape, list);
    flat = list;
  }
  const finalShape = shape ? [...shape] : inferredShape;
  assertValidShape(finalShape, op);
  if (sizeOf(finalShape) !== flat.length) {
    throw new ShapeError(`${flat.length} values do not fill shape ${formatShape(finalShape)}`, op);
  }
  const finalDType = dtype ?? (values instanceof Int32Array ? 'int32' : 'float32');
  const array = allocArray(finalDType, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]!;
    if (finalDType === 'int32' && !Number.isInteger(v)) {
      throw new DTypeError(`an int32 tensor needs integer values, got ${v} at flat index ${i}`, op);
    }
    array[i] = v;
  }
  return fromValues(array, finalShape, finalDType);
}

function flatten(value: Nested, depth: number, shape: number[], into: number[]): void {
  if (typeof value === 'number') {
    if (depth < shape.length) throw new ShapeError('nested arrays are ragged', 'tensor');
    into.push(value);
    return;
  }
  if (!Array.isArray(value)) throw new TypeError(`tensor: expected numbers or arrays, got ${typeof value}`);
  if (depth === shape.length) shape.push(value.length);
  else if (shape[depth] !== value.length) throw new ShapeError('nested arrays are ragged', 'tensor');
  for (const item of value) flatten(item, depth + 1, shape, into);
}

/** A tensor filled with `value` on `backend` (the current one by default). */
export function full(
  shape: Shape,
  value: number,
  dtype: DType = 'float32',
  backend: Backend = getBackend(),
): Tensor {
  assertValidShape(shape, 'full');
  if (dtype === 'int32' && !Number.isInteger(value)) {
    throw new DTypeError(`an int32 fill value must be an integer, got ${value}`, 'full');
  }
  return runKernel('full', backend, 'fill', out(shape, dtype), (fill) => fill(value, out(shape, dtype)));
}

export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

export function fullLike(t: Tensor, value: number, dtype: DType = t.dtype): Tensor {
  return full(t.shape, value, dtype, commonBackend('fullLike', [t]));
}

export function zerosLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return fullLike(t, 0, dtype);
}

export function onesLike(t: Tensor, dtype: DType = t.dtype): Tensor {
  return fullLike(t, 1, dtype);
}

/** [start, stop) by step, like NumPy; `arange(n)` is 0..n-1. */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float32'): Tensor {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeArgumentError(`step must be a finite non-zero number, got ${step}`, 'arange');
  }
  const length = Math.max(0, Math.ceil((to - from) / step));
  const values = allocArray(dtype, length);
  for (let i = 0; i < length; i++) values[i] = from + i * step;
  return fromValues(values, [length], dtype);
}
