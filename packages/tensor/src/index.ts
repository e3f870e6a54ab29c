export { type GradNode, record, type VJP } from './autograd.js';
export * from './backend.js';
export type { DType, TypedArray } from './dtype.js';
export { bytesPerElement, DTYPES } from './dtype.js';
export {
  type BackendMemory,
  disposeBackend,
  escapeTidy,
  findBackend,
  getBackend,
  initBackend,
  isGradEnabled,
  type MemoryInfo,
  memory,
  noGrad,
  registerBackend,
  registeredBackends,
  resetPeakMemory,
  setBackend,
  tidy,
  withoutFusedKernels,
} from './engine.js';
export * from './errors.js';
export { type GradcheckOptions, type GradcheckResult, gradcheck } from './gradcheck.js';
export * from './ops/index.js';
export { bernoulliThreshold, fillRandom, philox4x32, splitU64 } from './rng.js';
export { broadcastShapes, formatShape, type Shape, sizeOf } from './shape.js';
export { Tensor } from './tensor.js';
