import type { Backend, Kernels, OutSpec } from '../backend.js';
import type { DType } from '../dtype.js';
import { getBackend, kernelOf } from '../engine.js';
import { BackendError, DTypeError } from '../errors.js';
import { profiling, recordKernel } from '../profile.js';
import type { Shape } from '../shape.js';
import { formatShape } from '../shape.js';
import { fromHandle, fromValues, type Tensor } from '../tensor.js';

/** Ops accept tensors, and plain numbers where a scalar makes sense. */
export type TensorLike = Tensor | number;

/** The one backend all inputs live on (mixing backends is an error, never a silent copy). */
export function commonBackend(op: string, tensors: readonly Tensor[]): Backend {
  let backend: Backend | null = null;
  for (const t of tensors) {
    const b = t.storage(op).backend;
    if (backend && b !== backend) {
      throw new BackendError(
        backend.name === b.name
          ? `inputs are on two different instances of backend '${b.name}' (one was replaced, e.g. re-registered or disposed and made again); create tensors after \`await setBackend('${b.name}')\` has resolved`
          : `inputs are on different backends ('${backend.name}' and '${b.name}'); move one with tensor.to(name)`,
        op,
      );
    }
    backend = b;
  }
  return backend ?? getBackend();
}

/**
 * Runs `kernel` on `backend` and wraps its output. `detail` (the shapes that decide the cost)
 * labels the call in a kernel profile (`profileKernels`).
 */
export function runKernel<K extends keyof Kernels>(
  op: string,
  backend: Backend,
  kernel: K,
  out: OutSpec,
  call: (fn: NonNullable<Kernels[K]>) => unknown,
  detail?: () => string,
): Tensor {
  const fn = kernelOf(backend, kernel, op);
  if (!profiling()) return fromHandle(backend, call(fn), out.shape, out.dtype);
  const started = performance.now();
  const handle = call(fn);
  recordKernel(op, kernel, detail?.() ?? formatShape(out.shape), performance.now() - started);
  return fromHandle(backend, handle, out.shape, out.dtype);
}

/** Runs an in-place update kernel (it writes its targets and returns nothing), profiled like `runKernel`. */
export function runInPlace<K extends keyof Kernels>(
  op: string,
  backend: Backend,
  kernel: K,
  call: (fn: NonNullable<Kernels[K]>) => void,
  detail: () => string,
): void {
  const fn = kernelOf(backend, kernel, op);
  if (!profiling()) {
    call(fn);
    return;
  }
  const started = performance.now();
  call(fn);
  recordKernel(op, kernel, detail(), performance.now() - started);
}

/** A scalar tensor on `backend`. */
function scalarOn(backend: Backend, value: number, dtype: DType): Tensor {
  const values = dtype === 'float32' ? Float32Array.of(value) : Int32Array.of(value);
  return fromValues(values, [], dtype, backend);
}

/**
 * Turns op arguments into tensors on one backend; numbers become scalars of the tensors' dtype.
 * Call it inside the op's `tidy`, which frees those scalars.
 */
export function toTensors(op: string, args: readonly TensorLike[]): Tensor[] {
  const tensors = args.filter((a): a is Tensor => typeof a !== 'number');
  const backend = commonBackend(op, tensors);
  const dtype = tensors[0]?.dtype ?? 'float32';
  return args.map((a) => (typeof a === 'number' ? scalarOn(backend, a, dtype) : a));
}

export function assertFloat(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    if (t.dtype !== 'float32') {
      throw new DTypeError(`expected float32, got ${t.dtype} ${formatShape(t.shape)}`, op);
    }
  }
}

export function assertDType(op: string, t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) {
    throw new DTypeError(`expected ${what} of dtype ${dtype}, got ${t.dtype} ${formatShape(t.shape)}`, op);
  }
}

export function assertSameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(
      `inputs have different dtypes: ${a.dtype} ${formatShape(a.shape)} and ${b.dtype} ${formatShape(b.shape)}; cast one first`,
      op,
    );
  }
}

export function out(shape: Shape, dtype: DType): OutSpec {
  return { shape: [...shape], dtype };
}
