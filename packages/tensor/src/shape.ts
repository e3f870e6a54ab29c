import { RangeArgumentError, ShapeError } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Row-major (contiguous) element strides of `shape`. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

// --- the layout kit backends share: strided iteration over contiguous row-major tensors --------

/**
 * Strides that read `inShape` (right-aligned, NumPy rules) at every coordinate of `outShape`:
 * broadcast axes (size 1, or missing in front) get stride 0.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const own = stridesOf(inShape);
  const shift = outShape.length - inShape.length;
  const strides = new Array<number>(outShape.length).fill(0);
  for (let axis = 0; axis < inShape.length; axis++) {
    strides[axis + shift] = inShape[axis] === 1 ? 0 : own[axis]!;
  }
  return strides;
}

/** A shape walked by several operands at once: `strides[operand][axis]`, as long as `shape`. */
export interface StridedLayout {
  readonly shape: number[];
  readonly strides: number[][];
}

/**
 * Drops size-1 axes and merges neighbouring axes that every operand walks as one (outer stride =
 * extent · inner stride), so the common cases (same shape, scalar or row broadcast, contiguous
 * copies) become one or two long axes. The linear order of elements is unchanged; a walk of one
 * element comes back with no axes.
 */
export function coalesce(shape: Shape, strides: readonly (readonly number[])[]): StridedLayout {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const extent = shape[axis]!;
    if (extent === 1) continue;
    const last = outShape.length - 1;
    let mergeable = last >= 0;
    for (let k = 0; mergeable && k < strides.length; k++) {
      mergeable = outStrides[k]![last] === extent * strides[k]![axis]!;
    }
    if (mergeable) outShape[last] = outShape[last]! * extent;
    else outShape.push(extent);
    for (let k = 0; k < strides.length; k++) {
      if (mergeable) outStrides[k]![last] = strides[k]![axis]!;
      else outStrides[k]!.push(strides[k]![axis]!);
    }
  }
  return { shape: outShape, strides: outStrides };
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertValidShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`expected a shape of non-negative integers, got ${formatShape(shape)}`, op);
    }
  }
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && d !== dim) {
        throw new ShapeError(
          `shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together (axis ${i - rank})`,
          op,
        );
      }
      dim = d;
    }
    out[i] = dim;
  }
  return out;
}

/** Resolves a possibly negative axis against `rank`. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new RangeArgumentError(`axis ${axis} is out of range for a tensor of rank ${rank}`, op);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Sorted unique axes; undefined means all axes. */
export function normalizeAxes(
  axes: number | readonly number[] | undefined,
  rank: number,
  op: string,
): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normalizeAxis(a, rank, op)))].sort((a, b) => a - b);
  if (out.length !== list.length) {
    throw new RangeArgumentError(`axes [${list.join(', ')}] repeat an axis`, op);
  }
  return out;
}
