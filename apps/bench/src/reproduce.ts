import { spawn } from 'node:child_process';
import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ourBackends } from './backends.js';
import { type Column, fixed, markdownTable, type Row, type SuiteOutput } from './report.js';
import { lineChart } from './svg.js';
import { Progress } from './timing.js';

/** One pretraining row of the paper's Table 1: `sibert-train pretrain` with the family's defaults. */
interface PretrainRow {
  name: string;
  /** Its run folder's name under the runs directory. */
  slug: string;
  family: 'bert' | 'sibert';
  flags: string[];
  /** The paper's "+2× training": twice the steps of the row before it. */
  doubled: boolean;
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
];

/** The from-scratch rows fine-tune a random encoder with the config and tokenizer of this run. */
const SCRATCH_FROM: Record<'bert' | 'sibert', string> = { bert: 'bert', sibert: 'sibert-clip' };
const FAMILY_NAME = { bert: 'BERT', sibert: 'SIBERT' } as const;

const TASKS = ['spam', 'sotu-party'] as const;
type TaskName = (typeof TASKS)[number];

/** How to start `sibert-train`: the TypeScript sources under tsx when this runs from source, else the built CLI. */
function trainerCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts')
    ? [
        '--conditions=source',
        '--import',
        'tsx',
        fileURLToPath(new URL('../../trainer/src/cli.ts', import.meta.url)),
      ]
    : [fileURLToPath(new URL('../../trainer/dist/cli.js', import.meta.url))];
}

