export { uploadClassificationBatch, uploadMlmBatch } from './batches.js';
export {
  type LoopOptions,
  type LoopResult,
  type StepEnd,
  type StopSource,
  type TrainCallback,
  trainLoop,
} from './loop.js';
export { MetricWindow, type MetricWindowState } from './metric-window.js';
export { Prefetcher } from './prefetch.js';
export {
  type StepOptimizer,
  type StepOutputs,
  type TrainStepOptions,
  type TrainStepResult,
  trainStep,
} from './step.js';
