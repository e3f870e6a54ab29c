/// <reference types="@webgpu/types" />
import { registerBackend } from '@sibert/tensor';
import { WebGpuBackend } from './webgpu-backend.js';

export {
  openTestBackend,
  probeWebGpu,
  skipNotice,
  WEBGPU_SETUP_SCRIPT,
  type WebGpuProbe,
} from './testing.js';
export {
  BINARY_TOLERANCE,
  TOLERANCE,
  type Tolerance,
  UNARY_TOLERANCE,
  withinTolerance,
} from './tolerances.js';
export { WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

// Importing the package registers 'webgpu' (below 'cpu' in priority, so it is used once chosen with
// `await setBackend('webgpu')`); the device is opened then, not at import.
registerBackend('webgpu', () => WebGpuBackend.create(), 0);
