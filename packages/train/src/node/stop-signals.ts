import type { StopSource } from '../loop.js';

/** The signals that stop a run with a checkpoint: Ctrl-C, and what docker, Kubernetes and SLURM send. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * A StopSource fed by SIGINT and SIGTERM while it is listening. The first signal is a request (the
 * loop stops after the step in flight, at a checkpoint); a second one exits at once, with the
 * shell's code for the signal (130, 143): the newest checkpoint on disk is complete whatever happens.
 */
export class ProcessStopSignals implements StopSource {
  private signal: StopSignal | null = null;
  private readonly onSignal = (signal: StopSignal) => {
    if (this.signal && this.exitOnSecond) process.exit(signal === 'SIGTERM' ? 143 : 130);
    this.signal = signal;
  };

  /** `exitOnSecond: false` keeps listening without exiting (a run with nothing to save). */
  constructor(private readonly exitOnSecond = true) {
    for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
  }

  get requested(): StopSignal | null {
    return this.signal;
  }

  /** Stops listening: the process's default handling of the signals returns. */
  close(): void {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, this.onSignal);
  }
}
