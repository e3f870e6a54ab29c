/**
 * Float64 reference implementations on plain arrays, written as directly as possible (index
 * loops, no cleverness), for the conformance suite to check every backend against.
 */
import { broadcastShapes, type Shape, sizeOf, stridesOf } from '../shape.js';

export interface HostTensor {
  shape: number[];
  values: Float64Array;
}

export function host(shape: Shape, values: ArrayLike<number>): HostTensor {
  return { shape: [...shape], values: Float64Array.from(values) };
}

/** Deterministic values in [low, high) (a small LCG, independent of the engine's RNG). */
export function sampleValues(size: number, seed: number, low = -1, high = 1): Float64Array {
  const out = new Float64Array(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround(low + ((high - low) * state) / 4294967296);
  }
  return out;
}

/** Multi-index ↔ flat index helpers. */
function unravel(index: number, shape: Shape): number[] {
  const coords = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    coords[i] = index % d;
    index = Math.floor(index / d);
  }
  return coords;
}

function broadcastIndex(coords: readonly number[], shape: Shape): number {
  const strides = stridesOf(shape);
  const lead = coords.length - shape.length;
  let flat = 0;
  for (let i = 0; i < shape.length; i++) {
    const c = shape[i] === 1 ? 0 : coords[i + lead]!;
    flat += c * strides[i]!;
  }
  return flat;
}

export function mapElementwise(inputs: readonly HostTensor[], fn: (...v: number[]) => number): HostTensor {
  const shape = broadcastShapes('reference', ...inputs.map((t) => t.shape));
  const size = sizeOf(shape);
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const coords = unravel(i, shape);
    values[i] = fn(...inputs.map((t) => t.values[broadcastIndex(coords, t.shape)]!));
  }
  return { shape, values };
}

export function reduce(
  x: HostTensor,
  axes: readonly number[],
  combine: (values: number[]) => number,
  keepDims = false,
): HostTensor {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  const size = sizeOf(x.shape);
  for (let i = 0; i < size; i++) {
    const coords = unravel(i, x.shape).map((c, a) => (axes.includes(a) ? 0 : c));
    const key = broadcastIndex(coords, outShape);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(x.values[i]!);
  }
  const values = new Float64Array(sizeOf(outShape));
  for (let k = 0; k < values.length; k++) values[k] = combine(groups.get(k) ?? []);
  return { shape: keepDims ? outShape : x.shape.filter((_, i) => !axes.includes(i)), values };
}

export const combine = {
  sum: (v: number[]) => v.reduce((a, b) => a + b, 0),
  mean: (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length,
  max: (v: number[]) =>
    v.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)), -Infinity),
  min: (v: number[]) =>
    v.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)), Infinity),
  variance: (v: number[]) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
  },
  argmax: (v: number[]) =>
    v.reduce((best, x, i) => (Number.isNaN(v[best]!) ? best : Number.isNaN(x) || x > v[best]! ? i : best), 0),
  argmin: (v: number[]) =>
    v.reduce((best, x, i) => (Number.isNaN(v[best]!) ? best : Number.isNaN(x) || x < v[best]! ? i : best), 0),
};

function transpose2(x: HostTensor): HostTensor {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  [perm[rank - 1], perm[rank - 2]] = [perm[rank - 2]!, perm[rank - 1]!];
  return permute(x, perm);
}

export function permute(x: HostTensor, perm: readonly number[]): HostTensor {
  const shape = perm.map((p) => x.shape[p]!);
  const strides = stridesOf(x.shape);
  const values = new Float64Array(sizeOf(shape));
  for (let i = 0; i < values.length; i++) {
    const coords = unravel(i, shape);
    let src = 0;
    coords.forEach((c, j) => {
      src += c * strides[perm[j]!]!;
    });
    values[i] = x.values[src]!;
  }
  return { shape, values };
}

export function matmul(a: HostTensor, b: HostTensor, transposeA = false, transposeB = false): HostTensor {
  const A = transposeA ? transpose2(a) : a;
  const B = transposeB ? transpose2(b) : b;
  const m = A.shape[A.shape.length - 2]!;
  const k = A.shape[A.shape.length - 1]!;
  const n = B.shape[B.shape.length - 1]!;
  const batch = broadcastShapes('reference', A.shape.slice(0, -2), B.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const values = new Float64Array(sizeOf(shape));
  const batchSize = sizeOf(batch);
  for (let bIndex = 0; bIndex < batchSize; bIndex++) {
    const coords = unravel(bIndex, batch);
    const aOff = broadcastIndex(coords, A.shape.slice(0, -2)) * m * k;
    const bOff = broadcastIndex(coords, B.shape.slice(0, -2)) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += A.values[aOff + i * k + p]! * B.values[bOff + p * n + j]!;
        values[bIndex * m * n + i * n + j] = acc;
      }
    }
  }
  return { shape, values };
}

/** Applies `fn` to each row along the last axis. */
export function mapRows(x: HostTensor, fn: (row: number[]) => number[]): HostTensor {
  const n = x.shape[x.shape.length - 1]!;
  const values = new Float64Array(x.values.length);
  for (let r = 0; r * n < x.values.length; r++) {
    const row = Array.from(x.values.subarray(r * n, (r + 1) * n));
    values.set(fn(row), r * n);
  }
  return { shape: [...x.shape], values };
}

export const rows = {
  softmax: (row: number[]) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  },
  logSoftmax: (row: number[]) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  },
  layerNorm: (eps: number) => (row: number[]) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    return row.map((v) => (v - mean) / Math.sqrt(variance + eps));
  },
};

export function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for a reference; use a series / continued fraction pair.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let total = ax;
    for (let n = 1; n < 60; n++) {
      term *= (-ax * ax) / n;
      total += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * total;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export const scalar = {
  gelu: (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
};
