import { registerBackend } from '@sibert/tensor';
import { CpuBackend } from './cpu-backend.js';

export { CpuBackend, type CpuBackendOptions } from './cpu-backend.js';

// Importing the package registers it, as TensorFlow.js backends do: `import '@sibert/backend-cpu'`.
registerBackend('cpu', () => new CpuBackend(), 1);
