/**
 * HuggingFace model folders on disk: `readHuggingFace` reads a BERT folder (`config.json`,
 * `model.safetensors` or its shards, `tokenizer.json` or `vocab.txt`) into our config and
 * tensors; `saveHuggingFace` writes one that `transformers`' `BertForMaskedLM` /
 * `BertForSequenceClassification` and Transformers.js load as they are.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BertTokenizer } from '@sibert/tokenizer';
import { type CheckpointableModel, canonicalBertName } from '../checkpoint.js';
import type { ModelConfig } from '../config.js';
import { configFromHuggingFace, huggingFaceFiles } from '../huggingface.js';
import { CheckpointError, type TensorData } from '../safetensors.js';
import { loadSafetensors, writeFileAtomic } from './files.js';

export interface HuggingFaceFolder {
  config: ModelConfig;
  /** Every tensor of the weights file(s), under the file's names (`loadWeights` maps HF's variants). */
  tensors: Map<string, TensorData>;
  /** `architectures[0]` of config.json, e.g. BertForMaskedLM. */
  architecture: string | null;
  /** A sequence classifier's class names (`id2label`, in id order); null for other models. */
  labelNames: string[] | null;
  tokenizer: BertTokenizer;
}

const fail = (file: string, why: string): never => {
  throw new CheckpointError(`${file}: ${why}`, 'readHuggingFace');
};

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return fail(path, 'missing or unreadable');
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'not a JSON object');
    return value;
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    return fail(path, `not valid JSON (${(error as Error).message})`);
  }
}

/** The weights of an HF folder: model.safetensors, or the shards model.safetensors.index.json names. */
async function readWeights(dir: string): Promise<Map<string, TensorData>> {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return (await loadSafetensors(single)).tensors;
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    const index = await readJson(indexPath);
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') fail(indexPath, 'has no weight_map');
    const tensors = new Map<string, TensorData>();
    for (const shard of [...new Set(Object.values(map!))].sort()) {
      for (const [name, t] of (await loadSafetensors(join(dir, shard))).tensors) tensors.set(name, t);
    }
    const absent = Object.keys(map!).filter((name) => !tensors.has(name));
    if (absent.length > 0) fail(indexPath, `names tensors its shards lack: ${absent.slice(0, 5).join(', ')}`);
    return tensors;
  }
  if (existsSync(join(dir, 'pytorch_model.bin')))
    fail(
      dir,
      'holds only pytorch_model.bin (a pickle, which we do not read): convert it to model.safetensors first',
    );
  return fail(dir, 'has no model.safetensors (nor model.safetensors.index.json)');
}

/** The folder's tokenizer: tokenizer.json, else vocab.txt with tokenizer_config.json's do_lower_case. */
async function readTokenizer(dir: string): Promise<BertTokenizer> {
  const json = join(dir, 'tokenizer.json');
  try {
    if (existsSync(json)) return BertTokenizer.fromTokenizerJson(await readFile(json, 'utf8'));
    const vocab = join(dir, 'vocab.txt');
    if (!existsSync(vocab)) return fail(dir, 'has neither tokenizer.json nor vocab.txt');
    const settingsPath = join(dir, 'tokenizer_config.json');
    const settings = existsSync(settingsPath) ? await readJson(settingsPath) : {};
    const lowercase = settings.do_lower_case !== false;
    return BertTokenizer.fromVocab(await readFile(vocab, 'utf8'), {
      lowercase,
      ...(typeof settings.strip_accents === 'boolean' ? { stripAccents: settings.strip_accents } : {}),
    });
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    return fail(dir, `its tokenizer cannot be read (${(error as Error).message})`);
  }
}

/**
 * Reads a HuggingFace BERT (or our exported SIBERT) folder. Weights may be float16 or bfloat16
 * (widened to float32), sharded, with or without the `bert.` prefix, pooler, tied aliases and
 * legacy `LayerNorm.gamma/beta`: `loadWeights` takes them as they are.
 */
export async function readHuggingFace(dir: string): Promise<HuggingFaceFolder> {
  const configPath = join(dir, 'config.json');
  const hf = await readJson(configPath);
  const tensors = await readWeights(dir);
  const hasPooler = [...tensors.keys()].some((name) =>
    canonicalBertName(name).name.startsWith('bert.pooler.'),
  );
  const config = configFromHuggingFace(hf, configPath, hasPooler);
  const tokenizer = await readTokenizer(dir);
  if (tokenizer.vocabSize !== config.vocabSize)
    fail(
      dir,
      `its tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}`,
    );
  const id2label = hf.id2label as Record<string, string> | undefined;
  const architecture = Array.isArray(hf.architectures) ? String(hf.architectures[0]) : null;
  const labelNames =
    architecture?.endsWith('ForSequenceClassification') && id2label
      ? Object.keys(id2label)
          .sort((a, b) => Number(a) - Number(b))
          .map((k) => String(id2label[k]))
      : null;
  return { config, tensors, architecture, labelNames, tokenizer };
}

/** Whether `dir` holds a HuggingFace model (a config.json with a `model_type`). */
export async function isHuggingFaceFolder(dir: string): Promise<boolean> {
  try {
    const value = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    return typeof value?.model_type === 'string';
  } catch {
    return false;
  }
}

/**
 * Writes `model` and its tokenizer as a HuggingFace folder (`huggingFaceFiles`), each file
 * atomically. Returns the files written.
 */
export async function saveHuggingFace(
  dir: string,
  model: CheckpointableModel,
  tokenizer: BertTokenizer,
  options: { labelNames?: readonly string[] } = {},
): Promise<string[]> {
  const files = await huggingFaceFiles(model, tokenizer, options);
  for (const [name, contents] of files) await writeFileAtomic(join(dir, name), contents);
  return files.map(([name]) => name);
}
