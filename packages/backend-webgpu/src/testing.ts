/**
 * `@sibert/backend-webgpu/testing`: helpers for test files that run on WebGPU (this package's and
 * other packages'), kept out of the main entry.
 */
import { BackendError } from '@sibert/tensor';
import { probeWebGpu, WEBGPU_SETUP_SCRIPT } from './probe.js';
import type { WebGpuBackend, WebGpuBackendOptions } from './webgpu-backend.js';

export {
  BINARY_TOLERANCE,
  TOLERANCE,
  type Tolerance,
  UNARY_TOLERANCE,
  withinTolerance,
} from './tolerances.js';

/** The one line printed when WebGPU tests are skipped. */
export function skipNotice(reason: string): string {
  return `!!! WebGPU tests SKIPPED: no adapter (${reason}). Install one with: sudo bash ${WEBGPU_SETUP_SCRIPT}`;
}

/**
 * The backend for a test file, or null when tests must be skipped. In CI (`CI=true`) a missing
 * adapter is a failure, never a skip.
 */
export async function openTestBackend(options?: WebGpuBackendOptions): Promise<WebGpuBackend | null> {
  const probe = await probeWebGpu(options);
  if (probe.available) return probe.backend;
  if (typeof process !== 'undefined' && process.env.CI === 'true') {
    throw new BackendError(`WebGPU is required in CI (CI=true) but unavailable: ${probe.reason}`);
  }
  return null;
}
