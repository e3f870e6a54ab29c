import { join } from 'node:path';
import { BatchIterator, selectRows } from '@sibert/data';
import { MAX_TEXT_CHARS } from '@sibert/data/node';
import { SequenceClassifier } from '@sibert/models';
import { isHuggingFaceFolder, saveModel } from '@sibert/models/node';
import type { CombinedStepReport, Optimizer, StepReport } from '@sibert/optim';
import { manualSeed } from '@sibert/tensor';
import {
  type LoopResult,
  MetricWindow,
  trainLoop,
  trainStep,
  uploadClassificationBatch,
} from '@sibert/train';
import { loadWithPath, ProcessStopSignals, RunFolder, type StopSignal } from '@sibert/train/node';
import { type EncoderSource, readHuggingFaceSource, readPretrainedRun } from './checkpoint.js';
import { perClassTable, type SplitScores, scoreSplit } from './classify.js';
import { absoluteFiles, encodeTask } from './finetune-data.js';
import { UsageError } from './flags.js';
import { combine, scheduleFor } from './optimizers.js';
import { type FinetuneOptions, formatClip, parseFinetune } from './options.js';
import { Progress } from './progress.js';
import { FINETUNE_LR } from './recipes.js';
import { useBackend } from './setup.js';

export interface FinetuneResult {
  task: string;
  labelNames: readonly string[];
  devByEpoch: SplitScores[];
  test: SplitScores;
  /** Test accuracy of always predicting the most frequent training class. */
  majorityBaseline: number;
  /** That class. */
  majorityClass: string;
  trainExamples: number;
  /** Texts longer than the reader keeps, cut (own data only). */
  longTexts: number;
  /** The signal that stopped the run before its end (nothing is kept then). */
  stoppedBy: StopSignal | null;
}

function emptyResult(task: {
  name: string;
  labelNames: readonly string[];
}): Omit<FinetuneResult, 'stoppedBy'> {
  const none = { accuracy: Number.NaN, macroF1: Number.NaN, f1: null, perClass: [], examples: 0 };
  return {
    task: task.name,
    labelNames: task.labelNames,
    devByEpoch: [],
    test: none,
    majorityBaseline: Number.NaN,
    majorityClass: '',
    trainExamples: 0,
    longTexts: 0,
  };
}

/** Steps between progress lines on a pipe (a terminal gets a live bar). */
const FINETUNE_LOG_EVERY = 25;

/** `sibert-train finetune`: fine-tunes a pretraining run's encoder on a downstream task. */
export async function finetuneCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<FinetuneResult> {
  const parsed = parseFinetune(argv);
  const base = parsed.options;
  const source = (await isHuggingFaceFolder(base.from))
    ? await readHuggingFaceSource(base.from, '--from')
    : await readPretrainedRun(base.from, '--from');
  if (base.maxLength > source.contents.config.maxPositions)
    throw new UsageError(
      `--max-length ${base.maxLength} is longer than the model's ${source.contents.config.maxPositions} positions (${source.path})`,
    );
  const folder = await RunFolder.open(base.out, 'finetune', {
    overwrite: parsed.overwrite,
    protect: [base.from],
  });
  try {
    const result = await finetune(folder, parsed, source, out);
    // Without a result there is nothing to keep: a fine-tuning run cannot be resumed.
    if (result.stoppedBy) await folder.discard();
    return result;
  } catch (error) {
    await folder.discard();
    throw error;
  } finally {
    await folder.release();
  }
}

