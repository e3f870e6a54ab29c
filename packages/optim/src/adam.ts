import { add, div, mul, sqrt, square, sub, type Tensor } from '@sibert/tensor';
import {
  type BaseGroupOptions,
  Optimizer,
  type ParamGroup,
  type UpdateContext,
  type UpdateResult,
} from './optimizer.js';
import type { ParamList } from './params.js';

export interface AdamOptions extends BaseGroupOptions {
  /** β₁, β₂: decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** ε added to √v̂ (Adam, AdamW) or to √v̂ before the trust ratio (LAMB). */
  eps: number;
}

/** Checks betas and eps (shared by Adam, AdamW and LAMB). */
export function validateMomentOptions(options: AdamOptions, fail: (message: string) => never): void {
  const betas = options.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => b >= 0 && b < 1)) {
    fail(`betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
  if (!(Number.isFinite(options.eps) && options.eps > 0))
    fail(`eps must be a finite number > 0, got ${options.eps}`);
}

/** m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², and the bias corrections 1 − β^t. */
export function updateMoments(
  grad: Tensor,
  state: Readonly<Record<string, Tensor>>,
  options: AdamOptions,
  stepNumber: number,
): { expAvg: Tensor; expAvgSq: Tensor; correction1: number; correction2: number } {
  const [beta1, beta2] = options.betas;
  return {
    expAvg: add(mul(state.expAvg!, beta1), mul(grad, 1 - beta1)),
    expAvgSq: add(mul(state.expAvgSq!, beta2), mul(square(grad), 1 - beta2)),
    correction1: 1 - beta1 ** stepNumber,
    correction2: 1 - beta2 ** stepNumber,
  };
}

/** The Adam step m̂/(√v̂ + ε) times `scale`, computed as torch does: (scale/c₁)·m / (√v/√c₂ + ε). */
function adamStep(moments: ReturnType<typeof updateMoments>, eps: number, scale: number): Tensor {
  const denominator = add(div(sqrt(moments.expAvgSq), Math.sqrt(moments.correction2)), eps);
  return mul(div(moments.expAvg, denominator), scale / moments.correction1);
}

type AdamInput = Partial<AdamOptions> & { lr: number };

abstract class AdamFamily extends Optimizer<AdamOptions> {
  protected override defaultOptions() {
    return { ...super.defaultOptions(), betas: [0.9, 0.999] as [number, number], eps: 1e-8 };
  }

  protected ownOptionKeys() {
    return ['betas', 'eps'];
  }

  protected validateOptions(options: AdamOptions, fail: (message: string) => never): void {
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

  protected update({
    param,
    grad,
    state,
    options,
    lr,
    stepNumber,
  }: UpdateContext<AdamOptions>): UpdateResult {
    const direction = options.weightDecay > 0 ? add(grad, mul(param, options.weightDecay)) : grad;
    const moments = updateMoments(direction, state, options, stepNumber);
    return {
      param: sub(param, adamStep(moments, options.eps, lr)),
      state: { expAvg: moments.expAvg, expAvgSq: moments.expAvgSq },
    };
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

  protected update({
    param,
    grad,
    state,
    options,
    lr,
    stepNumber,
  }: UpdateContext<AdamOptions>): UpdateResult {
    const moments = updateMoments(grad, state, options, stepNumber);
    const decayed = options.weightDecay > 0 ? sub(param, mul(param, lr * options.weightDecay)) : param;
    return {
      param: sub(decayed, adamStep(moments, options.eps, lr)),
      state: { expAvg: moments.expAvg, expAvgSq: moments.expAvgSq },
    };
  }
}
