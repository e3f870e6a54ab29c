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
