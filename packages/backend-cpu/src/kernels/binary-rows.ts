import type { BinaryOp, CompareOp, TypedArray } from '@sibert/tensor';

// The JavaScript rows of the binary ops and comparisons (the reference the WASM kernels match):
// one strided loop per op, chosen once per call, so no switch runs inside a loop.

/** Writes `n` results to out[o…] reading a[ia + i·sa] and b[ib + i·sb]. */
export type BinaryRow = (
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
) => void;

function addRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! + b[ib + i]!;
    return;
  }
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! + b[ib]!;
}

function subRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! - b[ib + i]!;
    return;
  }
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! - b[ib]!;
}

function mulRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! * b[ib + i]!;
    return;
  }
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! * b[ib]!;
}

/** int32 products wrap like C (a plain double product loses bits beyond 2⁵³). */
export function mulIntRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = Math.imul(a[ia]!, b[ib]!);
}

function divRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    for (let i = 0; i < n; i++) out[o + i] = a[ia + i]! / b[ib + i]!;
    return;
  }
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! / b[ib]!;
}

function powRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! ** b[ib]!;
}

/** NaN in either operand propagates (as torch.maximum). */
function maximumRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) {
    const x = a[ia]!;
    const y = b[ib]!;
    out[o + i] = x > y || Number.isNaN(x) ? x : y;
  }
}

function minimumRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) {
    const x = a[ia]!;
    const y = b[ib]!;
    out[o + i] = x < y || Number.isNaN(x) ? x : y;
  }
}

function gtRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! > b[ib]! ? 1 : 0;
}
function geRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! >= b[ib]! ? 1 : 0;
}
function ltRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! < b[ib]! ? 1 : 0;
}
function leRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! <= b[ib]! ? 1 : 0;
}
function eqRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! === b[ib]! ? 1 : 0;
}
function neRow(
  out: TypedArray,
  o: number,
  a: TypedArray,
  ia: number,
  sa: number,
  b: TypedArray,
  ib: number,
  sb: number,
  n: number,
): void {
  for (let i = 0; i < n; i++, ia += sa, ib += sb) out[o + i] = a[ia]! !== b[ib]! ? 1 : 0;
}

export const BINARY_ROWS: Record<BinaryOp, BinaryRow> = {
  add: addRow,
  sub: subRow,
  mul: mulRow,
  div: divRow,
  pow: powRow,
  maximum: maximumRow,
  minimum: minimumRow,
};

export const COMPARE_ROWS: Record<CompareOp, BinaryRow> = {
  gt: gtRow,
  ge: geRow,
  lt: ltRow,
  le: leRow,
  eq: eqRow,
  ne: neRow,
};
