/**
 * Sums of per-step values over a logging window, with the step count. Its state is plain JSON so a
 * checkpoint can carry an open window and a resumed run logs what the uninterrupted one would have.
 */
export class MetricWindow<K extends string> {
  private sums: Record<K, number>;
  private count: number;

  constructor(
    private readonly keys: readonly K[],
    state?: MetricWindowState<K>,
  ) {
    this.sums = Object.fromEntries(keys.map((k) => [k, state?.[k] ?? 0])) as Record<K, number>;
    this.count = state?.steps ?? 0;
  }

  add(values: Record<K, number>): void {
    for (const k of this.keys) this.sums[k] += values[k];
    this.count++;
  }

  /** Steps in the window. */
  get steps(): number {
    return this.count;
  }

  sum(key: K): number {
    return this.sums[key];
  }

  mean(key: K): number {
    return this.sums[key] / this.count;
  }

  reset(): void {
    for (const k of this.keys) this.sums[k] = 0;
    this.count = 0;
  }

  state(): MetricWindowState<K> {
    return { ...this.sums, steps: this.count };
  }
}

export type MetricWindowState<K extends string> = Record<K, number> & { steps: number };
