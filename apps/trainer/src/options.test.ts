import { describe, expect, it } from 'vitest';
import { parseEval, parseFinetune, parsePretrain } from './options.js';

const pretrain = (...flags: string[]) => parsePretrain(['--out', 'runs/x', ...flags]).options;

describe('pretraining recipes', () => {
  it('the short recipe by default: SIBERT SGD at ηλ = 2e-3 with relative clipping, BERT AdamW 2e-3', () => {
    expect(pretrain()).toMatchObject({
      recipe: 'short',
      model: 'sibert-tiny',
      steps: 1200,
      batchSize: 32,
      optimizer: 'sgd',
      lr: 40,
      weightDecay: 5e-5,
      clip: { kind: 'relative', sqrtC: 2 },
      schedule: 'paper',
      headOptimizer: 'lamb',
      headLr: 2e-2,
      outputBias: 'unigram',
    });
    expect(pretrain('--model', 'bert-tiny').lr).toBe(2e-3);
    expect(pretrain('--model', 'bert-mini')).toMatchObject({
      steps: 900,
      optimizer: 'adamw',
      lr: 1e-3,
      clip: { kind: 'none' },
      schedule: 'linear',
    });
  });

  it("--recipe paper takes the paper's settings", () => {
    expect(pretrain('--recipe', 'paper')).toMatchObject({
      optimizer: 'sgd',
      lr: 8e-4,
      weightDecay: 1e-2,
      clip: { kind: 'relative', sqrtC: 2 },
      headLr: 8e-4,
      outputBias: 'zero',
    });
    expect(pretrain('--recipe', 'paper', '--model', 'bert-tiny')).toMatchObject({
      optimizer: 'adamw',
      lr: 1e-4,
      outputBias: 'zero',
    });
  });

  it("flags override the recipe; another optimizer does not inherit the recipe's LR", () => {
    expect(pretrain('--lr', '3', '--clip', 'none')).toMatchObject({ lr: 3, clip: { kind: 'none' } });
    expect(pretrain('--optimizer', 'adamw')).toMatchObject({
      optimizer: 'adamw',
      lr: 1e-3,
      schedule: 'linear',
    });
    expect(pretrain('--head-optimizer', 'adamw')).toMatchObject({ headLr: 1e-3 });
    expect(() => pretrain('--recipe', 'fast')).toThrow(
      /--recipe expects one of short, paper, sgd-only, got "fast"/,
    );
    expect(pretrain('--output-bias', 'zero').outputBias).toBe('zero');
    expect(() => pretrain('--output-bias', 'prior')).toThrow(
      /--output-bias expects one of unigram, zero, got "prior"/,
    );
  });
});

describe('--recipe sgd-only', () => {
  it('SIBERT with the scale-invariant MLM head and plain SGD for its temperature and bias; refused for BERT', () => {
    expect(pretrain('--recipe', 'sgd-only')).toMatchObject({
      optimizer: 'sgd',
      lr: 40,
      clip: { kind: 'relative', sqrtC: 2 },
      headOptimizer: 'sgd',
      headWeightDecay: 0,
      mlmHead: 'scale-invariant',
    });
    expect(pretrain().mlmHead).toBe('standard');
    expect(pretrain('--mlm-head', 'scale-invariant')).toMatchObject({
      mlmHead: 'scale-invariant',
      headOptimizer: 'lamb',
    });
    expect(() => pretrain('--recipe', 'sgd-only', '--model', 'bert-tiny')).toThrow(
      /--recipe sgd-only is SIBERT's: .*bert-tiny has none/,
    );
    expect(() => pretrain('--model', 'bert-mini', '--mlm-head', 'scale-invariant')).toThrow(
      /--mlm-head scale-invariant is SIBERT's/,
    );
    expect(() => pretrain('--mlm-head', 'cosine')).toThrow(
      /--mlm-head expects one of standard, scale-invariant, got "cosine"/,
    );
  });
});

