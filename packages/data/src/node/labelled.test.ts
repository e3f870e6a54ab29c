import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { classList, labelledTask, MAX_TEXT_CHARS, readLabelledFile } from './labelled';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'data-labelled-'));
});

async function file(name: string, contents: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, contents);
  return path;
}

const fields = { textField: 'text', labelField: 'label' };

describe('readLabelledFile', () => {
  it('reads JSONL records with string and integer labels', async () => {
    const path = await file('a.jsonl', '{"text": "good", "label": 1}\n\n{"text": "bad", "label": "0"}\n');
    const read = await readLabelledFile(path, fields);
    expect(read.records).toEqual([
      { text: 'good', label: '1', line: 1 },
      { text: 'bad', label: '0', line: 3 },
    ]);
  });

  it('parses CSV with a byte-order mark, quotes, escaped quotes and newlines inside a field', async () => {
    const path = await file(
      'quoted.csv',
      '\ufefftext,label\n"Hello, ""world""\nsecond line",greeting\nplain,other\n\n"last, one",greeting\n',
    );
    const read = await readLabelledFile(path, fields);
    expect(read.records).toEqual([
      { text: 'Hello, "world"\nsecond line', label: 'greeting', line: 2 },
      { text: 'plain', label: 'other', line: 4 },
      { text: 'last, one', label: 'greeting', line: 6 },
    ]);
  });

  it('reads a second text and TSV', async () => {
    const path = await file('pairs.tsv', 'premise\thypothesis\tlabel\nA cat sat.\tA cat is sitting.\tyes\n');
    const read = await readLabelledFile(path, {
      textField: 'premise',
      textPairField: 'hypothesis',
      labelField: 'label',
    });
    expect(read.records).toEqual([
      { text: 'A cat sat.', textPair: 'A cat is sitting.', label: 'yes', line: 2 },
    ]);
  });

  it('names the file, line and field of bad records', async () => {
    const missing = await file(
      'missing.jsonl',
      '{"text": "ok", "label": "a"}\n{"body": "x", "label": "a"}\n',
    );
    await expect(readLabelledFile(missing, fields)).rejects.toThrow(
      `${missing}: line 2 has no field 'text' (it has body, label)`,
    );
    const empty = await file('empty-text.csv', 'text,label\n"  ",a\n');
    await expect(readLabelledFile(empty, fields)).rejects.toThrow(`${empty}: line 2: field 'text' is empty`);
    const noLabel = await file('no-label.jsonl', '{"text": "ok"}\n');
    await expect(readLabelledFile(noLabel, fields)).rejects.toThrow(
      `${noLabel}: line 1 has no label in field 'label'`,
    );
    const unterminated = await file('unterminated.csv', 'text,label\nfine,a\n"never closed,b\nmore,c\n');
    await expect(readLabelledFile(unterminated, fields)).rejects.toThrow(
      `${unterminated}: a quoted field is never closed: the quote opens in a record after line 2`,
    );
    const ragged = await file('ragged.csv', 'text,label\na,b,c\n');
    await expect(readLabelledFile(ragged, fields)).rejects.toThrow(`${ragged}: line 2:`);
    const latin = await file(
      'latin.csv',
      Buffer.concat([Buffer.from('text,label\ncaf'), Buffer.from([0xe9]), Buffer.from(',a\n')]),
    );
    await expect(readLabelledFile(latin, fields)).rejects.toThrow(`${latin}: line 2 is not valid utf-8`);
    expect((await readLabelledFile(latin, { ...fields, encoding: 'latin1' })).records[0]!.text).toBe('café');
    const nothing = await file('nothing.jsonl', '\n\n');
    await expect(readLabelledFile(nothing, fields)).rejects.toThrow(`${nothing}: the file holds no record`);
    await expect(readLabelledFile(join(dir, 'x.xml'), fields)).rejects.toThrow(
      /expected a \.jsonl, \.csv, \.tsv or \.txt file/,
    );
  });

  it('cuts very long texts and counts them', async () => {
    const path = await file(
      'long.jsonl',
      `${JSON.stringify({ text: 'y'.repeat(MAX_TEXT_CHARS + 10), label: 'a' })}\n`,
    );
    const read = await readLabelledFile(path, fields);
    expect(read.records[0]!.text).toHaveLength(MAX_TEXT_CHARS);
    expect(read.longTexts).toBe(1);
  });
});

describe('labelledTask', () => {
  const records = (labels: string[]) => ({
    file: 'train.jsonl',
    longTexts: 0,
    records: labels.map((label, i) => ({ text: `example ${i}`, label, line: i + 1 })),
  });

  it('orders classes numerically for integer labels, else by code point', () => {
    expect(classList(['10', '2', '1', '2'])).toEqual(['1', '2', '10']);
    expect(classList(['b', 'a', 'B'])).toEqual(['B', 'a', 'b']);
  });

  it('draws seeded stratified dev and test splits from the training file', () => {
    const labels = [...Array(40).fill('neg'), ...Array(20).fill('pos'), ...Array(20).fill('mid')];
    const task = labelledTask({ name: 'own', train: records(labels), seed: 3 });
    expect(task.labelNames).toEqual(['mid', 'neg', 'pos']);
    const count = (split: readonly { label: number }[], label: number) =>
      split.filter((e) => e.label === label).length;
    expect([task.train.length, task.dev.length, task.test.length]).toEqual([64, 8, 8]);
    expect([0, 1, 2].map((l) => count(task.test, l))).toEqual([2, 4, 2]);
    expect(labelledTask({ name: 'own', train: records(labels), seed: 3 })).toEqual(task);
    const sources = new Set(task.train.map((e) => e.source));
    expect(task.test.some((e) => sources.has(e.source))).toBe(false);
  });

  it('takes dev and test files as given and refuses labels the training file lacks', () => {
    const train = records(['a', 'b', 'a', 'b']);
    const dev = { ...records(['a']), file: 'dev.jsonl' };
    const test = { ...records(['c']), file: 'test.jsonl' };
    expect(() => labelledTask({ name: 'own', train, dev, test, seed: 0 })).toThrow(
      "test.jsonl: line 1: label 'c' is not one of the training file's classes (a, b)",
    );
  });

  it('refuses one class, and too few examples to draw splits from', () => {
    expect(() => labelledTask({ name: 'own', train: records(['a', 'a']), seed: 0 })).toThrow(
      /two classes or more/,
    );
    expect(() => labelledTask({ name: 'own', train: records(['a', 'b']), seed: 0 })).toThrow(
      /too few to draw a dev split from; pass --dev FILE/,
    );
  });
});
