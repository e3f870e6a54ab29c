import { realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from './backends.js';
import {
  type CommonOptions,
  numberList,
  oneOf,
  parseFlags,
  positiveInteger,
  positiveNumber,
  UsageError,
} from './options.js';
import {
  machineInfo,
  markdownSection,
  type SuiteOutput,
  type SuiteResult,
  writeJson,
  writeMarkdownSection,
} from './report.js';

const HELP = `sibert-bench: speed, memory and the paper's claims, side by side with TensorFlow.js

  sibert-bench kernels    [--backend cpu|webgpu|all] [--ops matmul,softmax,…]
  sibert-bench step       [--model bert-mini|sibert-mini] [--backend cpu|webgpu|all]
  sibert-bench profile    [--model bert-mini|sibert-mini] [--backend cpu|webgpu|all] [--steps N]
  sibert-bench memory     [--model sibert-mini,bert-mini,sibert-base,bert-base] [--batch-size B] [--backend cpu|webgpu]
  sibert-bench robustness [--steps N] [--init-scales 0.01,1,100] [--loss-scales 0.01,1,100]
                          [--grid axes|full] [--margin NATS] [--runs DIR] [--backend cpu|webgpu]
  sibert-bench reproduce  [--size tiny|mini] [--steps N] [--seeds 1,2,3] [--finetune-examples N]
                          [--finetune-epochs N] [--runs DIR] [--backend cpu|webgpu]

Every subcommand prints a Markdown table and takes
  --quick           a reduced run (under a minute)
  --json FILE       { suite, date, machine, results } as JSON
  --markdown FILE   writes (or replaces) the suite's section of FILE: table, command, machine
  --out DIR         SVG plots (robustness, reproduce) and the JSON`;

/**
 * Robustness's default budget and target: 20 tiny runs of 1000 steps fit in about 40 minutes on 2
 * cores; at 300 steps every ×1 run was still within 0.06 nats of the baseline (docs/results.md).
 */
const ROBUSTNESS_STEPS = 1000;
const ROBUSTNESS_MARGIN = 0.25;

const BACKENDS: readonly BackendChoice[] = ['cpu', 'webgpu', 'all'];
/** The suites that train on one backend at a time. */
const ONE_BACKEND = ['cpu', 'webgpu'] as const;

type Runner = (argv: readonly string[]) => Promise<{ common: CommonOptions; output: SuiteOutput }>;

const SUITES: Record<string, Runner> = {
  kernels: async (argv) => {
    const { common, flags } = parseFlags(argv, ['backend', 'ops']);
    const { kernelsSuite } = await import('./kernels.js');
    const output = await kernelsSuite({
      backend: oneOf('backend', flags.backend, BACKENDS, 'cpu'),
      quick: common.quick,
      ops: flags.ops ? flags.ops.split(',').map((s) => s.trim()) : [],
    });
    return { common, output };
  },
  step: async (argv) => {
    const { common, flags } = parseFlags(argv, ['backend', 'model']);
    const { stepSuite } = await import('./step.js');
    const output = await stepSuite({
      model: oneOf('model', flags.model, ['bert-mini', 'sibert-mini'] as const, 'bert-mini'),
      backend: oneOf('backend', flags.backend, BACKENDS, 'cpu'),
      quick: common.quick,
    });
    return { common, output };
  },
  profile: async (argv) => {
    const { common, flags } = parseFlags(argv, ['backend', 'model', 'steps']);
    const { profileSuite } = await import('./profile.js');
    const output = await profileSuite({
      model: oneOf('model', flags.model, ['bert-mini', 'sibert-mini'] as const, 'bert-mini'),
      backend: oneOf('backend', flags.backend, BACKENDS, 'cpu'),
      quick: common.quick,
      steps: positiveInteger('steps', flags.steps, common.quick ? 1 : 3),
    });
    return { common, output };
  },
  memory: async (argv) => {
    const { common, flags } = parseFlags(argv, ['model', 'batch-size', 'backend']);
    const { MEMORY_MODELS, memorySuite } = await import('./memory.js');
    const models =
      flags.model === undefined
        ? common.quick
          ? (['sibert-mini', 'bert-mini'] as const)
          : MEMORY_MODELS
        : flags.model.split(',').map((m) => oneOf('model', m.trim(), MEMORY_MODELS, 'sibert-mini'));
    const batchSize = positiveInteger('batch-size', flags['batch-size'], common.quick ? 2 : 8);
    const backend = oneOf('backend', flags.backend, ONE_BACKEND, 'cpu');
    return {
      common,
      output: await memorySuite({ models: [...models], batchSize, backend, quick: common.quick }),
    };
  },
  robustness: async (argv) => {
    const { common, flags } = parseFlags(argv, [
      'steps',
      'init-scales',
      'loss-scales',
      'grid',
      'margin',
      'backend',
      'runs',
    ]);
    const { robustnessSuite } = await import('./robustness.js');
    const quick = common.quick;
    const output = await robustnessSuite({
      steps: positiveInteger('steps', flags.steps, quick ? 6 : ROBUSTNESS_STEPS),
      initScales: numberList('init-scales', flags['init-scales'], quick ? [0.1, 10] : [0.01, 1, 100]),
      lossScales: numberList('loss-scales', flags['loss-scales'], quick ? [1, 100] : [0.01, 1, 100]),
      grid: oneOf('grid', flags.grid, ['axes', 'full'] as const, 'axes'),
      margin: positiveNumber('margin', flags.margin, ROBUSTNESS_MARGIN),
      backend: oneOf('backend', flags.backend, ONE_BACKEND, 'cpu'),
      quick,
      runsDir: flags.runs ?? null,
    });
    return { common, output };
  },
  reproduce: async (argv) => {
    const { common, flags } = parseFlags(argv, [
      'steps',
      'size',
      'seeds',
      'runs',
      'finetune-examples',
      'finetune-epochs',
      'backend',
    ]);
    const { reproduceSuite } = await import('./reproduce.js');
    const quick = common.quick;
    const seeds = numberList('seeds', flags.seeds, quick ? [1] : [1, 2, 3]);
    if (seeds.some((s) => !Number.isInteger(s)))
      throw new UsageError(`--seeds expects comma-separated integers, got ${JSON.stringify(flags.seeds)}`);
    const output = await reproduceSuite({
      steps: flags.steps === undefined && !quick ? null : positiveInteger('steps', flags.steps, 4),
      size: oneOf('size', flags.size, ['tiny', 'mini'] as const, 'tiny'),
      seeds,
      quick,
      runsDir: flags.runs ?? join(common.out ?? 'runs', 'bench-reproduce'),
      finetuneExamples: positiveInteger('finetune-examples', flags['finetune-examples'], quick ? 32 : 2000),
      finetuneEpochs: positiveInteger('finetune-epochs', flags['finetune-epochs'], quick ? 1 : 2),
      backend: oneOf('backend', flags.backend, ONE_BACKEND, 'cpu'),
    });
    return { common, output };
  },
};

/**
 * The id of a run's section in a --markdown file: the subcommand and its measuring flags (not the
 * output flags), so `kernels --backend cpu` and `kernels --backend webgpu` keep a section each.
 */
export function sectionId(argv: readonly string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag] = arg.split('=');
    if (flag === '--json' || flag === '--markdown' || flag === '--out') {
      if (!arg.includes('=')) i++;
      continue;
    }
    kept.push(arg);
  }
  return kept.join(' ');
}

