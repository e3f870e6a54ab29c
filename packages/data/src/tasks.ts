/**
 * Downstream classification tasks with fixed, seeded, disjoint train/dev/test splits (80/10/10):
 * the types and the split rule. The bundled tasks, which read their corpora from disk, are in
 * `node/bundled-tasks.ts`:
 *
 * - `spam`: SpamAssassin emails, ham (0) vs spam (1). The text is the decoded Subject and body;
 *   the other headers are left out because they name the collecting mailboxes, which would give
 *   the label away. Emails whose decoded text repeats an earlier one are dropped, so no text is
 *   in two splits. Split per class, so each split has the corpus's class ratio.
 * - `sotu-party`: State of the Union passages (consecutive sentences, about `maxWords` words;
 *   the addresses have no paragraph breaks), Democratic (0) vs Republican (1). Addresses by
 *   presidents of other parties (Whig, Federalist, Democratic-Republican, National Union, Whig &
 *   Democratic, none) are dropped. Whole addresses are assigned to splits, per party, so no
 *   address is in two splits; a president can still be in several.
 */
import { Rng } from './random';

export interface TaskExample {
  text: string;
  /** The second text of a sentence-pair task (`[CLS] text [SEP] textPair [SEP]`). */
  textPair?: string;
  /** Index into the task's `labelNames`. */
  label: number;
  /** The source the example comes from (email id or address id); splits never share one. */
  source: string;
}

export type SplitName = 'train' | 'dev' | 'test';

export const SPLIT_NAMES: readonly SplitName[] = ['train', 'dev', 'test'];

export interface TaskSplits {
  name: string;
  labelNames: readonly string[];
  seed: number;
  train: readonly TaskExample[];
  dev: readonly TaskExample[];
  test: readonly TaskExample[];
}

export interface SourceGroup {
  source: string;
  label: number;
  examples: TaskExample[];
}

/**
 * Assigns whole groups to train/dev/test: within each label the groups are shuffled by
 * (seed, label) and cut at `cuts` (default 80% and 90%, rounded), keeping their source order
 * inside each split.
 */
export function splitGroups(
  groups: readonly SourceGroup[],
  seed: number,
  cuts: readonly [number, number] = [0.8, 0.9],
): Record<SplitName, TaskExample[]> {
  const assigned = new Map<SourceGroup, SplitName>();
  const labels = [...new Set(groups.map((group) => group.label))].sort((a, b) => a - b);
  for (const label of labels) {
    const members = groups.filter((group) => group.label === label);
    Rng.derive(seed, label).shuffle(members);
    const trainEnd = Math.round(members.length * cuts[0]);
    const devEnd = Math.round(members.length * cuts[1]);
    for (const [i, group] of members.entries()) {
      assigned.set(group, i < trainEnd ? 'train' : i < devEnd ? 'dev' : 'test');
    }
  }
  const splits: Record<SplitName, TaskExample[]> = { train: [], dev: [], test: [] };
  for (const group of groups) splits[assigned.get(group)!].push(...group.examples);
  return splits;
}

export function freezeTask(
  name: string,
  labelNames: readonly string[],
  seed: number,
  splits: Record<SplitName, TaskExample[]>,
): TaskSplits {
  return Object.freeze({
    name,
    labelNames: Object.freeze([...labelNames]),
    seed,
    train: Object.freeze(splits.train.map((e) => Object.freeze(e))),
    dev: Object.freeze(splits.dev.map((e) => Object.freeze(e))),
    test: Object.freeze(splits.test.map((e) => Object.freeze(e))),
  });
}

export const DEFAULT_TASK_SEED = 0;

export interface TaskOptions {
  /** Seed of the split; default 0. */
  seed?: number;
}

/** Examples per label name in each split: `{ train: { ham, spam }, dev: …, test: … }`. */
export function classBalance(task: TaskSplits): Record<SplitName, Record<string, number>> {
  const count = (examples: readonly TaskExample[]): Record<string, number> => {
    const counts: Record<string, number> = Object.fromEntries(task.labelNames.map((name) => [name, 0]));
    for (const example of examples) {
      const name = task.labelNames[example.label];
      if (name === undefined) {
        throw new RangeError(
          `classBalance: label ${example.label} is outside [0, ${task.labelNames.length})`,
        );
      }
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  };
  return { train: count(task.train), dev: count(task.dev), test: count(task.test) };
}
