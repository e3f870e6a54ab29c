import { MODEL_NAMES, type ModelName } from '@sibert/models';
import {
  encodingName,
  fail,
  integer,
  kebab,
  MAX_SEED,
  nonEmpty,
  oneOf,
  paths,
  type Raw,
  readRaw,
  real,
  UsageError,
} from './flags.js';
import { DEFAULT_STEPS, FINETUNE_LR, GENERIC_LR, RECIPES } from './recipes.js';

export type BackendName = 'cpu' | 'webgpu';
export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'lamb';
export type ScheduleName = 'paper' | 'constant' | 'linear' | 'cosine';
export type TaskName = 'spam' | 'sotu-party';
export type CorpusName = 'moby-dick' | 'sotu' | 'spam';
export type RecipeName = 'short' | 'paper' | 'sgd-only';
/** The MLM head: BERT's (and the paper's), or SIBERT's scale-invariant one that plain SGD trains. */
export type MlmHeadName = 'standard' | 'scale-invariant';
/** The MLM head's output bias at init: the training tokens' unigram log prior, or zero (HF's and the paper's). */
export type OutputBiasName = 'unigram' | 'zero';

/** How gradients are clipped: `none`, `global:X` (norm ≤ X) or `relative:C` (√C of the paper's rule). */
export type ClipOption =
  | { kind: 'none' }
  | { kind: 'global'; maxNorm: number }
  | { kind: 'relative'; sqrtC: number };

export interface PretrainOptions {
  /** Where the defaults of the optimizer options come from (see RECIPES). */
  recipe: RecipeName;
  model: ModelName;
  backend: BackendName;
  steps: number;
  batchSize: number;
  seqLen: number;
  seed: number;
  out: string;
  /** The optimizer of the encoder (of everything for BERT). */
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  momentum: number;
  clip: ClipOption;
  schedule: ScheduleName;
  /** Warmup of the warmup-then-linear-decay schedules (heads, BERT). */
  warmupSteps: number;
  /** SIBERT only: the optimizer of the non-scale-invariant heads. */
  headOptimizer: OptimizerName;
  headLr: number;
  headWeightDecay: number;
  /** SIBERT only: 'scale-invariant' trains every weight matrix of the MLM head as the encoder is trained. */
  mlmHead: MlmHeadName;
  /** Multiplies every encoder parameter at initialisation (x₀ → c·x₀): the paper's Figure 1 axis. */
  initScale: number;
  outputBias: OutputBiasName;
  dropout: number;
  vocabSize: number;
  /** Bundled corpora read (none when only --text is given). */
  corpora: CorpusName[];
  /** The user's text: files, folders and globs as given (`.txt`, `.jsonl`, optionally `.gz`). */
  text: string[];
  /** The field of a `.jsonl` record that holds its text. */
  textField: string;
  /** The share of the user's documents held out for evaluation. */
  holdout: number;
  /** The text files' encoding. */
  encoding: string;
  /** Use at most this many packed training sequences (0: all). */
  maxSequences: number;
  logEvery: number;
  checkpointEvery: number;
  /**
   * Update each parameter inside backward as soon as its gradient is complete, freeing it at once
   * (less peak memory; clipping then uses the previous step's gradient norm).
   */
  updateInBackward: boolean;
}

/** The user's labelled files, for fine-tuning. */
export interface LabelledData {
  train: string;
  /** Without a file, the split is drawn from the training file (seeded, stratified). */
  dev: string | null;
  test: string | null;
  textField: string;
  textPairField: string | null;
  labelField: string;
  encoding: string;
}

