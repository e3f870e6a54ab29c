import {
  add,
  bytesPerElement,
  cast,
  div,
  escapeTidy,
  greater,
  maximum,
  minimum,
  mul,
  noGrad,
  RangeArgumentError,
  ShapeError,
  sqrt,
  square,
  stack,
  sum,
  type Tensor,
  tensor,
  tidy,
  zerosLike,
} from '@sibert/tensor';
import { assertDisjoint, type NamedParam, namedParams, type ParamList } from './params.js';
import { constantSchedule, type ScheduleSpec, scheduleFactor, validateSchedule } from './schedule.js';

/**
 * Gradient clipping over a group's global gradient norm ‖g‖ (all its parameters as one vector),
 * `g ← g · min(1, threshold / ‖g‖)`:
 * - `relative`: threshold √(2Cλ/η)·‖x‖₂ (the paper's Relative Global Clipping; λ the group's weight
 *   decay, η its current scheduled LR, ‖x‖₂ the group's parameter norm); `sqrtC` defaults to 2;
 * - `norm`: the classic fixed threshold `maxNorm`.
 */
export type ClipSpec = { type: 'relative'; sqrtC?: number } | { type: 'norm'; maxNorm: number };

/** Options every group has, whatever the optimizer. */
export interface BaseGroupOptions {
  /** Base learning rate η (the schedule multiplies it). */
  lr: number;
  /** λ: coupled (L2) for SGD and Adam, decoupled for AdamW, inside the trust ratio for LAMB. */
  weightDecay: number;
  clip: ClipSpec | null;
  schedule: ScheduleSpec;
  /** Marks a scale-invariant group: its reports carry the effective LR η/‖x‖². */
  scaleInvariant: boolean;
  /** The group's name in reports (default `group<i>`). */
  name: string;
}

/** A group as the user gives it: parameters plus any options overriding the optimizer's. */
export type ParamGroup<O extends BaseGroupOptions> = { params: ParamList } & Partial<O>;

export interface StepOptions {
  /** Read back norms and clipping for this step (one device readback); off by default. */
  report?: boolean;
}

export interface GroupStepReport {
  optimizer: string;
  group: string;
  /** η used this step (base LR × schedule). */
  lr: number;
  /** Global gradient norm of the group, before clipping. */
  gradNorm: number;
  /** Parameter norm of the group before the update (the ‖x_t‖ of the clip threshold). */
  paramNorm: number;
  /** The clip threshold this step, or null when the group does not clip. */
  clipThreshold: number | null;
  /** Whether clipping fired (‖g‖ > threshold). */
  clipped: boolean;
  /** The factor the gradient was multiplied by (1 when not clipped). */
  clipFactor: number;
  /** Steps clipped since the optimizer started (kept on the device; null when the group does not clip). */
  clipCount: number | null;
  /** η/‖x‖² for scale-invariant groups, else null. */
  effectiveLr: number | null;
}

export interface StepReport {
  /** Steps taken, this one included. */
  step: number;
  /** Norms over every group together. */
  gradNorm: number;
  paramNorm: number;
  groups: GroupStepReport[];
}

export interface ParamStateDict {
  name: string;
  shape: number[];
  /** Per-parameter buffers (momentum, moments), by name. */
  state: Record<string, Float32Array>;
}

export interface GroupStateDict {
  options: BaseGroupOptions & Record<string, unknown>;
  params: ParamStateDict[];
  clipCount: number;
}

export interface OptimizerStateDict {
  optimizer: string;
  step: number;
  groups: GroupStateDict[];
}

/** What a training loop needs from an optimizer or a combination of optimizers. */
export interface OptimizerLike {
  step(): void;
  step(options: StepOptions & { report: true }): Promise<StepReport>;
  step(options: StepOptions): Promise<StepReport> | undefined;
  zeroGrad(): void;
  /** Bytes of per-parameter state held (momentum, moments); 0 for plain SGD. */
  stateBytes(): number;
  /** Every parameter this optimizer updates. */
  parameters(): NamedParam[];
}

/** The inputs of one parameter's update, inside a `tidy` and `noGrad` scope. */
export interface UpdateContext<O extends BaseGroupOptions> {
  param: Tensor;
  /** The gradient, already clipped. */
  grad: Tensor;
  state: Readonly<Record<string, Tensor>>;
  options: O;
  /** η at this step. */
  lr: number;
  /** 1 for the first step (bias corrections use it). */
  stepNumber: number;
}