/** Resolves the options, encodes the task, builds and trains the classifier, scores it on the test split. */
async function finetune(
  folder: RunFolder,
  parsed: ReturnType<typeof parseFinetune>,
  source: EncoderSource,
  out: NodeJS.WriteStream,
): Promise<FinetuneResult> {
  const say = (line: string) => out.write(`${line}\n`);
  const options = resolvedOptions(parsed, source);
  await useBackend(options.backend);
  const data = await encodeTask(options, source.tokenizer, say);
  const { task } = data;
  const stepsPerEpoch = Math.ceil(data.trainSet.batchSize / options.batchSize);
  const { model, optimizer } = buildClassifier(options, source, task.labelNames.length, stepsPerEpoch, say);
  await folder.writeConfig({
    kind: 'finetune',
    version: 1,
    options,
    pretrained: { folder: options.from, step: source.step, model: source.contents.config },
    task: { name: task.name, labelNames: task.labelNames, classBalance: data.balance },
  });
  // The run stands on its own: eval and predict need its tokenizer, not the pretraining run.
  await folder.writeText('tokenizer.json', JSON.stringify(source.tokenizer.toTokenizerJson()));

  const { outcome, devByEpoch } = await trainClassifier({
    folder,
    options,
    data,
    model,
    optimizer,
    stepsPerEpoch,
    out,
    say,
  });
  if (outcome.status === 'diverged')
    throw new Error(
      `the fine-tuning loss is ${outcome.divergedLoss} at step ${outcome.step + 1}; try a smaller --lr`,
    );
  if (outcome.status === 'interrupted') {
    say(`${outcome.stoppedBy} at step ${outcome.step}: stopped; the unfinished run folder is removed`);
    optimizer.dispose();
    model.dispose();
    return { ...emptyResult(task), stoppedBy: outcome.stoppedBy as StopSignal };
  }
  const test = await scoreSplit(model, data.testSet, task.labelNames, options.batchSize);
  const majority = majorityClass(
    data.train.map((e) => e.label),
    task.labelNames.length,
  );
  const majorityBaseline = task.test.filter((e) => e.label === majority).length / task.test.length;
  await folder.saveCheckpoint(outcome.step, (dir) => saveModel(join(dir, 'model.safetensors'), model));
  optimizer.dispose();
  model.dispose();
  const result: FinetuneResult = {
    task: task.name,
    labelNames: task.labelNames,
    devByEpoch,
    test,
    majorityBaseline,
    majorityClass: task.labelNames[majority]!,
    trainExamples: data.train.length,
    longTexts: data.longTexts,
    stoppedBy: null,
  };
  // The numbers in a machine-readable file: what `sibert-bench reproduce` and scripts read.
  await folder.writeText('result.json', `${JSON.stringify(result, null, 2)}\n`);
  await folder.writeText('summary.md', finetuneSummary(options, result));
  say(
    `test accuracy ${(test.accuracy * 100).toFixed(1)}% (majority class ${(majorityBaseline * 100).toFixed(1)}%), ` +
      `macro-F1 ${test.macroF1.toFixed(3)}` +
      (test.f1 === null ? '' : `, F1 (${task.labelNames[1]}) ${test.f1.toFixed(3)}`) +
      `; run folder ${folder.dir}`,
  );
  return result;
}

/** The options with the family's optimizer and LR filled in where the flags left them out. */
function resolvedOptions(parsed: ReturnType<typeof parseFinetune>, source: EncoderSource): FinetuneOptions {
  const base = parsed.options;
  // SIBERT is fine-tuned with LAMB ("Adam is very sensitive to the scale", the paper), BERT with
  // AdamW. The LRs are for small encoders and a few hundred steps: BERT's usual 1e-4 left tiny and
  // mini models at the majority class.
  const optimizer = parsed.optimizer ?? (source.contents.config.family === 'sibert' ? 'lamb' : 'adamw');
  const { clip } = base;
  if (clip.kind === 'relative' && source.contents.config.family !== 'sibert')
    throw new UsageError(
      `--clip relative:${clip.sqrtC} needs a scale-invariant (SIBERT) encoder; ${base.from} holds a ${source.contents.config.family} model`,
    );
  return {
    ...base,
    ...(base.data ? { data: absoluteFiles(base.data) } : {}),
    optimizer,
    lr: parsed.lr ?? FINETUNE_LR[optimizer],
  };
}

type GroupSettings = Pick<FinetuneOptions, 'optimizer' | 'lr' | 'weightDecay'> & {
  clip?: FinetuneOptions['clip'];
};
type NamedParameter = ReturnType<SequenceClassifier['namedParameters']>[number];