export interface FinetuneOptions {
  /** A bundled task, or null when `data` names the user's files. */
  task: TaskName | null;
  data: LabelledData | null;
  from: string;
  out: string;
  backend: BackendName;
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  /**
   * The classifier head's own optimizer, LR and weight decay; null: one optimizer (`optimizer`,
   * `lr`, `weightDecay`) over the whole model.
   */
  head: { optimizer: OptimizerName; lr: number; weightDecay: number } | null;
  /**
   * The encoder's gradient clipping (with `head`, the encoder's group alone; without it, the whole
   * model's). `relative:C` needs a SIBERT encoder in a group of its own (`--head-optimizer`).
   */
  clip: ClipOption;
  epochs: number;
  batchSize: number;
  maxLength: number;
  seed: number;
  warmupSteps: number;
  /** Use at most this many training examples (0: all); dev and test are always whole. */
  maxTrainExamples: number;
  dropout: number;
  /**
   * What the classifier reads: the mean over tokens (default: a short MLM-only pretraining teaches
   * [CLS] nothing, so it summarises nothing) or the [CLS] state (the paper's choice).
   */
  pooling: 'cls' | 'mean';
  /** Fine-tune a randomly initialised encoder of the run's config instead of its weights: the from-scratch baseline. */
  randomEncoder: boolean;
}

export interface EvalOptions {
  from: string;
  backend: BackendName;
  batchSize: number;
  /** Pretraining runs: score these text files instead of the held-out documents. */
  text: string[];
  /** Fine-tuning runs: score this labelled file instead of the run's own test split. */
  test: string | null;
  /** Field names; default the run's own (`text` for text files). */
  textField: string | null;
  textPairField: string | null;
  labelField: string | null;
  encoding: string;
}

export interface PredictOptions {
  from: string;
  /** A file, or `-` for standard input. */
  input: string;
  /** Default: the input's extension; `jsonl` for standard input. */
  format: 'jsonl' | 'csv' | 'tsv' | 'txt' | null;
  /** Default: standard output. */
  output: string | null;
  backend: BackendName;
  batchSize: number;
  textField: string | null;
  textPairField: string | null;
  encoding: string;
  /** Replace an existing --output file. */
  overwrite: boolean;
}

const MODELS = MODEL_NAMES as readonly string[];
const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw', 'lamb'];
const SCHEDULES: readonly ScheduleName[] = ['paper', 'constant', 'linear', 'cosine'];
const BACKENDS: readonly BackendName[] = ['cpu', 'webgpu'];
const TASKS: readonly TaskName[] = ['spam', 'sotu-party'];
const CORPORA: readonly CorpusName[] = ['moby-dick', 'sotu', 'spam'];
const RECIPE_NAMES: readonly RecipeName[] = ['short', 'paper', 'sgd-only'];
const MLM_HEADS: readonly MlmHeadName[] = ['standard', 'scale-invariant'];
const OUTPUT_BIASES: readonly OutputBiasName[] = ['unigram', 'zero'];

export function parseClip(value: unknown): ClipOption {
  if (value === 'none') return { kind: 'none' };
  const match = typeof value === 'string' ? /^(global|relative):(.+)$/.exec(value) : null;
  const n = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isFinite(n) || n <= 0)
    fail('clip', "'none', 'global:X' or 'relative:C' with a positive number", value);
  return match[1] === 'global' ? { kind: 'global', maxNorm: n } : { kind: 'relative', sqrtC: n };
}

export function formatClip(clip: ClipOption): string {
  return clip.kind === 'none'
    ? 'none'
    : clip.kind === 'global'
      ? `global:${clip.maxNorm}`
      : `relative:${clip.sqrtC}`;
}

const PRETRAIN_FLAGS = {
  model: 'string',
  backend: 'string',
  steps: 'string',
  'batch-size': 'string',
  'seq-len': 'string',
  seed: 'string',
  out: 'string',
  optimizer: 'string',
  lr: 'string',
  'weight-decay': 'string',
  momentum: 'string',
  clip: 'string',
  schedule: 'string',
  'warmup-steps': 'string',
  'head-optimizer': 'string',
  'head-lr': 'string',
  'head-weight-decay': 'string',
  'mlm-head': 'string',
  'init-scale': 'string',
  'output-bias': 'string',
  dropout: 'string',
  'vocab-size': 'string',
  corpora: 'string',
  text: 'strings',
  'text-field': 'string',
  holdout: 'string',
  encoding: 'string',
  'max-sequences': 'string',
  'log-every': 'string',
  'checkpoint-every': 'string',
  recipe: 'string',
  'update-in-backward': 'boolean',
  resume: 'boolean',
  overwrite: 'boolean',
} as const;

