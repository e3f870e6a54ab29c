/**
 * Downstream classification tasks with fixed, seeded, disjoint train/dev/test splits (80/10/10).
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
import { loadSotu, loadSpamAssassin } from './corpora';
import { Rng } from './random';
import { sentencePassages } from './text';

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

const spamCache = new Map<number, TaskSplits>();

/** Ham (0) vs spam (1) email classification. */
export function spamTask(options: TaskOptions = {}): TaskSplits {
  const seed = options.seed ?? DEFAULT_TASK_SEED;
  const cached = spamCache.get(seed);
  if (cached) return cached;
  const seen = new Set<string>();
  const groups: SourceGroup[] = [];
  for (const email of loadSpamAssassin()) {
    const text =
      email.subject && email.body ? `${email.subject}\n\n${email.body}` : email.subject || email.body;
    if (text === '' || seen.has(text)) continue;
    seen.add(text);
    const label = email.label === 'spam' ? 1 : 0;
    groups.push({ source: email.id, label, examples: [{ text, label, source: email.id }] });
  }
  const task = freezeTask('spam', ['ham', 'spam'], seed, splitGroups(groups, seed));
  spamCache.set(seed, task);
  return task;
}

export interface SotuPartyOptions extends TaskOptions {
  /** Passage length budget in words; default 80 (about 100–120 WordPiece tokens). */
  maxWords?: number;
}

export const SOTU_PARTIES = ['Democratic', 'Republican'] as const;

const sotuCache = new Map<string, TaskSplits>();

/** Democratic (0) vs Republican (1) passage classification, split by address. */
export function sotuPartyTask(options: SotuPartyOptions = {}): TaskSplits {
  const seed = options.seed ?? DEFAULT_TASK_SEED;
  const maxWords = options.maxWords ?? 80;
  const key = `${seed}:${maxWords}`;
  const cached = sotuCache.get(key);
  if (cached) return cached;
  const groups: SourceGroup[] = [];
  for (const address of loadSotu()) {
    const label = (SOTU_PARTIES as readonly string[]).indexOf(address.party);
    if (label < 0) continue;
    const examples = sentencePassages(address.text, maxWords).map((text) => ({
      text,
      label,
      source: address.id,
    }));
    groups.push({ source: address.id, label, examples });
  }
  const task = freezeTask('sotu-party', SOTU_PARTIES, seed, splitGroups(groups, seed));
  sotuCache.set(key, task);
  return task;
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