describe('fine-tuning options', () => {
  it('one optimizer over the model unless --head-optimizer gives the head its own', () => {
    const base = ['--task', 'spam', '--from', 'runs/x', '--out', 'runs/y'];
    expect(parseFinetune(base).options.head).toBeNull();
    expect(parseFinetune([...base, '--head-optimizer', 'sgd']).options.head).toEqual({
      optimizer: 'sgd',
      lr: 0.1,
      weightDecay: 0,
    });
    expect(
      parseFinetune([...base, '--head-optimizer', 'lamb', '--head-lr', '0.01', '--head-weight-decay', '0.1'])
        .options.head,
    ).toEqual({ optimizer: 'lamb', lr: 0.01, weightDecay: 0.1 });
    expect(() => parseFinetune([...base, '--head-lr', '1'])).toThrow(/--head-lr needs --head-optimizer/);
  });

  it('clip the encoder only when asked; relative clipping needs the encoder in its own group', () => {
    const base = ['--task', 'spam', '--from', 'runs/x', '--out', 'runs/y'];
    expect(parseFinetune(base).options.clip).toEqual({ kind: 'none' });
    expect(parseFinetune([...base, '--clip', 'global:1']).options.clip).toEqual({
      kind: 'global',
      maxNorm: 1,
    });
    expect(parseFinetune([...base, '--clip', 'relative:2', '--head-optimizer', 'sgd']).options.clip).toEqual({
      kind: 'relative',
      sqrtC: 2,
    });
    expect(() => parseFinetune([...base, '--clip', 'relative:2'])).toThrow(/add --head-optimizer/);
    expect(() => parseFinetune([...base, '--clip', 'relative:0'])).toThrow(/--clip/);
    expect(() =>
      parseFinetune([...base, '--clip', 'relative:2', '--head-optimizer', 'sgd', '--weight-decay', '0']),
    ).toThrow(/needs --weight-decay > 0/);
  });

  it('read the token mean by default and fine-tune the run’s weights unless --random-encoder', () => {
    const base = ['--task', 'spam', '--from', 'runs/x', '--out', 'runs/y'];
    expect(parseFinetune(base).options).toMatchObject({ pooling: 'mean', randomEncoder: false });
    expect(parseFinetune([...base, '--random-encoder', '--pooling', 'cls']).options).toMatchObject({
      pooling: 'cls',
      randomEncoder: true,
    });
  });
});

describe('your own data', () => {
  it('--text takes every path up to the next flag, repeats, and replaces the bundled corpora', () => {
    expect(pretrain('--text', 'a.txt', 'b.txt', '--seed', '3', '--text', 'c/')).toMatchObject({
      text: ['a.txt', 'b.txt', 'c/'],
      corpora: [],
      seed: 3,
      holdout: 0.02,
      textField: 'text',
      encoding: 'utf-8',
    });
    expect(pretrain('--text', 'a.txt', '--corpora', 'sotu').corpora).toEqual(['sotu']);
    expect(pretrain().text).toEqual([]);
    expect(parseEval(['--from', 'r', '--text', 'x.txt', 'y.txt']).text).toEqual(['x.txt', 'y.txt']);
  });

  it('refuses what cannot work, naming the option', () => {
    expect(() => pretrain('--text', 'a.txt', '--holdout', '0')).toThrow(/needs held-out text/);
    expect(() => pretrain('--text', 'a.txt', '--holdout', '1')).toThrow(
      /--holdout expects a share in \[0, 1\)/,
    );
    expect(() => pretrain('--text', 'a.txt', '--encoding', 'klingon')).toThrow(
      /--encoding: unknown text encoding/,
    );
    expect(() => pretrain('--corpora', '')).toThrow(/nothing to pretrain on/);
    const finetune = (...flags: string[]) => parseFinetune(['--from', 'p', '--out', 'f', ...flags]);
    expect(() => finetune('--task', 'spam', '--train', 't.jsonl')).toThrow(
      /--task and --train exclude each other/,
    );
    expect(() => finetune()).toThrow(/a task is required/);
    expect(() => finetune('--task', 'spam', '--label-field', 'y')).toThrow(/--label-field go with --train/);
    expect(finetune('--train', 't.csv').options.data).toEqual({
      train: 't.csv',
      dev: null,
      test: null,
      textField: 'text',
      textPairField: null,
      labelField: 'label',
      encoding: 'utf-8',
    });
    expect(() => parseEval(['--from', 'r', '--text', 'a.txt', '--test', 'b.csv'])).toThrow(
      /pass one of them/,
    );
  });
});
