import { basename, join, resolve } from 'node:path';
import {
  BatchIterator,
  classBalance,
  encodeExamples,
  labelledTask,
  MAX_TEXT_CHARS,
  Rng,
  readLabelledFile,
  selectRows,
  sotuPartyTask,
  spamTask,
  type TaskSplits,
} from '@sibert/data';
import { isHuggingFaceFolder, SequenceClassifier, saveModel } from '@sibert/models';
import { manualSeed, tidy } from '@sibert/tensor';
import { type EncoderSource, loadWithPath, readHuggingFaceSource, readPretrainedRun } from './checkpoint.js';
import { perClassTable, type SplitScores, scoreSplit, uploadClassificationBatch } from './classify.js';
import { combine, scheduleFor } from './optimizers.js';
import {
  dataErrorAsUsage,
  type FinetuneOptions,
  type LabelledData,
  parseFinetune,
  UsageError,
} from './options.js';
import { STOP_SIGNALS, type StopSignal } from './pretrain.js';
import { Progress } from './progress.js';
import { RunFolder } from './run-folder.js';
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

/** The fine-tuning LR of each optimizer when --lr is not given. */
const FINETUNE_LR: Record<FinetuneOptions['optimizer'], number> = {
  lamb: 3e-2,
  adamw: 1e-3,
  adam: 1e-3,
  sgd: 0.1,
};

/** Steps between progress lines on a pipe (a terminal gets a live bar). */
const FINETUNE_LOG_EVERY = 25;

/** A bundled task, or the user's labelled files read and split (the class list from the training file). */
export async function loadTask(options: FinetuneOptions): Promise<{ task: TaskSplits; longTexts: number }> {
  if (options.task === 'spam') return { task: spamTask(), longTexts: 0 };
  if (options.task === 'sotu-party') return { task: sotuPartyTask(), longTexts: 0 };
  const data = options.data!;
  const read = (file: string) =>
    readLabelledFile(file, {
      textField: data.textField,
      ...(data.textPairField === null ? {} : { textPairField: data.textPairField }),
      labelField: data.labelField,
      encoding: data.encoding,
    });
  const train = await read(data.train);
  const dev = data.dev === null ? undefined : await read(data.dev);
  const test = data.test === null ? undefined : await read(data.test);
  const task = labelledTask({
    name: basename(data.train).replace(/(\.[a-z]+)?(\.gz)?$/i, ''),
    train,
    ...(dev ? { dev } : {}),
    ...(test ? { test } : {}),
    seed: options.seed,
  });
  return { task, longTexts: [train, dev, test].reduce((n, f) => n + (f?.longTexts ?? 0), 0) };
}

/** Own data with absolute paths, so the run's config names the files wherever it is read from. */
function absoluteFiles(data: LabelledData): LabelledData {
  return {
    ...data,
    train: resolve(data.train),
    dev: data.dev === null ? null : resolve(data.dev),
    test: data.test === null ? null : resolve(data.test),
  };
}

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

