import { basename, resolve } from 'node:path';
import { classBalance, encodeExamples, Rng, type TaskSplits } from '@sibert/data';
import { labelledTask, MAX_TEXT_CHARS, readLabelledFile, sotuPartyTask, spamTask } from '@sibert/data/node';
import type { BertTokenizer } from '@sibert/tokenizer';
import { dataErrorAsUsage } from './flags.js';
import type { FinetuneOptions, LabelledData } from './options.js';

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
export function absoluteFiles(data: LabelledData): LabelledData {
  return {
    ...data,
    train: resolve(data.train),
    dev: data.dev === null ? null : resolve(data.dev),
    test: data.test === null ? null : resolve(data.test),
  };
}

/** The task read and split, the training subset drawn, and every split encoded. */
export async function encodeTask(
  options: FinetuneOptions,
  tokenizer: BertTokenizer,
  say: (line: string) => void,
) {
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
  return {
    task,
    balance,
    longTexts,
    train,
    trainSet: encode(train),
    devSet: encode(task.dev),
    testSet: encode(task.test),
  };
}