/** A `sibert-train` run that exited non-zero: its exit code and what it printed. */
class TrainerExit extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    stderr: string,
  ) {
    super(`sibert-train ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
  }
}

/** Runs `sibert-train …`, passing its last output line on; rejects with a TrainerExit. */
function runTrainer(args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...trainerCommand(), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      onLine(String(chunk).trim().split('\n').at(-1) ?? '');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TrainerExit(args, code, stdout, stderr));
    });
  });
}

/** `sibert-train pretrain` stops with this line (and exit code 1) at a non-finite loss. */
const DIVERGED = /the loss is \S+ at step (\d+): stopping/;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readJson<T>(path: string): Promise<T> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** What reproduce reads from a pretraining run folder (written by `sibert-train pretrain`). */
interface PretrainConfig {
  kind: string;
  options: {
    steps: number;
    batchSize: number;
    seqLen: number;
    optimizer: string;
    lr: number;
    weightDecay: number;
    clip: { kind: string; maxNorm?: number; sqrtC?: number };
    schedule: string;
    headOptimizer: string;
    headLr: number;
  };
}

interface PretrainEval {
  step: number;
  loss: number;
  maskedAccuracy: number;
  belowBaseline: number;
  baseline: { loss: number; accuracy: number };
}

interface MetricsRecord {
  step: number;
  loss: number;
  clippedSteps?: number;
  elapsed: number;
}

interface FinetuneResultFile {
  test: { accuracy: number; f1: number };
  majorityBaseline: number;
}

async function readMetrics(dir: string): Promise<MetricsRecord[]> {
  const text = await readFile(join(dir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricsRecord);
}

function describeOptimizer(o: PretrainConfig['options'], family: 'bert' | 'sibert'): string {
  const clip =
    o.clip.kind === 'relative'
      ? `, relative clip √C=${o.clip.sqrtC}`
      : o.clip.kind === 'global'
        ? `, clip ${o.clip.maxNorm}`
        : '';
  const main = `${o.optimizer} lr ${o.lr}, wd ${o.weightDecay}${clip}, ${o.schedule} schedule`;
  return family === 'sibert' ? `${main}; heads ${o.headOptimizer} ${o.headLr}` : main;
}

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
interface EncoderRow {
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
}

/**
 * The paper's Table 1 at small scale, run through `sibert-train` as a user would: four pretraining
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
  const progress = new Progress('reproduce', runsTotal);
  let done = 0;
  await mkdir(options.runsDir, { recursive: true });

  const encoders: EncoderRow[] = [];
  const stepsBySlug = new Map<string, number>();
  for (const [index, row] of pretrainRows.entries()) {
    const dir = join(options.runsDir, `pretrain-${row.slug}`);
    const before = pretrainRows[index - 1];
    const baseSteps = row.doubled && before ? stepsBySlug.get(before.slug) : options.steps;
    const steps = baseSteps === null || baseSteps === undefined ? null : baseSteps * (row.doubled ? 2 : 1);
    const label = `${row.name}: pretrain`;
    progress.update(done++, label);
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
        (line) => progress.update(done - 1, `${label}${resume ? ' (resumed)' : ''}: ${line.slice(0, 80)}`),
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
    });
  }
  for (const family of families) {
    const source = encoders.find((e) => e.dir.endsWith(`pretrain-${SCRATCH_FROM[family]}`));
    // Its config and tokenizer are all a from-scratch row takes from it: a diverged run serves too.
    if (!source) continue;
    encoders.push({
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

  const rows: Row[] = [];
  for (const encoder of encoders.filter((e) => e.divergedAt === null)) {
    for (const task of tasks) {
      for (const seed of options.seeds) {
        const slug = `${encoder.pretrained ? encoder.dir.split('pretrain-').at(-1) : `scratch-${encoder.family}`}`;
        const out = join(options.runsDir, `finetune-${slug}-${task}-seed${seed}`);
        const label = `${encoder.name}: fine-tune on ${task}, seed ${seed}`;
        progress.update(done++, label);
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
              ...(encoder.pretrained ? [] : ['--random-encoder']),
              '--backend',
              options.backend,
              ...((await incompleteFinetune(out)) ? ['--overwrite'] : []),
            ],
            (line) => progress.update(done - 1, `${label}: ${line.slice(0, 80)}`),
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
  progress.done();

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
  const notes = [
    `${size} models on the ${options.backend} backend. Pretraining: \`sibert-train pretrain --model FAMILY-${size}\` with the trainer's defaults (its short recipe, batch × sequence ${encoders[0]?.tokensPerStep ?? '–'} tokens${data.length ? `; ${data.join(' ')}` : ''}) and only the flags that make the row: ${pretrainRows.map((r) => `${r.name} ${[...r.flags, ...(r.doubled ? ['2× steps'] : [])].join(' ') || '(no flags)'}`).join('; ')}. Optimizers as run: ${encoders
      .filter((e) => e.pretrained)
      .map((e) => `${e.name}: ${e.optimizer}`)
      .join('; ')}`,
    `held-out MLM loss and masked-token accuracy: \`eval.json\` of each run (its held-out documents); the baseline: a unigram model of the run's training tokens on the same masked positions; clipped: the share of steps on which the encoder's gradient was clipped; time: the pretraining run's wall time on this machine`,
    `fine-tuning: \`sibert-train finetune\` with the trainer's defaults per family (mean pooling; SIBERT LAMB, BERT AdamW) and ${finetuneFlags.join(' ')}, seeds ${options.seeds.join(', ')}: mean ± standard deviation of test accuracy (spam: also F1 of the spam class) on the task's fixed test split; from scratch: the same fine-tuning of a randomly initialised encoder (\`--random-encoder\`, the config and tokenizer of the family's pretraining run)`,
    `run folders (config, metrics, eval, checkpoints, results) are in ${options.runsDir}; a rerun with the same --runs reuses every complete run`,
  ];
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
  const plots = [
    {
      name: 'reproduce-pretrain-loss.svg',
      svg: lineChart(curves, {
        title: `MLM pretraining loss (${size}; training batches, logging-window means)`,
        xLabel: 'tokens seen',
        yLabel: 'loss (nats)',
      }),
    },
  ];
  return { rows, notes, adapter, body, plots };
}

/** A pretraining run that has finished and evaluated: its eval is of the last step. */
async function completePretraining(dir: string): Promise<boolean> {
  if (!(await exists(join(dir, 'eval.json'))) || !(await exists(join(dir, 'config.json')))) return false;
  const [config, evaluation] = await Promise.all([
    readJson<PretrainConfig>(join(dir, 'config.json')),
    readJson<PretrainEval>(join(dir, 'eval.json')),
  ]);
  return evaluation.step === config.options.steps;
}

