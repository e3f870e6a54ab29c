export { CpuBackend } from './cpu-backend.js';
