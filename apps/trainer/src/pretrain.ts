import { readFile } from 'node:fs/promises';
import { type BatchIteratorState, DEFAULT_MAX_LINE_CHARS } from '@sibert/data';
import {
  MaskedLanguageModel,
  type ModelConfig,
  presetConfig,
  scaleEncoder,
  validateConfig,
} from '@sibert/models';
import type { StepReport } from '@sibert/optim';
import { getBackend, manualSeed, tidy } from '@sibert/tensor';
import { BertTokenizer } from '@sibert/tokenizer';
import { NonFiniteWeightsError, restoreTrainingCheckpoint, writeTrainingCheckpoint } from './checkpoint.js';
import { PrefetchingData } from './data-client.js';
import { againstBaseline, type EvalResult, formatEval, PLATEAU_MARGIN, plateauVerdict } from './evaluate.js';
import { scoreMlm, uploadMlmBatch } from './mlm.js';
import { combine, pretrainGroups } from './optimizers.js';
import {
  dataErrorAsUsage,
  EVAL_BATCH_SIZE,
  formatClip,
  type PretrainOptions,
  parsePretrain,
  resolvePretrain,
  UsageError,
} from './options.js';
import {
  checkTextFiles,
  type ReadProgress,
  resolveTextFiles,
  type TextCounts,
  type TextFileRecord,
  textSourceOf,
  UNIGRAM_FILE,
  withTextDefaults,
} from './pretrain-data.js';
import { Progress } from './progress.js';
import { type CheckpointPhase, describeFsError, type RunConfig, RunFolder } from './run-folder.js';
import { trainTokenizer, useBackend } from './setup.js';

export interface PretrainResult {
  /** 'done', 'interrupted' (SIGINT or SIGTERM: checkpoint written) or 'diverged' (last good checkpoint kept). */
  status: 'done' | 'interrupted' | 'diverged';
  /** The signal that interrupted the run. */
  signal: StopSignal | null;
  step: number;
  firstLoss: number | null;
  lastLoss: number | null;
  /** The held-out evaluation that ends a finished run (null otherwise). */
  heldOut: EvalResult | null;
}

/** The model's config for pretraining options (vocabulary size from the tokenizer). */
export function modelConfigFor(options: PretrainOptions, vocabSize: number): ModelConfig {
  return presetConfig(options.model, vocabSize, {
    hiddenDropout: options.dropout,
    attentionDropout: options.dropout,
  });
}

function optionsAsRaw(options: PretrainOptions): Record<string, unknown> {
  return { ...options, clip: formatClip(options.clip), corpora: options.corpora.join(',') };
}

/** Prints reading progress from 2 s on, every 5 s (a large corpus takes minutes; a small one prints nothing). */
function readingReporter(say: (line: string) => void, what: string): ReadProgress {
  let last = Date.now() - 3000;
  return (counts) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    say(
      `${what}: ${counts.files} file(s), ${counts.documents.toLocaleString('en-US')} documents` +
        (counts.tokens > 0 ? `, ${counts.tokens.toLocaleString('en-US')} tokens` : '') +
        '…',
    );
  };
}

/** On --resume: the stored options, with any explicitly given flag checked against them. */
function resumedOptions(
  stored: PretrainOptions,
  given: PretrainOptions,
  explicit: Set<string>,
): PretrainOptions {
  const merged = resolvePretrain({
    ...optionsAsRaw(stored),
    ...Object.fromEntries(Object.entries(optionsAsRaw(given)).filter(([k]) => explicit.has(k))),
  });
  const contradictions = (Object.keys(merged) as (keyof PretrainOptions)[])
    .filter((k) => k !== 'backend' && k !== 'out')
    .filter((k) => JSON.stringify(merged[k]) !== JSON.stringify(stored[k]))
    .map((k) => `${k} ${JSON.stringify(merged[k])} (the run has ${JSON.stringify(stored[k])})`);
  if (contradictions.length > 0) {
    throw new UsageError(`--resume: the flags contradict the run's config: ${contradictions.join('; ')}`);
  }
  return { ...stored, backend: merged.backend };
}

