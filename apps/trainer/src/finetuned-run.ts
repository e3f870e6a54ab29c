import { SequenceClassifier } from '@sibert/models';
import type { BertTokenizer } from '@sibert/tokenizer';
import { loadWithPath } from '@sibert/train/node';
import { readRun } from './checkpoint.js';
import type { FinetuneOptions } from './options.js';

/** A fine-tuning run loaded for `eval` and `predict`: its classifier, tokenizer and classes. */
export interface FinetunedRun {
  options: FinetuneOptions;
  taskName: string;
  labelNames: string[];
  /** Training examples per class, in `labelNames` order: the majority-class baseline. */
  trainClassCounts: number[];
  tokenizer: BertTokenizer;
  /** In eval mode. */
  model: SequenceClassifier;
  /** The text fields to read: the given ones, else the run's own, else `text`. */
  fields(given: { textField: string | null; textPairField: string | null }): {
    textField: string;
    textPairField?: string;
  };
  dispose(): void;
}

interface StoredTask {
  name: string;
  labelNames: string[];
  classBalance: { train: Record<string, number> };
}

/** Reads the fine-tuning run in `dir`; call after the backend is chosen (the model is built on it). */
export async function readFinetunedRun(dir: string, flag: string): Promise<FinetunedRun> {
  const run = await readRun(dir, flag, 'finetune');
  const options = run.config.options as FinetuneOptions;
  const task = run.config.task as StoredTask;
  const model = new SequenceClassifier(run.contents.config, task.labelNames.length);
  loadWithPath(model, run.contents.tensors, run.path);
  model.eval();
  return {
    options,
    taskName: task.name,
    labelNames: task.labelNames,
    trainClassCounts: task.labelNames.map((name) => task.classBalance.train[name] ?? 0),
    tokenizer: run.tokenizer,
    model,
    fields(given) {
      const textPairField = given.textPairField ?? options.data?.textPairField ?? null;
      return {
        textField: given.textField ?? options.data?.textField ?? 'text',
        ...(textPairField === null ? {} : { textPairField }),
      };
    },
    dispose() {
      model.dispose();
    },
  };
}
