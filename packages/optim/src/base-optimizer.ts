import {
  add,
  bytesPerElement,
  DisposedError,
  escapeTidy,
  mul,
  noGrad,
  RangeArgumentError,
  sumOfSquares,
  type Tensor,
  tidy,
  zerosLike,
} from '@sibert/tensor';
import {
  clipStats,
  clipThreshold,
  countClipping,
  disposeStats,
  type GroupStats,
  groupStats,
  totalSumOfSquares,
} from './clipping.js';
import { type Optimizer, runStepInBackward, type StepInBackward, type StepOptions } from './optimizer.js';
import {
  type BaseGroupOptions,
  type Fail,
  type OptionDefaults,
  optionKeys,
  type ParamGroup,
  resolveOptions,
} from './options.js';
import { assertDisjoint, type NamedParam, namedParams, type ParamList } from './params.js';
import { type PendingGroupReport, readReport, type StepReport } from './report.js';
import { scheduleFactor } from './schedule.js';
import {
  checkBuffers,
  checkHeader,
  checkLayout,
  type GroupState,
  type GroupStateDict,
  loadGroup,
  type OptimizerStateDict,
  type StateDict,
  saveGroup,
} from './state-dict.js';

/** The inputs of one parameter's update, inside a `tidy` and `noGrad` scope. */
export interface UpdateContext<O extends BaseGroupOptions> {
  param: Tensor;
  /** The gradient as backward left it (not yet clipped: multiply by `gradScale`). */
  grad: Tensor;
  /** The group's clip factor this step (a one-element device tensor), or null when it does not clip. */
  gradScale: Tensor | null;
  state: Readonly<Record<string, Tensor>>;
  options: O;
  /** η at this step. */
  lr: number;
  /** 1 for the first step (bias corrections use it). */
  stepNumber: number;
}

interface Group<O extends BaseGroupOptions> extends GroupState {
  options: O;
}

/** One group's part of a `backwardAndStep` pass. */
interface InBackwardPlan<O extends BaseGroupOptions> {
  group: Group<O>;
  lr: number;
  /** Whether norms are taken (the group clips, or a report was asked for). */
  measure: boolean;
  paramSq: Tensor | null;
  /** Σ‖g‖² of the gradients seen so far in the pass. */
  gradSq: Tensor | null;
  /** The stale clip factor applied in the pass (factor null: no clipping this step). */
  clip: Pick<GroupStats, 'threshold' | 'factor' | 'fired'>;
}

/** total + term as a kept device scalar (term is consumed). */
function addScalar(total: Tensor | null, term: Tensor): Tensor {
  if (!total) return escapeTidy(term);
  const sum = escapeTidy(add(total, term));
  total.dispose();
  term.dispose();
  return sum;
}

/**
 * The shared machinery of SGD, Adam, AdamW and LAMB: parameter groups with per-group options, LR
 * schedules, clipping, step reports, state dicts. Subclasses give the defaults, the per-parameter
 * state and the update rule.
 *
 * Updates write the parameters and their state in place (`axpyInPlace`, `adamInPlace`: one pass
 * each, no parameter-sized temporary on backends with those kernels), one parameter at a time in
 * its own `tidy` scope, with the clip factor applied inside the same pass. Norms and clip factors
 * stay on the device; nothing is read back unless a report is asked for.
 */
export abstract class BaseOptimizer<O extends BaseGroupOptions> implements Optimizer {
  abstract readonly name: string;
  stepCount = 0;
  protected readonly groups: Group<O>[] = [];
  private disposed = false;

  constructor(params: ParamList | readonly ParamGroup<O>[], defaults: Partial<O> & { lr: number }) {
    // the subclass's `name` field is not set yet while this constructor runs
    const op = this.constructor.name;
    const inputs = isGroupList<O>(params) ? params : [{ params } as ParamGroup<O>];
    let counter = 0;
    inputs.forEach((input, g) => {
      const { params: list, ...overrides } = input;
      const name = overrides.name ?? defaults.name ?? `group${g}`;
      const options = this.resolveOptions({ ...defaults, ...overrides, name } as Partial<O>, op);
      const named = namedParams(op, list, counter);
      counter += named.length;
      if (named.length === 0) throw new RangeArgumentError(`group '${name}' has no parameters`, op);
      this.groups.push({ params: named, options, state: [], clipCount: null, previousGradSq: null });
    });
    assertDisjoint(
      op,
      this.groups.flatMap((g) => g.params.map((p) => ({ ...p, where: `group '${g.options.name}'` }))),
    );
    for (const group of this.groups) {
      group.state = group.params.map((p) => this.createState(p.tensor, group.options));
    }
  }

