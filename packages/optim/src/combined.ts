import { DisposedError, RangeArgumentError, type Tensor } from '@sibert/tensor';
import { type Optimizer, runStepInBackward, type StepInBackward, type StepOptions } from './optimizer.js';
import { assertDisjoint, type NamedParam, namedParams, type ParamList } from './params.js';
import { combineReports, type StepReport } from './report.js';
import { type CombinedStateDict, isCombinedStateDict, type StateDict } from './state-dict.js';

export interface CombineOptions {
  /**
   * Parameters that must all be claimed (e.g. `model.namedParameters()`): one that no optimizer
   * updates is an error. Without it, coverage is not checked.
   */
  cover?: ParamList;
}

/** A combination's report: every group's, as one optimizer's, plus each part's own report. */
export interface CombinedStepReport<Parts extends readonly Optimizer[]> extends StepReport {
  /** Each part's report, at the part's position: `const [encoder, heads] = report.parts`. */
  parts: { [I in keyof Parts]: StepReport };
}

/**
 * Several optimizers driving disjoint parameters in one training step, e.g. SGD on the
 * scale-invariant encoder and LAMB on the heads. A parameter claimed by two optimizers is an
 * error, and so (with `cover`) is one claimed by none. Given the parts as a tuple, `optimizers`
 * and the report's `parts` keep their positions and types.
 */
export class CombinedOptimizer<const Parts extends readonly Optimizer[] = readonly Optimizer[]>
  implements Optimizer
{
  readonly name = 'Combined';
  readonly optimizers: Parts;
  private disposed = false;

  constructor(optimizers: Parts, options: CombineOptions = {}) {
    const op = 'CombinedOptimizer';
    if (optimizers.length === 0)
      throw new RangeArgumentError('expected at least one optimizer, got none', op);
    this.optimizers = optimizers;
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

  /** The parts step together, so this is every part's step count. */
  get stepCount(): number {
    return Math.max(...this.optimizers.map((o) => o.stepCount));
  }

  step(): void;
  step(options: StepOptions & { report: true }): Promise<CombinedStepReport<Parts>>;
  step(options: StepOptions): Promise<CombinedStepReport<Parts>> | undefined;
  step(options: StepOptions = {}): Promise<CombinedStepReport<Parts>> | undefined {
    this.assertUsable('step');
    if (!options.report) {
      for (const o of this.optimizers) o.step(options);
      return undefined;
    }
    return this.combined(this.optimizers.map((o) => o.step({ ...options, report: true })));
  }

  backwardAndStep(loss: Tensor): void;
  backwardAndStep(loss: Tensor, options: StepOptions & { report: true }): Promise<CombinedStepReport<Parts>>;
  backwardAndStep(loss: Tensor, options: StepOptions): Promise<CombinedStepReport<Parts>> | undefined;
  backwardAndStep(loss: Tensor, options: StepOptions = {}): Promise<CombinedStepReport<Parts>> | undefined {
    return runStepInBackward(this.beginStepInBackward(options), loss) as
      | Promise<CombinedStepReport<Parts>>
      | undefined;
  }

  /** Every part's hooks in one pass: a leaf goes to the part that owns it. */
  beginStepInBackward(options: StepOptions = {}): StepInBackward {
    this.assertUsable('backwardAndStep');
    const steps = this.optimizers.map((o) => o.beginStepInBackward(options));
    return {
      onLeafGradient: (leaf) => steps.some((s) => s.onLeafGradient(leaf)),
      finish: () => {
        const results = steps.map((s) => s.finish());
        return options.report ? this.combined(results as Promise<StepReport>[]) : undefined;
      },
      abort: () => {
        for (const s of steps) s.abort();
      },
    };
  }

  zeroGrad(): void {
    this.assertUsable('zeroGrad');
    for (const o of this.optimizers) o.zeroGrad();
  }

  stateBytes(): number {
    this.assertUsable('stateBytes');
    return this.optimizers.reduce((bytes, o) => bytes + o.stateBytes(), 0);
  }

  parameters(): NamedParam[] {
    this.assertUsable('parameters');
    return this.optimizers.flatMap((o) => o.parameters());
  }

  async stateDict(): Promise<CombinedStateDict> {
    this.assertUsable('stateDict');
    const parts: StateDict[] = [];
    for (const o of this.optimizers) parts.push(await o.stateDict());
    return { optimizer: 'Combined', parts };
  }

  checkStateDict(dict: StateDict): void {
    this.checkedParts(dict);
  }

  /** Checks every part against its optimizer before loading any, so a bad dict changes nothing. */
  async loadStateDict(dict: StateDict): Promise<void> {
    const parts = this.checkedParts(dict);
    for (const [i, o] of this.optimizers.entries()) await o.loadStateDict(parts[i]!);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const o of this.optimizers) o.dispose();
  }

  /** The parts of a Combined state dict, each checked against its optimizer. */
  private checkedParts(dict: StateDict): StateDict[] {
    this.assertUsable('loadStateDict');
    if (!isCombinedStateDict(dict) || dict.parts.length !== this.optimizers.length) {
      throw new RangeArgumentError(
        `expected a Combined state dict with ${this.optimizers.length} parts, got ${dict.optimizer} with ${isCombinedStateDict(dict) ? dict.parts.length : 0}`,
        'CombinedOptimizer.loadStateDict',
      );
    }
    for (const [i, o] of this.optimizers.entries()) o.checkStateDict(dict.parts[i]!);
    return dict.parts;
  }

  /** The parts' reports as one, each also at its part's position. */
  private async combined(pending: Promise<StepReport>[]): Promise<CombinedStepReport<Parts>> {
    const reports = await Promise.all(pending);
    // `map` keeps the positions of the tuple but its type cannot say so
    return { ...combineReports(reports), parts: reports as CombinedStepReport<Parts>['parts'] };
  }

  private assertUsable(op: string): void {
    if (this.disposed) throw new DisposedError('the optimizer was disposed', `CombinedOptimizer.${op}`);
  }
}