/**
 * Replaces `target`'s values with `compute()`'s, in place, freeing every temporary of `compute` at
 * once: updates are written as a few such stages so that only a few parameter-sized temporaries
 * are alive at any time.
 */
export function assignFrom(target: Tensor, compute: () => Tensor): void {
  const value = tidy(compute);
  target.assign(value);
  value.dispose();
}

interface Group<O extends BaseGroupOptions> {
  params: NamedParam[];
  options: O;
  /** Per parameter, its state buffers (same order as params). */
  state: Record<string, Tensor>[];
  /** Steps clipped, a float32 scalar on the device (created at the first clipping). */
  clipCount: Tensor | null;
}

/** Device scalars of one group's step, kept only until they are read back. */
interface GroupStats {
  gradSq: Tensor;
  paramSq: Tensor;
  threshold: Tensor | number | null;
  factor: Tensor | null;
  fired: Tensor | null;
}

/** Keeps division by a zero gradient norm finite (the clip factor is then irrelevant). */
const TINY_NORM = 1e-30;

const BASE_KEYS = ['lr', 'weightDecay', 'clip', 'schedule', 'scaleInvariant', 'name'];

/**
 * The shared machinery: parameter groups with per-group options, LR schedules, global-norm and
 * relative clipping, step reports, state dicts. Subclasses give the per-parameter update rule.
 *
 * All updates happen in place on the parameters' backend (`assign`), one parameter at a time in its
 * own `tidy` scope, so a step needs at most a few parameter-sized temporaries at once. Norms and
 * clip factors stay on the device; nothing is read back unless a report is asked for.
 */
export abstract class Optimizer<O extends BaseGroupOptions> implements OptimizerLike {
  /** The optimizer's name (in reports and state dicts). */
  abstract readonly name: string;
  /** Steps taken. */
  stepCount = 0;
  protected readonly groups: Group<O>[] = [];

