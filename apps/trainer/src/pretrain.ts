import { UnigramModel } from '@sibert/data';
import { DEFAULT_MAX_LINE_CHARS } from '@sibert/data/node';
import { initOutputBias, MaskedLanguageModel, scaleEncoder } from '@sibert/models';
import { getBackend, manualSeed } from '@sibert/tensor';
import { type LoopResult, trainLoop, trainStep, uploadMlmBatch } from '@sibert/train';
import {
  ProcessStopSignals,
  type RunConfig,
  RunFolder,
  restoreNewestCheckpoint,
  type StopSignal,
  type TrainingState,
} from '@sibert/train/node';
import { PrefetchingData } from './data-client.js';
import { againstBaseline, type EvalResult, formatEval, PLATEAU_MARGIN, plateauVerdict } from './evaluate.js';
import { dataErrorAsUsage, UsageError } from './flags.js';
import { scoreMlm } from './mlm.js';
import { combine, pretrainGroups } from './optimizers.js';
import { EVAL_BATCH_SIZE, type PretrainOptions, parsePretrain } from './options.js';
import { Checkpointer, type LogState, MetricsLogger } from './pretrain-callbacks.js';
import { type TextCounts, textSourceOf, UNIGRAM_FILE } from './pretrain-data.js';
import {
  checkBeforeWork,
  modelConfigFor,
  newRunSetup,
  type PretrainSetup,
  readingReporter,
  resumedRunSetup,
  sourceNames,
} from './pretrain-setup.js';
import { pretrainSummary } from './pretrain-summary.js';
import { Progress } from './progress.js';
import { useBackend } from './setup.js';

export interface PretrainResult {
  /** 'done', 'interrupted' (SIGINT or SIGTERM: checkpoint written) or 'diverged' (last good checkpoint kept). */
  status: LoopResult['status'];
  /** The signal that interrupted the run. */
  signal: StopSignal | null;
  step: number;
  firstLoss: number | null;
  lastLoss: number | null;
  /** The held-out evaluation that ends a finished run (null otherwise). */
  heldOut: EvalResult | null;
}

export interface PretrainHooks {
  /** Output stream for progress and messages (stdout by default). */
  out?: NodeJS.WriteStream;
}

/**
 * A loss above twice the uniform guess's, ln V, is exploding: the model predicts worse than one
 * that knows nothing. Weights after such a step are not checkpointed as "good".
 */
const explodingLoss = (vocabSize: number) => 2 * Math.log(vocabSize);

