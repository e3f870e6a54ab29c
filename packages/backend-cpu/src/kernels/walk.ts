import { coalesce, type Shape, type StridedLayout } from '@sibert/tensor';

/** A strided walk for the CPU loops: `coalesce`d, with at least one axis (a scalar walks [1]). */
export type Walk = StridedLayout;

export function planWalk(shape: Shape, operandStrides: readonly (readonly number[])[]): Walk {
  const walk = coalesce(shape, operandStrides);
  if (walk.shape.length === 0) {
    walk.shape.push(1);
    for (const s of walk.strides) s.push(0);
  }
  return walk;
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
