import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  encodeExamples,
  type MlmBatch,
  maskedLabels,
  type TaskExample,
  UnigramModel,
  type UnigramScore,
} from '@sibert/data';
import { labelledExamples, readLabelledFile } from '@sibert/data/node';
import { MaskedLanguageModel } from '@sibert/models';
import { writeFileAtomic } from '@sibert/models/node';
import type { BertTokenizer } from '@sibert/tokenizer';
import { loadWithPath, type RunConfig, RunFolder } from '@sibert/train/node';
import { readPretrainedRun } from './checkpoint.js';
import { perClassTable, type SplitScores, scoreSplit } from './classify.js';
import { loadTask } from './finetune-data.js';
import { readFinetunedRun } from './finetuned-run.js';
import { dataErrorAsUsage, UsageError } from './flags.js';
import { type MlmScore, scoreMlm } from './mlm.js';
import { type EvalOptions, type PretrainOptions, parseEval } from './options.js';
import {
  checkTextFiles,
  PretrainData,
  resolveTextFiles,
  type TextFileRecord,
  textEvaluationBatches,
  textSourceOf,
  UNIGRAM_FILE,
  withTextDefaults,
} from './pretrain-data.js';
import { useBackend } from './setup.js';

/** A run has left the unigram plateau once its held-out loss is this many nats below the baseline. */
export const PLATEAU_MARGIN = 0.5;

export interface EvalResult extends MlmScore {
  step: number;
  sequences: number;
  /** The unigram model of the run's training tokens on the same masked positions. */
  baseline: UnigramScore;
  /** baseline.loss − loss: how far below the plateau the run is (negative: above it). */
  belowBaseline: number;
  leftPlateau: boolean;
}

/** The held-out score set against the unigram baseline. */
export function againstBaseline(
  score: MlmScore,
  baseline: UnigramScore,
): Pick<EvalResult, 'baseline' | 'belowBaseline' | 'leftPlateau'> {
  const belowBaseline = baseline.loss - score.loss;
  return { baseline, belowBaseline, leftPlateau: belowBaseline >= PLATEAU_MARGIN };
}

/** One sentence on where a run stands against the unigram plateau. */
export function plateauVerdict(result: Pick<EvalResult, 'loss' | 'baseline' | 'belowBaseline'>): string {
  const gap = Math.abs(result.belowBaseline).toFixed(3);
  const base = `the unigram baseline (word frequencies alone: ${result.baseline.loss.toFixed(4)})`;
  if (result.belowBaseline >= PLATEAU_MARGIN)
    return `The model has left the unigram plateau: held-out loss ${result.loss.toFixed(4)} is ${gap} nats below ${base}, so it uses context.`;
  if (result.belowBaseline > 0)
    return `The model has not left the unigram plateau yet: held-out loss ${result.loss.toFixed(4)} is ${gap} nats below ${base}; it has left it at ${PLATEAU_MARGIN} or more.`;
  return `The model has not reached the unigram plateau: held-out loss ${result.loss.toFixed(4)} is ${gap} nats above ${base}.`;
}

/** One line of held-out numbers with the baseline beside them. */
export function formatEval(result: EvalResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return (
    `held-out MLM at step ${result.step}: loss ${result.loss.toFixed(4)} (unigram baseline ${result.baseline.loss.toFixed(4)}, ` +
    `${result.belowBaseline >= 0 ? `${result.belowBaseline.toFixed(3)} nats below` : `${(-result.belowBaseline).toFixed(3)} nats above`}), ` +
    `masked-token accuracy ${pct(result.maskedAccuracy)} (unigram ${pct(result.baseline.accuracy)}); ` +
    `${result.maskedTokens} masked tokens in ${result.sequences} sequences`
  );
}

/**
 * `sibert-train eval`: a pretraining run's MLM loss and masked-token accuracy on its held-out
 * documents (or on any `--text`), beside the unigram model of its training tokens on the same
 * masked positions; a fine-tuning run's classification metrics on its test split (or `--test`).
 */
export async function evalCommand(
  argv: readonly string[],
  out: NodeJS.WriteStream = process.stdout,
): Promise<EvalResult | ClassifierEval> {
  const options = parseEval(argv);
  const { kind } = await RunFolder.readConfig(options.from).catch((error: Error) => {
    throw new UsageError(`--from: ${error.message}`);
  });
  if (kind === 'finetune') {
    if (options.text.length > 0)
      throw new UsageError(
        `--text scores a pretraining run; ${options.from} is a fine-tuning run (use --test FILE)`,
      );
    return evalClassifier(options, out);
  }
  if (options.test !== null)
    throw new UsageError(
      `--test scores a fine-tuning run; ${options.from} is a pretraining run (use --text FILE…)`,
    );
  return evalMlm(options, out);
}

/** The run's training data rebuilt from its config (its text files checked first). */
async function rebuildRunData(
  run: PretrainOptions,
  config: RunConfig,
  tokenizer: BertTokenizer,
): Promise<PretrainData> {
  const files = (config.textFiles as TextFileRecord[] | undefined) ?? [];
  await checkTextFiles(files).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  return PretrainData.build({
    tokenizer: tokenizer.toTokenizerJson(),
    corpora: run.corpora,
    text: textSourceOf(run, files),
    seqLen: run.seqLen,
    batchSize: run.batchSize,
    seed: run.seed,
    maxSequences: run.maxSequences,
  });
}

