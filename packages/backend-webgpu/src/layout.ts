/** Shape arithmetic for strided kernels: row-major strides, broadcast strides and dimension coalescing. */

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis]!;
  }
  return strides;
}

/**
 * Strides that read `inputShape` (right-aligned, NumPy rules) at every coordinate of `outShape`:
 * broadcast axes get stride 0.
 */
export function broadcastStrides(inputShape: readonly number[], outShape: readonly number[]): number[] {
  const own = rowMajorStrides(inputShape);
  const shift = outShape.length - inputShape.length;
  return outShape.map((_, axis) => {
    const inputAxis = axis - shift;
    if (inputAxis < 0 || inputShape[inputAxis] === 1) return 0;
    return own[inputAxis]!;
  });
}

export interface StridedLayout {
  readonly shape: number[];
  /** One stride list per operand, each as long as `shape`. */
  readonly strides: number[][];
}

/**
 * Drops size-1 axes and merges neighbouring axes that every operand walks contiguously, so a
 * kernel needs fewer index divisions and fewer pipelines (most elementwise calls become rank 1).
 * The linear order of elements is unchanged.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): StridedLayout {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis]!;
    if (dim === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && strides.every((operand, k) => outStrides[k]![last] === operand[axis]! * dim);
    if (mergeable) {
      outShape[last] = outShape[last]! * dim;
      strides.forEach((operand, k) => {
        outStrides[k]![last] = operand[axis]!;
      });
    } else {
      outShape.push(dim);
      strides.forEach((operand, k) => {
        outStrides[k]!.push(operand[axis]!);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}
