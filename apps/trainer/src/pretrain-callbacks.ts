import type { BatchIteratorState } from '@sibert/data';
import type { MaskedLanguageModel } from '@sibert/models';
import type { CombinedOptimizer, CombinedStepReport, Optimizer } from '@sibert/optim';
import { MetricWindow, type MetricWindowState, type StepEnd, type TrainCallback } from '@sibert/train';
import {
  type CheckpointPhase,
  NonFiniteWeightsError,
  type RunFolder,
  writeTrainingCheckpoint,
} from '@sibert/train/node';
import type { PretrainBatch } from './pretrain-data.js';
import type { Progress } from './progress.js';

/** A batch as the data worker hands it over, with the time the step waited for it. */
export type PrefetchedBatch = PretrainBatch & { waitedMs: number };

/** The pretraining optimizer's report: its parts are the encoder's (BERT: everything) and the heads' (SIBERT). */
type PretrainReport = CombinedStepReport<readonly Optimizer[]>;

const WINDOW_KEYS = ['loss', 'accuracy', 'tokens', 'seconds', 'waitedMs'] as const;
type WindowKey = (typeof WINDOW_KEYS)[number];

/** The logging state a checkpoint carries: the open window and the clip count at the last log. */
export interface LogState {
  window: MetricWindowState<WindowKey>;
  clipCountBefore: number;
}

/**
 * Sums each step into the logging window, draws the progress bar, and at every optimizer report
 * appends the window's means to metrics.jsonl (against the unigram baseline) and prints a line.
 */
export class MetricsLogger implements TrainCallback<PrefetchedBatch, PretrainReport> {
  private readonly window: MetricWindow<WindowKey>;
  private clipCountBefore: number;
  private readonly started = performance.now();

  constructor(
    private readonly folder: RunFolder,
    private readonly progress: Progress,
    private readonly baselineLoss: number,
    restored: LogState | null,
  ) {
    this.window = new MetricWindow(WINDOW_KEYS, restored?.window);
    this.clipCountBefore = restored?.clipCountBefore ?? 0;
  }

  state(): LogState {
    return { window: this.window.state(), clipCountBefore: this.clipCountBefore };
  }

  async onStepEnd({ step, batch, result, seconds }: StepEnd<PrefetchedBatch, PretrainReport>): Promise<void> {
    const w = this.window;
    w.add({
      loss: result.loss,
      accuracy: result.metrics.accuracy!,
      tokens: batch.batch.attentionMask.reduce((n, m) => n + m, 0),
      seconds,
      waitedMs: batch.waitedMs,
    });
    const tokensPerSec = w.sum('tokens') / Math.max(w.sum('seconds'), 1e-9);
    this.progress.tick({ step, loss: result.loss, tokensPerSec });
    if (!result.report) return;
    // pretrainGroups puts the encoder first, then the heads, then the SI head's parts: one group per part.
    const [encoderPart, headsPart, ...siHeadParts] = result.report.parts;
    const encoder = encoderPart!.groups[0]!;
    const heads = headsPart?.groups[0];
    const clipCount = encoder.clipCount ?? 0;
    const loss = w.mean('loss');
    const record = {
      step,
      loss,
      belowBaseline: this.baselineLoss - loss,
      maskedAccuracy: w.mean('accuracy'),
      lr: encoder.lr,
      headLr: heads?.lr ?? null,
      gradNorm: encoder.gradNorm,
      encoderParamNorm: encoder.paramNorm,
      effectiveLr: encoder.effectiveLr,
      clipped: encoder.clipped,
      clippedSteps: clipCount - this.clipCountBefore,
      // The scale-invariant MLM head's parts: their norms set their effective LRs, as the encoder's does.
      ...(siHeadParts.length > 0
        ? {
            headParamNorms: Object.fromEntries(
              siHeadParts.map((part) => [part.groups[0]!.group, part.groups[0]!.paramNorm]),
            ),
          }
        : {}),
      tokensPerSec,
      dataWaitMs: w.sum('waitedMs'),
      elapsed: (performance.now() - this.started) / 1000,
    };
    this.clipCountBefore = clipCount;
    await this.folder.appendMetrics(record);
    const below = record.belowBaseline;
    this.progress.log({
      step,
      loss,
      tokensPerSec,
      extra: `${below >= 0 ? '−' : '+'}${Math.abs(below).toFixed(2)} vs unigram, lr ${encoder.lr.toExponential(2)}`,
    });
    w.reset();
  }
}

/**
 * Writes a checkpoint every `every` steps, at the last step and when the run is asked to stop —
 * if the weights are worth going back to: not after an exploding loss (above 2·ln V, worse than
 * knowing nothing) and not with non-finite weights.
 */
export class Checkpointer implements TrainCallback<PrefetchedBatch> {
  /** The newest checkpoint written (by this process or the run it resumed). */
  lastGood: { step: number; loss: number | null } | null;
  private worstSinceSave = Number.NEGATIVE_INFINITY;
  private lastLoss: number | null = null;
  private dataState: BatchIteratorState;

  constructor(
    private readonly o: {
      folder: RunFolder;
      model: MaskedLanguageModel;
      optimizer: CombinedOptimizer;
      every: number;
      explodingLoss: number;
      /** What else the checkpoint keeps (the logging state). */
      extra: () => Record<string, unknown>;
      say: (line: string) => void;
      /** Called after each checkpoint written. */
      onSaved: () => void;
      /** The resumed checkpoint's step and data position. */
      resumed: { step: number; data: BatchIteratorState } | null;
    },
  ) {
    this.lastGood = o.resumed ? { step: o.resumed.step, loss: null } : null;
    this.dataState = o.resumed?.data ?? { epoch: 0, position: 0 };
  }

  async onStepEnd({ step, batch, result, isLast, stopRequested }: StepEnd<PrefetchedBatch>): Promise<void> {
    this.worstSinceSave = Math.max(this.worstSinceSave, result.loss);
    this.lastLoss = result.loss;
    this.dataState = batch.stateAfter;
    if (step % this.o.every === 0 || isLast || stopRequested) await this.save(step);
  }

  private async save(step: number): Promise<void> {
    const { folder, model, optimizer, explodingLoss, say } = this.o;
    if (this.worstSinceSave > explodingLoss) {
      say(
        `step ${step}: no checkpoint written: a loss of ${this.worstSinceSave.toPrecision(4)} since the last one is exploding (above 2·ln V = ${explodingLoss.toFixed(2)})`,
      );
      return;
    }
    try {
      await folder.saveCheckpoint(
        step,
        (dir) =>
          writeTrainingCheckpoint(dir, model, optimizer, {
            step,
            data: this.dataState,
            extra: structuredClone(this.o.extra()),
          }),
        crashSeam(step),
      );
    } catch (error) {
      if (!(error instanceof NonFiniteWeightsError)) throw error;
      say(`step ${step}: no checkpoint written: ${error.message}`);
      return;
    }
    this.lastGood = { step, loss: this.lastLoss };
    this.worstSinceSave = Number.NEGATIVE_INFINITY;
    this.o.onSaved();
  }
}

/**
 * The fault-injection seam of the trainer's tests: SIBERT_TRAIN_CRASH_AT=PHASE:STEP kills the
 * process (SIGKILL, as a power loss would) at that phase of writing checkpoint STEP.
 */
function crashSeam(step: number): (phase: CheckpointPhase) => void {
  const spec = process.env.SIBERT_TRAIN_CRASH_AT;
  if (!spec) return () => {};
  const [phase, at] = spec.split(':');
  return (p) => {
    if (p === phase && Number(at) === step) process.kill(process.pid, 'SIGKILL');
  };
}
