/** Helpers for this package's tests: seeded inputs and naive float64 references by coordinates. */
import type { DType, TypedArray, View } from '@sibert/tensor';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { CpuRuntime } from './kernels/runtime.js';

/** mulberry32: a tiny seeded generator, so failures reproduce. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uniform in [-scale, scale) for float32, integers in [-scale, scale] for int32. */
export function randomValues(
  shape: readonly number[],
  dtype: DType,
  random: () => number,
  scale = 3,
): TypedArray {
  const size = sizeOfShape(shape);
  if (dtype === 'int32') {
    return Int32Array.from({ length: size }, () => Math.floor(random() * (2 * scale + 1)) - scale);
  }
  return Float32Array.from({ length: size }, () => (random() * 2 - 1) * scale);
}

/** A View whose handle is typed: on the CPU backend handles are the arrays themselves. */
export interface ArrayView extends View {
  readonly handle: TypedArray;
}

/** The runtime kernel tests run on (one thread: tests of the thread pool make their own). */
export const rt = new CpuRuntime(1);

let viewsInHeap = false;

/**
 * While on, `view` copies its values into the WASM heap, so the kernels take their WASM path;
 * plain arrays (the default) take the JavaScript path. Test files run their cases both ways.
 */
export function storeViewsInHeap(on: boolean): void {
  if (on && !rt.wasm?.storesTensors) throw new Error('this runtime cannot store tensors in the WASM heap');
  viewsInHeap = on;
}

export function view(handle: TypedArray, shape: readonly number[]): ArrayView {
  const dtype = handle instanceof Int32Array ? 'int32' : 'float32';
  if (viewsInHeap) {
    const copy = rt.wasm!.heap.allocate(dtype, handle.length)!;
    copy.set(handle);
    handle = copy;
  }
  return { handle, shape, dtype };
}

/** Defines `tests` twice: on plain arrays (JavaScript kernels) and on arrays in the WASM heap. */
export function inBothStorages(tests: () => void): void {
  for (const heap of [false, true]) {
    describe(heap ? 'in the WASM heap' : 'on plain arrays', () => {
      beforeAll(() => storeViewsInHeap(heap));
      afterAll(() => storeViewsInHeap(false));
      tests();
    });
  }
}

export function randomView(
  shape: readonly number[],
  random: () => number,
  dtype: DType = 'float32',
  scale = 3,
): ArrayView {
  return view(randomValues(shape, dtype, random, scale), shape);
}

export function coordsOf(index: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const extent = shape[d]!;
    coords[d] = rest % extent;
    rest = Math.floor(rest / extent);
  }
  return coords;
}

export function indexOf(coords: readonly number[], shape: readonly number[]): number {
  let index = 0;
  for (let d = 0; d < shape.length; d++) index = index * shape[d]! + coords[d]!;
  return index;
}

/** The element of `shape` (right-aligned NumPy broadcast) read at output coordinates `coords`. */
export function broadcastIndex(coords: readonly number[], shape: readonly number[]): number {
  const offset = coords.length - shape.length;
  let index = 0;
  for (let d = 0; d < shape.length; d++)
    index = index * shape[d]! + (shape[d] === 1 ? 0 : coords[d + offset]!);
  return index;
}

export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let d = 0; d < s.length; d++) {
      const extent = s[d]!;
      const o = d + rank - s.length;
      if (extent !== 1) out[o] = extent;
    }
  }
  return out;
}

/** Elementwise closeness with NaN equal to NaN and infinities matched exactly. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  relative = 1e-5,
  absolute = 1e-6,
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) expect.fail(`index ${i}: expected NaN, got ${a}`);
    } else if (!Number.isFinite(e)) {
      if (a !== e) expect.fail(`index ${i}: expected ${e}, got ${a}`);
    } else if (!(Math.abs(a - e) <= absolute + relative * Math.abs(e))) {
      expect.fail(`index ${i}: expected ${e}, got ${a} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

/** erf by its Maclaurin series in float64 (exact enough for |x| ≤ 4). */
export function erfReference(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
