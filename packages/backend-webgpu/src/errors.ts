import { BackendError, RangeArgumentError } from '@sibert/tensor';

/** The error every failure of this backend throws; its message starts `webgpu: <op>:`. */
export function gpuError(op: string, message: string): BackendError {
  return new BackendError(message, `webgpu: ${op}`);
}

/** An out-of-range index found by a kernel's device-side check (reported at the next read or sync). */
export function gpuIndexError(op: string, message: string): RangeArgumentError {
  return new RangeArgumentError(message, `webgpu: ${op}`);
}