async function finetune(
  folder: RunFolder,
  parsed: ReturnType<typeof parseFinetune>,
  source: EncoderSource,
  out: NodeJS.WriteStream,
): Promise<FinetuneResult> {
  const say = (line: string) => out.write(`${line}\n`);
  const base = parsed.options;
  const checkpoint = source.contents;
  const sibert = checkpoint.config.family === 'sibert';
  // SIBERT is fine-tuned with LAMB ("Adam is very sensitive to the scale", the paper), BERT with
  // AdamW. The LRs are for small encoders and a few hundred steps: BERT's usual 1e-4 left tiny and
  // mini models at the majority class.
  const optimizerName = parsed.optimizer ?? (sibert ? 'lamb' : 'adamw');
  const options: FinetuneOptions = {
    ...base,
    ...(base.data ? { data: absoluteFiles(base.data) } : {}),
    optimizer: optimizerName,
    lr: parsed.lr ?? FINETUNE_LR[optimizerName],
  };
  const tokenizer = source.tokenizer;
  await useBackend(options.backend);

  const { task, longTexts } = await loadTask(options).catch((error: Error) => {
    throw dataErrorAsUsage(error);
  });
  const balance = classBalance(task);
  // A subset is drawn at random (seeded): the splits list their examples grouped by label.
  const train =
    options.maxTrainExamples > 0 && options.maxTrainExamples < task.train.length
      ? Rng.derive(options.seed, 1)
          .shuffle([...task.train])
          .slice(0, options.maxTrainExamples)
      : task.train;
  say(
    `${task.name}: ${train.length} training, ${task.dev.length} dev, ${task.test.length} test examples; ${task.labelNames.length} classes; balance ${JSON.stringify(balance)}`,
  );
  if (longTexts > 0)
    say(
      `${longTexts} text(s) longer than ${MAX_TEXT_CHARS.toLocaleString('en-US')} characters were cut (the model reads the first ${options.maxLength} tokens)`,
    );
  const encode = (examples: typeof task.train) =>
    encodeExamples(examples, tokenizer, { maxLength: options.maxLength });
  const trainSet = encode(train);
  const devSet = encode(task.dev);
  const testSet = encode(task.test);

  manualSeed(options.seed);
  const config = {
    ...checkpoint.config,
    hiddenDropout: options.dropout,
    attentionDropout: options.dropout,
    classifierPooling: options.pooling,
  };
  const model = new SequenceClassifier(config, task.labelNames.length);
  if (options.randomEncoder)
    say('fine-tuning a randomly initialised encoder (--random-encoder): the from-scratch baseline');
  else {
    const report = loadWithPath(model, checkpoint.tensors, source.path, { scope: 'encoder' });
    if (report.initialised.length > 0 && options.pooling === 'cls')
      say(`the encoder's pooler starts fresh (${source.path} has none: MLM pretraining does not train one)`);
  }
  const stepsPerEpoch = Math.ceil(trainSet.batchSize / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const optimizer = combine(model, [
    {
      name: 'all',
      params: model.namedParameters(),
      optimizer: options.optimizer,
      lr: options.lr,
      weightDecay: options.weightDecay,
      momentum: 0,
      clip: { kind: 'none' },
      schedule: scheduleFor('linear', totalSteps, options.warmupSteps),
      scaleInvariant: false,
    },
  ]);
  await folder.writeConfig({
    kind: 'finetune',
    version: 1,
    options,
    pretrained: { folder: base.from, step: source.step, model: checkpoint.config },
    task: { name: task.name, labelNames: task.labelNames, classBalance: balance },
  });
  // The run stands on its own: eval and predict need its tokenizer, not the pretraining run.
  await folder.writeText('tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson()));

  const batches = new BatchIterator({
    size: trainSet.batchSize,
    batchSize: options.batchSize,
    seed: options.seed,
    epochs: options.epochs,
  });
  const progress = new Progress(`finetune ${task.name}`, totalSteps, 0, out);
  const devByEpoch: SplitScores[] = [];
  let step = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  let windowTokens = 0;
  let windowSeconds = 0;
  let stoppedBy: StopSignal | null = null;
  const onSignal = (signal: StopSignal) => {
    stoppedBy = signal;
  };
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
  try {
    for (const { indices, epoch, batchInEpoch } of batches) {
      // Lets a signal's handler run between steps.
      await new Promise<void>((r) => setImmediate(r));
      if (stoppedBy) {
        progress.done();
        say(`${stoppedBy} at step ${step}: stopped; the unfinished run folder is removed`);
        return { ...emptyResult(task), stoppedBy };
      }
      const started = performance.now();
      const batch = selectRows(trainSet, indices);
      const { loss } = tidy(() => {
        const { inputs, labels } = uploadClassificationBatch(batch, model.config);
        const result = model.loss(inputs, labels);
        return { loss: result.loss };
      });
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      const lossValue = await loss.itemAsync();
      loss.dispose();
      if (!Number.isFinite(lossValue))
        throw new Error(`the fine-tuning loss is ${lossValue} at step ${step + 1}; try a smaller --lr`);
      step++;
      windowLoss += lossValue;
      windowSteps++;
      windowTokens += batch.attentionMask.reduce((n, m) => n + m, 0);
      windowSeconds += (performance.now() - started) / 1000;
      progress.tick({ step, loss: lossValue, tokensPerSec: windowTokens / windowSeconds });
      if (step % FINETUNE_LOG_EVERY === 0)
        progress.log({ step, loss: windowLoss / windowSteps, tokensPerSec: windowTokens / windowSeconds });
      if (batchInEpoch === stepsPerEpoch - 1) {
        progress.done();
        const dev = await scoreSplit(model, devSet, task.labelNames, options.batchSize);
        devByEpoch.push(dev);
        const record = {
          epoch: epoch + 1,
          step,
          trainLoss: windowLoss / windowSteps,
          devAccuracy: dev.accuracy,
          devMacroF1: dev.macroF1,
          devF1: dev.f1,
          tokensPerSec: windowTokens / windowSeconds,
        };
        await folder.appendMetrics(record);
        say(
          `epoch ${epoch + 1}/${options.epochs}: train loss ${record.trainLoss.toFixed(4)}, dev accuracy ${(dev.accuracy * 100).toFixed(1)}%, dev macro-F1 ${dev.macroF1.toFixed(3)}`,
        );
        windowLoss = 0;
        windowSteps = 0;
      }
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
  }
  const test = await scoreSplit(model, testSet, task.labelNames, options.batchSize);
  const majority = majorityClass(
    train.map((e) => e.label),
    task.labelNames.length,
  );
  const majorityBaseline = task.test.filter((e) => e.label === majority).length / task.test.length;
  await folder.saveCheckpoint(step, (dir) => saveModel(join(dir, 'model.safetensors'), model));
  const result: FinetuneResult = {
    task: task.name,
    labelNames: task.labelNames,
    devByEpoch,
    test,
    majorityBaseline,
    majorityClass: task.labelNames[majority]!,
    trainExamples: train.length,
    longTexts,
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
  for (const p of model.parameters()) p.dispose();
  return result;
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
    `From \`${options.from}\`${options.randomEncoder ? ' (its config and tokenizer; the encoder randomly initialised)' : ''}; ${r.trainExamples} training examples of ${source}, ${r.labelNames.length} classes, ${options.epochs} epoch(s), ${options.optimizer} (lr ${options.lr}).`,
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
