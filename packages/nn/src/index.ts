export { GELU, ReLU } from './activation.js';
export {
  additiveKeyPaddingMask,
  checkAttentionInputs,
  MultiHeadAttention,
  type MultiHeadAttentionOptions,
  mergeHeads,
  splitHeads,
} from './attention.js';
export { Dropout } from './dropout.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { FeedForward, type FeedForwardOptions } from './feed-forward.js';
export type { Initializer } from './init.js';
export * as init from './init.js';
export { LayerNorm, type LayerNormModuleOptions } from './layer-norm.js';
export { Linear, type LinearOptions } from './linear.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type StateDict,
  StateDictError,
} from './module.js';
export { Parameter } from './parameter.js';
