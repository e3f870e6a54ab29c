import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ourBackends } from './backends.js';
import { markdownTable, type Row, type SuiteOutput } from './report.js';
import { paperLayout, RUN_COLUMNS } from './reproduce-table.js';
import { lineChart } from './svg.js';
import { Progress } from './timing.js';
import {
  completePretraining,
  DIVERGED,
  describeOptimizer,
  exists,
  type FinetuneResultFile,
  incompleteFinetune,
  type PretrainConfig,
  type PretrainEval,
  readJson,
  readMetrics,
  runTrainer,
  TrainerExit,
} from './trainer-runs.js';

/** Fine-tuning by plain SGD: the SI encoder at η = 4 without weight decay, the classifier at 0.1 (docs/sgd-everywhere.md). */
const SGD_FINETUNE_FLAGS = [
  '--optimizer',
  'sgd',
  '--lr',
  '4',
  '--weight-decay',
  '0',
  '--head-optimizer',
  'sgd',
  '--head-lr',
  '0.1',
];

/** One pretraining row of the paper's Table 1: `sibert-train pretrain` with the family's defaults. */
interface PretrainRow {
  name: string;
  /** Its run folder's name under the runs directory. */
  slug: string;
  family: 'bert' | 'sibert';
  flags: string[];
  /** The paper's "+2× training": twice the steps of the row before it. */
  doubled: boolean;
  /** Fine-tuning flags of this row's encoder beyond the suite's (none: the trainer's defaults per family). */
  finetuneFlags?: string[];
}

const PRETRAIN_ROWS: PretrainRow[] = [
  { name: 'BERT + AdamW', slug: 'bert', family: 'bert', flags: [], doubled: false },
  { name: 'SIBERT + SGD+WD', slug: 'sibert', family: 'sibert', flags: ['--clip', 'none'], doubled: false },
  {
    name: '+ relative clipping',
    slug: 'sibert-clip',
    family: 'sibert',
    flags: ['--clip', 'relative:2'],
    doubled: false,
  },
  {
    name: '+ 2× training',
    slug: 'sibert-clip-2x',
    family: 'sibert',
    flags: ['--clip', 'relative:2'],
    doubled: true,
  },
  // Not the paper's: its heads are scale invariant too, so plain SGD trains every parameter, in
  // pretraining and fine-tuning (docs/sgd-everywhere.md); zero optimizer state.
  {
    name: 'SGD everywhere (SI heads)',
    slug: 'sibert-sgd-only',
    family: 'sibert',
    flags: ['--recipe', 'sgd-only'],
    doubled: false,
    finetuneFlags: SGD_FINETUNE_FLAGS,
  },
];

/** The from-scratch rows fine-tune a random encoder with the config and tokenizer of this run. */
const SCRATCH_FROM: Record<'bert' | 'sibert', string> = { bert: 'bert', sibert: 'sibert-clip' };
const FAMILY_NAME = { bert: 'BERT', sibert: 'SIBERT' } as const;

const TASKS = ['spam', 'sotu-party'] as const;
export type TaskName = (typeof TASKS)[number];

export interface ReproduceOptions {
  /** Pretraining steps of the 1× rows; null: the trainer's default for the size. */
  steps: number | null;
  /** Model size of both families (the paper's Table 1 has base and large; here tiny or mini). */
  size: 'tiny' | 'mini';
  /** Fine-tuning seeds: every encoder is fine-tuned once per seed and task. */
  seeds: number[];
  quick: boolean;
  /** Where the trainer's run folders go; complete runs found there are reused. */
  runsDir: string;
  finetuneExamples: number;
  finetuneEpochs: number;
  /** Passed to every `sibert-train` run. */
  backend: 'cpu' | 'webgpu';
}