  /** Every option except `lr` and `name`; the option names the optimizer takes are derived from it. */
  protected abstract defaultOptions(): OptionDefaults<O>;
  /** Checks the optimizer's own options. */
  protected abstract validateOptions(options: O, fail: Fail): void;
  /** Names of the state buffers a parameter needs under `options` (none for plain SGD). */
  protected abstract stateNames(options: O): readonly string[];
  /**
   * One parameter's update, inside `tidy` and `noGrad`: writes the parameter and its state buffers
   * in place (`axpyInPlace`, `adamInPlace` from @sibert/tensor).
   */
  protected abstract update(context: UpdateContext<O>): void;

  /** η of group `index` at `step` (steps taken; default the next step). */
  lrAt(index: number, step = this.stepCount): number {
    return lrOf(this.group(index, 'lrAt').options, step);
  }

  /** The groups' options (copies; change them with `setOptions`). */
  groupOptions(): O[] {
    this.assertUsable('groupOptions');
    return this.groups.map((g) => structuredClone(g.options));
  }

  /** Changes options of group `index` (validated as at construction). */
  setOptions(index: number, changes: Partial<O>): void {
    const group = this.group(index, 'setOptions');
    const options = this.resolveOptions({ ...group.options, ...changes }, 'setOptions');
    if (this.stateNames(options).join() !== this.stateNames(group.options).join()) {
      throw new RangeArgumentError(
        'these changes would change the per-parameter state; build a new optimizer',
        'setOptions',
      );
    }
    group.options = options;
  }

  parameters(): NamedParam[] {
    this.assertUsable('parameters');
    return this.groups.flatMap((g) => g.params);
  }

  stateBytes(): number {
    this.assertUsable('stateBytes');
    let bytes = 0;
    for (const group of this.groups) {
      for (const state of group.state) {
        for (const t of Object.values(state)) bytes += t.size * bytesPerElement(t.dtype);
      }
    }
    return bytes;
  }

