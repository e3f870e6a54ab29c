import type { StepReport } from '@sibert/optim';
import type { TrainStepResult } from './step.js';

/** Where a loop learns that it should stop early (a signal in Node, a button in a page). */
export interface StopSource {
  /** What asked the loop to stop (e.g. 'SIGINT'), or null while nothing has. */
  readonly requested: string | null;
}

/** What a callback sees after each step. */
export interface StepEnd<B, R extends StepReport = StepReport> {
  /** Steps completed, this one included. */
  step: number;
  batch: B;
  result: TrainStepResult<R>;
  /** Seconds the step took, from the batch in hand to the scalars read back. */
  seconds: number;
  /** This step reached the loop's `steps`. */
  isLast: boolean;
  /** The stop request seen after this step (the loop ends after the callbacks), or null. */
  stopRequested: string | null;
}

/**
 * Hooks into the loop, in the order given (PyTorch Lightning's callbacks, HF's TrainerCallback):
 * logging, checkpoints and evaluation are callbacks, the loop only trains.
 */
export interface TrainCallback<B, R extends StepReport = StepReport> {
  onStepEnd?(event: StepEnd<B, R>): void | Promise<void>;
}

export interface LoopOptions<B, R extends StepReport = StepReport> {
  /** The step count to reach. */
  steps: number;
  /** Steps already taken (a resumed run). */
  startStep?: number;
  /** The next batch, or null when the data is exhausted (the loop then ends as done). */
  nextBatch: () => B | null | Promise<B | null>;
  /** Trains on one batch (usually `trainStep`); `report` asks for the optimizer's step report. */
  trainOn: (batch: B, report: boolean) => Promise<TrainStepResult<R>>;
  /** Steps between optimizer reports (and the last step): where logging callbacks read norms. */
  reportEvery?: number;
  callbacks?: readonly TrainCallback<B, R>[];
  stop?: StopSource;
}

export interface LoopResult {
  /** 'done': reached `steps` or the end of the data; 'interrupted': a stop request; 'diverged': a non-finite loss. */
  status: 'done' | 'interrupted' | 'diverged';
  /** Steps completed. */
  step: number;
  /** The stop request that ended an interrupted loop. */
  stoppedBy: string | null;
  /** The non-finite loss that ended a diverged loop (at step `step + 1`). */
  divergedLoss: number | null;
}

/**
 * Gives signal handlers (and a page's UI) a turn: a step on the CPU backend may never yield to the
 * event loop. setImmediate where there is one: a browser clamps chained timeouts to 4 ms.
 */
const nextTurn: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/** Trains until `steps`, the end of the data, a stop request or a non-finite loss. */
export async function trainLoop<B, R extends StepReport = StepReport>(
  options: LoopOptions<B, R>,
): Promise<LoopResult> {
  const { steps, reportEvery = Number.POSITIVE_INFINITY, callbacks = [] } = options;
  let step = options.startStep ?? 0;
  while (step < steps) {
    const batch = await options.nextBatch();
    if (batch === null) break;
    const started = performance.now();
    const result = await options.trainOn(batch, (step + 1) % reportEvery === 0 || step + 1 === steps);
    const seconds = (performance.now() - started) / 1000;
    if (!Number.isFinite(result.loss))
      return { status: 'diverged', step, stoppedBy: null, divergedLoss: result.loss };
    step++;
    const stopRequested = options.stop?.requested ?? null;
    const event: StepEnd<B, R> = { step, batch, result, seconds, isLast: step === steps, stopRequested };
    for (const callback of callbacks) await callback.onStepEnd?.(event);
    if (stopRequested !== null && step < steps)
      return { status: 'interrupted', step, stoppedBy: stopRequested, divergedLoss: null };
    await nextTurn();
  }
  return { status: 'done', step, stoppedBy: null, divergedLoss: null };
}
