import type { RandomDistribution } from '../backend.js';
import { getBackend } from '../engine.js';
import { RangeArgumentError } from '../errors.js';
import { assertValidShape, type Shape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { out, runKernel } from './core.js';

/**
 * The global generator: a seed and a counter offset. Each draw without an explicit seed takes
 * `size` counters from it, so the same seed reproduces the same tensors on every backend.
 */
export interface RngState {
  seed: number;
  offset: number;
}

const state: RngState = { seed: 0, offset: 0 };

/** Restarts the global stream at `seed`. */
export function manualSeed(seed: number): void {
  assertSeed(seed, 'manualSeed');
  state.seed = seed;
  state.offset = 0;
}

export function getRngState(): RngState {
  return { ...state };
}

export function setRngState(next: RngState): void {
  assertSeed(next.seed, 'setRngState');
  assertSeed(next.offset, 'setRngState');
  state.seed = next.seed;
  state.offset = next.offset;
}

function assertSeed(value: number, op: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeArgumentError(`expected an integer in [0, 2^53), got ${value}`, op);
  }
}

/** Draw from an explicit stream instead of the global one. */
export interface StreamOptions {
  seed?: number;
  offset?: number;
}

export function random(shape: Shape, dist: RandomDistribution, options: StreamOptions = {}): Tensor {
  const op = dist.kind;
  assertValidShape(shape, op);
  let stream: RngState;
  if (options.seed !== undefined) {
    stream = { seed: options.seed, offset: options.offset ?? 0 };
    assertSeed(stream.seed, op);
    assertSeed(stream.offset, op);
  } else {
    stream = { seed: state.seed, offset: state.offset };
    state.offset += sizeOf(shape);
  }
  const spec = out(shape, 'float32');
  return runKernel(op, getBackend(), 'random', spec, (fn) => fn(dist, stream, spec));
}

export function uniform(shape: Shape, low = 0, high = 1, options?: StreamOptions): Tensor {
  return random(shape, { kind: 'uniform', low, high }, options);
}

export function normal(shape: Shape, mean = 0, std = 1, options?: StreamOptions): Tensor {
  if (!(std >= 0)) throw new RangeArgumentError(`std must be >= 0, got ${std}`, 'normal');
  return random(shape, { kind: 'normal', mean, std }, options);
}

/** Normal truncated at mean ± 2·std (BERT's initialiser). */
export function truncatedNormal(shape: Shape, mean = 0, std = 1, options?: StreamOptions): Tensor {
  if (!(std >= 0)) throw new RangeArgumentError(`std must be >= 0, got ${std}`, 'truncatedNormal');
  return random(shape, { kind: 'truncatedNormal', mean, std }, options);
}

/** 1 with probability p, else 0 (float32). */
export function bernoulli(shape: Shape, p: number, options?: StreamOptions): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeArgumentError(`p must be in [0, 1], got ${p}`, 'bernoulli');
  return random(shape, { kind: 'bernoulli', p }, options);
}