  zeroGrad(): void {
    this.assertUsable('zeroGrad');
    for (const { tensor: p } of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  step(): void;
  step(options: StepOptions & { report: true }): Promise<StepReport>;
  step(options: StepOptions): Promise<StepReport> | undefined;
  step(options: StepOptions = {}): Promise<StepReport> | undefined {
    this.assertUsable('step');
    const stepNumber = this.stepCount + 1;
    const pending: PendingGroupReport[] = [];
    noGrad(() => {
      for (const group of this.groups) {
        const lr = lrOf(group.options, this.stepCount);
        const stats = group.options.clip || options.report ? this.measure(group, lr) : null;
        this.updateGroup(group, lr, stepNumber, stats?.factor ?? null);
        if (stats && options.report) {
          pending.push({ options: group.options, clipCount: group.clipCount, lr, stats });
        } else if (stats) disposeStats(stats);
      }
    });
    this.stepCount = stepNumber;
    return options.report ? readReport(this.name, stepNumber, pending) : undefined;
  }

  /**
   * Runs `loss.backward()` and this step in one pass: each parameter is updated as soon as its
   * gradient is complete and that gradient is freed at once, so the gradients never all exist
   * together (PyTorch's optimizer step in backward; LOMO). The update rule is `step()`'s. Clipping
   * needs the group's gradient norm before its first update, and that norm is known only after the
   * pass, so here it is one step stale: the clip factor is min(1, threshold / ‖g_{t−1}‖), with this
   * step's threshold (‖x_t‖, η_t); a group's first such step does not clip. The report gives this
   * step's norms and the factor that was applied. Parameters that get no gradient are left as they are.
   */
  backwardAndStep(loss: Tensor): void;
  backwardAndStep(loss: Tensor, options: StepOptions & { report: true }): Promise<StepReport>;
  backwardAndStep(loss: Tensor, options: StepOptions): Promise<StepReport> | undefined;
  backwardAndStep(loss: Tensor, options: StepOptions = {}): Promise<StepReport> | undefined {
    return runStepInBackward(this.beginStepInBackward(options), loss);
  }

  beginStepInBackward(options: StepOptions = {}): StepInBackward {
    this.assertUsable('backwardAndStep');
    const stepNumber = this.stepCount + 1;
    const report = options.report === true;
    const plans = noGrad(() => this.groups.map((group) => this.planInBackward(group, report)));
    const owners = new Map<Tensor, { plan: InBackwardPlan<O>; index: number }>();
    for (const plan of plans)
      for (const [index, p] of plan.group.params.entries()) owners.set(p.tensor, { plan, index });
    return {
      onLeafGradient: (param) => {
        const owner = owners.get(param);
        if (!owner) return false;
        const { plan, index } = owner;
        const grad = param.grad!;
        if (plan.measure) plan.gradSq = addScalar(plan.gradSq, sumOfSquares(grad));
        const { group, lr, clip } = plan;
        const state = group.state[index]!;
        tidy(() =>
          this.update({ param, grad, gradScale: clip.factor, state, options: group.options, lr, stepNumber }),
        );
        grad.dispose();
        param.grad = null;
        return true;
      },
      finish: () => {
        const pending = noGrad(() => plans.flatMap((plan) => this.finishInBackward(plan, report)));
        this.stepCount = stepNumber;
        return report ? readReport(this.name, stepNumber, pending) : undefined;
      },
      abort: () => {
        for (const { paramSq, gradSq, clip } of plans) {
          for (const t of [paramSq, gradSq, clip.factor, clip.fired]) t?.dispose();
          if (typeof clip.threshold === 'object') clip.threshold?.dispose();
        }
      },
    };
  }

  async stateDict(): Promise<OptimizerStateDict> {
    this.assertUsable('stateDict');
    const groups: GroupStateDict[] = [];
    for (const group of this.groups) groups.push(await saveGroup(group));
    return { optimizer: this.name, step: this.stepCount, groups };
  }

  checkStateDict(dict: StateDict): void {
    this.assertUsable('checkStateDict');
    const op = `${this.name}.loadStateDict`;
    checkHeader(dict, this.name, this.groups.length, op);
    this.checkGroups(dict, op);
  }

  /**
   * Restores a `stateDict()` snapshot taken from an optimizer of the same kind over the same
   * parameter layout (group count, parameter names and shapes); anything else throws before any
   * state changes. The options in the snapshot replace the current ones.
   */
  async loadStateDict(dict: StateDict): Promise<void> {
    this.assertUsable('loadStateDict');
    const op = `${this.name}.loadStateDict`;
    checkHeader(dict, this.name, this.groups.length, op);
    const options = this.checkGroups(dict, op);
    for (const [g, group] of this.groups.entries()) {
      const loaded = await loadGroup(group.params, dict.groups[g]!);
      disposeState(group);
      group.state = loaded.state;
      group.clipCount = loaded.clipCount;
      group.previousGradSq = loaded.previousGradSq;
      group.options = options[g]!;
    }
    this.stepCount = dict.step;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const group of this.groups) {
      disposeState(group);
      group.state = [];
      group.clipCount = null;
      group.previousGradSq = null;
    }
  }

  /** Fills defaults and validates; throws a `RangeArgumentError` naming the bad option. */
  private resolveOptions(input: Partial<O>, op: string): O {
    return resolveOptions(input, this.defaultOptions(), (o, fail) => this.validateOptions(o, fail), op);
  }

  private createState(param: Tensor, options: O): Record<string, Tensor> {
    const state: Record<string, Tensor> = {};
    for (const key of this.stateNames(options)) state[key] = escapeTidy(zerosLike(param));
    return state;
  }

  /** The group's norms and clip factor on the device; counts its clipping there too. */
  private measure(group: Group<O>, lr: number): GroupStats {
    const { clip, weightDecay } = group.options;
    const stats = groupStats(
      group.params.map((p) => p.tensor),
      clip,
      weightDecay,
      lr,
    );
    if (stats.fired) group.clipCount = countClipping(group.clipCount, stats.fired);
    return stats;
  }

  /** Counts the group's clipping, keeps its gradient norm for the next pass, and leaves its report. */
  private finishInBackward(
    { group, lr, measure, paramSq, gradSq, clip }: InBackwardPlan<O>,
    report: boolean,
  ): PendingGroupReport[] {
    // neither clipping nor a report: nothing was measured
    if (!measure) return [];
    if (clip.fired) group.clipCount = countClipping(group.clipCount, clip.fired);
    // no gradient reached the group: its norm is 0
    const thisGradSq = gradSq ?? escapeTidy(mul(paramSq!, 0));
    if (group.options.clip) {
      group.previousGradSq?.dispose();
      group.previousGradSq = escapeTidy(mul(thisGradSq, 1));
    }
    const stats: GroupStats = { ...clip, paramSq: paramSq!, gradSq: thisGradSq };
    if (report) return [{ options: group.options, clipCount: group.clipCount, lr, stats }];
    disposeStats(stats);
    return [];
  }

  /** A group's norms and stale clip factor before a `backwardAndStep` pass. */
  private planInBackward(group: Group<O>, report: boolean): InBackwardPlan<O> {
    const lr = lrOf(group.options, this.stepCount);
    const { clip, weightDecay } = group.options;
    const measure = clip !== null || report;
    const paramSq = measure ? escapeTidy(totalSumOfSquares(group.params.map((p) => p.tensor))) : null;
    const stale = group.previousGradSq;
    const clipping =
      clip && stale
        ? clipStats(stale, paramSq!, clip, weightDecay, lr)
        : {
            threshold: clip ? clipThreshold(paramSq!, clip, weightDecay, lr) : null,
            factor: null,
            fired: null,
          };
    return { group, lr, measure, paramSq, gradSq: null, clip: clipping };
  }

  /** Updates every parameter of the group that has a gradient, its gradient multiplied by `clipFactor`. */
  private updateGroup(group: Group<O>, lr: number, stepNumber: number, clipFactor: Tensor | null): void {
    for (const [index, { tensor: param }] of group.params.entries()) {
      const grad = param.grad;
      if (!grad) continue;
      const state = group.state[index]!;
      tidy(() =>
        this.update({ param, grad, gradScale: clipFactor, state, options: group.options, lr, stepNumber }),
      );
    }
  }

  /** Validates each saved group against ours (layout, options, state sizes); returns its options. */
  private checkGroups(dict: OptimizerStateDict, op: string): O[] {
    const keys = optionKeys(this.defaultOptions());
    return this.groups.map((group, g) => {
      const saved = dict.groups[g]!;
      checkLayout(g, group.params, saved, op);
      const options = this.resolveOptions(pick(saved.options, keys) as Partial<O>, op);
      checkBuffers(group.params, saved, this.stateNames(options), op);
      const previous = saved.previousGradNormSq;
      if (previous !== undefined && !(Number.isFinite(previous) && previous >= 0)) {
        throw new RangeArgumentError(
          `group ${g}: previousGradNormSq must be a finite number >= 0, got ${previous}`,
          op,
        );
      }
      return options;
    });
  }

  private group(index: number, op: string): Group<O> {
    this.assertUsable(op);
    const group = this.groups[index];
    if (!group) throw new RangeArgumentError(`no group ${index}; there are ${this.groups.length}`, op);
    return group;
  }

  private assertUsable(op: string): void {
    if (this.disposed) throw new DisposedError('the optimizer was disposed', `${this.name}.${op}`);
  }
}

function lrOf(options: BaseGroupOptions, step: number): number {
  return options.lr * scheduleFactor(options.schedule, step);
}

function disposeState(group: GroupState): void {
  for (const state of group.state) for (const t of Object.values(state)) t.dispose();
  group.clipCount?.dispose();
  group.previousGradSq?.dispose();
}

function isGroupList<O extends BaseGroupOptions>(params: unknown): params is readonly ParamGroup<O>[] {
  return Array.isArray(params) && params.length > 0 && typeof params[0] === 'object' && 'params' in params[0];
}

function pick(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in value).map((k) => [k, structuredClone(value[k])]));
}
