import type { Optimizer, StepReport } from '@sibert/optim';
import { inPhase, mul, Tensor, tidy } from '@sibert/tensor';

/** What a step's forward pass returns: the loss to minimise; every other scalar tensor is a metric read back. */
export interface StepOutputs {
  loss: Tensor;
}

/** What a step needs of an optimizer (every @sibert/optim optimizer), with the type of its report. */
export interface StepOptimizer<R extends StepReport = StepReport> extends Pick<Optimizer, 'zeroGrad'> {
  step(): void;
  step(options: { report: true }): Promise<R>;
  backwardAndStep(loss: Tensor): void;
  backwardAndStep(loss: Tensor, options: { report: true }): Promise<R>;
}

export interface TrainStepOptions {
  /** Ask the optimizer for its step report (norms, LR, clipping); it costs a device read. */
  report?: boolean;
  /** Multiplies the loss before backward (the robustness suite's loss scale); the reported loss is unscaled. */
  lossScale?: number;
  /**
   * Read the loss before backward and skip the update when it is not finite, so a diverged step
   * never reaches the weights. Costs a device sync mid-step; without it the loss is read after the update.
   */
  skipNonFinite?: boolean;
  /**
   * Update each parameter inside backward, as soon as its gradient is complete, and free that
   * gradient at once (`Optimizer.backwardAndStep`): the gradients never all exist together.
   * Clipping then uses the previous step's gradient norm.
   */
  updateInBackward?: boolean;
  /**
   * Called between backward and the update, with the gradients in place (memory measurements);
   * with `updateInBackward`, after the pass, when the gradients are already gone.
   */
  afterBackward?: () => void;
}

export interface TrainStepResult<R extends StepReport = StepReport> {
  /** The (unscaled) loss of this step. */
  loss: number;
  /** Every other output of the forward pass, read back. */
  metrics: Record<string, number>;
  /** The optimizer's report when asked for (a CombinedOptimizer's has its parts), else null. */
  report: R | null;
  /** False when `skipNonFinite` found a non-finite loss: no gradient was computed, nothing changed. */
  updated: boolean;
}

/**
 * One training step: `forward` (which uploads its batch and runs the model, inside `tidy`),
 * backward, the optimizer's update, gradients cleared, the scalars read back. Every tensor the
 * step made is freed before it returns.
 */
export async function trainStep<R extends StepReport = StepReport>(
  optimizer: StepOptimizer<R>,
  forward: () => StepOutputs,
  options: TrainStepOptions = {},
): Promise<TrainStepResult<R>> {
  // The phases label the step's kernels in a profile (`profileKernels` in @sibert/tensor).
  const outputs = metricsWithoutGraph(inPhase('forward', () => tidy(forward)));
  const all = tensorsOf(outputs);
  try {
    let loss = options.skipNonFinite ? await inPhase('read', () => outputs.loss.itemAsync()) : Number.NaN;
    if (options.skipNonFinite && !Number.isFinite(loss))
      return { loss, metrics: await readMetrics(outputs), report: null, updated: false };
    const scale = options.lossScale ?? 1;
    const scaled = scale === 1 ? outputs.loss : mul(outputs.loss, scale);
    let report: R | null = null;
    try {
      if (options.updateInBackward) {
        // backward and the update are one pass: it is labelled backward in a profile
        if (options.report)
          report = await inPhase('backward', () => optimizer.backwardAndStep(scaled, { report: true }));
        else inPhase('backward', () => optimizer.backwardAndStep(scaled));
        options.afterBackward?.();
      } else {
        inPhase('backward', () => scaled.backward());
        options.afterBackward?.();
        if (options.report) report = await inPhase('optimizer', () => optimizer.step({ report: true }));
        else inPhase('optimizer', () => optimizer.step());
      }
    } finally {
      if (scaled !== outputs.loss) scaled.dispose();
    }
    inPhase('optimizer', () => optimizer.zeroGrad());
    if (!options.skipNonFinite) loss = await inPhase('read', () => outputs.loss.itemAsync());
    return { loss, metrics: await readMetrics(outputs), report, updated: true };
  } finally {
    for (const [, t] of all) t.dispose();
  }
}

/**
 * The outputs with every metric cut from the autograd graph: a metric's graph may have saved a
 * parameter, and the update writes parameters in place, which a live graph holding them forbids.
 */
function metricsWithoutGraph(outputs: StepOutputs): StepOutputs {
  const result: Record<string, unknown> = { ...outputs };
  for (const [name, t] of tensorsOf(outputs)) {
    if (name === 'loss' || !t.gradNode) continue;
    result[name] = t.detach();
    t.dispose();
  }
  return result as unknown as StepOutputs;
}

function tensorsOf(outputs: StepOutputs): [string, Tensor][] {
  return Object.entries(outputs).filter((entry): entry is [string, Tensor] => entry[1] instanceof Tensor);
}

async function readMetrics(outputs: StepOutputs): Promise<Record<string, number>> {
  const metrics: Record<string, number> = {};
  for (const [name, t] of tensorsOf(outputs))
    if (name !== 'loss') metrics[name] = await inPhase('read', () => t.itemAsync());
  return metrics;
}
