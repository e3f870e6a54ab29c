import { describe, expect, it } from 'vitest';
import { type StepEnd, trainLoop } from './loop.js';
import type { TrainStepResult } from './step.js';

const ok = (loss: number): TrainStepResult => ({ loss, metrics: {}, report: null, updated: true });

/** A loop over batches 0, 1, 2, … whose loss is the batch number; records what callbacks and trainOn saw. */
function recorder() {
  const seen: StepEnd<number>[] = [];
  const reports: boolean[] = [];
  let next = 0;
  return {
    seen,
    reports,
    nextBatch: () => next++,
    trainOn: async (batch: number, report: boolean) => {
      reports.push(report);
      return ok(batch);
    },
    callbacks: [{ onStepEnd: (e: StepEnd<number>) => void seen.push(e) }],
  };
}

describe('trainLoop', () => {
  it('trains to `steps`, asks for reports every reportEvery steps and at the last, and tells callbacks each step', async () => {
    const r = recorder();
    const result = await trainLoop({ steps: 5, reportEvery: 2, ...r });
    expect(result).toEqual({ status: 'done', step: 5, stoppedBy: null, divergedLoss: null });
    expect(r.seen.map((e) => [e.step, e.batch, e.isLast])).toEqual([
      [1, 0, false],
      [2, 1, false],
      [3, 2, false],
      [4, 3, false],
      [5, 4, true],
    ]);
    expect(r.reports).toEqual([false, true, false, true, true]);
  });

  it('continues from startStep (a resumed run)', async () => {
    const r = recorder();
    const result = await trainLoop({ steps: 5, startStep: 3, ...r });
    expect(result.step).toBe(5);
    expect(r.seen.map((e) => e.step)).toEqual([4, 5]);
  });

  it('stops after the step in flight when asked, and callbacks see the request (to checkpoint)', async () => {
    const r = recorder();
    const stop = { requested: null as string | null };
    const result = await trainLoop({
      steps: 10,
      ...r,
      callbacks: [
        ...r.callbacks,
        { onStepEnd: (e) => void (e.step === 2 ? (stop.requested = 'SIGTERM') : 0) },
      ],
      stop,
    });
    expect(result).toEqual({ status: 'interrupted', step: 3, stoppedBy: 'SIGTERM', divergedLoss: null });
    expect(r.seen.map((e) => e.stopRequested)).toEqual([null, null, 'SIGTERM']);
  });

  it('ends as diverged at a non-finite loss, without telling callbacks of that step', async () => {
    const r = recorder();
    const result = await trainLoop({
      steps: 10,
      ...r,
      trainOn: async (batch) => (batch === 2 ? { ...ok(Number.NaN), updated: false } : ok(batch)),
    });
    expect(result).toEqual({ status: 'diverged', step: 2, stoppedBy: null, divergedLoss: Number.NaN });
    expect(r.seen.map((e) => e.step)).toEqual([1, 2]);
  });

  it('ends as done when the data runs out', async () => {
    const r = recorder();
    const result = await trainLoop({ steps: 10, ...r, nextBatch: () => (r.seen.length < 3 ? 0 : null) });
    expect(result.status).toBe('done');
    expect(result.step).toBe(3);
  });
});
