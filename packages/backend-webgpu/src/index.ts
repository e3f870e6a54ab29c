/// <reference types="@webgpu/types" />
import { registerBackend } from '@sibert/tensor';
import { WebGpuBackend } from './webgpu-backend.js';

export { probeWebGpu, WEBGPU_SETUP_SCRIPT, type WebGpuProbe } from './probe.js';
export {
  type AdapterKind,
  adapterKind,
  DEFAULT_READ_TIMEOUT_MS,
  WebGpuBackend,
  type WebGpuBackendOptions,
} from './webgpu-backend.js';

// Importing the package registers 'webgpu' (below 'cpu' in priority, so it is used once chosen with
// `await setBackend('webgpu')`); the device is opened then, not at import.
registerBackend('webgpu', () => WebGpuBackend.create(), 0);
