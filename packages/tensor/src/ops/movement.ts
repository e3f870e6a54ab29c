import { record } from '../autograd.js';
import { tidy } from '../engine.js';
import { DTypeError, RangeArgumentError, ShapeError } from '../errors.js';
import {
  broadcastShapes,
  formatShape,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  shapesEqual,
  sizeOf,
} from '../shape.js';
import { type Tensor, viewOf } from '../tensor.js';
import { assertDType, commonBackend, out, runKernel } from './core.js';
import { sumTo } from './reduce.js';

/** Same values, new shape (one dimension may be −1). Shares storage: no copy. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const op = 'reshape';
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(`invalid target shape ${formatShape(shape)} (at most one −1, others ≥ 0)`, op);
  }
  let target = [...shape];
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(
        `cannot reshape ${formatShape(x.shape)} (${x.size} values) to ${formatShape(shape)}`,
        op,
      );
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(target) !== x.size) {
    throw new ShapeError(
      `cannot reshape ${formatShape(x.shape)} (${x.size} values) to ${formatShape(shape)}`,
      op,
    );
  }
  return record(op, [x], viewOf(x, target, op), (dy) => [reshape(dy, x.shape)]);
}

/** Flattens to one dimension. */
export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.size]);
}

/** Inserts a size-1 axis at `axis` (−1 appends). */
export function expandDims(x: Tensor, axis = 0): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'expandDims');
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (the given ones, or all). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list =
    axes === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : normalizeAxes(axes, x.rank, 'squeeze');
  for (const a of list) {
    if (x.shape[a] !== 1) {
      throw new ShapeError(`axis ${a} of ${formatShape(x.shape)} has size ${x.shape[a]}, not 1`, 'squeeze');
    }
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !list.includes(i)),
  );
}

/** Permutes axes: out.shape[i] = x.shape[perm[i]]; by default reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const op = 'transpose';
  const p = perm ? perm.map((a) => normalizeAxis(a, x.rank, op)) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || new Set(p).size !== x.rank) {
    throw new RangeArgumentError(`perm [${perm?.join(', ')}] is not a permutation of ${x.rank} axes`, op);
  }
  if (p.every((a, i) => a === i)) return reshape(x, x.shape);
  const shape = p.map((a) => x.shape[a]!);
  const y = runKernel(op, commonBackend(op, [x]), 'transpose', out(shape, x.dtype), (fn) =>
    fn(x.view(op), p, out(shape, x.dtype)),
  );
  const inverse = new Array<number>(p.length);
  p.forEach((a, i) => {
    inverse[a] = i;
  });
  return record(op, [x], y, (dy) => [transpose(dy, inverse)]);
}

/** PyTorch's name for `transpose` with an explicit permutation. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return transpose(x, perm);
}

/** Swaps two axes. */
export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis(a, x.rank, 'swapAxes');
  const j = normalizeAxis(b, x.rank, 'swapAxes');
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return transpose(x, perm);
}

