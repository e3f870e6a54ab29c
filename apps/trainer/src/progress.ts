/**
 * Training progress on the terminal: a TTY gets one bar redrawn in place (step, loss, tokens/s,
 * ETA); a pipe or file gets one plain line per logging step, so logs stay readable.
 */
export interface ProgressFields {
  step: number;
  loss: number;
  tokensPerSec: number;
  extra?: string;
}

export class Progress {
  private readonly started = Date.now();
  private readonly startStep: number;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly totalSteps: number,
    startStep: number,
    private readonly stream: NodeJS.WriteStream = process.stdout,
  ) {
    this.startStep = startStep;
  }

  /** Called every step; draws on a TTY. */
  tick(fields: ProgressFields): void {
    if (!this.stream.isTTY) return;
    const width = 24;
    const done = Math.round((fields.step / this.totalSteps) * width);
    const bar = `${'█'.repeat(done)}${'░'.repeat(width - done)}`;
    this.stream.write(`\r${this.label} ${bar} ${this.describe(fields)}\x1b[K`);
    this.drawn = true;
  }

  /** Called every logging step; writes a line on a pipe. */
  log(fields: ProgressFields): void {
    if (this.stream.isTTY) return;
    this.stream.write(`${this.label} ${this.describe(fields)}\n`);
  }

  /** Ends the bar's line (TTY) before other output. */
  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  private describe(f: ProgressFields): string {
    const elapsed = (Date.now() - this.started) / 1000;
    const stepsDone = f.step - this.startStep;
    const eta = stepsDone > 0 ? (elapsed / stepsDone) * (this.totalSteps - f.step) : Number.NaN;
    return [
      `step ${f.step}/${this.totalSteps}`,
      `loss ${f.loss.toFixed(4)}`,
      `${Math.round(f.tokensPerSec)} tok/s`,
      `ETA ${formatDuration(eta)}`,
      f.extra ?? '',
    ]
      .filter(Boolean)
      .join('  ');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}
