import { axpyInPlace } from '@sibert/tensor';
import { BaseOptimizer, type UpdateContext } from './base-optimizer.js';
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
 * is the paper's x ← (1 − ηλ)x − ηg, one `axpyInPlace` pass with the clip factor folded into the
 * step (the decay is taken as ηλx, because 1 − ηλ rounds badly in float32 when ηλ is ~1e-5).
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

  protected update({ param, grad, gradScale, state, options, lr }: UpdateContext<SGDOptions>): void {
    const { weightDecay, momentum } = options;
    if (momentum === 0) {
      axpyInPlace(param, grad, { decay: lr * weightDecay, step: lr, scale: gradScale });
      return;
    }
    // b ← μb + d, with d = s·g + λx
    const buffer = state.momentumBuffer!;
    axpyInPlace(buffer, grad, { decay: 1 - momentum, step: -1, scale: gradScale });
    if (weightDecay > 0) axpyInPlace(buffer, param, { step: -weightDecay });
    if (options.nesterov) {
      // x ← x − η(d + μb)
      axpyInPlace(param, grad, { decay: lr * weightDecay, step: lr, scale: gradScale });
      axpyInPlace(param, buffer, { step: lr * momentum });
    } else {
      axpyInPlace(param, buffer, { step: lr });
    }
  }
}