/** A pretrained (or from-scratch) encoder's numbers, once per row. */
export interface EncoderRow {
  name: string;
  family: 'bert' | 'sibert';
  /** The pretraining run folder (for from-scratch rows: the one whose config and tokenizer it uses). */
  dir: string;
  pretrained: boolean;
  steps: number | null;
  optimizer: string;
  tokensPerStep: number;
  eval: PretrainEval | null;
  clippedShare: number | null;
  pretrainSeconds: number | null;
  /** The step of a non-finite loss, for a pretraining run that diverged. */
  divergedAt: number | null;
  curve: [number, number][];
  /** Its row's own fine-tuning flags. */
  finetuneFlags: string[];
}

/**
 * The paper's Table 1 at small scale, run through `sibert-train` as a user would: five pretraining
 * recipes and a from-scratch encoder per family, each fine-tuned on both tasks over several seeds.
 * Every run folder stays in `runsDir`; a rerun reuses the complete ones and resumes the rest.
 */
export async function reproduceSuite(options: ReproduceOptions): Promise<SuiteOutput> {
  const { quick, size } = options;
  // Probed here too, so a missing adapter is one clear usage error before any training starts.
  const adapter = options.backend === 'webgpu' ? (await ourBackends('webgpu')).adapter : 'not used';
  const pretrainRows = quick ? [PRETRAIN_ROWS[0]!, PRETRAIN_ROWS[2]!] : PRETRAIN_ROWS;
  const tasks: readonly TaskName[] = quick ? ['spam'] : TASKS;
  const data = quick
    ? [
        '--batch-size',
        '4',
        '--seq-len',
        '32',
        '--vocab-size',
        '512',
        '--corpora',
        'moby-dick',
        '--max-sequences',
        '64',
      ]
    : [];
  const finetuneData = quick ? ['--max-length', '32', '--batch-size', '8', '--warmup-steps', '1'] : [];
  const finetuneFlags = [
    '--max-train-examples',
    String(options.finetuneExamples),
    '--epochs',
    String(options.finetuneEpochs),
    ...finetuneData,
  ];
  const families = [...new Set(pretrainRows.map((r) => r.family))];
  const runsTotal =
    pretrainRows.length + (pretrainRows.length + families.length) * tasks.length * options.seeds.length;
  const progress = { bar: new Progress('reproduce', runsTotal), done: 0 };
  await mkdir(options.runsDir, { recursive: true });

  const encoders = await pretrainEncoders(options, pretrainRows, data, progress);
  encoders.push(...scratchEncoders(encoders, families));
  const rows = await finetuneEncoders(options, encoders, tasks, finetuneFlags, progress);
  progress.bar.done();

  const baseline = encoders.find((e) => e.eval)?.eval?.baseline ?? null;
  const body = [
    paperLayout(encoders, rows, tasks, baseline),
    '',
    '<details><summary>every fine-tuning run</summary>',
    '',
    markdownTable(rows, RUN_COLUMNS),
    '',
    '</details>',
  ].join('\n');
  const notes = reproduceNotes(options, encoders, pretrainRows, data, finetuneFlags);
  return { rows, notes, adapter, body, plots: [pretrainCurvesPlot(encoders, baseline, size)] };
}

/** The suite's progress bar and the count of runs started. */
interface RunProgress {
  bar: Progress;
  done: number;
}

