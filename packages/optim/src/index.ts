export { Adam, type AdamOptions, AdamW } from './adam.js';
export { CombinedOptimizer, type CombinedStateDict, type CombineOptions } from './combined.js';
export { LAMB, type LAMBOptions } from './lamb.js';
export {
  assignFrom,
  type BaseGroupOptions,
  type ClipSpec,
  type GroupStateDict,
  type GroupStepReport,
  Optimizer,
  type OptimizerLike,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamStateDict,
  type StepOptions,
  type StepReport,
  type UpdateContext,
} from './optimizer.js';
export type { NamedParam, ParamList } from './params.js';
export {
  type ConstantSchedule,
  type CosineSchedule,
  constantSchedule,
  cosineSchedule,
  type LinearDecaySchedule,
  type LinearWarmupSchedule,
  linearDecay,
  linearWarmup,
  linearWarmupDecay,
  multiplySchedules,
  type PiecewiseSchedule,
  type ProductSchedule,
  piecewiseSchedule,
  type ScheduleSpec,
  scheduleFactor,
  validateSchedule,
} from './schedule.js';
export { SGD, type SGDOptions } from './sgd.js';
