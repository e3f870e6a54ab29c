import { add, mul, sub, type Tensor, tidy } from '@sibert/tensor';
import { assignFrom, BaseOptimizer, type UpdateContext } from './base-optimizer.js';
import { type BaseGroupOptions, baseDefaults, type Fail, type ParamGroup } from './options.js';
import type { ParamList } from './params.js';

export interface SGDOptions extends BaseGroupOptions {
  /** Heavy-ball momentum μ (0 = off: then no per-parameter state is kept). */
  momentum: number;
  /** Nesterov momentum (needs momentum > 0). */
  nesterov: boolean;
}

/**
 * SGD with coupled weight decay, as `torch.optim.SGD` (dampening 0): d = g + λx;
 * with momentum b ← μb + d and d ← b (or d + μb for Nesterov); x ← x − ηd. Without momentum this
 * is the paper's x ← (1 − ηλ)x − ηg. The decay is computed as ηλx (not (1 − ηλ)·x) because 1 − ηλ
 * rounds badly in float32 when ηλ is ~1e-5.
 */
export class SGD extends BaseOptimizer<SGDOptions> {
  readonly name = 'SGD';

  constructor(
    params: ParamList | readonly ParamGroup<SGDOptions>[],
    options: Partial<SGDOptions> & { lr: number },
  ) {
    super(params, options);
  }

  protected defaultOptions() {
    return { ...baseDefaults(), momentum: 0, nesterov: false };
  }

  protected validateOptions(options: SGDOptions, fail: Fail): void {
    if (!(options.momentum >= 0 && options.momentum < 1))
      fail(`momentum must be in [0, 1), got ${options.momentum}`);
    if (options.nesterov && options.momentum === 0) fail('nesterov needs momentum > 0');
  }

  protected stateNames(options: SGDOptions): readonly string[] {
    return options.momentum > 0 ? ['momentumBuffer'] : [];
  }

  protected update({ param, grad, state, options, lr }: UpdateContext<SGDOptions>): Tensor {
    const { weightDecay, momentum } = options;
    let direction = weightDecay > 0 ? tidy(() => add(grad, mul(param, weightDecay))) : grad;
    if (momentum > 0) {
      const buffer = state.momentumBuffer!;
      assignFrom(buffer, () => add(mul(buffer, momentum), direction));
      direction = options.nesterov ? tidy(() => add(direction, mul(buffer, momentum))) : buffer;
    }
    return sub(param, mul(direction, lr));
  }
}