/** Names of the options given on the command line or in --config (camelCase). */
function explicitOptions(argv: readonly string[]): Set<string> {
  return new Set(
    argv
      .filter((a) => a.startsWith('--'))
      .map((a) =>
        a
          .slice(2)
          .split('=')[0]!
          .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      ),
  );
}

export interface PretrainHooks {
  /** Output stream for progress and messages (stdout by default). */
  out?: NodeJS.WriteStream;
}

/** The signals that stop a run with a checkpoint: Ctrl-C, and what docker, Kubernetes and SLURM send. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * A loss above twice the uniform guess's, ln V, is exploding: the model predicts worse than one
 * that knows nothing. Weights after such a step are not checkpointed as "good".
 */
export const explodingLoss = (vocabSize: number) => 2 * Math.log(vocabSize);

/**
 * The fault-injection seam of the trainer's tests: SIBERT_TRAIN_CRASH_AT=PHASE:STEP kills the
 * process (SIGKILL, as a power loss would) at that phase of writing checkpoint STEP.
 */
function crashSeam(step: number): (phase: CheckpointPhase) => void {
  const spec = process.env.SIBERT_TRAIN_CRASH_AT;
  if (!spec) return () => {};
  const [phase, at] = spec.split(':');
  return (p) => {
    if (p === phase && Number(at) === step) process.kill(process.pid, 'SIGKILL');
  };
}

/** What can be checked before any work: the options against the model they build. */
function checkBeforeWork(options: PretrainOptions): void {
  const config = modelConfigFor(options, options.vocabSize);
  if (options.seqLen > config.maxPositions)
    throw new UsageError(
      `--seq-len ${options.seqLen} is longer than ${options.model}'s ${config.maxPositions} positions`,
    );
}

/** `sibert-train pretrain`: see the README for every option. */
export async function pretrainCommand(
  argv: readonly string[],
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  const parsed = parsePretrain(argv);
  if (!parsed.resume) checkBeforeWork(parsed.options);
  const folder = await RunFolder.open(parsed.options.out, 'pretrain', parsed);
  let checkpointed = false;
  try {
    return await pretrain(folder, parsed, argv, hooks, () => {
      checkpointed = true;
    });
  } catch (error) {
    // A new run that failed before its first checkpoint leaves nothing behind: rerunning the
    // same command just works.
    if (!checkpointed) await folder.discard();
    throw error;
  } finally {
    await folder.release();
  }
}