async function evalMlm(options: EvalOptions, out: NodeJS.WriteStream): Promise<EvalResult> {
  const { folder, config, contents, step, tokenizer, path } = await readPretrainedRun(options.from, '--from');
  const run = withTextDefaults(config.options as PretrainOptions);
  await useBackend(options.backend);
  const model = new MaskedLanguageModel(contents.config);
  loadWithPath(model, contents.tensors, path);
  let batches: MlmBatch[];
  let sequences: number;
  let unigram: UnigramModel;
  let what: string;
  if (options.text.length > 0) {
    const files = await resolveTextFiles(options.text).catch((error: Error) => {
      throw new UsageError(error.message);
    });
    const text = await textEvaluationBatches(
      {
        files: files.map((f) => f.path),
        textField: options.textField ?? run.textField,
        encoding: options.encoding,
      },
      tokenizer,
      run.seqLen,
      options.batchSize,
    ).catch((error: Error) => {
      throw dataErrorAsUsage(error);
    });
    if (text.sequences === 0)
      throw new UsageError(`--text: the files hold no text (${files.length} file(s))`);
    ({ batches, sequences } = text);
    unigram = await runUnigram(folder, () => rebuildRunData(run, config, tokenizer));
    what = `${text.counts.documents.toLocaleString('en-US')} documents of ${files.length} file(s)`;
  } else {
    // The training sequences are built too: the held-out split and the baseline come from them.
    const data = await rebuildRunData(run, config, tokenizer);
    batches = data.heldOutBatches(options.batchSize);
    sequences = data.heldOut.length;
    unigram = data.unigram;
    what = 'the held-out documents';
  }
  const score = await scoreMlm(model, batches);
  if (!Number.isFinite(score.loss))
    throw new Error(`the loss of ${options.from} at step ${step} is ${score.loss}: the model is broken`);
  const result: EvalResult = {
    step,
    ...score,
    sequences,
    ...againstBaseline(score, unigram.score(maskedLabels(batches))),
  };
  if (options.text.length === 0) {
    await writeFileAtomic(folder.path('eval.json'), `${JSON.stringify(result, null, 2)}\n`);
    out.write(`${formatEval(result)}\n${plateauVerdict(result)}\nwritten to ${folder.path('eval.json')}\n`);
  } else {
    out.write(
      `${formatEval(result).replace(/^held-out MLM/, `MLM on ${what}`)}\n${plateauVerdict(result).replace('held-out loss', 'loss')}\n`,
    );
  }
  model.dispose();
  return result;
}

/** The unigram model of a run's training tokens: its `unigram.json`, or refitted for a run written before it kept one. */
async function runUnigram(folder: RunFolder, rebuild: () => Promise<PretrainData>): Promise<UnigramModel> {
  const path = folder.path(UNIGRAM_FILE);
  if (!existsSync(path)) return (await rebuild()).unigram;
  try {
    return UnigramModel.fromJSON(JSON.parse(await readFile(path, 'utf8')));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
}

export interface ClassifierEval {
  task: string;
  file: string | null;
  scores: SplitScores;
  majorityClass: string;
  majorityBaseline: number;
}

async function evalClassifier(options: EvalOptions, out: NodeJS.WriteStream): Promise<ClassifierEval> {
  await useBackend(options.backend);
  const run = await readFinetunedRun(options.from, '--from');
  const runOptions = run.options;
  let examples: TaskExample[];
  if (options.test !== null) {
    const fields = run.fields(options);
    const file = await readLabelledFile(options.test, {
      ...fields,
      labelField: options.labelField ?? runOptions.data?.labelField ?? 'label',
      encoding: options.encoding,
    }).catch((error: Error) => {
      throw dataErrorAsUsage(error);
    });
    try {
      examples = labelledExamples(file, run.labelNames);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  } else {
    const { task } = await loadTask(runOptions).catch((error: Error) => {
      throw error.name === 'DataFileError'
        ? new UsageError(`the run's own test split: ${error.message}`)
        : error;
    });
    examples = [...task.test];
  }
  const trainLabels = run.trainClassCounts;
  const split = encodeExamples(examples, run.tokenizer, { maxLength: runOptions.maxLength });
  const scores = await scoreSplit(run.model, split, run.labelNames, options.batchSize);
  const majority = trainLabels.indexOf(Math.max(...trainLabels));
  const majorityBaseline = examples.filter((e) => e.label === majority).length / examples.length;
  const result: ClassifierEval = {
    task: run.taskName,
    file: options.test,
    scores,
    majorityClass: run.labelNames[majority]!,
    majorityBaseline,
  };
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  out.write(
    [
      `${options.test ?? `${run.taskName} test split`}: ${examples.length} examples; accuracy ${pct(scores.accuracy)} (majority class ${result.majorityClass}: ${pct(majorityBaseline)}), macro-F1 ${scores.macroF1.toFixed(3)}`,
      ...perClassTable(scores),
      '',
    ].join('\n'),
  );
  run.dispose();
  return result;
}
