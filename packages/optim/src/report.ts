import { escapeTidy, noGrad, stack, type Tensor } from '@sibert/tensor';
import { disposeStats, type GroupStats } from './clipping.js';
import type { BaseGroupOptions } from './options.js';

export interface GroupStepReport {
  /** The optimizer's name, a label for logs. */
  optimizer: string;
  /** The group's name, a label for logs. */
  group: string;
  /** η used this step (base LR × schedule). */
  lr: number;
  /** Global gradient norm of the group, before clipping. */
  gradNorm: number;
  /** Parameter norm of the group before the update (the ‖x_t‖ of the clip threshold). */
  paramNorm: number;
  /** The clip threshold this step, or null when the group does not clip. */
  clipThreshold: number | null;
  /** Whether clipping fired (‖g‖ > threshold). */
  clipped: boolean;
  /** The factor the gradient was multiplied by (1 when not clipped). */
  clipFactor: number;
  /** Steps clipped since the optimizer started (kept on the device; null when the group does not clip). */
  clipCount: number | null;
  /** η/‖x‖² for scale-invariant groups, else null. */
  effectiveLr: number | null;
}

export interface StepReport {
  /** Steps taken, this one included. */
  step: number;
  /** Norms over every group together. */
  gradNorm: number;
  paramNorm: number;
  /** One per group, in the order the groups were given (of every part, for a combination). */
  groups: GroupStepReport[];
}

/** What one group's step leaves for its report. */
export interface PendingGroupReport {
  options: BaseGroupOptions;
  /** The group's clip counter (null when it never clipped). */
  clipCount: Tensor | null;
  lr: number;
  stats: GroupStats;
}

/**
 * Reads back every group's scalars in one readback and frees them. The scalars are gathered before
 * the first `await`, so a later step's in-place updates (the clip counter) do not change them.
 */
export async function readReport(
  optimizer: string,
  step: number,
  pending: readonly PendingGroupReport[],
): Promise<StepReport> {
  const scalars: Tensor[] = [];
  const slot = (t: Tensor | null): number => (t ? scalars.push(t) - 1 : -1);
  const slots = pending.map(({ options, clipCount, stats }) => ({
    gradSq: slot(stats.gradSq),
    paramSq: slot(stats.paramSq),
    threshold: typeof stats.threshold === 'object' ? slot(stats.threshold) : -1,
    factor: slot(stats.factor),
    fired: slot(stats.fired),
    clipCount: options.clip ? slot(clipCount) : -1,
  }));
  // kept: a caller's enclosing tidy must not free them while the readback is pending
  const packed = escapeTidy(noGrad(() => stack(scalars)));
  let values: Float32Array;
  try {
    values = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
    for (const { stats } of pending) disposeStats(stats);
  }
  const at = (i: number, fallback: number): number => (i >= 0 ? values[i]! : fallback);
  let gradSq = 0;
  let paramSq = 0;
  const groups = pending.map(({ options, lr, stats }, i): GroupStepReport => {
    const s = slots[i]!;
    const groupGradSq = at(s.gradSq, 0);
    const groupParamSq = at(s.paramSq, 0);
    gradSq += groupGradSq;
    paramSq += groupParamSq;
    return {
      optimizer,
      group: options.name,
      lr,
      gradNorm: Math.sqrt(groupGradSq),
      paramNorm: Math.sqrt(groupParamSq),
      clipThreshold:
        stats.threshold === null || typeof stats.threshold === 'number'
          ? stats.threshold
          : at(s.threshold, 0),
      clipped: at(s.fired, 0) > 0,
      clipFactor: at(s.factor, 1),
      clipCount: options.clip ? at(s.clipCount, 0) : null,
      effectiveLr: options.scaleInvariant ? lr / groupParamSq : null,
    };
  });
  return { step, gradNorm: Math.sqrt(gradSq), paramNorm: Math.sqrt(paramSq), groups };
}

/** One report for several optimizers' reports of the same step: their groups, norms over all of them. */
export function combineReports(parts: readonly StepReport[]): StepReport {
  const root = (key: 'gradNorm' | 'paramNorm') => Math.sqrt(parts.reduce((s, r) => s + r[key] ** 2, 0));
  return {
    step: Math.max(...parts.map((r) => r.step)),
    gradNorm: root('gradNorm'),
    paramNorm: root('paramNorm'),
    groups: parts.flatMap((r) => r.groups),
  };
}
