import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors } from '@sibert/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { train } from './test-support.js';

const EXAMPLES = fileURLToPath(new URL('../examples/own-data/', import.meta.url));
const TINY = ['--vocab-size', '512', '--seq-len', '64', '--batch-size', '8', '--holdout', '0.1'];
const TEXT = ['--text', join(EXAMPLES, 'notes-a.txt'), join(EXAMPLES, 'notes-b.txt')];

/** Six steps of bert-tiny on the example text, checkpoints at steps 3 and 6. */
const pretrainBertTiny = (out: string) =>
  train([
    'pretrain',
    '--model',
    'bert-tiny',
    ...TINY,
    ...TEXT,
    '--steps',
    '6',
    '--checkpoint-every',
    '3',
    '--out',
    out,
  ]);

let root: string;
let pretrained: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sibert-train-hf-'));
  pretrained = join(root, 'bert');
  const run = await pretrainBertTiny(pretrained);
  expect(run.code).toBe(0);
});

describe('HuggingFace both ways', () => {
  it('exports a pretraining run as a BertForMaskedLM folder, and fine-tunes from that folder', async () => {
    const hf = join(root, 'hf');
    const exported = await train(['export', '--from', pretrained, '--out', hf]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/BertForMaskedLM\.from_pretrained/);
    expect((await readdir(hf)).sort()).toEqual(
      [
        'config.json',
        'model.safetensors',
        'special_tokens_map.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vocab.txt',
      ].sort(),
    );
    const config = JSON.parse(await readFile(join(hf, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'bert',
      architectures: ['BertForMaskedLM'],
      hidden_size: 128,
      num_hidden_layers: 2,
    });

    const finetuned = join(root, 'from-hf');
    const run = await train([
      'finetune',
      '--from',
      hf,
      '--train',
      join(EXAMPLES, 'topics.jsonl'),
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--max-length',
      '32',
      '--out',
      finetuned,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/test accuracy [\d.]+% \(majority class 33\.3%\)/);
    const again = await train(['export', '--from', hf, '--out', join(root, 'nope')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /is a HuggingFace model folder \(model_type 'bert'\), not a sibert-train run/,
    );
    const busy = await train(['export', '--from', pretrained, '--out', hf]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/is not empty; pass --overwrite/);
  });

  it('refuses to resume a run written when the BERT MLM model had a pooler, saying what still works', async () => {
    // Today's run with its newest checkpoint made to look like one from before: a pooler in the weights.
    const old = join(root, 'old');
    const run = await pretrainBertTiny(old);
    expect(run.code).toBe(0);
    for (const step of ['step-00000003', 'step-00000006']) {
      const file = join(old, 'checkpoints', step, 'model.safetensors');
      const { tensors, metadata } = decodeSafetensors(await readFile(file));
      tensors.set('bert.pooler.dense.weight', {
        dtype: 'float32',
        shape: [128, 128],
        data: new Float32Array(128 * 128),
      });
      tensors.set('bert.pooler.dense.bias', { dtype: 'float32', shape: [128], data: new Float32Array(128) });
      await writeFile(file, encodeSafetensors(tensors, metadata));
    }
    const resumed = await train(['pretrain', '--resume', '--out', old]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(
      /still had a pooler.*cannot be resumed \(eval, finetune --from and export still read it\)/,
    );
    const evaluated = await train(['eval', '--from', old]);
    expect(evaluated.code).toBe(0);
    await mkdir(join(root, 'old-export'));
    expect((await train(['export', '--from', old, '--out', join(root, 'old-export')])).code).toBe(0);
  });
});
