import { type DType, type Handle, type OutSpec, sizeOf, type View } from '@sibert/tensor';
import { gpuError } from '../errors.js';
import { type GpuRuntime, GpuStorage } from '../runtime.js';

/** The storage behind a view, checked to belong to this backend and to be alive. */
export function storageOf(op: string, view: View): GpuStorage {
  const handle: Handle = view.handle;
  if (!(handle instanceof GpuStorage)) {
    throw gpuError(op, `expected a handle of the webgpu backend, got ${describeHandle(handle)}`);
  }
  if (handle.released) throw gpuError(op, `an input was already freed`);
  return handle;
}

function describeHandle(handle: unknown): string {
  if (handle === null || typeof handle !== 'object') return String(handle);
  return handle.constructor?.name ?? 'an object';
}

export function allocateOut(rt: GpuRuntime, op: string, out: OutSpec): GpuStorage {
  return rt.allocate(op, sizeOf(out.shape));
}

export function requireDType(op: string, what: string, actual: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(actual)) {
    throw gpuError(op, `${what} must be ${allowed.join(' or ')}, got ${actual}`);
  }
}

export function workgroupsFor(count: number, workgroupSize: number): number {
  return Math.ceil(count / workgroupSize);
}
