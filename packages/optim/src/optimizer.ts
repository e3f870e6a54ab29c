import type { NamedParam } from './params.js';
import type { StepReport } from './report.js';
import type { StateDict } from './state-dict.js';

export interface StepOptions {
  /** Read back norms and clipping for this step (one device readback); off by default. */
  report?: boolean;
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
