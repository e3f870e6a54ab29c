import { join } from 'node:path';
import {
  BatchIterator,
  type ClassificationBatch,
  classBalance,
  encodeExamples,
  Rng,
  selectRows,
  sotuPartyTask,
  spamTask,
  type TaskSplits,
} from '@sibert/data';
import { type ModelConfig, SequenceClassifier, saveModel } from '@sibert/models';
import { manualSeed, noGrad, tensor, tidy } from '@sibert/tensor';
import { loadWithPath, type PretrainedRun, readPretrainedRun } from './checkpoint.js';
import { combine, scheduleFor } from './optimizers.js';
import { type FinetuneOptions, parseFinetune, UsageError } from './options.js';
import { STOP_SIGNALS, type StopSignal } from './pretrain.js';
import { Progress } from './progress.js';
import { RunFolder } from './run-folder.js';
import { useBackend } from './setup.js';

export interface SplitScores {
  accuracy: number;
  /** F1 of class 1 (spam; Republican). */
  f1: number;
  examples: number;
}

export interface FinetuneResult {
  task: string;
  labelNames: readonly string[];
  devByEpoch: SplitScores[];
  test: SplitScores;
  /** Test accuracy of always predicting the most frequent training class. */
  majorityBaseline: number;
  trainExamples: number;
  /** The signal that stopped the run before its end (nothing is kept then). */
  stoppedBy: StopSignal | null;
}

function emptyResult(task: {
  name: string;
  labelNames: readonly string[];
}): Omit<FinetuneResult, 'stoppedBy'> {
  const none = { accuracy: Number.NaN, f1: Number.NaN, examples: 0 };
  return {
    task: task.name,
    labelNames: task.labelNames,
    devByEpoch: [],
    test: none,
    majorityBaseline: Number.NaN,
    trainExamples: 0,
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

function loadTask(name: FinetuneOptions['task']): TaskSplits {
  return name === 'spam' ? spamTask() : sotuPartyTask();
}

function uploadClassificationBatch(batch: ClassificationBatch, config: ModelConfig) {
  const shape = [batch.batchSize, batch.seqLen];
  return {
    inputs: {
      inputIds: tensor(batch.inputIds, shape, 'int32'),
      ...(config.typeVocabSize > 0 ? { tokenTypeIds: tensor(batch.tokenTypeIds, shape, 'int32') } : {}),
      attentionMask: tensor(batch.attentionMask, shape, 'int32'),
    },
    labels: tensor(batch.labels, [batch.batchSize], 'int32'),
  };
}

/** Accuracy and F1 of class 1 over a whole split, in eval mode without gradients. */
export async function scoreSplit(
  model: SequenceClassifier,
  split: ClassificationBatch,
  batchSize: number,
): Promise<SplitScores> {
  model.eval();
  let correct = 0;
  let truePositive = 0;
  let predictedPositive = 0;
  let actualPositive = 0;
  for (let start = 0; start < split.batchSize; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, split.batchSize - start) }, (_, i) => start + i);
    const batch = selectRows(split, rows);
    const predictions = noGrad(() =>
      tidy(() => model.forward(uploadClassificationBatch(batch, model.config).inputs)),
    );
    const values = await predictions.data();
    predictions.dispose();
    const classes = model.numLabels;
    rows.forEach((_, i) => {
      let best = 0;
      for (let c = 1; c < classes; c++) if (values[i * classes + c]! > values[i * classes + best]!) best = c;
      const label = batch.labels[i]!;
      if (best === label) correct++;
      if (best === 1) predictedPositive++;
      if (label === 1) actualPositive++;
      if (best === 1 && label === 1) truePositive++;
    });
  }
  model.train();
  const precision = predictedPositive > 0 ? truePositive / predictedPositive : 0;
  const recall = actualPositive > 0 ? truePositive / actualPositive : 0;
  return {
    accuracy: correct / split.batchSize,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    examples: split.batchSize,
  };
}

