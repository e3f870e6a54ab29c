import { describe, expect, it, vi } from 'vitest';
import { classBalance, SPLIT_NAMES, type TaskExample, type TaskSplits } from '../tasks';
import { sotuPartyTask, spamTask } from './bundled-tasks';
import { loadSotu } from './corpora';
import { pretrainingDocuments } from './pretraining';

function sourcesOf(examples: readonly TaskExample[]): Set<string> {
  return new Set(examples.map((e) => e.source));
}

function expectDisjoint(task: TaskSplits, key: (e: TaskExample) => string): void {
  const [train, dev, test] = SPLIT_NAMES.map((split) => new Set(task[split].map(key)));
  for (const x of dev!) expect(train!.has(x)).toBe(false);
  for (const x of test!) expect(train!.has(x) || dev!.has(x)).toBe(false);
}

function countLabels(task: TaskSplits) {
  return Object.fromEntries(
    SPLIT_NAMES.map((split) => [
      split,
      Object.fromEntries(
        task.labelNames.map((name, label) => [name, task[split].filter((e) => e.label === label).length]),
      ),
    ]),
  );
}

describe('spam task', () => {
  const task = spamTask();

  it('splits deduplicated emails 80/10/10 per class, with the fixed split and the balance reported', () => {
    const balance = classBalance(task);
    expect(balance).toEqual(countLabels(task));
    // Pinned: the default split must not move between versions (6,046 emails, 131 repeated texts dropped).
    expect(balance).toEqual({
      train: { ham: 3286, spam: 1446 },
      dev: { ham: 411, spam: 180 },
      test: { ham: 411, spam: 181 },
    });
    expect(task.test.slice(0, 3).map((e) => e.source)).toEqual([
      'easy-ham-1/00007',
      'easy-ham-1/00018',
      'easy-ham-1/00034',
    ]);
    const total = task.train.length + task.dev.length + task.test.length;
    const spamShare = (1446 + 180 + 181) / total;
    for (const split of SPLIT_NAMES) {
      expect(Math.abs(balance[split].spam! / task[split].length - spamShare)).toBeLessThan(0.01);
    }
  });

  it('has disjoint splits by email and by text, and a different seed gives a different split', () => {
    expectDisjoint(task, (e) => e.source);
    expectDisjoint(task, (e) => e.text);
    const other = spamTask({ seed: 1 });
    expect(other.test.map((e) => e.source)).not.toEqual(task.test.map((e) => e.source));
    expect(classBalance(other).test).toEqual(classBalance(task).test);
  });

  it('keeps the text readable: subject then decoded body', () => {
    const example = task.train.find((e) => e.source === 'spam-1/00001');
    expect(example?.text.startsWith('Life Insurance - Why Pay More?\n\n')).toBe(true);
    expect(example?.text).not.toMatch(/<[a-z]+[ >]|=3D/i);
  });

  it('leaves dev and test emails out of the pretraining documents', () => {
    const ids = new Set([...pretrainingDocuments({ corpora: ['spam'] })].map((d) => d.id));
    expect(ids.size).toBe(task.train.length);
    for (const example of [...task.dev, ...task.test]) expect(ids.has(example.source)).toBe(false);
  });
});

describe('sotu-party task', () => {
  const task = sotuPartyTask();

  it('puts every Democratic and Republican address in exactly one split, and no other party', () => {
    const [train, dev, test] = SPLIT_NAMES.map((split) => sourcesOf(task[split]));
    const expected = loadSotu()
      .filter((a) => a.party === 'Democratic' || a.party === 'Republican')
      .map((a) => a.id);
    expect([...train!, ...dev!, ...test!].sort()).toEqual(expected.sort());
    expect([train!.size, dev!.size, test!.size]).toEqual([146, 18, 18]);
    expectDisjoint(task, (e) => e.source);
    const party = new Map(loadSotu().map((a) => [a.id, a.party]));
    for (const split of SPLIT_NAMES) {
      for (const e of task[split]) expect(party.get(e.source)).toBe(task.labelNames[e.label]);
    }
  });

  it('reports the class balance of each split, fixed for the default seed', () => {
    expect(classBalance(task)).toEqual(countLabels(task));
    expect(classBalance(task)).toEqual({
      train: { Democratic: 9536, Republican: 10322 },
      dev: { Democratic: 1303, Republican: 708 },
      test: { Democratic: 1007, Republican: 1016 },
    });
  });

  it('recomputes the same split from scratch, and another seed gives another', async () => {
    vi.resetModules();
    const fresh = await import('./bundled-tasks');
    const again = fresh.sotuPartyTask();
    expect(again).not.toBe(task);
    expect(again).toEqual(task);
    expect(sourcesOf(sotuPartyTask({ seed: 3 }).test)).not.toEqual(sourcesOf(task.test));
  });

  it('leaves dev and test addresses out of the pretraining documents', () => {
    const ids = new Set([...pretrainingDocuments({ corpora: ['sotu'] })].map((d) => d.id));
    for (const example of [...task.dev, ...task.test]) expect(ids.has(example.source)).toBe(false);
    expect(ids.has(task.train[0]!.source)).toBe(true);
    expect(ids.has('1790_george_washington_n')).toBe(true);
  });
});
