import { RangeArgumentError } from '@sibert/tensor';

/**
 * Learning-rate schedules are plain data: a spec says what the schedule is, and
 * `scheduleFactor(spec, step)` gives the multiplier of a group's base LR at a step. The value is a
 * pure function of the step, so a resumed run gets exactly the LRs of an uninterrupted one, and a
 * spec can be stored in a state dict or a JSON config.
 *
 * Steps count from 0: `step` is the number of optimizer steps already taken.
 */
export type ScheduleSpec =
  | ConstantSchedule
  | PiecewiseSchedule
  | LinearWarmupSchedule
  | LinearDecaySchedule
  | CosineSchedule
  | ProductSchedule;

/** Factor 1 at every step. */
export interface ConstantSchedule {
  kind: 'constant';
}

/**
 * Multiplies by `factor` at each milestone (from that step on): the paper's ÷10 at 60% and 90% is
 * `{ kind: 'piecewise', factor: 0.1, atFractions: [0.6, 0.9], totalSteps }`. Give milestones either
 * as steps (`atSteps`) or as fractions of `totalSteps` (`atFractions`, rounded to the nearest step).
 */
export interface PiecewiseSchedule {
  kind: 'piecewise';
  factor: number;
  atSteps?: number[];
  atFractions?: number[];
  totalSteps?: number;
}

/** (step + 1) / warmupSteps until it reaches 1, so the first step already moves (unlike a 0 start). */
export interface LinearWarmupSchedule {
  kind: 'linearWarmup';
  warmupSteps: number;
}

/** 1 until `startStep`, then linearly down to `finalFactor` (default 0) at `totalSteps`, and flat after. */
export interface LinearDecaySchedule {
  kind: 'linearDecay';
  startStep?: number;
  totalSteps: number;
  finalFactor?: number;
}

/** 1 until `startStep`, then half a cosine down to `finalFactor` (default 0) at `totalSteps`. */
export interface CosineSchedule {
  kind: 'cosine';
  startStep?: number;
  totalSteps: number;
  finalFactor?: number;
}

/** The product of several schedules (e.g. a warmup times a decay). */
export interface ProductSchedule {
  kind: 'product';
  schedules: ScheduleSpec[];
}

const KINDS = ['constant', 'piecewise', 'linearWarmup', 'linearDecay', 'cosine', 'product'] as const;

export const constantSchedule = (): ConstantSchedule => ({ kind: 'constant' });

export function piecewiseSchedule(options: Omit<PiecewiseSchedule, 'kind'>): PiecewiseSchedule {
  return validateSchedule({ kind: 'piecewise', ...options }) as PiecewiseSchedule;
}

export function linearWarmup(warmupSteps: number): LinearWarmupSchedule {
  return validateSchedule({ kind: 'linearWarmup', warmupSteps }) as LinearWarmupSchedule;
}

export function linearDecay(options: Omit<LinearDecaySchedule, 'kind'>): LinearDecaySchedule {
  return validateSchedule({ kind: 'linearDecay', ...options }) as LinearDecaySchedule;
}

export function cosineSchedule(options: Omit<CosineSchedule, 'kind'>): CosineSchedule {
  return validateSchedule({ kind: 'cosine', ...options }) as CosineSchedule;
}

export function multiplySchedules(...schedules: ScheduleSpec[]): ProductSchedule {
  return validateSchedule({ kind: 'product', schedules }) as ProductSchedule;
}

/**
 * Linear warmup over `warmupSteps` (0: none), then linear decay to `finalFactor` (default 0) at
 * `totalSteps`.
 */
export function linearWarmupDecay(options: {
  warmupSteps: number;
  totalSteps: number;
  finalFactor?: number;
}): ProductSchedule {
  const { warmupSteps, totalSteps, finalFactor } = options;
  const decay = linearDecay({
    startStep: warmupSteps,
    totalSteps,
    ...(finalFactor === undefined ? {} : { finalFactor }),
  });
  // A warmup of zero steps is no warmup (a short run's 10% rounds to it).
  return warmupSteps === 0 ? multiplySchedules(decay) : multiplySchedules(linearWarmup(warmupSteps), decay);
}

const OP = 'schedule';

function fail(message: string): never {
  throw new RangeArgumentError(message, OP);
}

function checkSteps(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

function checkFactor(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** Throws a `RangeArgumentError` naming the problem if `spec` is not a valid schedule; returns it. */
export function validateSchedule(spec: unknown): ScheduleSpec {
  if (typeof spec !== 'object' || spec === null || !('kind' in spec)) {
    fail(`expected a schedule spec with a 'kind' (one of ${KINDS.join(', ')}), got ${JSON.stringify(spec)}`);
  }
  const s = spec as ScheduleSpec;
  switch (s.kind) {
    case 'constant':
      return s;
    case 'piecewise': {
      checkFactor('piecewise factor', s.factor);
      if ((s.atSteps === undefined) === (s.atFractions === undefined)) {
        fail('a piecewise schedule needs exactly one of atSteps or atFractions');
      }
      if (s.atSteps) for (const step of s.atSteps) checkSteps('a piecewise milestone step', step, 0);
      if (s.atFractions) {
        checkSteps('piecewise totalSteps (needed with atFractions)', s.totalSteps, 1);
        for (const f of s.atFractions) {
          if (!(f >= 0 && f <= 1)) fail(`a piecewise milestone fraction must be in [0, 1], got ${f}`);
        }
      }
      return s;
    }
    case 'linearWarmup':
      checkSteps('linearWarmup warmupSteps', s.warmupSteps, 1);
      return s;
    case 'linearDecay':
    case 'cosine': {
      const start = s.startStep ?? 0;
      checkSteps(`${s.kind} startStep`, start, 0);
      checkSteps(`${s.kind} totalSteps`, s.totalSteps, start + 1);
      if (s.finalFactor !== undefined) checkFactor(`${s.kind} finalFactor`, s.finalFactor);
      return s;
    }
    case 'product':
      if (!Array.isArray(s.schedules)) fail('a product schedule needs an array of schedules');
      for (const inner of s.schedules) validateSchedule(inner);
      return s;
    default:
      return fail(
        `unknown schedule kind '${String((s as { kind: unknown }).kind)}'; expected one of ${KINDS.join(', ')}`,
      );
  }
}

/** The LR multiplier of `spec` at `step` (steps already taken, from 0). */
export function scheduleFactor(spec: ScheduleSpec, step: number): number {
  switch (spec.kind) {
    case 'constant':
      return 1;
    case 'piecewise': {
      const milestones =
        spec.atSteps ?? (spec.atFractions ?? []).map((f) => Math.round(f * (spec.totalSteps ?? 0)));
      const passed = milestones.filter((m) => step >= m).length;
      return spec.factor ** passed;
    }
    case 'linearWarmup':
      return Math.min(1, (step + 1) / spec.warmupSteps);
    case 'linearDecay':
    case 'cosine': {
      const start = spec.startStep ?? 0;
      const final = spec.finalFactor ?? 0;
      const progress = Math.min(1, Math.max(0, (step - start) / (spec.totalSteps - start)));
      const shape = spec.kind === 'linearDecay' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
      return final + (1 - final) * shape;
    }
    case 'product':
      return spec.schedules.reduce((f, inner) => f * scheduleFactor(inner, step), 1);
  }
}
