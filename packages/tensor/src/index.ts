export type { DType, TypedArray } from './dtype.js';
export * from './backend.js';
export { philox4x32, fillRandom, bernoulliThreshold, splitU64 } from './rng.js';
