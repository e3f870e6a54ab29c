import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

/** The script that installs a software WebGPU adapter (lavapipe) on Linux. */
export const WEBGPU_SETUP_SCRIPT = 'tools/setup-webgpu.sh';

export type WebGpuProbe =
  | { readonly available: true; readonly backend: WebGpuBackend }
  | { readonly available: false; readonly reason: string };

/** Tries to open a WebGPU backend; never throws. */
export async function probeWebGpu(options?: WebGpuBackendOptions): Promise<WebGpuProbe> {
  try {
    return { available: true, backend: await WebGpuBackend.create(options) };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}

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
    throw new Error(`WebGPU is required in CI (CI=true) but unavailable: ${probe.reason}`);
  }
  return null;
}