/** `sibert-train finetune`: fine-tunes a pretraining run's encoder on a downstream task. */
export async function finetuneCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<FinetuneResult> {
  const parsed = parseFinetune(argv);
  const base = parsed.options;
  const source = await readPretrainedRun(base.from, '--from');
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
  source: PretrainedRun,
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
    optimizer: optimizerName,
    lr: parsed.lr ?? FINETUNE_LR[optimizerName],
  };
  const tokenizer = source.tokenizer;
  await useBackend(options.backend);

  const task = loadTask(options.task);
  const balance = classBalance(task);
  // A subset is drawn at random (seeded): the splits list their examples grouped by label.
  const train =
    options.maxTrainExamples > 0 && options.maxTrainExamples < task.train.length
      ? Rng.derive(options.seed, 1)
          .shuffle([...task.train])
          .slice(0, options.maxTrainExamples)
      : task.train;
  say(
    `${task.name}: ${train.length} training, ${task.dev.length} dev, ${task.test.length} test examples; balance ${JSON.stringify(balance)}`,
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
  else loadWithPath(model, checkpoint.tensors, source.path, { scope: 'encoder' });
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
        const dev = await scoreSplit(model, devSet, options.batchSize);
        devByEpoch.push(dev);
        const record = {
          epoch: epoch + 1,
          step,
          trainLoss: windowLoss / windowSteps,
          devAccuracy: dev.accuracy,
          devF1: dev.f1,
          tokensPerSec: windowTokens / windowSeconds,
        };
        await folder.appendMetrics(record);
        say(
          `epoch ${epoch + 1}/${options.epochs}: train loss ${record.trainLoss.toFixed(4)}, dev accuracy ${(dev.accuracy * 100).toFixed(1)}%, dev F1 ${dev.f1.toFixed(3)}`,
        );
        windowLoss = 0;
        windowSteps = 0;
      }
    }
  } finally {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
  }
  const test = await scoreSplit(model, testSet, options.batchSize);
  const trainCounts = task.labelNames.map((_, label) => train.filter((e) => e.label === label).length);
  const majority = trainCounts.indexOf(Math.max(...trainCounts));
  const majorityBaseline = task.test.filter((e) => e.label === majority).length / task.test.length;
  await folder.saveCheckpoint(step, (dir) => saveModel(join(dir, 'model.safetensors'), model));
  const result: FinetuneResult = {
    task: task.name,
    labelNames: task.labelNames,
    devByEpoch,
    test,
    majorityBaseline,
    trainExamples: train.length,
    stoppedBy: null,
  };
  // The numbers in a machine-readable file: what `sibert-bench reproduce` and scripts read.
  await folder.writeText('result.json', `${JSON.stringify(result, null, 2)}\n`);
  await folder.writeText('summary.md', finetuneSummary(options, result));
  say(
    `test accuracy ${(test.accuracy * 100).toFixed(1)}% (majority class ${(majorityBaseline * 100).toFixed(1)}%), ` +
      `F1 (${task.labelNames[1]}) ${test.f1.toFixed(3)}; run folder ${folder.dir}`,
  );
  for (const p of model.parameters()) p.dispose();
  return result;
}

function finetuneSummary(options: FinetuneOptions, r: FinetuneResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return [
    `# Fine-tuning run: ${r.task}`,
    '',
    `From \`${options.from}\`${options.randomEncoder ? ' (its config and tokenizer; the encoder randomly initialised)' : ''}; ${r.trainExamples} training examples, ${options.epochs} epoch(s), ${options.optimizer} (lr ${options.lr}).`,
    '',
    '| split | accuracy | F1 (' + r.labelNames[1] + ') |',
    '| --- | --- | --- |',
    ...r.devByEpoch.map((d, i) => `| dev, epoch ${i + 1} | ${pct(d.accuracy)} | ${d.f1.toFixed(3)} |`),
    `| test | ${pct(r.test.accuracy)} | ${r.test.f1.toFixed(3)} |`,
    `| test, majority class | ${pct(r.majorityBaseline)} | – |`,
    '',
  ].join('\n');
}
