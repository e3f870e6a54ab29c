import {
  adamInPlace,
  add,
  axpyInPlace,
  div,
  greater,
  mul,
  sqrt,
  sumOfSquares,
  type Tensor,
  tidy,
  where,
} from '@sibert/tensor';
import { type AdamOptions, momentScalars, validateMomentOptions } from './adam.js';
import { BaseOptimizer, type UpdateContext } from './base-optimizer.js';
import { baseDefaults, type Fail, type ParamGroup } from './options.js';
import type { ParamList } from './params.js';

export interface LAMBOptions extends AdamOptions {
  /**
   * Apply the trust ratio to vectors (biases, LayerNorm gains) too. Default false: they take the
   * plain Adam step, as in the reference LAMB's `exclude_from_layer_adaptation` for bias and
   * LayerNorm. With it on, a bias that starts at zero can only grow geometrically, by a factor
   * (1 + η) a step, so an MLM decoder bias needs thousands of steps to learn word frequencies.
   */
  adaptVectors: boolean;
}

/**
 * LAMB (You et al., "Large Batch Optimization for Deep Learning"), per tensor: the bias-corrected
 * Adam direction r = m̂/(√v̂ + ε) plus decoupled decay, u = r + λx, scaled by the trust ratio
 * ‖x‖/‖u‖ (1 when either norm is 0): x ← x − η·(‖x‖/‖u‖)·u; vectors (rank ≤ 1) take x ← x − η·u unless
 * `adaptVectors`. The ratio stays on the device. A vector's update is one `adamInPlace` pass; a
 * matrix's needs its direction u whole (its norm sets the step), the one parameter-sized temporary.
 */
export class LAMB extends BaseOptimizer<LAMBOptions> {
  readonly name = 'LAMB';

  constructor(
    params: ParamList | readonly ParamGroup<LAMBOptions>[],
    options: Partial<LAMBOptions> & { lr: number },
  ) {
    super(params, options);
  }

  protected defaultOptions() {
    return {
      ...baseDefaults(),
      betas: [0.9, 0.999] as [number, number],
      eps: 1e-6,
      adaptVectors: false,
    };
  }

  protected validateOptions(options: LAMBOptions, fail: Fail): void {
    validateMomentOptions(options, fail);
    if (typeof options.adaptVectors !== 'boolean')
      fail(`adaptVectors must be a boolean, got ${JSON.stringify(options.adaptVectors)}`);
  }

  protected stateNames(): readonly string[] {
    return ['expAvg', 'expAvgSq'];
  }

  protected update({
    param,
    grad,
    gradScale,
    state,
    options,
    lr,
    stepNumber,
  }: UpdateContext<LAMBOptions>): void {
    const { correction1, ...scalars } = momentScalars(options, stepNumber);
    const [m, v] = [state.expAvg!, state.expAvgSq!];
    const weightDecay = options.weightDecay;
    if (param.rank <= 1 && !options.adaptVectors) {
      // x ← x − η(m̂/(√v̂ + ε) + λx)
      adamInPlace(param, m, v, grad, {
        ...scalars,
        gradScale,
        decay: lr * weightDecay,
        step: lr / correction1,
      });
      return;
    }
    adamInPlace(param, m, v, grad, { ...scalars, gradScale, step: 0 });
    // nested scopes free each stage's temporaries before the next (at most three at once)
    const u = tidy(() => {
      const direction = tidy(() => {
        const denominator = tidy(() => add(div(sqrt(v), scalars.sqrtCorrection2), scalars.eps));
        return mul(div(m, denominator), 1 / correction1);
      });
      return weightDecay > 0 ? add(direction, mul(param, weightDecay)) : direction;
    });
    axpyInPlace(param, u, { step: lr, scale: trustRatio(param, u) });
  }
}

/** ‖x‖/‖u‖ as a device scalar, 1 when either norm is 0. */
function trustRatio(param: Tensor, u: Tensor): Tensor {
  const paramNorm = sqrt(sumOfSquares(param));
  const directionNorm = sqrt(sumOfSquares(u));
  return where(greater(paramNorm, 0), where(greater(directionNorm, 0), div(paramNorm, directionNorm), 1), 1);
}