/** Runs (or reuses, or resumes) each pretraining row and reads its config, metrics and evaluation. */
async function pretrainEncoders(
  options: ReproduceOptions,
  pretrainRows: readonly PretrainRow[],
  data: readonly string[],
  progress: RunProgress,
): Promise<EncoderRow[]> {
  const { size } = options;
  const encoders: EncoderRow[] = [];
  const stepsBySlug = new Map<string, number>();
  for (const [index, row] of pretrainRows.entries()) {
    const dir = join(options.runsDir, `pretrain-${row.slug}`);
    const before = pretrainRows[index - 1];
    const baseSteps = row.doubled && before ? stepsBySlug.get(before.slug) : options.steps;
    const steps = baseSteps === null || baseSteps === undefined ? null : baseSteps * (row.doubled ? 2 : 1);
    const label = `${row.name}: pretrain`;
    progress.bar.update(progress.done++, label);
    let divergedAt: number | null = null;
    if (!(await completePretraining(dir))) {
      const resume = await exists(join(dir, 'config.json'));
      const run = runTrainer(
        [
          'pretrain',
          '--model',
          `${row.family}-${size}`,
          ...row.flags,
          ...(steps === null ? [] : ['--steps', String(steps)]),
          ...data,
          '--out',
          dir,
          '--backend',
          options.backend,
          ...(resume ? ['--resume'] : []),
        ],
        (line) =>
          progress.bar.update(
            progress.done - 1,
            `${label}${resume ? ' (resumed)' : ''}: ${line.slice(0, 80)}`,
          ),
      );
      // A diverged run is a result (the row says so, and it is not fine-tuned); other failures stop the suite.
      divergedAt = await run.then(
        () => null,
        (error: unknown) => {
          const match = error instanceof TrainerExit ? DIVERGED.exec(error.stdout) : null;
          if (!match) throw error;
          return Number(match[1]);
        },
      );
    }
    const config = await readJson<PretrainConfig>(join(dir, 'config.json'));
    stepsBySlug.set(row.slug, config.options.steps);
    const metrics = await readMetrics(dir);
    const tokensPerStep = config.options.batchSize * config.options.seqLen;
    const clipped = metrics.reduce((n, m) => n + (m.clippedSteps ?? 0), 0);
    encoders.push({
      name: row.name,
      family: row.family,
      dir,
      pretrained: true,
      steps: config.options.steps,
      optimizer: describeOptimizer(config.options, row.family),
      tokensPerStep,
      eval: divergedAt === null ? await readJson<PretrainEval>(join(dir, 'eval.json')) : null,
      divergedAt,
      clippedShare: config.options.clip.kind === 'none' ? 0 : clipped / config.options.steps,
      pretrainSeconds: metrics.at(-1)?.elapsed ?? null,
      curve: metrics.map((m) => [m.step * tokensPerStep, m.loss]),
      finetuneFlags: row.finetuneFlags ?? [],
    });
  }
  return encoders;
}

/** One from-scratch row per family: the config and tokenizer of its pretraining run, a random encoder. */
function scratchEncoders(
  encoders: readonly EncoderRow[],
  families: readonly ('bert' | 'sibert')[],
): EncoderRow[] {
  const scratch: EncoderRow[] = [];
  for (const family of families) {
    const source = encoders.find((e) => e.dir.endsWith(`pretrain-${SCRATCH_FROM[family]}`));
    // Its config and tokenizer are all a from-scratch row takes from it: a diverged run serves too.
    if (!source) continue;
    scratch.push({
      ...source,
      name: `from scratch (${FAMILY_NAME[family]})`,
      pretrained: false,
      steps: null,
      eval: null,
      clippedShare: null,
      pretrainSeconds: null,
      divergedAt: null,
      curve: [],
    });
  }

  return scratch;
}

/** Fine-tunes (or reuses) every encoder that did not diverge on every task and seed. */
async function finetuneEncoders(
  options: ReproduceOptions,
  encoders: readonly EncoderRow[],
  tasks: readonly TaskName[],
  finetuneFlags: readonly string[],
  progress: RunProgress,
): Promise<Row[]> {
  const { size } = options;
  const rows: Row[] = [];
  for (const encoder of encoders.filter((e) => e.divergedAt === null)) {
    for (const task of tasks) {
      for (const seed of options.seeds) {
        const slug = `${encoder.pretrained ? encoder.dir.split('pretrain-').at(-1) : `scratch-${encoder.family}`}`;
        const out = join(options.runsDir, `finetune-${slug}-${task}-seed${seed}`);
        const label = `${encoder.name}: fine-tune on ${task}, seed ${seed}`;
        progress.bar.update(progress.done++, label);
        const started = performance.now();
        const reused = await exists(join(out, 'result.json'));
        if (!reused) {
          await runTrainer(
            [
              'finetune',
              '--task',
              task,
              '--from',
              encoder.dir,
              '--out',
              out,
              '--seed',
              String(seed),
              ...finetuneFlags,
              ...encoder.finetuneFlags,
              ...(encoder.pretrained ? [] : ['--random-encoder']),
              '--backend',
              options.backend,
              ...((await incompleteFinetune(out)) ? ['--overwrite'] : []),
            ],
            (line) => progress.bar.update(progress.done - 1, `${label}: ${line.slice(0, 80)}`),
          );
        }
        const result = await readJson<FinetuneResultFile>(join(out, 'result.json'));
        rows.push({
          encoder: encoder.name,
          model: `${encoder.family}-${size}`,
          optimizer: encoder.pretrained ? encoder.optimizer : 'none (random encoder)',
          steps: encoder.steps,
          heldOutLoss: encoder.eval?.loss ?? null,
          belowBaseline: encoder.eval?.belowBaseline ?? null,
          maskedAccuracy: encoder.eval?.maskedAccuracy ?? null,
          clippedShare: encoder.clippedShare,
          pretrainSeconds: encoder.pretrainSeconds,
          task,
          seed,
          accuracy: result.test.accuracy,
          f1: result.test.f1,
          majority: result.majorityBaseline,
          finetuneSeconds: reused ? null : (performance.now() - started) / 1000,
        });
      }
    }
  }
  return rows;
}