/** `sibert-train pretrain`: see the README for every option. */
export async function pretrainCommand(
  argv: readonly string[],
  hooks: PretrainHooks = {},
): Promise<PretrainResult> {
  const parsed = parsePretrain(argv);
  if (!parsed.resume) checkBeforeWork(parsed.options);
  const folder = await RunFolder.open(parsed.options.out, 'pretrain', parsed);
  const say = (line: string) => (hooks.out ?? process.stdout).write(`${line}\n`);
  let checkpointed = false;
  try {
    const setup = parsed.resume
      ? await resumedRunSetup(folder, parsed, argv)
      : await newRunSetup(folder, parsed.options, say);
    return await pretrain(folder, setup, parsed.resume, say, hooks, () => {
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

/** Builds the model (restored on resume), starts the data, trains, evaluates on the held-out documents. */
async function pretrain(
  folder: RunFolder,
  setup: PretrainSetup,
  resume: boolean,
  say: (line: string) => void,
  hooks: PretrainHooks,
  onCheckpoint: () => void,
): Promise<PretrainResult> {
  const { options } = setup;
  await useBackend(options.backend);
  const { model, optimizer, restored } = await buildModel(folder, setup, resume, say);
  const data = await startData(folder, setup, restored, say);
  // The prior comes from the training tokens, which only the data worker has counted.
  if (!restored && options.outputBias === 'unigram')
    initOutputBias(model, UnigramModel.fromJSON(data.counts.unigram).logPrior());
  say(
    `${options.model}: ${model.numParameters().toLocaleString('en-US')} parameters on ${options.backend}; ` +
      `${data.counts.trainSequences} training sequences, ${data.counts.heldOutSequences} held out; ` +
      `unigram baseline ${data.counts.baseline.loss.toFixed(4)} nats (leaving the plateau: ${(data.counts.baseline.loss - PLATEAU_MARGIN).toFixed(2)} or below)`,
  );
  const progress = new Progress('pretrain', options.steps, restored?.step ?? 0, hooks.out);
  let heldOut: EvalResult | null = null;
  let trained: Awaited<ReturnType<typeof train>>;
  try {
    trained = await train({ folder, setup, model, optimizer, restored, data, progress, say, onCheckpoint });
    if (trained.outcome.status === 'done')
      heldOut = await evaluateHeldOut(folder, model, data, trained.outcome.step, say);
  } finally {
    await data.close();
  }
  progress.done();
  const { outcome, losses } = trained;
  if (heldOut) {
    await folder.writeText(
      'summary.md',
      await pretrainSummary(folder, options, model, heldOut, data.counts.text),
    );
    say(plateauVerdict(heldOut));
    say(
      `done: ${outcome.step} steps, loss ${losses.first?.toFixed(4) ?? '–'} → ${losses.last?.toFixed(4) ?? '–'}; run folder ${folder.dir}`,
    );
  }
  optimizer.dispose();
  model.dispose();
  return {
    status: outcome.status,
    signal: outcome.stoppedBy as StopSignal | null,
    step: outcome.step,
    firstLoss: losses.first,
    lastLoss: losses.last,
    heldOut,
  };
}

/** The model and its optimizers: seeded and new, or restored from the newest checkpoint that loads. */
async function buildModel(
  folder: RunFolder,
  setup: PretrainSetup,
  resume: boolean,
  say: (line: string) => void,
) {
  const { options, tokenizer, textFiles, storedModel } = setup;
  manualSeed(options.seed);
  const config = storedModel ?? modelConfigFor(options, tokenizer.vocabSize);
  const model = new MaskedLanguageModel(config);
  scaleEncoder(model, options.initScale);
  const optimizer = combine(model, pretrainGroups(model, options));
  if (!resume) {
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
    return { model, optimizer, restored: null };
  }
  const restored = await restoreNewestCheckpoint(folder, model, optimizer, say);
  say(
    restored
      ? `resuming ${folder.dir} from step ${restored.step}`
      : `no complete checkpoint in ${folder.dir}: starting it over`,
  );
  const torn = await folder.truncateMetrics(restored?.step ?? 0);
  if (torn) say(`metrics.jsonl: dropped a torn last line (line ${torn.line}, written when the run stopped)`);
  return { model, optimizer, restored };
}

/** The data worker, positioned after the restored checkpoint's last batch; writes the baseline's unigram model. */
async function startData(
  folder: RunFolder,
  { options, tokenizer, textFiles }: PretrainSetup,
  restored: TrainingState | null,
  say: (line: string) => void,
): Promise<PrefetchingData> {
  say(`preparing data (${sourceNames(options, textFiles).join(', ')}, sequences of ${options.seqLen})…`);
  const data = await PrefetchingData.start(
    {
      tokenizer: tokenizer.toTokenizerJson(),
      corpora: options.corpora,
      text: textSourceOf(options, textFiles),
      seqLen: options.seqLen,
      batchSize: options.batchSize,
      seed: options.seed,
      maxSequences: options.maxSequences,
      ...(restored ? { state: restored.data } : {}),
    },
    EVAL_BATCH_SIZE,
    readingReporter(say, 'tokenising text'),
  ).catch((error: Error) => {
    // The data spec is the user's options: a range error in it is bad input (e.g. a batch larger than the data).
    throw error.name === 'RangeError' ? new UsageError(error.message) : dataErrorAsUsage(error);
  });
  if (data.counts.text) say(describeText(data.counts.text));
  // The baseline's model, so `eval --text` scores any text against it without rebuilding the data.
  await folder.writeText(UNIGRAM_FILE, JSON.stringify(data.counts.unigram));
  return data;
}

/**
 * The training loop: each step uploads a batch, runs forward and backward and updates (a
 * non-finite loss never reaches the weights); the callbacks log metrics and write checkpoints;
 * SIGINT/SIGTERM stop it at a checkpoint.
 */
async function train(o: {
  folder: RunFolder;
  setup: PretrainSetup;
  model: MaskedLanguageModel;
  optimizer: ReturnType<typeof combine>;
  restored: TrainingState | null;
  data: PrefetchingData;
  progress: Progress;
  say: (line: string) => void;
  onCheckpoint: () => void;
}) {
  const { folder, setup, model, optimizer, restored, say } = o;
  const { options, tokenizer } = setup;
  // The logging window travels in checkpoints, so a resumed run logs what the uninterrupted one would have.
  const logger = new MetricsLogger(
    folder,
    o.progress,
    o.data.counts.baseline.loss,
    (restored?.extra?.log as LogState) ?? null,
  );
  const checkpointer = new Checkpointer({
    folder,
    model,
    optimizer,
    every: options.checkpointEvery,
    explodingLoss: explodingLoss(tokenizer.vocabSize),
    extra: () => ({ log: logger.state() }),
    say,
    onSaved: o.onCheckpoint,
    resumed: restored,
  });
  const losses: { first: number | null; last: number | null } = { first: null, last: null };
  const stop = new ProcessStopSignals();
  let outcome: LoopResult;
  try {
    outcome = await trainLoop({
      steps: options.steps,
      startStep: restored?.step ?? 0,
      nextBatch: () => o.data.next(),
      trainOn: (next, report) =>
        trainStep(
          optimizer,
          () => {
            const { inputs, targets } = uploadMlmBatch(next.batch, model.config);
            return model.forward(inputs, targets);
          },
          { report, skipNonFinite: true, updateInBackward: options.updateInBackward },
        ),
      reportEvery: options.logEvery,
      callbacks: [
        logger,
        checkpointer,
        {
          onStepEnd: ({ result }) => {
            losses.first ??= result.loss;
            losses.last = result.loss;
          },
        },
      ],
      stop,
    });
  } finally {
    stop.close();
  }
  o.progress.done();
  const kept = checkpointer.lastGood;
  if (outcome.status === 'diverged')
    say(
      `the loss is ${outcome.divergedLoss} at step ${outcome.step + 1}: stopping; ` +
        (kept
          ? `the last good checkpoint, step ${kept.step}${kept.loss === null ? '' : ` (loss ${kept.loss.toFixed(4)})`}, is in ${folder.path('checkpoints')}`
          : 'no checkpoint was written before it diverged'),
    );
  if (outcome.status === 'interrupted')
    say(
      kept?.step === outcome.step
        ? `${outcome.stoppedBy} at step ${outcome.step}: checkpoint written; continue with --resume --out ${folder.dir}`
        : `${outcome.stoppedBy} at step ${outcome.step}: stopped; ${kept ? `the last good checkpoint is step ${kept.step}` : 'no checkpoint was written'}`,
    );
  return { outcome, losses };
}

/** The closing evaluation: MLM loss and accuracy on the held-out documents against the baseline (eval.json). */
async function evaluateHeldOut(
  folder: RunFolder,
  model: MaskedLanguageModel,
  data: PrefetchingData,
  step: number,
  say: (line: string) => void,
): Promise<EvalResult> {
  say('evaluating on the held-out documents…');
  const score = await scoreMlm(model, await data.heldOut(EVAL_BATCH_SIZE));
  const heldOut = {
    step,
    ...score,
    sequences: data.counts.heldOutSequences,
    ...againstBaseline(score, data.counts.baseline),
  };
  await folder.writeText('eval.json', `${JSON.stringify(heldOut, null, 2)}\n`);
  say(formatEval(heldOut));
  return heldOut;
}

function describeText(text: NonNullable<TextCounts>): string {
  return (
    `text: ${text.files} file(s), ${text.documents.toLocaleString('en-US')} documents (${text.heldOutDocuments} held out), ${text.tokens.toLocaleString('en-US')} tokens` +
    (text.longLines > 0
      ? `; ${text.longLines} line(s) longer than ${DEFAULT_MAX_LINE_CHARS.toLocaleString('en-US')} characters were cut (.txt) or skipped (.jsonl)`
      : '')
  );
}
