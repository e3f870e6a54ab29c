export { CpuBackend, type CpuBackendOptions } from './cpu-backend.js';
