/** Shape and stride arithmetic shared by the kernel families (row-major, element strides). */

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  return strides;
}

/** Strides that read `inShape` (right-aligned, NumPy rules) as if it had `outShape`: 0 on broadcast axes. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const inStrides = contiguousStrides(inShape);
  const offset = outShape.length - inShape.length;
  const strides = new Array<number>(outShape.length).fill(0);
  for (let d = 0; d < inShape.length; d++) {
    strides[d + offset] = inShape[d] === 1 ? 0 : inStrides[d]!;
  }
  return strides;
}

/**
 * An iteration plan over `shape` for several operands at once: size-1 axes dropped and adjacent
 * axes merged wherever every operand walks them as one, so the common cases (same shape, scalar or
 * row broadcast, contiguous copies) become one or two long inner loops.
 */
export interface Walk {
  /** Merged extents, outermost first; at least one axis (a scalar walks [1]). */
  readonly shape: number[];
  /** strides[operand][axis], matching `shape`. */
  readonly strides: number[][];
}

export function planWalk(shape: readonly number[], operandStrides: readonly (readonly number[])[]): Walk {
  const mergedShape: number[] = [];
  const merged: number[][] = operandStrides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const extent = shape[d]!;
    if (extent === 1) continue;
    const last = mergedShape.length - 1;
    let canMerge = last >= 0;
    if (canMerge) {
      for (let k = 0; k < operandStrides.length; k++) {
        // The previous (outer) axis continues this one iff outerStride == extent · innerStride.
        if (merged[k]![last]! !== extent * operandStrides[k]![d]!) {
          canMerge = false;
          break;
        }
      }
    }
    if (canMerge) {
      mergedShape[last] = mergedShape[last]! * extent;
      for (let k = 0; k < operandStrides.length; k++) merged[k]![last] = operandStrides[k]![d]!;
    } else {
      mergedShape.push(extent);
      for (let k = 0; k < operandStrides.length; k++) merged[k]!.push(operandStrides[k]![d]!);
    }
  }
  if (mergedShape.length === 0) {
    mergedShape.push(1);
    for (const s of merged) s.push(0);
  }
  return { shape: mergedShape, strides: merged };
}

/**
 * Calls `row(offsets, length)` once per innermost row of `walk`, with each operand's starting
 * offset; the callee walks `length` elements using the innermost strides. Rows, not elements,
 * go through the callback, so its cost is amortised.
 */
export function forEachRow(
  walk: Walk,
  baseOffsets: readonly number[],
  row: (offsets: readonly number[], length: number) => void,
): void {
  const { shape, strides } = walk;
  const rank = shape.length;
  const operands = strides.length;
  const inner = shape[rank - 1]!;
  if (inner === 0) return;
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d]!;
  if (rows === 0) return;
  const offsets = baseOffsets.slice();
  const counter = new Array<number>(rank).fill(0);
  for (let r = 0; r < rows; r++) {
    row(offsets, inner);
    // Odometer over the outer axes.
    for (let d = rank - 2; d >= 0; d--) {
      counter[d] = counter[d]! + 1;
      for (let k = 0; k < operands; k++) offsets[k] = offsets[k]! + strides[k]![d]!;
      if (counter[d]! < shape[d]!) break;
      for (let k = 0; k < operands; k++) offsets[k] = offsets[k]! - strides[k]![d]! * shape[d]!;
      counter[d] = 0;
    }
  }
}