/** Materialises x broadcast to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const op = 'broadcastTo';
  const target = [...shape];
  const result = broadcastShapes(op, x.shape, target);
  if (!shapesEqual(result, target)) {
    throw new ShapeError(`cannot broadcast ${formatShape(x.shape)} to ${formatShape(target)}`, op);
  }
  if (shapesEqual(x.shape, target)) return reshape(x, target);
  const y = runKernel(op, commonBackend(op, [x]), 'broadcastTo', out(target, x.dtype), (fn) =>
    fn(x.view(op), out(target, x.dtype)),
  );
  return record(op, [x], y, (dy) => [sumTo(dy, x.shape)]);
}

/** x[begin[i] : begin[i] + size[i]] per axis; a size of −1 runs to the end. Missing axes are taken whole. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const op = 'slice';
  if (begin.length > x.rank || (size && size.length !== begin.length)) {
    throw new ShapeError(
      `begin [${begin.join(', ')}] and size [${size?.join(', ') ?? ''}] do not fit a tensor of shape ${formatShape(x.shape)}`,
      op,
    );
  }
  const start = x.shape.map((_, i) => begin[i] ?? 0);
  const shape = x.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    return s === -1 ? d - start[i]! : s;
  });
  shape.forEach((s, i) => {
    const b = start[i]!;
    if (!Number.isInteger(b) || !Number.isInteger(s) || b < 0 || s < 0 || b + s > x.shape[i]!) {
      throw new RangeArgumentError(
        `slice [${b}, ${b + s}) is out of range for axis ${i} of shape ${formatShape(x.shape)}`,
        op,
      );
    }
  });
  if (shapesEqual(shape, x.shape)) return reshape(x, x.shape);
  const y = runKernel(op, commonBackend(op, [x]), 'slice', out(shape, x.dtype), (fn) =>
    fn(x.view(op), start, out(shape, x.dtype)),
  );
  return record(op, [x], y, (dy) => [
    pad(
      dy,
      start.map((b, i) => [b, x.shape[i]! - b - shape[i]!] as const),
    ),
  ]);
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (xs.length === 0) throw new ShapeError('needs at least one tensor', op);
  const first = xs[0]!;
  const a = normalizeAxis(axis, first.rank, op);
  for (const t of xs) {
    if (t.dtype !== first.dtype) {
      throw new DTypeError(`all inputs need one dtype, got ${first.dtype} and ${t.dtype}`, op);
    }
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(
        `shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside axis ${a}`,
        op,
      );
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((n, t) => n + t.shape[a]!, 0);
  const backend = commonBackend(op, xs);
  const y =
    xs.length === 1
      ? reshape(first, first.shape)
      : runKernel(op, backend, 'concat', out(shape, first.dtype), (fn) =>
          fn(
            xs.map((t) => t.view(op)),
            a,
            out(shape, first.dtype),
          ),
        );
  const sizes = xs.map((t) => t.shape[a]!);
  return record(op, xs, y, (dy, _, needs) => {
    let offset = 0;
    return sizes.map((s, i) => {
      const begin = shape.map((_, j) => (j === a ? offset : 0));
      const size = shape.map((d, j) => (j === a ? s : d));
      offset += s;
      return needs[i] ? slice(dy, begin, size) : null;
    });
  });
}

/** Splits along `axis` into `sections` equal parts, or parts of the given sizes. */
export function split(x: Tensor, sections: number | readonly number[], axis = 0): Tensor[] {
  const op = 'split';
  const a = normalizeAxis(axis, x.rank, op);
  const dim = x.shape[a]!;
  let sizes: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections <= 0 || dim % sections !== 0) {
      throw new ShapeError(`axis ${a} of size ${dim} does not split into ${sections} equal parts`, op);
    }
    sizes = new Array<number>(sections).fill(dim / sections);
  } else {
    sizes = [...sections];
    if (sizes.reduce((n, s) => n + s, 0) !== dim) {
      throw new ShapeError(`sizes [${sizes.join(', ')}] do not add up to axis ${a} of size ${dim}`, op);
    }
  }
  let offset = 0;
  return sizes.map((s) => {
    const begin = x.shape.map((_, j) => (j === a ? offset : 0));
    const size = x.shape.map((d, j) => (j === a ? s : d));
    offset += s;
    return slice(x, begin, size);
  });
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'stack';
  if (xs.length === 0) throw new ShapeError('needs at least one tensor', op);
  const first = xs[0]!;
  for (const t of xs) {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError(
        `all inputs need one shape, got ${formatShape(first.shape)} and ${formatShape(t.shape)}`,
        op,
      );
    }
  }
  const a = normalizeAxis(axis, first.rank + 1, op);
  return tidy(() =>
    concat(
      xs.map((t) => expandDims(t, a)),
      a,
    ),
  );
}

/** Pads with `value`: paddings[i] = [before, after] for axis i. */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  const op = 'pad';
  if (
    paddings.length !== x.rank ||
    paddings.some(([b, a]) => !Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0)
  ) {
    throw new RangeArgumentError(
      `expected ${x.rank} pairs of non-negative integers for shape ${formatShape(x.shape)}, got ${JSON.stringify(paddings)}`,
      op,
    );
  }
  const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  if (shapesEqual(shape, x.shape)) return reshape(x, x.shape);
  const y = runKernel(op, commonBackend(op, [x]), 'pad', out(shape, x.dtype), (fn) =>
    fn(x.view(op), paddings, value, out(shape, x.dtype)),
  );
  return record(op, [x], y, (dy) => [
    slice(
      dy,
      paddings.map(([b]) => b),
      x.shape,
    ),
  ]);
}

/**
 * Takes slices of `x` along `axis` at int32 `indices` (an embedding lookup is gather on axis 0).
 * out.shape = x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:]. The gradient scatter-adds.
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const op = 'gather';
  assertDType(op, indices, 'int32', 'indices');
  const a = normalizeAxis(axis, x.rank, op);
  const backend = commonBackend(op, [x, indices]);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const y = runKernel(op, backend, 'gather', out(shape, x.dtype), (fn) =>
    fn(x.view(op), indices.view(op), a, out(shape, x.dtype)),
  );
  return record(op, [x], y, (dy, [indices]) => [scatterAdd(dy, indices!, a, x.shape)], [indices]);
}

/**
 * The adjoint of `gather`: zeros of `shape` with each slice of `updates` added at its index along
 * `axis`. Only gather's VJP calls it, with indices gather has checked, inside `backward` where
 * nothing is recorded: so it needs no VJP of its own.
 */
function scatterAdd(updates: Tensor, indices: Tensor, axis: number, shape: Shape): Tensor {
  const op = 'scatterAdd';
  const backend = commonBackend(op, [updates, indices]);
  return runKernel(op, backend, 'scatterAdd', out(shape, updates.dtype), (fn) =>
    fn(updates.view(op), indices.view(op), axis, out(shape, updates.dtype)),
  );
}

/** One-hot rows (float32) of int32 `indices` with `depth` classes; out-of-range indices give zero rows. */
export function oneHot(indices: Tensor, depth: number): Tensor {
  const op = 'oneHot';
  assertDType(op, indices, 'int32', 'indices');
  if (!Number.isInteger(depth) || depth < 0) {
    throw new RangeArgumentError(`depth must be a non-negative integer, got ${depth}`, op);
  }
  const shape = [...indices.shape, depth];
  return runKernel(op, commonBackend(op, [indices]), 'oneHot', out(shape, 'float32'), (fn) =>
    fn(indices.view(op), depth, out(shape, 'float32')),
  );
}
