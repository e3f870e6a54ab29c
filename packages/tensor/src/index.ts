export type { BackwardOptions } from './autograd.js';
export * from './backend.js';
export type { DType, TypedArray } from './dtype.js';
export { bytesPerElement } from './dtype.js';
export {
  type BackendMemory,
  escapeTidy,
  getBackend,
  initBackend,
  type MemoryInfo,
  memory,
  noGrad,
  registerBackend,
  resetPeakMemory,
  setBackend,
  tidy,
} from './engine.js';
export * from './errors.js';
export { type GradcheckOptions, type GradcheckResult, gradcheck } from './gradcheck.js';
export * from './ops/index.js';
export {
  inPhase,
  type KernelProfile,
  type KernelTime,
  type PhaseTime,
  profileKernels,
} from './profile.js';
export { bernoulliThreshold, fillRandom, splitU64 } from './rng.js';
export {
  broadcastShapes,
  broadcastStrides,
  coalesce,
  formatShape,
  type Shape,
  type StridedLayout,
  shapesEqual,
  sizeOf,
  stridesOf,
} from './shape.js';
export { Tensor } from './tensor.js';