/**
 * A fine-tuning folder left by an interrupted run of this suite (a finetune config, no result): it
 * is started over. Anything else in the way is the trainer's to refuse.
 */
async function incompleteFinetune(dir: string): Promise<boolean> {
  if (!(await exists(join(dir, 'config.json')))) return false;
  const config = await readJson<{ kind?: string }>(join(dir, 'config.json'));
  return config.kind === 'finetune';
}

function meanStd(values: readonly number[]): { mean: number; std: number } | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

function formatMeanStd(values: readonly number[], scale: number, digits: number): string {
  const s = meanStd(values);
  if (!s) return '–';
  const mean = (s.mean * scale).toFixed(digits);
  return values.length > 1 ? `${mean} ± ${(s.std * scale).toFixed(digits)}` : mean;
}

/** Table 1's layout: one row per encoder, pretraining columns, then the fine-tuning means. */
function paperLayout(
  encoders: readonly EncoderRow[],
  rows: readonly Row[],
  tasks: readonly TaskName[],
  baseline: { loss: number; accuracy: number } | null,
): string {
  const taskTitles = tasks.flatMap((t) => (t === 'spam' ? ['spam acc %', 'spam F1'] : [`${t} acc %`]));
  const lines = [
    `| encoder | steps | held-out MLM loss | below baseline | masked acc % | ${taskTitles.join(' | ')} | clipped | time |`,
    `| --- | --- | --- | --- | --- | ${taskTitles.map(() => '---').join(' | ')} | --- | --- |`,
  ];
  const minutes = (s: number | null) => (s === null ? '–' : `${(s / 60).toFixed(1)} min`);
  for (const e of encoders) {
    const mine = rows.filter((r) => r.encoder === e.name);
    const cells = tasks.flatMap((t) => {
      const runs = mine.filter((r) => r.task === t);
      const acc = formatMeanStd(
        runs.map((r) => Number(r.accuracy)),
        100,
        1,
      );
      return t === 'spam'
        ? [
            acc,
            formatMeanStd(
              runs.map((r) => Number(r.f1)),
              1,
              3,
            ),
          ]
        : [acc];
    });
    const loss =
      e.divergedAt !== null ? `diverged at step ${e.divergedAt}` : e.eval ? e.eval.loss.toFixed(3) : '–';
    lines.push(
      `| ${e.name} | ${e.steps ?? '–'} | ${loss} | ${e.eval ? e.eval.belowBaseline.toFixed(3) : '–'} | ${e.eval ? (e.eval.maskedAccuracy * 100).toFixed(1) : '–'} | ${cells.join(' | ')} | ${e.clippedShare === null ? '–' : `${(e.clippedShare * 100).toFixed(1)}%`} | ${minutes(e.pretrainSeconds)} |`,
    );
  }
  // The majority class is that of each seed's training subset, so it can differ between seeds.
  const majority = tasks.flatMap((t) => {
    const acc = formatMeanStd(
      rows.filter((m) => m.task === t).map((m) => Number(m.majority)),
      100,
      1,
    );
    return t === 'spam' ? [acc, '0'] : [acc];
  });
  lines.push(
    `| unigram baseline / majority class | – | ${baseline ? baseline.loss.toFixed(3) : '–'} | 0 | ${baseline ? (baseline.accuracy * 100).toFixed(1) : '–'} | ${majority.join(' | ')} | – | – |`,
  );
  return lines.join('\n');
}

const RUN_COLUMNS: Column[] = [
  { key: 'encoder', title: 'encoder' },
  { key: 'task', title: 'task' },
  { key: 'seed', title: 'seed' },
  { key: 'accuracy', title: 'test accuracy', format: fixed(3) },
  { key: 'f1', title: 'F1', format: fixed(3) },
  { key: 'majority', title: 'majority class', format: fixed(3) },
  { key: 'finetuneSeconds', title: 'seconds (– reused)', format: fixed(0) },
];