async function pretrain(
  folder: RunFolder,
  parsed: ReturnType<typeof parsePretrain>,
  argv: readonly string[],
  hooks: PretrainHooks,
  onCheckpoint: () => void,
): Promise<PretrainResult> {
  const say = (line: string) => (hooks.out ?? process.stdout).write(`${line}\n`);
  let options = parsed.options;
  let tokenizer: BertTokenizer;
  let textFiles: TextFileRecord[];
  let storedModel: ModelConfig | null = null;
  if (parsed.resume) {
    const stored = await RunFolder.readConfig<PretrainOptions>(folder.dir);
    // The model the run was built with, not today's preset of the same name.
    storedModel = stored.model === undefined ? null : validateConfig(stored.model);
    // Runs written before recipes existed hold every option explicitly; they took the paper's.
    const storedOptions = withTextDefaults({ ...stored.options, recipe: stored.options.recipe ?? 'paper' });
    options = {
      ...resumedOptions(storedOptions, parsed.options, explicitOptions(argv)),
      out: parsed.options.out,
    };
    const tokenizerPath = folder.path('tokenizer.json');
    tokenizer = BertTokenizer.fromTokenizerJson(
      await readFile(tokenizerPath, 'utf8').catch((error: unknown) => {
        throw describeFsError(error, tokenizerPath, 'read');
      }),
    );
    textFiles = (stored.textFiles as TextFileRecord[] | undefined) ?? [];
    await checkTextFiles(textFiles).catch((error: Error) => {
      throw new UsageError(`--resume: ${error.message}`);
    });
  } else {
    textFiles = await resolveTextFiles(options.text).catch((error: Error) => {
      throw dataErrorAsUsage(error);
    });
    const sources = [
      ...options.corpora,
      ...(textFiles.length > 0 ? [`${textFiles.length} text file(s)`] : []),
    ];
    say(`training a WordPiece vocabulary of ${options.vocabSize} on ${sources.join(', ')}…`);
    tokenizer = await trainTokenizer(
      options.corpora,
      textSourceOf(options, textFiles),
      options.vocabSize,
      readingReporter(say, 'reading text for the vocabulary'),
    ).catch((error: Error) => {
      throw dataErrorAsUsage(error);
    });
    const what = options.corpora.length > 0 ? 'the corpora' : 'the text';
    if (tokenizer.vocabSize > options.vocabSize)
      throw new UsageError(
        `--vocab-size ${options.vocabSize} is smaller than ${what}'s alphabet: WordPiece needs ${tokenizer.vocabSize} tokens for their characters and the special tokens alone; pass --vocab-size ${tokenizer.vocabSize} or more`,
      );
    if (tokenizer.vocabSize < options.vocabSize)
      say(
        `${what} ${what === 'the text' ? 'yields' : 'yield'} ${tokenizer.vocabSize} tokens (asked for ${options.vocabSize}): the model uses ${tokenizer.vocabSize}`,
      );
    await folder.writeText('tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson()));
  }
  await useBackend(options.backend);

  manualSeed(options.seed);
  const config = storedModel ?? modelConfigFor(options, tokenizer.vocabSize);
  const model = new MaskedLanguageModel(config);
  scaleEncoder(model, options.initScale);
  const optimizer = combine(model, pretrainGroups(model, options));

  let step = 0;
  let dataState: BatchIteratorState | undefined;
  let restoredLog: LogState | null = null;
  let lastGood: { step: number; loss: number | null } | null = null;
  if (parsed.resume) {
    const restored = await restoreNewest(folder, model, optimizer, say);
    if (restored) {
      step = restored.step;
      dataState = restored.data;
      restoredLog = (restored.extra?.log as LogState | undefined) ?? null;
      lastGood = { step, loss: null };
      say(`resuming ${folder.dir} from step ${step}`);
    } else {
      say(`no complete checkpoint in ${folder.dir}: starting it over`);
    }
    const torn = await folder.truncateMetrics(step);
    if (torn)
      say(`metrics.jsonl: dropped a torn last line (line ${torn.line}, written when the run stopped)`);
  } else {
    const runConfig: RunConfig<PretrainOptions> = {
      kind: 'pretrain',
      version: 1,
      options,
      model: config,
      parameters: model.numParameters(),
      backend: getBackend().describe?.() ?? { name: getBackend().name },
      ...(textFiles.length > 0 ? { textFiles } : {}),
    };
    await folder.writeConfig(runConfig);
  }

  const sourceNames = [
    ...options.corpora,
    ...(textFiles.length > 0 ? [`${textFiles.length} text file(s)`] : []),
  ];
  say(`preparing data (${sourceNames.join(', ')}, sequences of ${options.seqLen})…`);
  const data = await PrefetchingData.start(
    {
      tokenizer: tokenizer.toTokenizerJson(),
      corpora: options.corpora,
      text: textSourceOf(options, textFiles),
      seqLen: options.seqLen,
      batchSize: options.batchSize,
      seed: options.seed,
      maxSequences: options.maxSequences,
      ...(dataState ? { state: dataState } : {}),
    },
    EVAL_BATCH_SIZE,
    readingReporter(say, 'tokenising text'),
  ).catch((error: Error) => {
    // The data spec is the user's options: a range error in it is bad input (e.g. a batch larger than the data).
    throw error.name === 'RangeError' ? new UsageError(error.message) : dataErrorAsUsage(error);
  });
  const { baseline, text: textCounts } = data.counts;
  if (textCounts)
    say(
      `text: ${textCounts.files} file(s), ${textCounts.documents.toLocaleString('en-US')} documents (${textCounts.heldOutDocuments} held out), ${textCounts.tokens.toLocaleString('en-US')} tokens` +
        (textCounts.longLines > 0
          ? `; ${textCounts.longLines} line(s) longer than ${DEFAULT_MAX_LINE_CHARS.toLocaleString('en-US')} characters were cut (.txt) or skipped (.jsonl)`
          : ''),
    );
  // The baseline's model, so `eval --text` scores any text against it without rebuilding the data.
  await folder.writeText(UNIGRAM_FILE, JSON.stringify(data.counts.unigram));
  say(
    `${options.model}: ${model.numParameters().toLocaleString('en-US')} parameters on ${options.backend}; ` +
      `${data.counts.trainSequences} training sequences, ${data.counts.heldOutSequences} held out; ` +
      `unigram baseline ${baseline.loss.toFixed(4)} nats (leaving the plateau: ${(baseline.loss - PLATEAU_MARGIN).toFixed(2)} or below)`,
  );

  let stop: StopSignal | null = null;
  const onSignal = (signal: StopSignal) => {
    // A second signal stops at once: the newest checkpoint on disk is complete whatever happens.
    if (stop) process.exit(signal === 'SIGTERM' ? 143 : 130);
    stop = signal;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  const progress = new Progress('pretrain', options.steps, step, hooks.out);
  const started = performance.now();
  // The logging window and the clip count at the last log travel in checkpoints, so a resumed
  // run logs exactly what the uninterrupted run would have.
  const log: LogState = restoredLog ?? {
    window: { loss: 0, accuracy: 0, steps: 0, tokens: 0, seconds: 0, waitedMs: 0 },
    clipCountBefore: 0,
  };
  const window = log.window;
  const exploding = explodingLoss(tokenizer.vocabSize);
  let worstSinceSave = Number.NEGATIVE_INFINITY;
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let status: PretrainResult['status'] = 'done';
  let lastState = dataState ?? { epoch: 0, position: 0 };
  let heldOut: EvalResult | null = null;
  /** Writes a checkpoint if the weights are worth going back to; says why not otherwise. */
  const save = async (atStep: number): Promise<void> => {
    if (worstSinceSave > exploding) {
      say(
        `step ${atStep}: no checkpoint written: a loss of ${worstSinceSave.toPrecision(4)} since the last one is exploding (above 2·ln V = ${exploding.toFixed(2)})`,
      );
      return;
    }
    try {
      await folder.saveCheckpoint(
        atStep,
        (dir) =>
          writeTrainingCheckpoint(dir, model, optimizer, {
            step: atStep,
            data: lastState,
            extra: { log: structuredClone(log) },
          }),
        crashSeam(atStep),
      );
    } catch (error) {
      if (!(error instanceof NonFiniteWeightsError)) throw error;
      say(`step ${atStep}: no checkpoint written: ${error.message}`);
      return;
    }
    lastGood = { step: atStep, loss: lastLoss };
    worstSinceSave = Number.NEGATIVE_INFINITY;
    onCheckpoint();
  };

  try {
    while (step < options.steps) {
      const next = await data.next();
      const stepStarted = performance.now();
      const { loss, accuracy } = tidy(() => {
        const { inputs, targets } = uploadMlmBatch(next.batch, config);
        return model.forward(inputs, targets);
      });
      const lossValue = await loss.itemAsync();
      if (!Number.isFinite(lossValue)) {
        loss.dispose();
        accuracy.dispose();
        status = 'diverged';
        progress.done();
        const kept: { step: number; loss: number | null } | null = lastGood;
        say(
          `the loss is ${lossValue} at step ${step + 1}: stopping; ` +
            (kept
              ? `the last good checkpoint, step ${kept.step}${kept.loss === null ? '' : ` (loss ${kept.loss.toFixed(4)})`}, is in ${folder.path('checkpoints')}`
              : 'no checkpoint was written before it diverged'),
        );
        break;
      }
      worstSinceSave = Math.max(worstSinceSave, lossValue);
      loss.backward();
      const logging = (step + 1) % options.logEvery === 0 || step + 1 === options.steps;
      let report: StepReport | undefined;
      if (logging) report = await optimizer.step({ report: true });
      else optimizer.step();
      optimizer.zeroGrad();
      const accuracyValue = await accuracy.itemAsync();
      loss.dispose();
      accuracy.dispose();
      step++;
      lastState = next.stateAfter;
      firstLoss ??= lossValue;
      lastLoss = lossValue;

      const tokens = next.batch.attentionMask.reduce((n, m) => n + m, 0);
      Object.assign(window, {
        loss: window.loss + lossValue,
        accuracy: window.accuracy + accuracyValue,
        steps: window.steps + 1,
        tokens: window.tokens + tokens,
        seconds: window.seconds + (performance.now() - stepStarted) / 1000,
        waitedMs: window.waitedMs + next.waitedMs,
      });
      const tokensPerSec = window.tokens / Math.max(window.seconds, 1e-9);
      progress.tick({ step, loss: lossValue, tokensPerSec });
      if (report) {
        const encoder = report.groups.find((g) => g.group === 'encoder') ?? report.groups[0]!;
        const heads = report.groups.find((g) => g.group === 'heads');
        const clipCount = encoder.clipCount ?? 0;
        const record = {
          step,
          loss: window.loss / window.steps,
          belowBaseline: baseline.loss - window.loss / window.steps,
          maskedAccuracy: window.accuracy / window.steps,
          lr: encoder.lr,
          headLr: heads?.lr ?? null,
          gradNorm: encoder.gradNorm,
          encoderParamNorm: encoder.paramNorm,
          effectiveLr: encoder.effectiveLr,
          clipped: encoder.clipped,
          clippedSteps: clipCount - log.clipCountBefore,
          tokensPerSec,
          dataWaitMs: window.waitedMs,
          elapsed: (performance.now() - started) / 1000,
        };
        log.clipCountBefore = clipCount;
        await folder.appendMetrics(record);
        progress.log({
          step,
          loss: record.loss,
          tokensPerSec,
          extra: `${record.belowBaseline >= 0 ? '−' : '+'}${Math.abs(record.belowBaseline).toFixed(2)} vs unigram, lr ${encoder.lr.toExponential(2)}`,
        });
        Object.assign(window, { loss: 0, accuracy: 0, steps: 0, tokens: 0, seconds: 0, waitedMs: 0 });
      }
      if (step % options.checkpointEvery === 0 || step === options.steps || stop) await save(step);
      if (stop && step < options.steps) {
        status = 'interrupted';
        progress.done();
        const kept: { step: number } | null = lastGood;
        say(
          kept?.step === step
            ? `${stop} at step ${step}: checkpoint written; continue with --resume --out ${folder.dir}`
            : `${stop} at step ${step}: stopped; ${kept ? `the last good checkpoint is step ${kept.step}` : 'no checkpoint was written'}`,
        );
        break;
      }
      // Lets a signal's handler run: the steps above may never give the event loop a turn.
      await new Promise<void>((r) => setImmediate(r));
    }
    if (status === 'done') {
      say('evaluating on the held-out documents…');
      const score = await scoreMlm(model, await data.heldOut(EVAL_BATCH_SIZE));
      heldOut = {
        step,
        ...score,
        sequences: data.counts.heldOutSequences,
        ...againstBaseline(score, baseline),
      };
      await folder.writeText('eval.json', `${JSON.stringify(heldOut, null, 2)}\n`);
      say(formatEval(heldOut));
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
    await data.close();
  }
  progress.done();
  if (heldOut) {
    await folder.writeText('summary.md', await pretrainSummary(folder, options, model, heldOut, textCounts));
    say(plateauVerdict(heldOut));
    say(
      `done: ${step} steps, loss ${firstLoss?.toFixed(4) ?? '–'} → ${lastLoss?.toFixed(4) ?? '–'}; run folder ${folder.dir}`,
    );
  }
  for (const p of model.parameters()) p.dispose();
  return { status, signal: stop, step, firstLoss, lastLoss, heldOut };
}

/** The logging state a checkpoint carries. */
interface LogState {
  window: {
    loss: number;
    accuracy: number;
    steps: number;
    tokens: number;
    seconds: number;
    waitedMs: number;
  };
  clipCountBefore: number;
}

/**
 * Restores the newest complete checkpoint that loads; one that does not (corrupt, another
 * model, NaN weights) is reported and the next older one tried. Null when there is none at all.
 */
async function restoreNewest(
  folder: RunFolder,
  model: MaskedLanguageModel,
  optimizer: ReturnType<typeof combine>,
  say: (line: string) => void,
): Promise<Awaited<ReturnType<typeof restoreTrainingCheckpoint>> | null> {
  const { complete, latestNote } = await folder.checkpoints();
  if (latestNote) say(latestNote);
  const failures: string[] = [];
  for (const checkpoint of complete) {
    try {
      return await restoreTrainingCheckpoint(checkpoint.folder, model, optimizer);
    } catch (error) {
      failures.push((error as Error).message);
      say(`cannot resume from ${checkpoint.folder}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0)
    throw new UsageError(`--resume: no checkpoint of ${folder.dir} can be loaded (${failures.join('; ')})`);
  return null;
}

async function pretrainSummary(
  folder: RunFolder,
  options: PretrainOptions,
  model: MaskedLanguageModel,
  heldOut: EvalResult,
  text: TextCounts,
): Promise<string> {
  const { records: metrics } = await folder.readMetrics();
  const first = metrics[0];
  const last = metrics.at(-1);
  const fmt = (v: unknown, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : '–');
  return [
    `# Pretraining run: ${options.model}`,
    '',
    `${model.numParameters().toLocaleString('en-US')} parameters, ${options.steps} steps of ${options.batchSize} × ${options.seqLen} tokens on ${options.backend}, seed ${options.seed}.`,
    '',
    `Data: ${[...options.corpora, ...(text ? [`${text.files} text file(s)`] : [])].join(', ')}.` +
      (text
        ? ` The text gave ${text.documents.toLocaleString('en-US')} documents (${text.heldOutDocuments} held out, ${options.holdout * 100}%) and ${text.tokens.toLocaleString('en-US')} tokens` +
          (text.longLines > 0
            ? `; ${text.longLines} line(s) longer than ${DEFAULT_MAX_LINE_CHARS.toLocaleString('en-US')} characters were cut (.txt) or skipped (.jsonl).`
            : '.')
        : ''),
    '',
    '| | first log | last log |',
    '| --- | --- | --- |',
    `| step | ${first?.step ?? '–'} | ${last?.step ?? '–'} |`,
    `| MLM loss | ${fmt(first?.loss)} | ${fmt(last?.loss)} |`,
    `| masked-token accuracy | ${fmt(first?.maskedAccuracy)} | ${fmt(last?.maskedAccuracy)} |`,
    `| encoder parameter norm | ${fmt(first?.encoderParamNorm, 2)} | ${fmt(last?.encoderParamNorm, 2)} |`,
    `| tokens/s | ${fmt(first?.tokensPerSec, 0)} | ${fmt(last?.tokensPerSec, 0)} |`,
    '',
    '## Held out, against the unigram baseline',
    '',
    '| | this model | unigram baseline |',
    '| --- | --- | --- |',
    `| MLM loss (nats) | ${fmt(heldOut.loss)} | ${fmt(heldOut.baseline.loss)} |`,
    `| masked-token accuracy | ${fmt(heldOut.maskedAccuracy)} | ${fmt(heldOut.baseline.accuracy)} |`,
    '',
    `${plateauVerdict(heldOut)} (The baseline is a unigram model of the run's training tokens, scored on the same ${heldOut.maskedTokens} masked held-out positions; \`eval.json\` has these numbers.)`,
    '',
    `Recipe ${options.recipe}. Optimizer: ${options.optimizer} (lr ${options.lr}, weight decay ${options.weightDecay}, clip ${formatClip(options.clip)}, schedule ${options.schedule})` +
      (model.config.family === 'sibert' ? `; heads: ${options.headOptimizer} (lr ${options.headLr}).` : '.'),
    '',
    'Every option is in `config.json`; per-step metrics in `metrics.jsonl`.',
    '',
  ].join('\n');
}
