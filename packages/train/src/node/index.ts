// Node-only parts of @sibert/train: run folders on disk, training checkpoints, process signals.

export { describeFsError } from './fs-safety.js';
export {
  CHECKPOINT_PHASES,
  type CheckpointPhase,
  type MetricsRepair,
  type RunConfig,
  RunFolder,
  RunFolderError,
  type RunKind,
} from './run-folder.js';
export { ProcessStopSignals, STOP_SIGNALS, type StopSignal } from './stop-signals.js';
export {
  loadWithPath,
  MODEL_FILE,
  NonFiniteWeightsError,
  readModelFile,
  restoreNewestCheckpoint,
  restoreTrainingCheckpoint,
  type TrainingState,
  writeTrainingCheckpoint,
} from './training-checkpoint.js';
