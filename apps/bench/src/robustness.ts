import type { MlmBatch, UnigramScore } from '@sibert/data';
import { initOutputBias, MaskedLanguageModel, paramGroups, presetConfig, scaleEncoder } from '@sibert/models';
import {
  CombinedOptimizer,
  createOptimizer,
  linearWarmupDecay,
  type Optimizer,
  piecewiseSchedule,
} from '@sibert/optim';
import { manualSeed } from '@sibert/tensor';
import { trainStep, uploadMlmBatch } from '@sibert/train';
import { selectOurBackend } from './backends.js';
import { corpusBatches } from './corpus.js';
import { type Column, fixed, markdownTable, type Row, type SuiteOutput } from './report.js';
import { RunCache } from './run-cache.js';
import { lineChart } from './svg.js';
import { Progress } from './timing.js';

/** The settings of one training recipe in the comparison, for a run of `steps` steps. */
export interface Recipe {
  name: string;
  model: 'sibert' | 'bert';
  optimizer: string;
  build: (model: MaskedLanguageModel, steps: number) => Optimizer;
}

/**
 * `sibert-train`'s short recipe (apps/trainer/src/options.ts), so that what this suite says about
 * robustness holds for the trainer's defaults. SIBERT: encoder SGD η = 40, λ = 5e-5 (ηλ = 2e-3),
 * ÷10 at 60% and 90%; heads LAMB 2e-2 with warmup and linear decay. BERT: AdamW 2e-3 with warmup
 * and linear decay; BERT SGD at the trainer's SGD learning rate for BERT, 0.1, same schedule.
 */
export const SI_LR = 40;
export const SI_WD = 5e-5;
export const HEAD_LR = 2e-2;
export const BERT_SGD_LR = 0.1;
export const BERT_ADAMW_LR = 2e-3;
const WARMUP_FRACTION = 0.1;

const warmupDecay = (steps: number) =>
  linearWarmupDecay({ warmupSteps: Math.round(steps * WARMUP_FRACTION), totalSteps: steps });

function sibertRecipe(name: string, clip: boolean): Recipe {
  return {
    name,
    model: 'sibert',
    optimizer: `SGD lr ${SI_LR}, wd ${SI_WD}${clip ? ', relative clip √C=2' : ''}, ÷10 at 60%/90%; heads LAMB ${HEAD_LR}`,
    build: (model, steps) => {
      const groups = paramGroups(model);
      return new CombinedOptimizer(
        [
          createOptimizer('sgd', groups.scaleInvariant, {
            lr: SI_LR,
            weightDecay: SI_WD,
            clip: clip ? { type: 'relative', sqrtC: 2 } : null,
            schedule: piecewiseSchedule({ factor: 0.1, atFractions: [0.6, 0.9], totalSteps: steps }),
            scaleInvariant: true,
            name: 'encoder',
          }),
          createOptimizer('lamb', groups.other, {
            lr: HEAD_LR,
            weightDecay: 1e-2,
            schedule: warmupDecay(steps),
            name: 'heads',
          }),
        ],
        { cover: model.namedParameters() },
      );
    },
  };
}

export const RECIPES: Recipe[] = [
  sibertRecipe('SIBERT SGD+WD', false),
  sibertRecipe('SIBERT SGD+WD+clip', true),
  {
    name: 'BERT SGD',
    model: 'bert',
    optimizer: `SGD lr ${BERT_SGD_LR}, warmup + linear decay`,
    build: (model, steps) =>
      createOptimizer('sgd', model.namedParameters(), { lr: BERT_SGD_LR, schedule: warmupDecay(steps) }),
  },
  {
    name: 'BERT AdamW',
    model: 'bert',
    optimizer: `AdamW lr ${BERT_ADAMW_LR}, wd 0.01, warmup + linear decay`,
    build: (model, steps) =>
      createOptimizer('adamw', model.namedParameters(), {
        lr: BERT_ADAMW_LR,
        weightDecay: 1e-2,
        schedule: warmupDecay(steps),
      }),
  },
];

export interface RunResult {
  losses: number[];
  diverged: boolean;
}

