import { describe, expect, it } from 'vitest';
import { parseFinetune, parsePretrain } from './options.js';

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
    });
    expect(pretrain('--model', 'bert-mini')).toMatchObject({
      steps: 900,
      optimizer: 'adamw',
      lr: 2e-3,
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
    });
    expect(pretrain('--recipe', 'paper', '--model', 'bert-tiny')).toMatchObject({
      optimizer: 'adamw',
      lr: 1e-4,
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
    expect(() => pretrain('--recipe', 'fast')).toThrow(/--recipe expects one of short, paper, got "fast"/);
  });
});

describe('fine-tuning options', () => {
  it('read the token mean by default and fine-tune the run’s weights unless --random-encoder', () => {
    const base = ['--task', 'spam', '--from', 'runs/x', '--out', 'runs/y'];
    expect(parseFinetune(base).options).toMatchObject({ pooling: 'mean', randomEncoder: false });
    expect(parseFinetune([...base, '--random-encoder', '--pooling', 'cls']).options).toMatchObject({
      pooling: 'cls',
      randomEncoder: true,
    });
  });
});