function reproduceNotes(
  options: ReproduceOptions,
  encoders: readonly EncoderRow[],
  pretrainRows: readonly PretrainRow[],
  data: readonly string[],
  finetuneFlags: readonly string[],
): string[] {
  const { size } = options;
  return [
    `${size} models on the ${options.backend} backend. Pretraining: \`sibert-train pretrain --model FAMILY-${size}\` with the trainer's defaults (its short recipe, batch × sequence ${encoders[0]?.tokensPerStep ?? '–'} tokens${data.length ? `; ${data.join(' ')}` : ''}) and only the flags that make the row: ${pretrainRows.map((r) => `${r.name} ${[...r.flags, ...(r.doubled ? ['2× steps'] : [])].join(' ') || '(no flags)'}`).join('; ')}. Optimizers as run: ${encoders
      .filter((e) => e.pretrained)
      .map((e) => `${e.name}: ${e.optimizer}`)
      .join('; ')}`,
    `held-out MLM loss and masked-token accuracy: \`eval.json\` of each run (its held-out documents); the baseline: a unigram model of the run's training tokens on the same masked positions; clipped: the share of steps on which the encoder's gradient was clipped; time: the pretraining run's wall time on this machine`,
    `fine-tuning: \`sibert-train finetune\` with the trainer's defaults per family (mean pooling; SIBERT LAMB, BERT AdamW) and ${finetuneFlags.join(' ')}${pretrainRows
      .filter((r) => r.finetuneFlags)
      .map((r) => `; ${r.name}: also ${r.finetuneFlags!.join(' ')}`)
      .join(
        '',
      )}, seeds ${options.seeds.join(', ')}: mean ± standard deviation of test accuracy (spam: also F1 of the spam class) on the task's fixed test split; from scratch: the same fine-tuning of a randomly initialised encoder (\`--random-encoder\`, the config and tokenizer of the family's pretraining run)`,
    `run folders (config, metrics, eval, checkpoints, results) are in ${options.runsDir}; a rerun with the same --runs reuses every complete run`,
  ];
}

/** The pretraining loss curves against tokens seen, with the baseline drawn. */
function pretrainCurvesPlot(
  encoders: readonly EncoderRow[],
  baseline: { loss: number } | null,
  size: string,
) {
  const curves = encoders.filter((e) => e.pretrained).map((e) => ({ name: e.name, points: e.curve }));
  const maxTokens = Math.max(0, ...curves.flatMap((c) => c.points.map(([x]) => x)));
  if (baseline)
    curves.push({
      name: 'unigram baseline',
      points: [
        [0, baseline.loss],
        [maxTokens, baseline.loss],
      ],
    });
  return {
    name: 'reproduce-pretrain-loss.svg',
    svg: lineChart(curves, {
      title: `MLM pretraining loss (${size}; training batches, logging-window means)`,
      xLabel: 'tokens seen',
      yLabel: 'loss (nats)',
    }),
  };
}
