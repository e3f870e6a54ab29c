import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@sibert/models/node';
import { plateauVerdict } from './evaluate.js';
import { finetuneCommand } from './finetune.js';
import { UsageError } from './flags.js';
import { parseDemo } from './options.js';
import { pretrainCommand } from './pretrain.js';
import { formatDuration } from './progress.js';

/**
 * The settings of the first run, chosen to leave the unigram plateau in about two minutes on two
 * cores: sibert-tiny with the 'short' recipe (encoder SGD with coupled weight decay, LAMB heads,
 * the output bias at the unigram prior) on every bundled corpus at 32 × 128 tokens a step, for 300
 * steps (`--steps`), with three changes from the trainer's defaults, measured at 250–300 steps
 * (docs/pretraining.md, "The demo's settings"): WordPiece 2048 instead of 8192 (a smaller softmax
 * to learn), √C = 1 clipping (the norm held at its init, normalised SGD: 0.543 nats below the
 * baseline where √C = 2 was 0.447) and no dropout (0.518 against 0.503, and faster). Fine-tuning
 * reads the token mean (the fine-tuning default).
 */
const PRETRAIN_DEMO = [
  '--model',
  'sibert-tiny',
  '--vocab-size',
  '2048',
  '--clip',
  'relative:1',
  '--dropout',
  '0',
  '--log-every',
  '50',
];

const FINETUNE_DEMO = ['--task', 'spam', '--epochs', '1', '--max-train-examples', '2000'];

/**
 * `sibert-train demo`: tokenizer, SIBERT pretraining with SGD measured against the unigram
 * baseline, then spam fine-tuning of the pretrained encoder beside the same fine-tuning of a random one.
 */
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
  out.write(
    `SIBERT demo: pretrain sibert-tiny with SGD for ${options.steps} steps, then fine-tune on spam, from it and from a random encoder (${options.backend})\n\n`,
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
  if (pretrain.status !== 'done' || !pretrain.heldOut) return false;
  const heldOut = pretrain.heldOut;
  const finetune = (name: string, extra: string[]) =>
    finetuneCommand(
      [
        ...FINETUNE_DEMO,
        ...extra,
        '--from',
        pretrainDir,
        '--out',
        join(options.out, name),
        '--backend',
        options.backend,
        '--overwrite',
      ],
      out,
    );
  out.write('\nfine-tuning the pretrained encoder on spam…\n');
  const pretrained = await finetune('finetune-spam', []);
  out.write('\nthe same fine-tuning from a randomly initialised encoder…\n');
  const scratch = await finetune('finetune-spam-random', ['--random-encoder']);
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const table = [
    '| | SIBERT, pretrained with SGD | baseline |',
    '| --- | --- | --- |',
    `| held-out MLM loss (nats) | ${heldOut.loss.toFixed(3)} | ${heldOut.baseline.loss.toFixed(3)} (unigram model) |`,
    `| held-out masked-token accuracy | ${pct(heldOut.maskedAccuracy)} | ${pct(heldOut.baseline.accuracy)} (unigram model) |`,
    `| spam test accuracy / F1 (spam) | ${pct(pretrained.test.accuracy)} / ${pretrained.test.f1?.toFixed(3) ?? '–'} | ${pct(scratch.test.accuracy)} / ${scratch.test.f1?.toFixed(3) ?? '–'} (random encoder) |`,
    `| spam test, majority class | | ${pct(pretrained.majorityBaseline)} |`,
    `| wall time | ${formatDuration((performance.now() - started) / 1000)} | |`,
  ].join('\n');
  const verdict = plateauVerdict(heldOut);
  // demo.md marks the folder as a demo's, which a later demo may replace.
  await writeFileAtomic(
    join(options.out, 'demo.md'),
    `# SIBERT demo\n\nRun folders: \`pretrain/\`, \`finetune-spam/\`, \`finetune-spam-random/\`.\n\n${table}\n\n${verdict}\n`,
  );
  out.write(`\n${table}\n\n${verdict}\nEverything is in ${options.out}/ (demo.md and the run folders).\n`);
  return true;
}
