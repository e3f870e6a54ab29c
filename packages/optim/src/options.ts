import { RangeArgumentError } from '@sibert/tensor';
import { type ClipSpec, resolveClip } from './clipping.js';
import type { ParamList } from './params.js';
import { constantSchedule, type ScheduleSpec, validateSchedule } from './schedule.js';

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

/** An optimizer's defaults: every option but `lr` (always given) and `name` (per group). */
export type OptionDefaults<O extends BaseGroupOptions> = Omit<O, 'lr' | 'name'>;

/** A group as the user gives it: parameters plus any options overriding the optimizer's. */
export type ParamGroup<O extends BaseGroupOptions> = { params: ParamList } & Partial<O>;

/** Refuses an option: throws a `RangeArgumentError` naming the group. */
export type Fail = (message: string) => never;

export function baseDefaults(): OptionDefaults<BaseGroupOptions> {
  return { weightDecay: 0, clip: null, schedule: constantSchedule(), scaleInvariant: false };
}

/** The option names an optimizer takes: `lr`, `name` and those it has defaults for. */
export function optionKeys(defaults: object): string[] {
  return ['lr', ...Object.keys(defaults), 'name'];
}

/**
 * Fills `defaults` under `input` and validates the base options, then the optimizer's own with
 * `validateOwn`; an option the defaults do not name is an error (it would go unused).
 */
export function resolveOptions<O extends BaseGroupOptions>(
  input: Partial<O>,
  defaults: OptionDefaults<O>,
  validateOwn: (options: O, fail: Fail) => void,
  op: string,
): O {
  const options = { ...defaults, ...stripUndefined(input) } as O;
  const fail: Fail = (message) => {
    throw new RangeArgumentError(`group '${options.name}': ${message}`, op);
  };
  const known = optionKeys(defaults);
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length > 0)
    fail(`unknown option(s) ${unknown.join(', ')}; the options are ${known.join(', ')}`);
  if (!(Number.isFinite(options.lr) && options.lr >= 0))
    fail(`lr must be a finite number >= 0, got ${options.lr}`);
  if (!(Number.isFinite(options.weightDecay) && options.weightDecay >= 0)) {
    fail(`weightDecay must be a finite number >= 0, got ${options.weightDecay}`);
  }
  if (options.clip !== null) options.clip = resolveClip(options.clip, options.weightDecay, fail);
  options.schedule = validateSchedule(options.schedule);
  validateOwn(options, fail);
  return options;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