/** The classifier (the source's encoder, or a random one) and one optimizer over all of it, or one for the encoder and one for the head. */
function buildClassifier(
  options: FinetuneOptions,
  source: EncoderSource,
  classes: number,
  stepsPerEpoch: number,
  say: (line: string) => void,
) {
  manualSeed(options.seed);
  const config = {
    ...source.contents.config,
    hiddenDropout: options.dropout,
    attentionDropout: options.dropout,
    classifierPooling: options.pooling,
  };
  const model = new SequenceClassifier(config, classes);
  if (options.randomEncoder)
    say('fine-tuning a randomly initialised encoder (--random-encoder): the from-scratch baseline');
  else {
    const report = loadWithPath(model, source.contents.tensors, source.path, { scope: 'encoder' });
    if (report.initialised.length > 0 && options.pooling === 'cls')
      say(`the encoder's pooler starts fresh (${source.path} has none: MLM pretraining does not train one)`);
  }
  const totalSteps = stepsPerEpoch * options.epochs;
  const schedule = scheduleFor('linear', totalSteps, options.warmupSteps);
  // SIBERT's encoder is scale invariant and its classifier head is not: only a group of the encoder alone is.
  const group = (name: string, params: NamedParameter[], o: GroupSettings, scaleInvariant = false) => ({
    name,
    params,
    optimizer: o.optimizer,
    lr: o.lr,
    weightDecay: o.weightDecay,
    momentum: 0,
    clip: o.clip ?? { kind: 'none' },
    schedule,
    scaleInvariant,
  });
  const all = model.namedParameters();
  const isHead = ([name]: NamedParameter) => name.startsWith('head.');
  const optimizer = combine(
    model,
    options.head
      ? [
          group(
            'encoder',
            all.filter((p) => !isHead(p)),
            options,
            config.family === 'sibert',
          ),
          group('head', all.filter(isHead), options.head),
        ]
      : [group('all', all, options)],
  );
  return { model, optimizer };
}