/**
 * The pretraining options: the `short` recipe by default (SIBERT: SGD + coupled weight decay +
 * relative clipping, ÷10 at 60% and 90%, LAMB heads; BERT: AdamW with warmup and linear decay),
 * `--recipe paper` for the paper's settings; every choice overridable.
 */
export function parsePretrain(argv: readonly string[]): {
  options: PretrainOptions;
  resume: boolean;
  overwrite: boolean;
} {
  const raw = readRaw(argv, PRETRAIN_FLAGS);
  return { options: resolvePretrain(raw), resume: raw.resume === true, overwrite: raw.overwrite === true };
}

export function resolvePretrain(raw: Raw): PretrainOptions {
  const model = oneOf('model', raw.model ?? 'sibert-tiny', MODELS) as ModelName;
  const sibert = model.startsWith('sibert');
  const recipeName = oneOf('recipe', raw.recipe ?? 'short', RECIPE_NAMES);
  const recipe = RECIPES[recipeName][sibert ? 'sibert' : 'bert'];
  if (!recipe)
    throw new UsageError(
      `--recipe ${recipeName} is SIBERT's: it needs a scale-invariant encoder, and ${model} has none`,
    );
  const mlmHead = oneOf('mlm-head', raw.mlmHead ?? recipe.mlmHead, MLM_HEADS);
  if (!sibert && mlmHead === 'scale-invariant')
    throw new UsageError(
      `--mlm-head scale-invariant is SIBERT's: ${model}'s decoder is tied to its word embeddings`,
    );
  const steps = integer('steps', raw.steps ?? DEFAULT_STEPS[model.split('-')[1]!], 1);
  const optimizer = oneOf('optimizer', raw.optimizer ?? recipe.optimizer, OPTIMIZERS);
  const headOptimizer = oneOf('head-optimizer', raw.headOptimizer ?? recipe.headOptimizer, OPTIMIZERS);
  const text = paths('text', raw.text ?? []);
  // The bundled corpora are the default source; --text alone replaces them, --corpora adds them back.
  const corporaList = String(raw.corpora ?? (text.length > 0 ? '' : CORPORA.join(',')));
  const corpora =
    corporaList === '' ? [] : corporaList.split(',').map((c) => oneOf('corpora', c.trim(), CORPORA));
  if (corpora.length === 0 && text.length === 0)
    throw new UsageError('nothing to pretrain on: pass --text FILE… or --corpora moby-dick,sotu,spam');
  const holdout = real('holdout', raw.holdout ?? 0.02, (n) => n >= 0 && n < 1, 'a share in [0, 1)');
  if (text.length > 0 && corpora.length === 0 && holdout === 0)
    throw new UsageError(
      '--holdout 0 holds none of the text out, and the run needs held-out text to evaluate on',
    );
  if (raw.out === undefined) throw new UsageError('--out DIR is required: the folder the run writes to');
  return {
    recipe: recipeName,
    model,
    backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
    steps,
    batchSize: integer('batch-size', raw.batchSize ?? 32, 1),
    seqLen: integer('seq-len', raw.seqLen ?? 128, 8),
    seed: integer('seed', raw.seed ?? 0, 0, MAX_SEED),
    out: nonEmpty('out', raw.out),
    optimizer,
    lr: real(
      'lr',
      raw.lr ??
        (optimizer === recipe.optimizer
          ? (recipe.lrBySize?.[model.split('-')[1]!] ?? recipe.lr)
          : GENERIC_LR[optimizer]),
      (n) => n > 0,
      'a positive number',
    ),
    weightDecay: real('weight-decay', raw.weightDecay ?? recipe.weightDecay, (n) => n >= 0, 'a number ≥ 0'),
    momentum: real('momentum', raw.momentum ?? 0, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    clip: parseClip(raw.clip ?? recipe.clip),
    schedule: oneOf(
      'schedule',
      raw.schedule ?? (optimizer === recipe.optimizer ? recipe.schedule : 'linear'),
      SCHEDULES,
    ),
    warmupSteps: integer('warmup-steps', raw.warmupSteps ?? Math.round(steps * 0.1), 0),
    headOptimizer,
    headLr: real(
      'head-lr',
      raw.headLr ?? (headOptimizer === recipe.headOptimizer ? recipe.headLr : GENERIC_LR[headOptimizer]),
      (n) => n > 0,
      'a positive number',
    ),
    headWeightDecay: real(
      'head-weight-decay',
      raw.headWeightDecay ?? recipe.headWeightDecay,
      (n) => n >= 0,
      'a number ≥ 0',
    ),
    mlmHead,
    initScale: real('init-scale', raw.initScale ?? 1, (n) => n > 0, 'a positive number'),
    outputBias: oneOf('output-bias', raw.outputBias ?? recipe.outputBias, OUTPUT_BIASES),
    dropout: real('dropout', raw.dropout ?? 0.1, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    vocabSize: integer('vocab-size', raw.vocabSize ?? 8192, 64),
    corpora,
    text,
    textField: nonEmpty('text-field', raw.textField ?? 'text'),
    holdout,
    encoding: encodingName(raw.encoding ?? 'utf-8'),
    maxSequences: integer('max-sequences', raw.maxSequences ?? 0, 0),
    logEvery: integer('log-every', raw.logEvery ?? 10, 1),
    checkpointEvery: integer('checkpoint-every', raw.checkpointEvery ?? 200, 1),
    updateInBackward: raw.updateInBackward === true,
  };
}

const FINETUNE_FLAGS = {
  task: 'string',
  from: 'string',
  out: 'string',
  backend: 'string',
  optimizer: 'string',
  lr: 'string',
  'weight-decay': 'string',
  'head-optimizer': 'string',
  'head-lr': 'string',
  'head-weight-decay': 'string',
  clip: 'string',
  epochs: 'string',
  'batch-size': 'string',
  'max-length': 'string',
  seed: 'string',
  'warmup-steps': 'string',
  'max-train-examples': 'string',
  dropout: 'string',
  pooling: 'string',
  'random-encoder': 'boolean',
  train: 'string',
  dev: 'string',
  test: 'string',
  'text-field': 'string',
  'text-pair-field': 'string',
  'label-field': 'string',
  encoding: 'string',
  overwrite: 'boolean',
} as const;

/** Fine-tuning options; the optimizer and LR default by model family once the pretraining run is read. */
export function parseFinetune(argv: readonly string[]): {
  options: Omit<FinetuneOptions, 'optimizer' | 'lr'>;
  optimizer?: OptimizerName;
  lr?: number;
  overwrite: boolean;
} {
  const raw = readRaw(argv, FINETUNE_FLAGS);
  if ((raw.task === undefined) === (raw.train === undefined))
    throw new UsageError(
      `${raw.task === undefined ? 'a task is required' : '--task and --train exclude each other'}: --task ${TASKS.join('|')} for a bundled task, or --train FILE (with --text-field and --label-field) for your own`,
    );
  if (raw.from === undefined) throw new UsageError('--from DIR is required: a pretraining run folder');
  if (raw.headOptimizer === undefined && (raw.headLr !== undefined || raw.headWeightDecay !== undefined))
    throw new UsageError(
      `--${raw.headLr !== undefined ? 'head-lr' : 'head-weight-decay'} needs --head-optimizer: without it one optimizer trains the whole model`,
    );
  const headOptimizer =
    raw.headOptimizer === undefined ? null : oneOf('head-optimizer', raw.headOptimizer, OPTIMIZERS);
  const clip = parseClip(raw.clip ?? 'none');
  if (clip.kind === 'relative' && headOptimizer === null)
    throw new UsageError(
      `--clip relative:${clip.sqrtC} clips the scale-invariant encoder by its own norm, which needs the encoder in a group of its own: add --head-optimizer`,
    );
  const weightDecay = real('weight-decay', raw.weightDecay ?? 1e-2, (n) => n >= 0, 'a number ≥ 0');
  if (clip.kind === 'relative' && weightDecay === 0)
    throw new UsageError(
      `--clip relative:${clip.sqrtC} needs --weight-decay > 0: its threshold √(2Cλ/η)·‖x‖ is 0 when λ = 0`,
    );
  if (raw.out === undefined)
    throw new UsageError('--out DIR is required: the folder the fine-tuning run writes to');
  const task = raw.task === undefined ? null : oneOf('task', raw.task, TASKS);
  const ownDataFlags = ['dev', 'test', 'textField', 'textPairField', 'labelField', 'encoding'].filter(
    (k) => raw[k] !== undefined,
  );
  if (task && ownDataFlags.length > 0)
    throw new UsageError(
      `--task ${task} has its own splits and fields; --${ownDataFlags.map(kebab).join(', --')} go with --train`,
    );
  const data: LabelledData | null =
    raw.train === undefined
      ? null
      : {
          train: nonEmpty('train', raw.train),
          dev: raw.dev === undefined ? null : nonEmpty('dev', raw.dev),
          test: raw.test === undefined ? null : nonEmpty('test', raw.test),
          textField: nonEmpty('text-field', raw.textField ?? 'text'),
          textPairField:
            raw.textPairField === undefined ? null : nonEmpty('text-pair-field', raw.textPairField),
          labelField: nonEmpty('label-field', raw.labelField ?? 'label'),
          encoding: encodingName(raw.encoding ?? 'utf-8'),
        };
  return {
    ...(raw.optimizer === undefined ? {} : { optimizer: oneOf('optimizer', raw.optimizer, OPTIMIZERS) }),
    ...(raw.lr === undefined ? {} : { lr: real('lr', raw.lr, (n) => n > 0, 'a positive number') }),
    options: {
      task,
      data,
      from: nonEmpty('from', raw.from),
      out: nonEmpty('out', raw.out),
      backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
      weightDecay,
      head:
        headOptimizer === null
          ? null
          : {
              optimizer: headOptimizer,
              lr: real(
                'head-lr',
                raw.headLr ?? FINETUNE_LR[headOptimizer],
                (n) => n > 0,
                'a positive number',
              ),
              weightDecay: real('head-weight-decay', raw.headWeightDecay ?? 0, (n) => n >= 0, 'a number ≥ 0'),
            },
      clip,
      epochs: integer('epochs', raw.epochs ?? 3, 1),
      batchSize: integer('batch-size', raw.batchSize ?? 32, 1),
      maxLength: integer('max-length', raw.maxLength ?? 128, 8),
      seed: integer('seed', raw.seed ?? 0, 0, MAX_SEED),
      warmupSteps: integer('warmup-steps', raw.warmupSteps ?? 10, 0),
      maxTrainExamples: integer('max-train-examples', raw.maxTrainExamples ?? 0, 0),
      dropout: real('dropout', raw.dropout ?? 0.1, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
      pooling: oneOf('pooling', raw.pooling ?? 'mean', ['cls', 'mean'] as const),
      randomEncoder: raw.randomEncoder === true,
    },
    overwrite: raw.overwrite === true,
  };
}

/** The held-out batch size of `eval` and of the evaluation that ends a pretraining run. */
export const EVAL_BATCH_SIZE = 32;

const optionalField = (option: string, value: unknown) =>
  value === undefined ? null : nonEmpty(option, value);

export function parseEval(argv: readonly string[]): EvalOptions {
  const raw = readRaw(argv, {
    from: 'string',
    backend: 'string',
    'batch-size': 'string',
    text: 'strings',
    test: 'string',
    'text-field': 'string',
    'text-pair-field': 'string',
    'label-field': 'string',
    encoding: 'string',
  });
  if (raw.from === undefined)
    throw new UsageError('--from DIR is required: a pretraining or fine-tuning run folder');
  if (raw.text !== undefined && raw.test !== undefined)
    throw new UsageError('--text scores a pretraining run, --test a fine-tuning run: pass one of them');
  return {
    from: nonEmpty('from', raw.from),
    backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
    batchSize: integer('batch-size', raw.batchSize ?? EVAL_BATCH_SIZE, 1),
    text: paths('text', raw.text ?? []),
    test: optionalField('test', raw.test),
    textField: optionalField('text-field', raw.textField),
    textPairField: optionalField('text-pair-field', raw.textPairField),
    labelField: optionalField('label-field', raw.labelField),
    encoding: encodingName(raw.encoding ?? 'utf-8'),
  };
}

const PREDICT_FORMATS = ['jsonl', 'csv', 'tsv', 'txt'] as const;

export function parsePredict(argv: readonly string[]): PredictOptions {
  const raw = readRaw(argv, {
    from: 'string',
    input: 'string',
    format: 'string',
    output: 'string',
    backend: 'string',
    'batch-size': 'string',
    'text-field': 'string',
    'text-pair-field': 'string',
    encoding: 'string',
    overwrite: 'boolean',
  });
  if (raw.from === undefined) throw new UsageError('--from DIR is required: a fine-tuning run folder');
  if (raw.input === undefined)
    throw new UsageError('--input FILE is required: the examples to label (- for standard input)');
  return {
    from: nonEmpty('from', raw.from),
    input: nonEmpty('input', raw.input),
    format: raw.format === undefined ? null : oneOf('format', raw.format, PREDICT_FORMATS),
    output: optionalField('output', raw.output),
    backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
    batchSize: integer('batch-size', raw.batchSize ?? EVAL_BATCH_SIZE, 1),
    textField: optionalField('text-field', raw.textField),
    textPairField: optionalField('text-pair-field', raw.textPairField),
    encoding: encodingName(raw.encoding ?? 'utf-8'),
    overwrite: raw.overwrite === true,
  };
}

export interface ExportOptions {
  from: string;
  out: string;
  format: 'hf';
  backend: BackendName;
  overwrite: boolean;
}

export function parseExport(argv: readonly string[]): ExportOptions {
  const raw = readRaw(argv, {
    from: 'string',
    out: 'string',
    format: 'string',
    backend: 'string',
    overwrite: 'boolean',
  });
  if (raw.from === undefined)
    throw new UsageError('--from DIR is required: a pretraining or fine-tuning run folder');
  if (raw.out === undefined) throw new UsageError('--out DIR is required: the folder the export writes');
  return {
    from: nonEmpty('from', raw.from),
    out: nonEmpty('out', raw.out),
    format: oneOf('format', raw.format ?? 'hf', ['hf'] as const),
    backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
    overwrite: raw.overwrite === true,
  };
}

export interface DemoOptions {
  out: string;
  backend: BackendName;
  steps: number;
  overwrite: boolean;
}

export function parseDemo(argv: readonly string[]): DemoOptions {
  const raw = readRaw(argv, { out: 'string', backend: 'string', steps: 'string', overwrite: 'boolean' });
  return {
    out: nonEmpty('out', raw.out ?? 'runs/demo'),
    backend: oneOf('backend', raw.backend ?? 'cpu', BACKENDS),
    steps: integer('steps', raw.steps ?? 300, 1),
    overwrite: raw.overwrite !== false,
  };
}
