export { type GradNode, record, type VJP } from './autograd.js';
export * from './backend.js';
export type { DType, TypedArray } from './dtype.js';
export { bytesPerElement, DTYPES } from './dtype.js';
export {
  type BackendMemory,
  disposeBackend,
  findBackend,
  getBackend,
  initBackend,
  isGradEnabled,
  keep,
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
export {
  broadcastShapes,
  broadcastStrides,
  coalesce,
  formatShape,
  type Shape,
  type StridedLayout,
  sizeOf,
  stridesOf,
} from './shape.js';
export { Tensor } from './tensor.js';
