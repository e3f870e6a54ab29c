import { median } from './report.js';

/** One side of a comparison: `select` makes it current (untimed), `run` is what is timed. */
export interface Contender {
  name: string;
  select?: () => Promise<void>;
  run: () => Promise<void>;
}

export interface TimingOptions {
  warmup: number;
  runs: number;
  /** Keep warming up (whole rounds) until this much time has passed too. */
  warmupMs?: number;
}

/**
 * Times the contenders against each other: `warmup` untimed rounds (more until `warmupMs` has
 * passed), then `runs` rounds, each round running every contender once in turn (so load on a
 * shared machine hits all sides alike).
 * Returns the median milliseconds per contender.
 */
export async function alternate(
  contenders: readonly Contender[],
  options: TimingOptions,
): Promise<Map<string, number>> {
  const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
  const round = async (timed: boolean) => {
    for (const c of contenders) {
      await c.select?.();
      const start = performance.now();
      await c.run();
      const elapsed = performance.now() - start;
      if (timed) times.get(c.name)!.push(elapsed);
    }
  };
  const warmupStart = performance.now();
  for (let i = 0; i < options.warmup || performance.now() - warmupStart < (options.warmupMs ?? 0); i++) {
    await round(false);
  }
  for (let i = 0; i < options.runs; i++) await round(true);
  return new Map([...times].map(([name, t]) => [name, median(t)]));
}

/** Progress on stderr: redrawn in place on a terminal, one line per item on a pipe. */
export class Progress {
  private drawn = false;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, what: string): void {
    const seconds = ((performance.now() - this.started) / 1000).toFixed(0);
    const line = `${this.label} [${done}/${this.total}] ${what} (${seconds}s)`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
