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
