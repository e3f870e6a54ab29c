import { type DType, type Handle, sizeOf, stridesOf, type TypedArray, type View } from '@sibert/tensor';
import { afterAll, expect } from 'vitest';
import { openTestBackend } from './testing.js';
import { type Tolerance, withinTolerance } from './tolerances.js';
import type { WebGpuBackend, WebGpuBackendOptions } from './webgpu-backend.js';

/**
 * One test backend per value of a kernel-layout option, so every layout runs on every adapter
 * (each adapter defaults to one of them); all are disposed after the file. Entries are null
 * when tests must be skipped (see openTestBackend).
 */
export async function openLayoutBackends<K extends 'matmulKernel' | 'rowKernel'>(
  option: K,
  values: readonly NonNullable<WebGpuBackendOptions[K]>[],
): Promise<[string, WebGpuBackend | null][]> {
  const backends: [string, WebGpuBackend | null][] = [];
  for (const value of values) backends.push([value, await openTestBackend({ [option]: value })]);
  afterAll(() => {
    for (const [, b] of backends) b?.dispose();
  });
  return backends;
}

export { sampleValues } from './sample-values.js';

export function upload(
  backend: WebGpuBackend,
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'float32',
): View {
  const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  expect(data.length).toBe(sizeOf(shape));
  return { handle: backend.write(data, dtype), shape, dtype };
}

export async function download(
  backend: WebGpuBackend,
  handle: Handle,
  shape: readonly number[],
  dtype: DType = 'float32',
): Promise<TypedArray> {
  return backend.read(handle, sizeOf(shape), dtype);
}

/** Asserts element-wise closeness, reporting the first offending index. */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tolerance: Tolerance,
  label: string,
): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!withinTolerance(got[i]!, want[i]!, tolerance)) {
      expect.fail(
        `${label}: element ${i}: got ${got[i]}, want ${want[i]} (rtol ${tolerance.rtol}, atol ${tolerance.atol})`,
      );
    }
  }
}

export const EXACT: Tolerance = { rtol: 0, atol: 0 };

/** Coordinates of linear index `index` in `shape` (row-major). */
export function coordinates(index: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length);
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    coords[axis] = rest % shape[axis]!;
    rest = Math.floor(rest / shape[axis]!);
  }
  return coords;
}

/** Linear index of `coords` in `shape`, broadcasting (size-1 axes read index 0; missing leading axes dropped). */
export function broadcastIndex(coords: readonly number[], shape: readonly number[]): number {
  const strides = stridesOf(shape);
  const shift = coords.length - shape.length;
  let index = 0;
  for (let axis = 0; axis < shape.length; axis++) {
    if (shape[axis] !== 1) index += coords[axis + shift]! * strides[axis]!;
  }
  return index;
}