/** One subcommand's lines of HELP and the options every subcommand takes, for `sibert-bench SUITE --help`. */
function suiteUsage(suite: string): string | null {
  const lines = HELP.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  sibert-bench ${suite} `));
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('    ')) end++;
  const common = lines.slice(lines.findIndex((line) => line.startsWith('Every subcommand')));
  return [...lines.slice(start, end), '', ...common].join('\n');
}

/** Runs one subcommand; returns the process exit code. */
export async function main(argv: readonly string[], command = 'sibert-bench'): Promise<number> {
  const [suite, ...rest] = argv;
  const usage = suite === undefined ? null : suiteUsage(suite);
  if (usage && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    if (suite === undefined || suite === '--help' || suite === 'help') {
      process.stdout.write(`${HELP}\n`);
      return suite === undefined ? 2 : 0;
    }
    const runner = SUITES[suite];
    if (!runner) {
      throw new UsageError(`unknown subcommand '${suite}'; expected ${Object.keys(SUITES).join(', ')}`);
    }
    const { common, output } = await runner(rest);
    const result: SuiteResult = {
      suite,
      date: new Date().toISOString(),
      machine: machineInfo(output.adapter),
      command: [command, ...argv].join(' '),
      notes: output.notes,
      results: output.rows,
    };
    const section = markdownSection(result, output.body);
    process.stdout.write(`${section}\n`);
    if (common.json) await writeJson(common.json, result);
    if (common.markdown) await writeMarkdownSection(common.markdown, sectionId(argv), section);
    if (common.out) {
      await mkdir(common.out, { recursive: true });
      await writeJson(join(common.out, `${suite}.json`), result);
      for (const plot of output.plots) await writeFile(join(common.out, plot.name), plot.svg);
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`sibert-bench ${suite ?? ''}: ${message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      // tfjs and Dawn keep handles open; the suite is done, so leave.
      process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`sibert-bench: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
