import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { train } from './test-support.js';

/** The README's example files. */
const EXAMPLES = fileURLToPath(new URL('../examples/own-data/', import.meta.url));
const example = (name: string) => join(EXAMPLES, name);

/** A tiny model on a few kilobytes of text: seconds per command. */
const TINY = ['--model', 'sibert-tiny', '--vocab-size', '512', '--seq-len', '64', '--batch-size', '8'];

let root: string;
let pretrained: string;
let finetuned: string;
let notes: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sibert-own-data-'));
  pretrained = join(root, 'pretrain');
  finetuned = join(root, 'finetune');
  // A copy of one text file, so a test can change it under the run.
  notes = join(root, 'notes-a.txt');
  await copyFile(example('notes-a.txt'), notes);
});

describe('your own data, end to end', () => {
  it('pretrains on two text files, holding out a share of their paragraphs', async () => {
    const run = await train([
      'pretrain',
      ...TINY,
      '--text',
      notes,
      example('notes-b.txt'),
      '--holdout',
      '0.1',
      '--steps',
      '20',
      '--out',
      pretrained,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/text: 2 file\(s\), 120 documents \(12 held out\), [\d,]+ tokens/);
    expect(run.stdout).toMatch(/held-out MLM at step 20/);
    const config = JSON.parse(await readFile(join(pretrained, 'config.json'), 'utf8'));
    expect(config.textFiles.map((f: { path: string }) => f.path)).toEqual([notes, example('notes-b.txt')]);
    expect(config.options.corpora).toEqual([]);
    const unigram = JSON.parse(await readFile(join(pretrained, 'unigram.json'), 'utf8'));
    expect(unigram.counts).toHaveLength(config.model.vocabSize);
    expect(await readFile(join(pretrained, 'summary.md'), 'utf8')).toMatch(
      /Data: 2 text file\(s\)\. The text gave 120 documents \(12 held out/,
    );
  });

  it('scores any text against the run’s unigram baseline', async () => {
    const run = await train(['eval', '--from', pretrained, '--text', example('notes-b.txt')]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(
      /^MLM on 60 documents of 1 file\(s\) at step 20: loss \d+\.\d+ \(unigram baseline \d+\.\d+/,
    );
  });

  it('fine-tunes on a three-class JSONL file with seeded stratified splits, per-class scores and the majority class', async () => {
    const run = await train([
      'finetune',
      '--from',
      pretrained,
      '--train',
      example('topics.jsonl'),
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--max-length',
      '48',
      '--out',
      finetuned,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/topics: 72 training, 9 dev, 9 test examples; 3 classes/);
    const result = JSON.parse(await readFile(join(finetuned, 'result.json'), 'utf8'));
    expect(result.labelNames).toEqual(['cooking', 'sailing', 'weather']);
    expect(result.test.perClass.map((c: { support: number }) => c.support)).toEqual([3, 3, 3]);
    expect(result.test.f1).toBeNull();
    expect(result.test.macroF1).toBeGreaterThanOrEqual(0);
    expect(result.majorityBaseline).toBeCloseTo(1 / 3);
    const summary = await readFile(join(finetuned, 'summary.md'), 'utf8');
    expect(summary).toMatch(/\| test, majority class \(cooking\) \| 33\.3% \|/);
    expect(summary).toMatch(/\| sailing \| \d\.\d{3} \| \d\.\d{3} \| \d\.\d{3} \| 3 \|/);
  });

  it('predicts a JSON line per example with the label and every class probability, from a file or stdin', async () => {
    const run = await train(['predict', '--from', finetuned, '--input', example('unlabelled.jsonl')]);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4]);
    for (const l of lines) {
      expect(['cooking', 'sailing', 'weather']).toContain(l.label);
      const p = Object.values(l.probabilities) as number[];
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(l.probabilities[l.label]).toBe(Math.max(...p));
    }
    expect(run.stderr).toMatch(/labelled 4 example\(s\)/);
    const piped = await train(['predict', '--from', finetuned, '--input', '-', '--format', 'csv'], {
      stdin: 'text\n"The soup, at last, simmered."\n',
    });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout).line).toBe(2);
  });

  it('evaluates the classifier on a labelled file, and names the file and line of bad input', async () => {
    const scored = await train(['eval', '--from', finetuned, '--test', example('topics.jsonl')]);
    expect(scored.code).toBe(0);
    expect(scored.stdout).toMatch(
      /topics\.jsonl: 90 examples; accuracy \d+\.\d% \(majority class cooking: 33\.3%\), macro-F1/,
    );
    const unseen = join(root, 'unseen.csv');
    await writeFile(unseen, 'text,label\n"Rain, then sun.",weather\n"The kettle boiled.",tea\n');
    const bad = await train(['eval', '--from', finetuned, '--test', unseen]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      `${unseen}: line 3: label 'tea' is not one of the training file's classes (cooking, sailing, weather)`,
    );
    const broken = join(root, 'broken.jsonl');
    await writeFile(broken, '{"text": "fine", "label": "a"}\n{"txt": "typo", "label": "b"}\n');
    const refused = await train([
      'finetune',
      '--from',
      pretrained,
      '--train',
      broken,
      '--out',
      join(root, 'never'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(`${broken}: line 2 has no field 'text' (it has txt, label)`);
    const existing = join(root, 'existing.jsonl');
    await writeFile(existing, 'keep me\n');
    const kept = await train([
      'predict',
      '--from',
      finetuned,
      '--input',
      example('unlabelled.jsonl'),
      '--output',
      existing,
    ]);
    expect(kept.code).toBe(2);
    expect(await readFile(existing, 'utf8')).toBe('keep me\n');
  });

  it('refuses to evaluate on text files that changed since the run read them', async () => {
    await writeFile(notes, 'A different text now.\n');
    const run = await train(['eval', '--from', pretrained]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(`${notes} has changed`);
  });
});