  constructor(params: ParamList | readonly ParamGroup<O>[], defaults: Partial<O> & { lr: number }) {
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
      this.groups.push({ params: named, options, state: [], clipCount: null });
    });
    assertDisjoint(
      op,
      this.groups.flatMap((g) => g.params.map((p) => ({ ...p, where: `group '${g.options.name}'` }))),
    );
    for (const group of this.groups) {
      group.state = group.params.map((p) => this.createState(p.tensor, group.options));
    }
  }

  /** Fills defaults and validates; throws a `RangeArgumentError` naming the bad option. */
  protected resolveOptions(input: Partial<O>, op: string): O {
    const options = { ...this.defaultOptions(), ...stripUndefined(input) } as O;
    const fail = (message: string): never => {
      throw new RangeArgumentError(`group '${options.name}': ${message}`, op);
    };
    if (!(Number.isFinite(options.lr) && options.lr >= 0))
      fail(`lr must be a finite number >= 0, got ${options.lr}`);
    if (!(Number.isFinite(options.weightDecay) && options.weightDecay >= 0)) {
      fail(`weightDecay must be a finite number >= 0, got ${options.weightDecay}`);
    }
    const clip = options.clip;
    if (clip !== null) {
      if (clip.type === 'relative') {
        const sqrtC = clip.sqrtC ?? 2;
        if (!(Number.isFinite(sqrtC) && sqrtC > 0)) fail(`relative clipping needs sqrtC > 0, got ${sqrtC}`);
        if (options.weightDecay === 0) {
          fail('relative clipping needs weightDecay > 0 (its threshold √(2Cλ/η)·‖x‖ is 0 when λ = 0)');
        }
        options.clip = { type: 'relative', sqrtC };
      } else if (clip.type === 'norm') {
        if (!(Number.isFinite(clip.maxNorm) && clip.maxNorm > 0)) {
          fail(`norm clipping needs maxNorm > 0, got ${clip.maxNorm}`);
        }
        options.clip = { type: 'norm', maxNorm: clip.maxNorm };
      } else {
        fail(
          `unknown clip type '${String((clip as { type: unknown }).type)}'; expected 'relative' or 'norm'`,
        );
      }
    }
    options.schedule = validateSchedule(options.schedule);
    this.validateOptions(options, fail);
    return options;
  }

  /** The optimizer's defaults for every option except `lr` and `name`. */
  protected defaultOptions(): Omit<BaseGroupOptions, 'lr' | 'name'> {
    return { weightDecay: 0, clip: null, schedule: constantSchedule(), scaleInvariant: false };
  }

  /** Checks the optimizer's own options. */
  protected abstract validateOptions(options: O, fail: (message: string) => never): void;
  /** Names of the state buffers a parameter needs under `options` (none for plain SGD). */
  protected abstract stateNames(options: O): readonly string[];
  /**
   * One parameter's update, inside `tidy` and `noGrad`: updates the state buffers in place (see
   * `assignFrom`) and returns the parameter's new value, which the base class assigns.
   */
  protected abstract update(context: UpdateContext<O>): Tensor;

  private createState(param: Tensor, options: O): Record<string, Tensor> {
    const state: Record<string, Tensor> = {};
    for (const key of this.stateNames(options)) state[key] = escapeTidy(zerosLike(param));
    return state;
  }

  /** η of group `index` at `step` (steps taken; default the next step). */
  lrAt(index: number, step = this.stepCount): number {
    const group = this.groups[index];
    if (!group) throw new RangeArgumentError(`no group ${index}; there are ${this.groups.length}`, 'lrAt');
    return group.options.lr * scheduleFactor(group.options.schedule, step);
  }

  /** The groups' options (copies; change them with `setOptions`). */
  groupOptions(): O[] {
    return this.groups.map((g) => structuredClone(g.options));
  }

  /** Changes options of group `index` (validated as at construction). */
  setOptions(index: number, changes: Partial<O>): void {
    const group = this.groups[index];
    if (!group)
      throw new RangeArgumentError(`no group ${index}; there are ${this.groups.length}`, 'setOptions');
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
    return this.groups.flatMap((g) => g.params);
  }

  stateBytes(): number {
    let bytes = 0;
    for (const group of this.groups) {
      for (const state of group.state) {
        for (const t of Object.values(state)) bytes += t.size * bytesPerElement(t.dtype);
      }
    }
    return bytes;
  }

  /** Disposes every parameter's `.grad` and sets it to null. */
  zeroGrad(): void {
    for (const { tensor: p } of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  step(): void;
  step(options: StepOptions & { report: true }): Promise<StepReport>;
  step(options: StepOptions): Promise<StepReport> | undefined;
  step(options: StepOptions = {}): Promise<StepReport> | undefined {
    const stepNumber = this.stepCount + 1;
    const reported: { group: Group<O>; lr: number; stats: GroupStats }[] = [];
    noGrad(() => {
      for (const group of this.groups) {
        const lr = group.options.lr * scheduleFactor(group.options.schedule, this.stepCount);
        const withGrad = group.params.flatMap((p, i) =>
          p.tensor.grad ? [{ param: p.tensor, index: i }] : [],
        );
        const stats = group.options.clip || options.report ? this.groupStats(group, lr) : null;
        for (const { param, index } of withGrad) {
          tidy(() => {
            const grad = param.grad!;
            const clipped = stats?.factor ? mul(grad, stats.factor) : grad;
            const state = group.state[index]!;
            param.assign(
              this.update({ param, grad: clipped, state, options: group.options, lr, stepNumber }),
            );
          });
        }
        if (stats && options.report) reported.push({ group, lr, stats });
        else if (stats) disposeStats(stats);
      }
    });
    this.stepCount = stepNumber;
    return options.report ? this.readReport(stepNumber, reported) : undefined;
  }

  /** Squared norms and the clip factor of a group, as device scalars; counts clipping on the device. */
  private groupStats(group: Group<O>, lr: number): GroupStats {
    const grads = group.params.flatMap((p) => (p.tensor.grad ? [p.tensor.grad] : []));
    // kept: they outlive a caller's enclosing tidy until the report is read
    const paramSq = escapeTidy(sumOfSquares(group.params.map((p) => p.tensor)));
    const gradSq = escapeTidy(grads.length > 0 ? sumOfSquares(grads) : mul(paramSq, 0));
    const clip = group.options.clip;
    // η = 0 moves nothing; its relative threshold would be infinite, so it does not clip
    if (!clip || (clip.type === 'relative' && lr === 0)) {
      return {
        gradSq,
        paramSq,
        threshold: clip ? Number.POSITIVE_INFINITY : null,
        factor: null,
        fired: null,
      };
    }
    const stats = tidy(() => {
      const keepAll = <T extends Tensor | number>(t: T): T =>
        typeof t === 'number' ? t : (escapeTidy(t as Tensor) as T);
      const gradNorm = sqrt(gradSq);
      const threshold =
        clip.type === 'relative'
          ? mul(sqrt(paramSq), (clip.sqrtC ?? 2) * Math.sqrt((2 * group.options.weightDecay) / lr))
          : clip.maxNorm;
      const factor = minimum(div(threshold, maximum(gradNorm, TINY_NORM)), 1);
      const fired = cast(greater(gradNorm, threshold), 'float32');
      return { threshold: keepAll(threshold), factor: escapeTidy(factor), fired: escapeTidy(fired) };
    });
    if (group.clipCount) {
      const count = group.clipCount;
      tidy(() => count.assign(add(count, stats.fired)));
    } else {
      group.clipCount = escapeTidy(mul(stats.fired, 1));
    }
    return { gradSq, paramSq, ...stats };
  }

  /** One readback for every group's scalars. */
  private async readReport(
    step: number,
    reported: { group: Group<O>; lr: number; stats: GroupStats }[],
  ): Promise<StepReport> {
    const scalars: Tensor[] = [];
    const slot = (t: Tensor | null): number => (t ? scalars.push(t) - 1 : -1);
    const slots = reported.map(({ group, stats }) => ({
      gradSq: slot(stats.gradSq),
      paramSq: slot(stats.paramSq),
      threshold: typeof stats.threshold === 'object' ? slot(stats.threshold) : -1,
      factor: slot(stats.factor),
      fired: slot(stats.fired),
      clipCount: group.options.clip ? slot(group.clipCount) : -1,
    }));
    // kept: a caller's enclosing tidy must not free them while the readback is pending
    const packed = escapeTidy(noGrad(() => stack(scalars)));
    let values: Float32Array;
    try {
      values = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
      for (const { stats } of reported) disposeStats(stats);
    }
    const at = (i: number, fallback: number): number => (i >= 0 ? values[i]! : fallback);
    let gradSq = 0;
    let paramSq = 0;
    const groups = reported.map(({ group, lr, stats }, i): GroupStepReport => {
      const s = slots[i]!;
      const gSq = at(s.gradSq, 0);
      const pSq = at(s.paramSq, 0);
      gradSq += gSq;
      paramSq += pSq;
      return {
        optimizer: this.name,
        group: group.options.name,
        lr,
        gradNorm: Math.sqrt(gSq),
        paramNorm: Math.sqrt(pSq),
        clipThreshold:
          stats.threshold === null || typeof stats.threshold === 'number'
            ? stats.threshold
            : at(s.threshold, 0),
        clipped: at(s.fired, 0) > 0,
        clipFactor: at(s.factor, 1),
        clipCount: group.options.clip ? at(s.clipCount, 0) : null,
        effectiveLr: group.options.scaleInvariant ? lr / pSq : null,
      };
    });
    return { step, gradNorm: Math.sqrt(gradSq), paramNorm: Math.sqrt(paramSq), groups };
  }

  /** A snapshot to resume from: options, step count and every state buffer (read back from the device). */
  async stateDict(): Promise<OptimizerStateDict> {
    const groups: GroupStateDict[] = [];
    for (const group of this.groups) {
      const params: ParamStateDict[] = [];
      for (const [i, p] of group.params.entries()) {
        const state: Record<string, Float32Array> = {};
        for (const [key, t] of Object.entries(group.state[i]!)) {
          state[key] = new Float32Array(await t.data());
        }
        params.push({ name: p.name, shape: [...p.tensor.shape], state });
      }
      const clipCount = group.clipCount ? (await group.clipCount.data())[0]! : 0;
      groups.push({
        options: structuredClone(group.options) as GroupStateDict['options'],
        params,
        clipCount,
      });
    }
    return { optimizer: this.name, step: this.stepCount, groups };
  }

  /** Validates a state dict against this optimizer (kind, layout, options, state sizes); returns its options. */
  checkStateDict(dict: OptimizerStateDict): O[] {
    const op = `${this.name}.loadStateDict`;
    if (dict.optimizer !== this.name) {
      throw new RangeArgumentError(
        `the state dict is from ${dict.optimizer}, this optimizer is ${this.name}`,
        op,
      );
    }
    if (!(Number.isInteger(dict.step) && dict.step >= 0)) {
      throw new RangeArgumentError(`step must be an integer >= 0, got ${dict.step}`, op);
    }
    if (dict.groups.length !== this.groups.length) {
      throw new ShapeError(
        `the state dict has ${dict.groups.length} groups, this optimizer ${this.groups.length}`,
        op,
      );
    }
    const options = this.groups.map((group, g) => {
      const saved = dict.groups[g]!;
      const expected = group.params.map((p) => `${p.name} ${JSON.stringify(p.tensor.shape)}`);
      const found = saved.params.map((p) => `${p.name} ${JSON.stringify(p.shape)}`);
      const mismatch = expected.findIndex((e, i) => e !== found[i]);
      if (expected.length !== found.length || mismatch >= 0) {
        const i = mismatch >= 0 ? mismatch : Math.min(expected.length, found.length);
        throw new ShapeError(
          `group ${g} parameter layout differs at position ${i}: expected ${expected[i] ?? 'nothing'}, ` +
            `the state dict has ${found[i] ?? 'nothing'} (${expected.length} vs ${found.length} parameters)`,
          op,
        );
      }
      const resolved = this.resolveOptions(
        pick(saved.options, [...BASE_KEYS, ...this.ownOptionKeys()]) as Partial<O>,
        op,
      );
      const names = this.stateNames(resolved);
      saved.params.forEach((p, i) => {
        const size = group.params[i]!.tensor.size;
        const keys = Object.keys(p.state);
        if (keys.sort().join() !== [...names].sort().join()) {
          throw new ShapeError(`parameter '${p.name}' has state [${keys}], expected [${names}]`, op);
        }
        for (const key of names) {
          if (p.state[key]!.length !== size) {
            throw new ShapeError(
              `state '${key}' of '${p.name}' has ${p.state[key]!.length} values, expected ${size}`,
              op,
            );
          }
        }
      });
      return resolved;
    });
    return options;
  }

  /**
   * Restores a `stateDict()` snapshot taken from an optimizer of the same kind over the same
   * parameter layout (group count, parameter names and shapes); anything else throws before any
   * state changes. The options in the snapshot replace the current ones.
   */
  async loadStateDict(dict: OptimizerStateDict): Promise<void> {
    const options = this.checkStateDict(dict);
    for (const [g, group] of this.groups.entries()) {
      const saved = dict.groups[g]!;
      const state: Record<string, Tensor>[] = [];
      for (const [i, p] of saved.params.entries()) {
        const like = group.params[i]!.tensor;
        const entry: Record<string, Tensor> = {};
        for (const [key, values] of Object.entries(p.state))
          entry[key] = await upload(values, like.shape, like);
        state.push(entry);
      }
      for (const old of group.state) for (const t of Object.values(old)) t.dispose();
      group.state = state;
      group.options = options[g]!;
      group.clipCount?.dispose();
      group.clipCount =
        saved.clipCount > 0
          ? await upload(Float32Array.of(saved.clipCount), [], group.params[0]!.tensor)
          : null;
    }
    this.stepCount = dict.step;
  }

  /** Names of the optimizer's own options (beyond the base ones), for state dicts. */
  protected abstract ownOptionKeys(): readonly string[];

  /** Frees every state buffer; the optimizer is unusable afterwards. */
  dispose(): void {
    for (const group of this.groups) {
      for (const state of group.state) for (const t of Object.values(state)) t.dispose();
      group.state = [];
      group.clipCount?.dispose();
      group.clipCount = null;
    }
  }
}

function isGroupList<O extends BaseGroupOptions>(params: unknown): params is readonly ParamGroup<O>[] {
  return Array.isArray(params) && params.length > 0 && typeof params[0] === 'object' && 'params' in params[0];
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function pick(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in value).map((k) => [k, structuredClone(value[k])]));
}

/** Σ‖t‖² as a device scalar, one tensor at a time so no more than one square is alive. */
function sumOfSquares(tensors: readonly Tensor[]): Tensor {
  let total: Tensor | null = null;
  for (const t of tensors) {
    const before: Tensor | null = total;
    total = tidy(() => (before ? add(before, sum(square(t))) : sum(square(t))));
    before?.dispose();
  }
  if (!total) throw new RangeArgumentError('expected at least one tensor', 'sumOfSquares');
  return total;
}

function disposeStats(stats: GroupStats): void {
  stats.gradSq.dispose();
  stats.paramSq.dispose();
  if (typeof stats.threshold === 'object') stats.threshold?.dispose();
  stats.factor?.dispose();
  stats.fired?.dispose();
}

/** Host values as a tensor on the backend of `like` (state buffers live beside their parameter). */
async function upload(values: Float32Array, shape: readonly number[], like: Tensor): Promise<Tensor> {
  const host = tensor(values, shape);
  if (host.backend === like.backend) return escapeTidy(host);
  const moved = escapeTidy(await host.toAsync(like.backend));
  host.dispose();
  return moved;
}