/** The fine-tuning loop: seeded batches for the epochs, the dev split scored and logged after each. */
async function trainClassifier(o: {
  folder: RunFolder;
  options: FinetuneOptions;
  data: Awaited<ReturnType<typeof encodeTask>>;
  model: SequenceClassifier;
  optimizer: ReturnType<typeof combine>;
  stepsPerEpoch: number;
  out: NodeJS.WriteStream;
  say: (line: string) => void;
}): Promise<{ outcome: LoopResult; devByEpoch: SplitScores[] }> {
  const { options, data, model } = o;
  const batches = new BatchIterator({
    size: data.trainSet.batchSize,
    batchSize: options.batchSize,
    seed: options.seed,
    epochs: options.epochs,
  })[Symbol.iterator]();
  const progress = new Progress(`finetune ${data.task.name}`, o.stepsPerEpoch * options.epochs, 0, o.out);
  const devByEpoch: SplitScores[] = [];
  const epochLoss = new MetricWindow(['loss']);
  const throughput = new MetricWindow(['tokens', 'seconds']);
  const tokensPerSec = () => throughput.sum('tokens') / throughput.sum('seconds');
  type GroupReport = StepReport['groups'][number];
  let encoderReport: GroupReport | null = null;
  const clipCountAt = (r: GroupReport | null) => r?.clipCount ?? 0;
  let clipCountBefore = 0;
  const onEpochEnd = async (step: number, epoch: number) => {
    progress.done();
    const dev = await scoreSplit(model, data.devSet, data.task.labelNames, options.batchSize);
    devByEpoch.push(dev);
    const record = {
      epoch: epoch + 1,
      step,
      trainLoss: epochLoss.mean('loss'),
      devAccuracy: dev.accuracy,
      devMacroF1: dev.macroF1,
      devF1: dev.f1,
      encoderParamNorm: encoderReport?.paramNorm ?? null,
      clippedSteps: clipCountAt(encoderReport) - clipCountBefore,
      tokensPerSec: tokensPerSec(),
    };
    clipCountBefore = clipCountAt(encoderReport);
    await o.folder.appendMetrics(record);
    o.say(
      `epoch ${epoch + 1}/${options.epochs}: train loss ${record.trainLoss.toFixed(4)}, dev accuracy ${(dev.accuracy * 100).toFixed(1)}%, dev macro-F1 ${dev.macroF1.toFixed(3)}`,
    );
    epochLoss.reset();
  };
  const stop = new ProcessStopSignals();
  try {
    const outcome = await trainLoop({
      steps: o.stepsPerEpoch * options.epochs,
      nextBatch: () => {
        const next = batches.next();
        return next.done ? null : { ...next.value, rows: selectRows(data.trainSet, next.value.indices) };
      },
      trainOn: ({ rows }, report) =>
        trainStep<CombinedStepReport<readonly Optimizer[]>>(
          o.optimizer,
          () => {
            const { inputs, labels } = uploadClassificationBatch(rows, model.config);
            return { loss: model.loss(inputs, labels).loss };
          },
          { report },
        ),
      // One optimizer report an epoch, on its last step: the encoder's norm and clip count for the log.
      reportEvery: o.stepsPerEpoch,
      callbacks: [
        {
          onStepEnd: async ({ step, batch, result, seconds, stopRequested }) => {
            if (result.report) encoderReport = result.report.parts[0]!.groups[0]!;
            epochLoss.add({ loss: result.loss });
            throughput.add({ tokens: batch.rows.attentionMask.reduce((n, m) => n + m, 0), seconds });
            progress.tick({ step, loss: result.loss, tokensPerSec: tokensPerSec() });
            if (step % FINETUNE_LOG_EVERY === 0)
              progress.log({ step, loss: epochLoss.mean('loss'), tokensPerSec: tokensPerSec() });
            if (batch.batchInEpoch === o.stepsPerEpoch - 1 && !stopRequested)
              await onEpochEnd(step, batch.epoch);
          },
        },
      ],
      stop,
    });
    progress.done();
    return { outcome, devByEpoch };
  } finally {
    stop.close();
  }
}

/** The most frequent label (the lowest on a tie): what the majority-class baseline predicts. */
export function majorityClass(labels: readonly number[], classes: number): number {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label]!++;
  return counts.indexOf(Math.max(...counts));
}

function finetuneSummary(options: FinetuneOptions, r: FinetuneResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const source = options.data ? `\`${options.data.train}\`` : `the bundled task ${r.task}`;
  return [
    `# Fine-tuning run: ${r.task}`,
    '',
    `From \`${options.from}\`${options.randomEncoder ? ' (its config and tokenizer; the encoder randomly initialised)' : ''}; ${r.trainExamples} training examples of ${source}, ${r.labelNames.length} classes, ${options.epochs} epoch(s), ${options.optimizer} (lr ${options.lr}, weight decay ${options.weightDecay}${options.clip.kind === 'none' ? '' : `, clip ${formatClip(options.clip)}`})${options.head ? ` for the encoder and ${options.head.optimizer} (lr ${options.head.lr}, weight decay ${options.head.weightDecay}) for the head` : ''}.`,
    '',
    '| split | accuracy | macro-F1 |',
    '| --- | --- | --- |',
    ...r.devByEpoch.map((d, i) => `| dev, epoch ${i + 1} | ${pct(d.accuracy)} | ${d.macroF1.toFixed(3)} |`),
    `| test | ${pct(r.test.accuracy)} | ${r.test.macroF1.toFixed(3)} |`,
    `| test, majority class (${r.majorityClass}) | ${pct(r.majorityBaseline)} | – |`,
    '',
    '## Test, per class',
    '',
    ...perClassTable(r.test),
    '',
    ...(r.longTexts > 0
      ? [
          `${r.longTexts} text(s) longer than ${MAX_TEXT_CHARS.toLocaleString('en-US')} characters were cut on reading.`,
          '',
        ]
      : []),
  ].join('\n');
}
