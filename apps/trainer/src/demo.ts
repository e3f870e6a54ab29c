import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@sibert/models';
import { evalCommand } from './evaluate.js';
import { finetuneCommand } from './finetune.js';
import { parseDemo, UsageError } from './options.js';
import { pretrainCommand } from './pretrain.js';
import { formatDuration } from './progress.js';

/**
 * The settings of the first run: sibert-tiny on Moby-Dick and the State of the Union addresses,
 * short sequences, and learning rates sized for a few hundred steps. The paper's η = 8e-4 is for
 * ~10⁶ steps from BERT's initialisation, where weight decay first shrinks the encoder norm over
 * ~1/(ηλ) steps; here the encoder starts at a tenth of the usual scale (init-scale 0.1) with η = 1,
 * which by the scale-equivalence (x₀, η, λ) → (c·x₀, c²·η, λ/c²) of scale-invariant training is
 * BERT's init with η = 100 and λ = 1e-4. The LAMB heads get lr 0.05 so the vocabulary statistics
 * are learned within the budget.
 */
const PRETRAIN_DEMO = [
  '--model',
  'sibert-tiny',
  '--corpora',
  'moby-dick,sotu',
  '--vocab-size',
  '4096',
  '--seq-len',
  '64',
  '--batch-size',
  '16',
  '--init-scale',
  '0.1',
  '--lr',
  '1',
  '--head-lr',
  '0.05',
  '--log-every',
  '25',
];

const FINETUNE_DEMO = [
  '--task',
  'spam',
  '--epochs',
  '1',
  '--max-train-examples',
  '3000',
  '--max-length',
  '64',
  '--batch-size',
  '32',
];

/** `sibert-train demo`: tokenizer, SIBERT pretraining with SGD, fine-tuning on spam, a results table. */
export async function demoCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<boolean> {
  const options = parseDemo(argv);
  const entries = await readdir(options.out).catch(() => [] as string[]);
  if (entries.length > 0 && !entries.includes('demo.md')) {
    throw new UsageError(`--out ${options.out} is not empty and holds no demo; choose another folder`);
  }
  const started = performance.now();
  const pretrainDir = join(options.out, 'pretrain');
  const finetuneDir = join(options.out, 'finetune-spam');
  out.write(
    `SIBERT demo: pretrain sibert-tiny with SGD for ${options.steps} steps, then fine-tune on spam (${options.backend})\n\n`,
  );
  const pretrain = await pretrainCommand(
    [
      ...PRETRAIN_DEMO,
      '--steps',
      String(options.steps),
      '--checkpoint-every',
      String(options.steps),
      '--backend',
      options.backend,
      '--out',
      pretrainDir,
      '--overwrite',
    ],
    { out },
  );
  if (pretrain.status !== 'done') return false;
  const evaluation = await evalCommand(['--from', pretrainDir, '--backend', options.backend], out);
  const finetune = await finetuneCommand(
    [
      ...FINETUNE_DEMO,
      '--from',
      pretrainDir,
      '--out',
      finetuneDir,
      '--backend',
      options.backend,
      '--overwrite',
    ],
    out,
  );
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const table = [
    '| | result |',
    '| --- | --- |',
    `| pretraining MLM loss (first → last step) | ${pretrain.firstLoss!.toFixed(3)} → ${pretrain.lastLoss!.toFixed(3)} |`,
    `| held-out MLM loss / masked-token accuracy | ${evaluation.loss.toFixed(3)} / ${pct(evaluation.maskedAccuracy)} |`,
    `| spam dev accuracy after 1 epoch | ${pct(finetune.devByEpoch.at(-1)!.accuracy)} |`,
    `| spam test accuracy / F1 (spam) | ${pct(finetune.test.accuracy)} / ${finetune.test.f1.toFixed(3)} |`,
    `| spam test, majority class | ${pct(finetune.majorityBaseline)} |`,
    `| wall time | ${formatDuration((performance.now() - started) / 1000)} |`,
  ].join('\n');
  // demo.md marks the folder as a demo's, which a later demo may replace.
  await writeFileAtomic(
    join(options.out, 'demo.md'),
    `# SIBERT demo\n\nRun folders: \`pretrain/\`, \`finetune-spam/\`.\n\n${table}\n`,
  );
  out.write(`\n${table}\n\nEverything is in ${options.out}/ (demo.md, pretrain/, finetune-spam/).\n`);
  return true;
}
