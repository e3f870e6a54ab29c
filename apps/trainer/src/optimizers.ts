import { type MaskedLanguageModel, paramGroups, type SequenceClassifier } from '@sibert/models';
import {
  type ClipSpec,
  CombinedOptimizer,
  constantSchedule,
  cosineSchedule,
  createOptimizer,
  linearWarmup,
  linearWarmupDecay,
  multiplySchedules,
  type Optimizer,
  piecewiseSchedule,
  type ScheduleSpec,
} from '@sibert/optim';
import type { ClipOption, OptimizerName, PretrainOptions, ScheduleName } from './options.js';

type Params = [string, import('@sibert/nn').Parameter][];

export interface GroupSpec {
  name: string;
  params: Params;
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  momentum: number;
  clip: ClipOption;
  schedule: ScheduleSpec;
  scaleInvariant: boolean;
}

export function scheduleFor(name: ScheduleName, steps: number, requestedWarmup: number): ScheduleSpec {
  // A warmup as long as the run would leave no decay; keep at least its last step.
  const warmupSteps = Math.min(requestedWarmup, steps - 1);
  switch (name) {
    case 'paper':
      return piecewiseSchedule({ factor: 0.1, atFractions: [0.6, 0.9], totalSteps: steps });
    case 'constant':
      return constantSchedule();
    case 'linear':
      return linearWarmupDecay({ warmupSteps, totalSteps: steps });
    case 'cosine':
      return warmupSteps > 0
        ? multiplySchedules(
            linearWarmup(warmupSteps),
            cosineSchedule({ startStep: warmupSteps, totalSteps: steps }),
          )
        : cosineSchedule({ totalSteps: steps });
  }
}

function clipSpec(clip: ClipOption): ClipSpec | null {
  if (clip.kind === 'none') return null;
  return clip.kind === 'global'
    ? { type: 'norm', maxNorm: clip.maxNorm }
    : { type: 'relative', sqrtC: clip.sqrtC };
}

export function buildOptimizer(spec: GroupSpec): Optimizer {
  const common = {
    lr: spec.lr,
    weightDecay: spec.weightDecay,
    clip: clipSpec(spec.clip),
    schedule: spec.schedule,
    scaleInvariant: spec.scaleInvariant,
    name: spec.name,
  };
  // momentum is an SGD option only
  return spec.optimizer === 'sgd'
    ? createOptimizer('sgd', spec.params, { ...common, momentum: spec.momentum })
    : createOptimizer(spec.optimizer, spec.params, common);
}

/**
 * The pretraining optimizers. SIBERT: the encoder (one scale-invariant group) with `optimizer`
 * (SGD by default) and the heads with `headOptimizer` (LAMB, warmup + linear decay); with the
 * scale-invariant MLM head, its transform and decoder get the encoder's optimizer and settings, and
 * `headOptimizer` trains only its temperature and output bias. BERT: one
 * optimizer over everything. The encoder's comes first: the logged norms are the report's first part.
 */
export function pretrainGroups(model: MaskedLanguageModel, o: PretrainOptions): GroupSpec[] {
  const groups = paramGroups(model);
  const main = {
    optimizer: o.optimizer,
    lr: o.lr,
    weightDecay: o.weightDecay,
    momentum: o.momentum,
    clip: o.clip,
    schedule: scheduleFor(o.schedule, o.steps, o.warmupSteps),
  };
  if (model.config.family === 'bert')
    return [{ name: 'all', params: groups.other, ...main, scaleInvariant: false }];
  const encoder = { ...main, scaleInvariant: true };
  const [encoderPart, ...headParts] = groups.scaleInvariantParts;
  return [
    { name: 'encoder', params: encoderPart!.params, ...encoder },
    {
      name: 'heads',
      params: groups.other,
      optimizer: o.headOptimizer,
      lr: o.headLr,
      weightDecay: o.headWeightDecay,
      momentum: 0,
      clip: { kind: 'none' },
      schedule: scheduleFor('linear', o.steps, o.warmupSteps),
      scaleInvariant: false,
    },
    // The scale-invariant head's weight matrices: trained as the encoder is, each part with its own
    // norm (so its own clipping threshold), since the loss is invariant in each separately.
    ...headParts.map((part) => ({ name: part.name, params: part.params, ...encoder })),
  ];
}

export function combine(
  model: MaskedLanguageModel | SequenceClassifier,
  groups: GroupSpec[],
): CombinedOptimizer {
  return new CombinedOptimizer(groups.map(buildOptimizer), { cover: model.namedParameters() });
}
