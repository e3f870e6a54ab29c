export type { DType, TypedArray } from './dtype.js';
export { DTYPES, bytesPerElement } from './dtype.js';
export * from './backend.js';
export * from './errors.js';
export { type Shape, sizeOf, broadcastShapes, formatShape } from './shape.js';
export { Tensor } from './tensor.js';
export {
  registerBackend,
  registeredBackends,
  initBackend,
  setBackend,
  getBackend,
  findBackend,
  disposeBackend,
  tidy,
  keep,
  noGrad,
  isGradEnabled,
  memory,
  resetPeakMemory,
  withoutFusedKernels,
  type MemoryInfo,
  type BackendMemory,
} from './engine.js';
export { record, type VJP, type GradNode } from './autograd.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export { philox4x32, fillRandom, bernoulliThreshold, splitU64 } from './rng.js';
export * from './ops/index.js';
