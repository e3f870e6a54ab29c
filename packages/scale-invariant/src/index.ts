export { SIAttention, type SIAttentionOptions, siAttentionWeights } from './attention.js';
export {
  checkScaleInvariance,
  gradientOrthogonality,
  type ScaleInvarianceOptions,
  type ScaleInvarianceReport,
} from './checks.js';
export {
  SI_NORM_EPS,
  SIEmbedding,
  type SIEmbeddingOptions,
  SIEncoder,
  type SIEncoderConfig,
  type SIEncoderInputs,
  SIEncoderLayer,
  type SIEncoderLayerOptions,
} from './encoder.js';
export { SIFeedForward, type SIFeedForwardOptions } from './feed-forward.js';
export {
  checkHomogeneity,
  formatHomogeneity,
  type Homogeneity,
  type HomogeneityReport,
  type HomogeneityViolation,
  type HomogeneousModule,
  isHomogeneousModule,
  outputDegree,
  type Wiring,
  type WiringStep,
} from './homogeneity.js';
