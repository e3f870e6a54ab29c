export { BertEmbeddings, BertLayer, BertModel } from './bert.js';
export {
  type CheckpointableModel,
  type CheckpointContents,
  canonicalBertName,
  checkpointNames,
  checkpointTensors,
  decodeModel,
  encodeModel,
  type LoadReport,
  type LoadWeightsOptions,
  loadWeights,
} from './checkpoint.js';
export {
  MODEL_NAMES,
  type ModelConfig,
  type ModelFamily,
  type ModelName,
  type PresetSize,
  presetConfig,
  validateConfig,
} from './config.js';
export { createEncoder, type Encoder } from './encoder.js';
export {
  type AnyMlmHead,
  ClassificationHead,
  classificationLoss,
  clsState,
  type MaskedTargets,
  MlmHead,
  type MlmOutput,
  maskedTargetsFromLabels,
  meanState,
  mlmLoss,
  ScaleInvariantMlmHead,
} from './heads.js';
export { configFromHuggingFace, configToHuggingFace, huggingFaceFiles } from './huggingface.js';
export { checkEncoderInputs, type EncoderInputs, type EncoderOutput } from './inputs.js';
export {
  initOutputBias,
  MaskedLanguageModel,
  type ParamGroups,
  paramGroups,
  SequenceClassifier,
  scaleEncoder,
} from './models.js';
export { CheckpointError, decodeSafetensors, encodeSafetensors, type TensorData } from './safetensors.js';
export { SibertModel } from './sibert.js';
