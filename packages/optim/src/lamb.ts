import { add, div, greater, mul, sqrt, square, sub, sum, type Tensor, tidy, where } from '@sibert/tensor';
import { type AdamOptions, updateMoments, validateMomentOptions } from './adam.js';
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
 * `adaptVectors`. The ratio stays on the device.
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

  protected update({ param, grad, state, options, lr, stepNumber }: UpdateContext<LAMBOptions>): Tensor {
    const { correction1, correction2 } = updateMoments(grad, state, options, stepNumber);
    const direction = tidy(() => {
      const adam = div(
        div(state.expAvg!, correction1),
        add(sqrt(div(state.expAvgSq!, correction2)), options.eps),
      );
      return options.weightDecay > 0 ? add(adam, mul(param, options.weightDecay)) : adam;
    });
    if (param.rank <= 1 && !options.adaptVectors) return sub(param, mul(direction, lr));
    const trust = tidy(() => {
      const paramNorm = sqrt(sum(square(param)));
      const directionNorm = sqrt(sum(square(direction)));
      return where(
        greater(paramNorm, 0),
        where(greater(directionNorm, 0), div(paramNorm, directionNorm), 1),
        1,
      );
    });
    return sub(param, mul(direction, mul(trust, lr)));
  }
}
