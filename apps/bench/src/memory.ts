import { fileURLToPath } from 'node:url';
import { ourBackends } from './backends.js';
import { nodeCommand, runNode } from './child-process.js';
import type { OptimizerChoice, RowResult, RowSpec } from './memory-row.js';
import { type Column, markdownTable, mebibytes, type Row, type SuiteOutput } from './report.js';
import { Progress } from './timing.js';

export const MEMORY_MODELS = ['sibert-mini', 'bert-mini', 'sibert-base', 'bert-base'] as const;
export type MemoryModel = (typeof MEMORY_MODELS)[number];

/** A row's training setup: the optimizer(s) and whether the update runs inside backward. */
interface Recipe {
  family: 'bert' | 'sibert';
  name: string;
  optimizer: OptimizerChoice;
  headOptimizer: OptimizerChoice | null;
  updateInBackward: boolean;
}

const recipe = (
  family: Recipe['family'],
  optimizer: OptimizerChoice,
  headOptimizer: OptimizerChoice | null,
  updateInBackward: boolean,
): Recipe => {
  const heads =
    headOptimizer === null ? '' : headOptimizer === optimizer ? ' everywhere' : ` (heads: ${headOptimizer})`;
  return {
    family,
    name: `${optimizer}${heads}${updateInBackward ? ', update in backward' : ''}`,
    optimizer,
    headOptimizer,
    updateInBackward,
  };
};

/**
 * BERT + AdamW is the baseline every row is compared with; SIBERT + SGD with LAMB heads is the
 * paper's setup; SGD everywhere keeps no optimizer state at all.
 */
const RECIPES: Recipe[] = [
  recipe('bert', 'adamw', null, false),
  recipe('bert', 'adamw', null, true),
  recipe('bert', 'sgd', null, false),
  recipe('sibert', 'adamw', 'lamb', false),
  recipe('sibert', 'sgd', 'lamb', false),
  recipe('sibert', 'sgd', 'lamb', true),
  recipe('sibert', 'sgd', 'sgd', false),
  recipe('sibert', 'sgd', 'sgd', true),
];
/** --quick: the baseline, the paper's setup and the least memory. */
const QUICK_RECIPES = [RECIPES[0]!, RECIPES[4]!, RECIPES[7]!];

export interface MemoryOptions {
  models: MemoryModel[];
  /** Sequences per batch (the peak depends on it; parameters, gradients and state do not). */
  batchSize: number;
  backend: 'cpu' | 'webgpu';
  quick: boolean;
}

export async function memorySuite(options: MemoryOptions): Promise<SuiteOutput> {
  const { adapter } = await ourBackends(options.backend);
  const [seqLen, vocabSize] = options.quick ? [32, 2048] : [128, 8192];
  const recipes = options.quick ? QUICK_RECIPES : RECIPES;
  const plan = options.models.flatMap((model) =>
    recipes.filter((r) => model.startsWith(`${r.family}-`)).map((r) => ({ model, recipe: r })),
  );
  const progress = new Progress('memory', plan.length);
  const rows: Row[] = [];
  for (const [i, { model, recipe: r }] of plan.entries()) {
    progress.update(i, `${model}: ${r.name}`);
    const result = await runRow({
      model,
      backend: options.backend,
      optimizer: r.optimizer,
      headOptimizer: r.family === 'sibert' ? r.headOptimizer : null,
      updateInBackward: r.updateInBackward,
      batchSize: options.batchSize,
      seqLen,
      vocabSize,
    });
    rows.push({ model, optimizer: r.name, ...result });
  }
  progress.done();
  // each row against BERT + AdamW of the same size, measured in this run
  for (const row of rows) {
    const size = String(row.model).split('-')[1];
    const baseline = rows.find((b) => b.model === `bert-${size}` && b.optimizer === RECIPES[0]!.name);
    row.peakRatio = baseline ? Number(row.peakBytes) / Number(baseline.peakBytes) : null;
    row.rssRatio = baseline ? Number(row.maxRssBytes) / Number(baseline.maxRssBytes) : null;
  }
  const notes = [
    `${options.backend} backend; batch ${options.batchSize} × seq ${seqLen}, vocab ${vocabSize}, no dropout; each row in a process of its own, two training steps. params, grads: float32 parameters, and the gradients left when backward returns (none when the update runs inside it); state: the optimizer's own report (stateBytes()); peak: the most live tensor bytes during the second step (memory().peakBytes: parameters, activations, gradients, state), and its ratio to BERT + AdamW's of the same size; peak RSS: the process's maximum resident set (process.resourceUsage().maxRSS: everything above plus the backend's buffer pool, the runtime and the code), and its ratio`,
    "pooled: bytes the backend's buffer pool holds for reuse after the second step, on top of the live tensors",
    'SIBERT rows: the first optimizer drives the scale-invariant encoder, the heads take the one in brackets (the paper: LAMB); "everywhere": heads too. BERT rows: the optimizer covers every parameter. "update in backward": each parameter is updated as soon as its gradient is complete and the gradient freed at once (Optimizer.backwardAndStep); otherwise backward, then the step. Every update is in place (no parameter-sized temporaries but LAMB\'s direction)',
  ];
  return { rows, notes, adapter, body: markdownTable(rows, MEMORY_COLUMNS), plots: [] };
}

const ratio = (v: Row[string]) => (typeof v === 'number' ? `${v.toFixed(2)}×` : '–');

const MEMORY_COLUMNS: Column[] = [
  { key: 'model', title: 'model' },
  { key: 'optimizer', title: 'optimizer' },
  { key: 'paramBytes', title: 'params MiB', format: mebibytes },
  { key: 'gradBytes', title: 'grads MiB', format: mebibytes },
  { key: 'stateBytes', title: 'state MiB', format: mebibytes },
  { key: 'peakBytes', title: 'peak MiB', format: mebibytes },
  { key: 'peakRatio', title: 'peak vs BERT + AdamW', format: ratio },
  { key: 'maxRssBytes', title: 'peak RSS MiB', format: mebibytes },
  { key: 'rssRatio', title: 'RSS vs BERT + AdamW', format: ratio },
  { key: 'pooledBytes', title: 'pooled MiB', format: mebibytes },
];

/** The row script beside this module: its TypeScript source under tsx (tests), the built file else. */
const ROW_SCRIPT = fileURLToPath(
  new URL(`./memory-row${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

async function runRow(spec: RowSpec): Promise<RowResult> {
  const { code, stdout, stderr } = await runNode([...nodeCommand(ROW_SCRIPT), JSON.stringify(spec)]);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  if (code === 0 && line.startsWith('{')) return JSON.parse(line) as RowResult;
  throw new Error(
    `the memory row ${spec.model} (${JSON.stringify(spec)}) exited ${code}: ${errorLines(stderr)}`,
  );
}

/** What a failed row printed, without Dawn's warnings and stack frames. */
function errorLines(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^Warning:|^\s+at /.test(l));
  return lines.slice(0, 8).join(' | ');
}
