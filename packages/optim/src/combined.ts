import { RangeArgumentError, type Tensor } from '@sibert/tensor';
import type {
  BaseGroupOptions,
  Optimizer,
  OptimizerLike,
  OptimizerStateDict,
  StepOptions,
  StepReport,
} from './optimizer.js';
import { assertDisjoint, type NamedParam, namedParams, type ParamList } from './params.js';

export interface CombineOptions {
  /**
   * Parameters that must all be claimed (e.g. `model.namedParameters()`): one that no optimizer
   * updates is an error. Without it, coverage is not checked.
   */
  cover?: ParamList;
}

export interface CombinedStateDict {
  optimizer: 'Combined';
  parts: OptimizerStateDict[];
}

/**
 * Several optimizers driving disjoint parameters in one training step, e.g. SGD on the
 * scale-invariant encoder and LAMB on the heads. A parameter claimed by two optimizers is an
 * error, and so (with `cover`) is one claimed by none.
 */
export class CombinedOptimizer implements OptimizerLike {
  readonly optimizers: readonly Optimizer<BaseGroupOptions>[];

  constructor(optimizers: readonly Optimizer<BaseGroupOptions>[], options: CombineOptions = {}) {
    const op = 'CombinedOptimizer';
    if (optimizers.length === 0)
      throw new RangeArgumentError('expected at least one optimizer, got none', op);
    this.optimizers = [...optimizers];
    assertDisjoint(
      op,
      this.optimizers.flatMap((o, i) =>
        o.parameters().map((p) => ({ ...p, where: `optimizer ${i} (${o.name})` })),
      ),
    );
    if (options.cover) {
      const claimed = new Set<Tensor>(this.parameters().map((p) => p.tensor));
      const missing = namedParams(op, options.cover).filter((p) => !claimed.has(p.tensor));
      if (missing.length > 0) {
        const shown = missing.slice(0, 5).map((p) => `'${p.name}'`);
        throw new RangeArgumentError(
          `${missing.length} parameter(s) are not claimed by any optimizer: ${shown.join(', ')}${missing.length > 5 ? ', …' : ''}`,
          op,
        );
      }
    }
  }

  step(): void;
  step(options: StepOptions & { report: true }): Promise<StepReport>;
  step(options: StepOptions): Promise<StepReport> | undefined;
  step(options: StepOptions = {}): Promise<StepReport> | undefined {
    const pending = this.optimizers.map((o) => o.step(options));
    if (!options.report) return undefined;
    return Promise.all(pending).then((reports) => {
      const parts = reports as StepReport[];
      const squared = (key: 'gradNorm' | 'paramNorm') =>
        Math.sqrt(parts.reduce((s, r) => s + r[key] ** 2, 0));
      return {
        step: Math.max(...parts.map((r) => r.step)),
        gradNorm: squared('gradNorm'),
        paramNorm: squared('paramNorm'),
        groups: parts.flatMap((r) => r.groups),
      };
    });
  }

  zeroGrad(): void {
    for (const o of this.optimizers) o.zeroGrad();
  }

  stateBytes(): number {
    return this.optimizers.reduce((bytes, o) => bytes + o.stateBytes(), 0);
  }

  parameters(): NamedParam[] {
    return this.optimizers.flatMap((o) => o.parameters());
  }

  async stateDict(): Promise<CombinedStateDict> {
    const parts: OptimizerStateDict[] = [];
    for (const o of this.optimizers) parts.push(await o.stateDict());
    return { optimizer: 'Combined', parts };
  }

  /** Checks every part against its optimizer before loading any, so a bad dict changes nothing. */
  async loadStateDict(dict: CombinedStateDict): Promise<void> {
    if (dict.optimizer !== 'Combined' || dict.parts.length !== this.optimizers.length) {
      throw new RangeArgumentError(
        `expected a Combined state dict with ${this.optimizers.length} parts, got ${dict.optimizer} with ${dict.parts?.length ?? 0}`,
        'CombinedOptimizer.loadStateDict',
      );
    }
    for (const [i, o] of this.optimizers.entries()) o.checkStateDict(dict.parts[i]!);
    for (const [i, o] of this.optimizers.entries()) await o.loadStateDict(dict.parts[i]!);
  }

  dispose(): void {
    for (const o of this.optimizers) o.dispose();
  }
}
