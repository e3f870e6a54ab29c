import type { Tensor } from '@sibert/tensor';
import type { NamedParam } from './params.js';
import type { StepReport } from './report.js';
import type { StateDict } from './state-dict.js';

export interface StepOptions {
  /** Read back norms and clipping for this step (one device readback); off by default. */
  report?: boolean;
}

/**
 * One step taken inside a backward pass (`Optimizer.beginStepInBackward`): the pass hands each leaf
 * whose gradient is complete to `onLeafGradient`, which updates it when it is this optimizer's
 * (returning true) and frees its gradient; `finish` ends the step, `abort` frees what it holds
 * when the pass failed.
 */
export interface StepInBackward {
  onLeafGradient(leaf: Tensor): boolean;
  finish(): Promise<StepReport> | undefined;
  abort(): void;
}

/** `loss.backward()` with the step's hook, then the step's end: every optimizer's `backwardAndStep`. */
export function runStepInBackward(step: StepInBackward, loss: Tensor): Promise<StepReport> | undefined {
  try {
    loss.backward(undefined, { onLeafGradient: (leaf) => void step.onLeafGradient(leaf) });
  } catch (error) {
    step.abort();
    throw error;
  }
  return step.finish();
}

/**
 * The contract every optimizer (SGD, Adam, AdamW, LAMB) and `CombinedOptimizer` implement: what a
 * training loop needs, whatever the update rule and its options.
 */
export interface Optimizer {
  /** The optimizer's kind, in reports and state dicts (`'SGD'`, `'LAMB'`, `'Combined'`, …). */
  readonly name: string;
  /** Steps taken. */
  readonly stepCount: number;
  /** One update of every parameter that has a gradient; with `report`, resolves to its norms. */
  step(): void;
  step(options: StepOptions & { report: true }): Promise<StepReport>;
  step(options: StepOptions): Promise<StepReport> | undefined;
  /**
   * `loss.backward()` and a step in one pass, each parameter updated as soon as its gradient is
   * complete and the gradient freed at once, with clipping one step stale (see `BaseOptimizer`).
   */
  backwardAndStep(loss: Tensor): void;
  backwardAndStep(loss: Tensor, options: StepOptions & { report: true }): Promise<StepReport>;
  backwardAndStep(loss: Tensor, options: StepOptions): Promise<StepReport> | undefined;
  /** The hooks of `backwardAndStep`, for a pass that other optimizers share (`CombinedOptimizer`). */
  beginStepInBackward(options?: StepOptions): StepInBackward;
  /** Disposes every parameter's `.grad` and sets it to null. */
  zeroGrad(): void;
  /** Every parameter this optimizer updates. */
  parameters(): NamedParam[];
  /** Bytes of per-parameter state held (momentum, moments); 0 for plain SGD. */
  stateBytes(): number;
  /** A snapshot to resume from (read back from the device). */
  stateDict(): Promise<StateDict>;
  /** Throws unless `dict` fits this optimizer (kind, parameter layout, options, state sizes). */
  checkStateDict(dict: StateDict): void;
  /** Restores a snapshot that `checkStateDict` accepts; anything else throws before any state changes. */
  loadStateDict(dict: StateDict): Promise<void>;
  /**
   * Frees the optimizer's state tensors and device buffers; calling it again does nothing, and any
   * other use afterwards throws a `DisposedError`.
   */
  dispose(): void;
}
