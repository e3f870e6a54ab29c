import type { Backend } from '../backend.js';
import { fusedKernelsEnabled, isGradEnabled, tidy } from '../engine.js';
import { BackendError, GradientError, RangeArgumentError, ShapeError } from '../errors.js';
import { formatShape, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertFloat, commonBackend, runInPlace } from './core.js';
import { add, div, mul, sqrt, square, sub } from './elementwise.js';

/**
 * In-place updates: the optimizers' way to change parameters and their state without a
 * parameter-sized temporary. They are the one place where the engine writes a tensor's storage,
 * so each checks that no other tensor can see the change: every target owns its storage alone
 * (no view made by reshape or detach shares it, no live autograd graph saved it), targets are
 * distinct from each other and from the inputs, and nothing is being recorded for autograd.
 * Backends without the kernel (or inside `withoutFusedKernels`) get the composed definition,
 * written with `assign`.
 */

export interface AxpyOptions {
  /** Taken off the target, as a fraction of it, before the step (e.g. ηλ). Default 0. */
  decay?: number;
  /** The step's coefficient (e.g. η). */
  step: number;
  /** A one-element float32 tensor the step is multiplied by (e.g. a clip factor); default none. */
  scale?: Tensor | null;
}

/** target ← target − decay·target − step·scale·source, in place (see the rules above). */
export function axpyInPlace(target: Tensor, source: Tensor, options: AxpyOptions): void {
  const op = 'axpyInPlace';
  const { decay = 0, step } = options;
  const scale = options.scale ?? null;
  const backend = checkUpdate(op, [target], [source, ...(scale ? [scale] : [])], scale);
  assertSameShape(op, 'source', source, target);
  assertFinite(op, { decay, step });
  if (useKernel(backend, op)) {
    runInPlace(
      op,
      backend,
      op,
      (fn) => fn(target.view(op), source.view(op), decay, step, scale?.view(op) ?? null),
      () => formatShape(target.shape),
    );
    return;
  }
  tidy(() => {
    const scaled = scale ? mul(source, scale) : source;
    target.assign(sub(sub(target, mul(target, decay)), mul(scaled, step)));
  });
}

export interface AdamInPlaceOptions {
  /** A one-element float32 tensor the gradient is multiplied by (e.g. a clip factor); default none. */
  gradScale?: Tensor | null;
  /** Coupled L2 decay added to the gradient before the moments (Adam's weight decay). Default 0. */
  l2?: number;
  beta1: number;
  beta2: number;
  /** Decoupled decay taken off the parameter before the step (AdamW's ηλ). Default 0. */
  decay?: number;
  /** η / (1 − β₁ᵗ); with decay, 0 updates the moments only. */
  step: number;
  /** √(1 − β₂ᵗ). */
  sqrtCorrection2: number;
  eps: number;
}

/**
 * Adam's moments and parameter in one pass, in place: with d = gradScale·grad + l2·param,
 * m ← β₁m + (1 − β₁)d, v ← β₂v + (1 − β₂)d², then param ← param − decay·param − step·m/(√v/√c₂ + ε)
 * (skipped when decay and step are both 0). The rules above apply to param, m and v.
 */
export function adamInPlace(
  param: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  grad: Tensor,
  options: AdamInPlaceOptions,
): void {
  const op = 'adamInPlace';
  const gradScale = options.gradScale ?? null;
  const scalars = {
    l2: options.l2 ?? 0,
    beta1: options.beta1,
    beta2: options.beta2,
    decay: options.decay ?? 0,
    step: options.step,
    sqrtCorrection2: options.sqrtCorrection2,
    eps: options.eps,
  };
  const backend = checkUpdate(
    op,
    [param, expAvg, expAvgSq],
    [grad, ...(gradScale ? [gradScale] : [])],
    gradScale,
  );
  assertSameShape(op, 'expAvg', expAvg, param);
  assertSameShape(op, 'expAvgSq', expAvgSq, param);
  assertSameShape(op, 'grad', grad, param);
  assertFinite(op, scalars);
  if (useKernel(backend, op)) {
    runInPlace(
      op,
      backend,
      op,
      (fn) =>
        fn(param.view(op), expAvg.view(op), expAvgSq.view(op), grad.view(op), {
          ...scalars,
          gradScale: gradScale?.view(op) ?? null,
        }),
      () => formatShape(param.shape),
    );
    return;
  }
  const { l2, beta1, beta2, decay, step, sqrtCorrection2, eps } = scalars;
  tidy(() => {
    const scaled = gradScale ? mul(grad, gradScale) : grad;
    const d = l2 !== 0 ? add(scaled, mul(param, l2)) : scaled;
    expAvg.assign(add(mul(expAvg, beta1), mul(d, 1 - beta1)));
    expAvgSq.assign(add(mul(expAvgSq, beta2), mul(square(d), 1 - beta2)));
    if (decay === 0 && step === 0) return;
    const adam = div(expAvg, add(div(sqrt(expAvgSq), sqrtCorrection2), eps));
    param.assign(sub(sub(param, mul(param, decay)), mul(adam, step)));
  });
}

function useKernel(backend: Backend, kernel: 'axpyInPlace' | 'adamInPlace'): boolean {
  return fusedKernelsEnabled() && backend.kernels[kernel] !== undefined;
}

/** Checks the rules of an in-place update; returns the one backend of every tensor. */
function checkUpdate(
  op: string,
  targets: readonly Tensor[],
  inputs: readonly Tensor[],
  scale: Tensor | null,
): Backend {
  const backend = commonBackend(op, [...targets, ...inputs]);
  assertFloat(op, ...targets, ...inputs);
  if (scale && scale.size !== 1) {
    throw new ShapeError(`the scale must have one element, got ${formatShape(scale.shape)}`, op);
  }
  if (isGradEnabled() && targets.some((t) => t.requiresGrad)) {
    throw new GradientError(
      'an in-place update is not recorded by autograd; run it inside noGrad (optimizers do)',
      op,
    );
  }
  const handles = new Set<unknown>();
  for (const t of [...targets, ...inputs]) {
    const handle = t.view(op).handle;
    if (handles.has(handle)) {
      throw new BackendError(
        `tensor #${t.id} ${formatShape(t.shape)} shares its storage with another argument; an in-place update needs every argument distinct`,
        op,
      );
    }
    handles.add(handle);
  }
  for (const t of targets) {
    const others = t.storage(op).holders - 1;
    if (others > 0) {
      throw new BackendError(
        `tensor #${t.id} ${formatShape(t.shape)} shares its storage with ${others} other tensor(s): a view (reshape, detach, the value given to assign) or an input that a live autograd graph saved for backward; updating it in place would change them too (dispose them, or call backward first)`,
        op,
      );
    }
  }
  return backend;
}

function assertSameShape(op: string, what: string, t: Tensor, target: Tensor): void {
  if (!shapesEqual(t.shape, target.shape)) {
    throw new ShapeError(
      `${what} must have the target's shape ${formatShape(target.shape)}, got ${formatShape(t.shape)}`,
      op,
    );
  }
}

function assertFinite(op: string, scalars: Record<string, number>): void {
  for (const [name, value] of Object.entries(scalars)) {
    if (!Number.isFinite(value))
      throw new RangeArgumentError(`${name} must be a finite number, got ${value}`, op);
  }
}