/** Everything that decides a run's losses: what a stored run is checked against. */
interface RunSettings {
  recipe: string;
  size: string;
  corpora: string[];
  vocabSize: number;
  batchSize: number;
  seqLen: number;
  steps: number;
  initScale: number;
  lossScale: number;
  backend: string;
}

/**
 * Trains one model from scratch on `batches` (in order), multiplying the loss by `lossScale`
 * before backward; stops at the first non-finite loss (diverged). Reports unscaled losses. The MLM
 * output bias starts at `logPrior`, the training tokens' unigram log prior, as in the trainer.
 */
export async function trainRun(
  recipe: Recipe,
  size: string,
  vocabSize: number,
  initScale: number,
  lossScale: number,
  batches: readonly MlmBatch[],
  logPrior: ArrayLike<number>,
): Promise<RunResult> {
  manualSeed(0);
  const model = new MaskedLanguageModel(
    presetConfig(`${recipe.model}-${size}`, vocabSize, { hiddenDropout: 0, attentionDropout: 0 }),
  );
  scaleEncoder(model, initScale);
  initOutputBias(model, logPrior);
  const optimizer = recipe.build(model, batches.length);
  const losses: number[] = [];
  let diverged = false;
  try {
    for (const batch of batches) {
      const { loss, updated } = await trainStep(
        optimizer,
        () => {
          const { inputs, targets } = uploadMlmBatch(batch, model.config);
          return { loss: model.forward(inputs, targets).loss };
        },
        { lossScale, skipNonFinite: true },
      );
      losses.push(loss);
      if (!updated) {
        diverged = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return { losses, diverged };
}

/** The mean of the last tenth of the losses (at least one). */
export function finalLoss(losses: readonly number[]): number {
  const tail = losses.slice(-Math.max(1, Math.round(losses.length / 10)));
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

/**
 * The first step (1-based) at which the mean loss of the last `window` steps is at or below
 * `target`; null if it never is. Every batch is new to the model when it is trained on, so the
 * training loss is a held-out estimate and the window only smooths batch noise.
 */
export function stepsToTarget(losses: readonly number[], target: number, window: number): number | null {
  let sum = 0;
  for (let i = 0; i < losses.length; i++) {
    sum += losses[i]!;
    if (i >= window) sum -= losses[i - window]!;
    if (i + 1 >= window && sum / window <= target) return i + 1;
  }
  return null;
}

/** The (init scale, loss scale) pairs to run: each axis with the other at ×1, or every pair. */
export function gridCells(
  initScales: readonly number[],
  lossScales: readonly number[],
  grid: 'axes' | 'full',
): [number, number][] {
  if (grid === 'full') return initScales.flatMap((i) => lossScales.map((l): [number, number] => [i, l]));
  const cells: [number, number][] = [[1, 1]];
  for (const i of initScales) if (i !== 1) cells.push([i, 1]);
  for (const l of lossScales) if (l !== 1) cells.push([1, l]);
  return cells;
}

export interface RobustnessOptions {
  steps: number;
  initScales: number[];
  lossScales: number[];
  grid: 'axes' | 'full';
  /** The target is the unigram baseline minus this many nats. */
  margin: number;
  backend: 'cpu' | 'webgpu';
  quick: boolean;
  /** Where finished runs are kept (null: nowhere); a rerun with the same folder reuses them. */
  runsDir: string | null;
}

export async function robustnessSuite(options: RobustnessOptions): Promise<SuiteOutput> {
  const adapter = await selectOurBackend(options.backend);
  const size = 'tiny';
  const [batchSize, seqLen, vocab] = options.quick ? [4, 32, 512] : [16, 64, 2048];
  const corpora = options.quick ? (['moby-dick'] as const) : (['moby-dick', 'sotu', 'spam'] as const);
  const { vocabSize, batches, baseline, logPrior } = corpusBatches({
    corpora: [...corpora],
    vocabSize: vocab,
    seqLen,
    batchSize,
    count: options.steps,
    seed: 0,
  });
  const target = baseline.loss - options.margin;
  const window = Math.max(5, Math.round(options.steps / 40));
  const cells = gridCells(options.initScales, options.lossScales, options.grid);
  const rows: Row[] = [];
  const curves = new Map<string, number[]>();
  const progress = new Progress('robustness', RECIPES.length * cells.length);
  const cache = options.runsDir
    ? new RunCache<RunSettings, RunResult & { seconds: number }>(options.runsDir)
    : null;
  let done = 0;
  for (const [initScale, lossScale] of cells) {
    for (const recipe of RECIPES) {
      progress.update(done++, `${recipe.name}, init ×${initScale}, loss ×${lossScale}`);
      const settings: RunSettings = {
        recipe: recipe.name,
        size,
        corpora: [...corpora],
        vocabSize,
        batchSize,
        seqLen,
        steps: options.steps,
        initScale,
        lossScale,
        backend: options.backend,
      };
      const name = `${recipe.name} init ${initScale} loss ${lossScale} steps ${options.steps}`;
      const started = performance.now();
      let run = await cache?.load(name, settings);
      if (!run) {
        const trained = await trainRun(recipe, size, vocabSize, initScale, lossScale, batches, logPrior);
        run = { ...trained, seconds: (performance.now() - started) / 1000 };
        await cache?.save(name, settings, run);
      }
      curves.set(`${recipe.name}|${initScale}|${lossScale}`, run.losses);
      const final = run.diverged ? Number.NaN : finalLoss(run.losses);
      // A non-finite loss, or a run that ends above where it started.
      const diverged = run.diverged || !(final <= (run.losses[0] ?? Number.NaN));
      rows.push({
        model: `${recipe.model}-${size}`,
        recipe: recipe.name,
        optimizer: recipe.optimizer,
        initScale,
        lossScale,
        steps: options.steps,
        target,
        stepsToTarget: stepsToTarget(run.losses, target, window),
        finalLoss: Number.isFinite(final) ? final : null,
        belowBaseline: Number.isFinite(final) ? baseline.loss - final : null,
        diverged,
        seconds: run.seconds,
      });
    }
  }
  progress.done();
  const notes = [
    `${size} models (BERT and SIBERT) on the ${options.backend} backend, ${options.steps} steps of batch ${batchSize} × seq ${seqLen} from ${corpora.join(', ')} (WordPiece vocabulary ${vocabSize}), the same batches in the same order for every run, each batch seen once, seed 0, no dropout`,
    `the baseline: a unigram model of the packed training sequences scored on the batches' masked positions, ${baseline.loss.toFixed(3)} nats (most-frequent-token accuracy ${(baseline.accuracy * 100).toFixed(1)}%); the target: ${options.margin} nats below it, ${target.toFixed(3)}; steps to target: the first step at which the mean training loss of the last ${window} steps is at or below it ("not reached" within ${options.steps}); final loss: mean MLM loss (unscaled) of the last tenth of the steps, with the nats below the baseline; diverged: a non-finite loss (the run stops there) or a final loss above the first`,
    `initScale multiplies every encoder parameter at initialisation (x₀ → c·x₀; the heads keep theirs); lossScale multiplies the loss before backward; ${options.grid === 'axes' ? 'each scale is varied with the other at ×1' : 'every pair of scales'}`,
    `settings: sibert-train's short recipe (MLM output bias at the unigram log prior). ${RECIPES.map((r) => `${r.name}: ${r.optimizer}`).join('; ')}`,
  ];
  const body = [
    stepsTable(rows, RECIPES, cells),
    '',
    '<details><summary>every run</summary>',
    '',
    markdownTable(rows, ROBUSTNESS_COLUMNS),
    '',
    '</details>',
  ].join('\n');
  return { rows, notes, adapter, body, plots: robustnessPlots(rows, curves, cells, baseline, target) };
}

function cellName([initScale, lossScale]: [number, number]): string {
  return `init ×${initScale}, loss ×${lossScale}`;
}

function formatOutcome(row: Row | undefined): string {
  if (!row) return '–';
  if (row.diverged) return 'diverged';
  const loss = typeof row.finalLoss === 'number' ? row.finalLoss.toFixed(2) : '–';
  const steps = row.stepsToTarget === null ? `> ${row.steps}` : String(row.stepsToTarget);
  return `${steps} (${loss})`;
}

/** One row per recipe, one column per cell: steps to target and, in brackets, the final loss. */
function stepsTable(rows: readonly Row[], recipes: readonly Recipe[], cells: [number, number][]): string {
  const find = (recipe: string, [i, l]: [number, number]) =>
    rows.find((r) => r.recipe === recipe && r.initScale === i && r.lossScale === l);
  return [
    `| steps to target (final loss) | ${cells.map(cellName).join(' | ')} |`,
    `| --- | ${cells.map(() => '---').join(' | ')} |`,
    ...recipes.map((r) => `| ${r.name} | ${cells.map((c) => formatOutcome(find(r.name, c))).join(' | ')} |`),
  ].join('\n');
}

/**
 * Steps to target against each scale (log₁₀ axis; a run that never reaches it is drawn at the
 * budget), and the loss curves of every cell with the baseline and the target drawn.
 */
function robustnessPlots(
  rows: readonly Row[],
  curves: Map<string, number[]>,
  cells: [number, number][],
  baseline: UnigramScore,
  target: number,
) {
  const axis = (key: 'initScale' | 'lossScale', other: 'initScale' | 'lossScale') =>
    RECIPES.map((recipe) => ({
      name: recipe.name,
      points: rows
        .filter((r) => r.recipe === recipe.name && r[other] === 1 && !r.diverged)
        .map((r): [number, number] => [
          Math.log10(Number(r[key])),
          typeof r.stepsToTarget === 'number' ? r.stepsToTarget : Number(r.steps),
        ])
        .sort((a, b) => a[0] - b[0]),
    }));
  const steps = rows.length > 0 ? Number(rows[0]!.steps) : 0;
  const flat = (y: number, name: string) => ({
    name,
    points: [
      [1, y],
      [steps, y],
    ] as [number, number][],
  });
  return [
    {
      name: 'robustness-steps-init.svg',
      svg: lineChart(axis('initScale', 'lossScale'), {
        title: `Steps to baseline − margin against encoder init scale (budget ${steps}: not reached)`,
        xLabel: 'log₁₀ init scale',
        yLabel: 'steps to target',
      }),
    },
    {
      name: 'robustness-steps-loss.svg',
      svg: lineChart(axis('lossScale', 'initScale'), {
        title: `Steps to baseline − margin against loss scale (budget ${steps}: not reached)`,
        xLabel: 'log₁₀ loss scale',
        yLabel: 'steps to target',
      }),
    },
    ...cells.map(([i, l]) => ({
      name: `robustness-init-${i}-loss-${l}.svg`,
      svg: lineChart(
        [
          ...RECIPES.map((r) => ({
            name: r.name,
            points: (curves.get(`${r.name}|${i}|${l}`) ?? []).map((v, s): [number, number] => [s + 1, v]),
          })),
          flat(baseline.loss, 'unigram baseline'),
          flat(target, 'target'),
        ],
        { title: `MLM loss, ${cellName([i, l])}`, xLabel: 'step', yLabel: 'loss (unscaled)' },
      ),
    })),
  ].filter((p) => p.svg.includes('<polyline'));
}

const ROBUSTNESS_COLUMNS: Column[] = [
  { key: 'recipe', title: 'model & optimizer' },
  { key: 'initScale', title: 'init scale' },
  { key: 'lossScale', title: 'loss scale' },
  {
    key: 'stepsToTarget',
    title: 'steps to target',
    format: (v, r) => (v === null ? `> ${r.steps}` : String(v)),
  },
  { key: 'finalLoss', title: 'final loss', format: fixed(3) },
  { key: 'belowBaseline', title: 'below baseline', format: fixed(3) },
  { key: 'diverged', title: 'diverged', format: (v) => (v ? 'yes' : 'no') },
  { key: 'seconds', title: 'seconds', format: fixed(0) },
];
