// The two bundled classification tasks, built from corpora read from disk (see ../tasks.ts for
// the split rule they share).
import {
  DEFAULT_TASK_SEED,
  freezeTask,
  type SourceGroup,
  splitGroups,
  type TaskOptions,
  type TaskSplits,
} from '../tasks';
import { sentencePassages } from '../text';
import { loadSotu, loadSpamAssassin } from './corpora';

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
