import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelConfig, type TensorData, validateConfig } from '@sibert/models';
import { type readCheckpoint, readHuggingFace } from '@sibert/models/node';
import { BertTokenizer } from '@sibert/tokenizer';
import { MODEL_FILE, type RunConfig, RunFolder, type RunKind, readModelFile } from '@sibert/train/node';
import { UsageError } from './flags.js';

/** Where a fine-tuning run's encoder comes from: a pretraining run's checkpoint or a HuggingFace folder. */
export interface EncoderSource {
  tokenizer: BertTokenizer;
  /** The model file (or HuggingFace folder) read. */
  path: string;
  /** The step the checkpoint records (0 for a HuggingFace folder). */
  step: number;
  contents: { config: ModelConfig; tensors: Map<string, TensorData> };
}

/** A run read for `eval`, `predict` or `finetune --from`: its newest checkpoint, checked. */
export interface PretrainedRun extends EncoderSource {
  folder: RunFolder;
  config: RunConfig;
  contents: Awaited<ReturnType<typeof readCheckpoint>>;
}

/** A HuggingFace BERT folder (or our SIBERT export) as the encoder source of `finetune --from`. */
export async function readHuggingFaceSource(dir: string, flag: string): Promise<EncoderSource> {
  try {
    const hf = await readHuggingFace(dir);
    return {
      tokenizer: hf.tokenizer,
      path: dir,
      step: 0,
      contents: { config: hf.config, tensors: hf.tensors },
    };
  } catch (error) {
    throw new UsageError(`${flag} ${dir}: ${(error as Error).message.replace(/^readHuggingFace: /, '')}`);
  }
}

/** The newest complete checkpoint of the pretraining run in `dir` (see `readRun`). */
export function readPretrainedRun(dir: string, flag: string): Promise<PretrainedRun> {
  return readRun(dir, flag, 'pretrain');
}

/**
 * The newest complete checkpoint of the run of `kind` in `dir`, checked against the run: the
 * model its config.json describes, finite weights, and a tokenizer.json of the model's
 * vocabulary (a fine-tuning run written before it kept its own: the pretraining run's).
 */
export async function readRun(dir: string, flag: string, kind: RunKind): Promise<PretrainedRun> {
  const { folder, config } = await RunFolder.existing(dir, kind, flag);
  const latest = await folder.latestCheckpoint();
  if (!latest) throw new UsageError(`${flag} ${dir} has no checkpoint yet`);
  const path = join(latest.folder, MODEL_FILE);
  const stored = config.model === undefined ? undefined : validateConfig(config.model);
  const contents = await readModelFile(path, stored);
  const pretrainedFolder = (config.pretrained as { folder?: string } | undefined)?.folder;
  const tokenizerPath =
    kind === 'finetune' && !existsSync(folder.path('tokenizer.json')) && pretrainedFolder
      ? join(pretrainedFolder, 'tokenizer.json')
      : folder.path('tokenizer.json');
  const tokenizerText = await readFile(tokenizerPath, 'utf8').catch(() => {
    throw new UsageError(`${flag}: ${tokenizerPath} is missing or unreadable`);
  });
  let tokenizer: BertTokenizer;
  try {
    tokenizer = BertTokenizer.fromTokenizerJson(tokenizerText);
  } catch (error) {
    throw new UsageError(`${flag}: ${tokenizerPath} is not a tokenizer (${(error as Error).message})`);
  }
  if (tokenizer.vocabSize !== contents.config.vocabSize)
    throw new UsageError(
      `${flag}: ${tokenizerPath} has ${tokenizer.vocabSize} tokens but the model in ${path} has a vocabulary of ${contents.config.vocabSize}`,
    );
  const step = Number(contents.extra.step ?? latest.step);
  return { folder, config, tokenizer, path, step, contents };
}
