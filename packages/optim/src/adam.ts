import { add, div, mul, sqrt, square, sub, type Tensor, tidy } from '@sibert/tensor';
import { assignFrom, BaseOptimizer, type UpdateContext } from './base-optimizer.js';
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

/** m ← β₁m + (1−β₁)g and v ← β₂v + (1−β₂)g², in place; returns the bias corrections 1 − β^t. */
export function updateMoments(
  grad: Tensor,
  state: Readonly<Record<string, Tensor>>,
  options: AdamOptions,
  stepNumber: number,
): { correction1: number; correction2: number } {
  const [beta1, beta2] = options.betas;
  const expAvg = state.expAvg!;
  const expAvgSq = state.expAvgSq!;
  assignFrom(expAvg, () => add(mul(expAvg, beta1), mul(grad, 1 - beta1)));
  assignFrom(expAvgSq, () => add(mul(expAvgSq, beta2), mul(square(grad), 1 - beta2)));
  return { correction1: 1 - beta1 ** stepNumber, correction2: 1 - beta2 ** stepNumber };
}

/** The Adam step m̂/(√v̂ + ε) times `scale`, computed as torch does: (scale/c₁)·m / (√v/√c₂ + ε). */
function adamStep(
  state: Readonly<Record<string, Tensor>>,
  eps: number,
  { correction1, correction2 }: { correction1: number; correction2: number },
  scale: number,
): Tensor {
  return tidy(() => {
    const denominator = tidy(() => add(div(sqrt(state.expAvgSq!), Math.sqrt(correction2)), eps));
    return mul(div(state.expAvg!, denominator), scale / correction1);
  });
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

  protected update({ param, grad, state, options, lr, stepNumber }: UpdateContext<AdamOptions>): Tensor {
    const direction = options.weightDecay > 0 ? tidy(() => add(grad, mul(param, options.weightDecay))) : grad;
    const corrections = updateMoments(direction, state, options, stepNumber);
    if (direction !== grad) direction.dispose();
    return sub(param, adamStep(state, options.eps, corrections, lr));
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

  protected update({ param, grad, state, options, lr, stepNumber }: UpdateContext<AdamOptions>): Tensor {
    const corrections = updateMoments(grad, state, options, stepNumber);
    const step = adamStep(state, options.eps, corrections, lr);
    const decay = options.weightDecay;
    return decay > 0 ? tidy(() => sub(sub(param, mul(param, lr * decay)), step)) : sub(param, step);
  }
}
