import { adamInPlace } from '@sibert/tensor';
import { BaseOptimizer, type UpdateContext } from './base-optimizer.js';
import { type BaseGroupOptions, baseDefaults, type Fail, type ParamGroup } from './options.js';
import type { ParamList } from './params.js';

export interface AdamOptions extends BaseGroupOptions {
  /** β₁, β₂: decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** ε added to √v̂ (Adam, AdamW) or to √v̂ before the trust ratio (LAMB). */
  eps: number;
}

/** Checks betas and eps (shared by Adam, AdamW and LAMB). */
export function validateMomentOptions(options: AdamOptions, fail: Fail): void {
  const betas = options.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => b >= 0 && b < 1)) {
    fail(`betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
  if (!(Number.isFinite(options.eps) && options.eps > 0))
    fail(`eps must be a finite number > 0, got ${options.eps}`);
}

/** The `adamInPlace` scalars shared by Adam, AdamW and LAMB at step t: β's, ε, √(1 − β₂ᵗ), and 1 − β₁ᵗ. */
export function momentScalars(options: AdamOptions, stepNumber: number) {
  const [beta1, beta2] = options.betas;
  return {
    beta1,
    beta2,
    eps: options.eps,
    sqrtCorrection2: Math.sqrt(1 - beta2 ** stepNumber),
    correction1: 1 - beta1 ** stepNumber,
  };
}

type AdamInput = Partial<AdamOptions> & { lr: number };

abstract class AdamFamily extends BaseOptimizer<AdamOptions> {
  protected defaultOptions() {
    return { ...baseDefaults(), betas: [0.9, 0.999] as [number, number], eps: 1e-8 };
  }

  protected validateOptions(options: AdamOptions, fail: Fail): void {
    validateMomentOptions(options, fail);
  }

  protected stateNames(): readonly string[] {
    return ['expAvg', 'expAvgSq'];
  }
}

/** Adam with L2 weight decay coupled into the gradient (g + λx), as `torch.optim.Adam`. */
export class Adam extends AdamFamily {
  readonly name = 'Adam';

  constructor(params: ParamList | readonly ParamGroup<AdamOptions>[], options: AdamInput) {
    super(params, options);
  }

  protected update(context: UpdateContext<AdamOptions>): void {
    adamUpdate(context, { l2: context.options.weightDecay, decay: 0 });
  }
}

/**
 * AdamW (Loshchilov & Hutter): decoupled weight decay x ← x − ηλx, then the Adam step on g alone,
 * as `torch.optim.AdamW`. Weight decay defaults to 0.01 as there.
 */
export class AdamW extends AdamFamily {
  readonly name = 'AdamW';

  constructor(params: ParamList | readonly ParamGroup<AdamOptions>[], options: AdamInput) {
    super(params, options);
  }

  protected override defaultOptions() {
    return { ...super.defaultOptions(), weightDecay: 0.01 };
  }

  protected update(context: UpdateContext<AdamOptions>): void {
    adamUpdate(context, { l2: 0, decay: context.lr * context.options.weightDecay });
  }
}

/**
 * One `adamInPlace` pass, as torch computes the step: x ← x − decay·x − (η/c₁)·m / (√v/√c₂ + ε),
 * the moments taken of s·g + l2·x (s the clip factor).
 */
function adamUpdate(
  { param, grad, gradScale, state, options, lr, stepNumber }: UpdateContext<AdamOptions>,
  { l2, decay }: { l2: number; decay: number },
): void {
  const { correction1, ...scalars } = momentScalars(options, stepNumber);
  adamInPlace(param, state.expAvg!, state.expAvgSq!, grad, {
    ...scalars,
    gradScale,
    l2,
    decay,
    step: lr / correction1,
  });
}
