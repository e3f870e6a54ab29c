/**
 * The ops. Each is defined once: its forward runs a backend kernel, its VJP is written in other ops.
 * One memory rule: an op that makes intermediate tensors (scalars from number arguments, views,
 * composed definitions) runs its body in `tidy`, which frees them, also when the op throws. Nothing
 * disposes by hand; a nested `tidy` frees a large temporary early where peak memory counts.
 */
export type { TensorLike } from './core.js';
export { arange, full, fullLike, ones, onesLike, tensor, zeros, zerosLike } from './creation.js';
export {
  abs,
  add,
  cast,
  clamp,
  div,
  equal,
  erf,
  exp,
  type GeluOptions,
  gelu,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  pow,
  reciprocal,
  relu,
  rsqrt,
  sigmoid,
  sign,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from './elementwise.js';
export { type MatmulOptions, matmul } from './linalg.js';
export {
  broadcastTo,
  concat,
  expandDims,
  flatten,
  gather,
  oneHot,
  pad,
  permute,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  swapAxes,
  transpose,
} from './movement.js';
export {
  type CrossEntropyOptions,
  crossEntropy,
  type DropoutOptions,
  dropout,
  type LayerNormOptions,
  layerNorm,
  logSoftmax,
  type SiNormalizeOptions,
  siNormalize,
  softmax,
} from './nn.js';
export {
  bernoulli,
  getRngState,
  manualSeed,
  normal,
  type RngState,
  random,
  type StreamOptions,
  setRngState,
  truncatedNormal,
  uniform,
} from './random.js';
export {
  argmax,
  argmin,
  max,
  mean,
  min,
  type ReduceOptions,
  sum,
  sumOfSquares,
  type VarianceOptions,
  variance,
} from './reduce.js';
export {
  type AdamInPlaceOptions,
  type AxpyOptions,
  adamInPlace,
  axpyInPlace,
} from './update.js';
