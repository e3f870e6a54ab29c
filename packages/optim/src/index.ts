export { Adam, type AdamOptions, AdamW } from './adam.js';
export { BaseOptimizer, type UpdateContext } from './base-optimizer.js';
export type { ClipSpec } from './clipping.js';
export { CombinedOptimizer, type CombinedStepReport, type CombineOptions } from './combined.js';
export { createOptimizer, type OptimizerKind, type OptionsOf, type ParamsOf } from './create.js';
export { LAMB, type LAMBOptions } from './lamb.js';
export type { Optimizer, StepInBackward, StepOptions } from './optimizer.js';
export {
  type BaseGroupOptions,
  baseDefaults,
  type Fail,
  type OptionDefaults,
  type ParamGroup,
} from './options.js';
export type { NamedParam, ParamList } from './params.js';
export type { GroupStepReport, StepReport } from './report.js';
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
export type {
  CombinedStateDict,
  GroupStateDict,
  OptimizerStateDict,
  ParamStateDict,
  StateDict,
} from './state-dict.js';
