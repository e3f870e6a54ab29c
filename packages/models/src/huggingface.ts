/**
 * HuggingFace model folders both ways: `readHuggingFace` reads a BERT folder (`config.json`,
 * `model.safetensors` or its shards, `tokenizer.json` or `vocab.txt`) into our config and
 * tensors; `saveHuggingFace` writes one that `transformers`' `BertForMaskedLM` /
 * `BertForSequenceClassification` and Transformers.js load as they are. A SIBERT folder uses its
 * own `model_type` ("sibert"): no HuggingFace class computes its architecture.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BertTokenizer } from '@sibert/tokenizer';
import { type CheckpointableModel, canonicalBertName, checkpointNames } from './checkpoint.js';
import { type ModelConfig, validateConfig } from './config.js';
import {
  CheckpointError,
  loadSafetensors,
  saveSafetensors,
  type TensorData,
  writeFileAtomic,
} from './safetensors.js';

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

/** HF BertConfig's activations we compute; `gelu_pytorch_tanh` is the same function as `gelu_new`. */
const ACTIVATIONS: Record<string, ModelConfig['hiddenAct']> = {
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
};

/** Our model config from an HF config.json (`hasPooler`: whether the weights hold a pooler). */
export function configFromHuggingFace(
  hf: Record<string, unknown>,
  file: string,
  hasPooler: boolean,
): ModelConfig {
  const modelType = hf.model_type;
  if (modelType === 'sibert') {
    if (typeof hf.sibert_config !== 'object' || hf.sibert_config === null)
      fail(file, "model_type 'sibert' needs the sibert_config our export writes");
    try {
      return validateConfig(hf.sibert_config);
    } catch (error) {
      return fail(file, `sibert_config: ${(error as Error).message}`);
    }
  }
  if (modelType !== 'bert')
    fail(file, `model_type ${JSON.stringify(modelType)} is not 'bert' (or our 'sibert')`);
  const number = (key: string, fallback?: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(file, `${key} must be a number, got ${JSON.stringify(hf[key])}`);
    return v as number;
  };
  const act = String(hf.hidden_act ?? 'gelu');
  const hiddenAct = ACTIVATIONS[act];
  if (!hiddenAct)
    fail(file, `hidden_act '${act}' is not one we compute (${Object.keys(ACTIVATIONS).join(', ')})`);
  // Options of BertConfig we do not implement: refuse rather than compute something else.
  if ((hf.position_embedding_type ?? 'absolute') !== 'absolute')
    fail(
      file,
      `position_embedding_type ${JSON.stringify(hf.position_embedding_type)} is not supported (only 'absolute')`,
    );
  for (const key of ['is_decoder', 'add_cross_attention'])
    if (hf[key] === true) fail(file, `${key}: true is not supported (an encoder only)`);
  const padTokenId = hf.pad_token_id ?? null;
  try {
    return validateConfig({
      family: 'bert',
      vocabSize: number('vocab_size'),
      hiddenSize: number('hidden_size'),
      numLayers: number('num_hidden_layers'),
      numHeads: number('num_attention_heads'),
      intermediateSize: number('intermediate_size'),
      maxPositions: number('max_position_embeddings', 512),
      typeVocabSize: number('type_vocab_size', 2),
      hiddenDropout: number('hidden_dropout_prob', 0.1),
      attentionDropout: number('attention_probs_dropout_prob', 0.1),
      layerNormEps: number('layer_norm_eps', 1e-12),
      initStd: number('initializer_range', 0.02),
      pooler: hasPooler,
      hiddenAct,
      padTokenId,
      classifierPooling: 'cls',
    });
  } catch (error) {
    return fail(file, (error as Error).message);
  }
}

/** The HF config.json of one of our models (BertConfig's fields; SIBERT: ours, under sibert_config). */
export function configToHuggingFace(
  model: CheckpointableModel,
  tokenizer: BertTokenizer,
  labelNames: readonly string[] | null = null,
): Record<string, unknown> {
  const c = model.config;
  const classifier = model.task === 'classification';
  const family = c.family === 'bert' ? 'Bert' : 'Sibert';
  const labels =
    labelNames ?? (classifier ? Array.from({ length: model.numLabels ?? 0 }, (_, i) => `LABEL_${i}`) : null);
  const special = (token: string) => tokenizer.tokenToId(token) ?? null;
  return {
    architectures: [`${family}For${classifier ? 'SequenceClassification' : 'MaskedLM'}`],
    model_type: c.family === 'bert' ? 'bert' : 'sibert',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.family === 'bert' ? c.hiddenAct : 'relu',
    hidden_dropout_prob: c.hiddenDropout,
    attention_probs_dropout_prob: c.attentionDropout,
    max_position_embeddings: c.maxPositions,
    type_vocab_size: c.typeVocabSize,
    initializer_range: c.initStd,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId ?? special('[PAD]') ?? 0,
    position_embedding_type: 'absolute',
    use_cache: true,
    classifier_dropout: null,
    torch_dtype: 'float32',
    ...(labels
      ? {
          id2label: Object.fromEntries(labels.map((name, i) => [String(i), name])),
          label2id: Object.fromEntries(labels.map((name, i) => [name, i])),
        }
      : {}),
    ...(c.family === 'sibert'
      ? {
          sibert_config: c,
          sibert_note:
            'SIBERT (Li et al., ICML 2022): scale-invariant attention, PreNorm, ReLU, no biases before norms; no transformers class computes it. Load with @sibert/models readHuggingFace.',
        }
      : {}),
  };
}

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
 * Writes `model` and its tokenizer as a HuggingFace folder: config.json, model.safetensors (HF's
 * tensor names; the decoder tied, as `save_pretrained` writes it), tokenizer.json, vocab.txt,
 * tokenizer_config.json and special_tokens_map.json. Returns the files written.
 */
export async function saveHuggingFace(
  dir: string,
  model: CheckpointableModel,
  tokenizer: BertTokenizer,
  options: { labelNames?: readonly string[] } = {},
): Promise<string[]> {
  if (tokenizer.vocabSize !== model.config.vocabSize)
    throw new CheckpointError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model a vocabulary of ${model.config.vocabSize}`,
      'saveHuggingFace',
    );
  await mkdir(dir, { recursive: true });
  const tensors = new Map<string, TensorData>();
  const params = new Map(model.namedParameters());
  for (const [path, name] of checkpointNames(model)) {
    const p = params.get(path)!;
    tensors.set(name, { dtype: p.dtype, shape: [...p.shape], data: await p.data() });
  }
  const config = configToHuggingFace(model, tokenizer, options.labelNames ?? null);
  const special = {
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
  const normalizer = tokenizer.config.normalizer;
  const files: [string, string | (() => Promise<void>)][] = [
    ['config.json', `${JSON.stringify(config, null, 2)}\n`],
    ['model.safetensors', () => saveSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' })],
    ['tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson())],
    ['vocab.txt', tokenizer.toVocabTxt()],
    [
      'tokenizer_config.json',
      `${JSON.stringify(
        {
          tokenizer_class: 'BertTokenizer',
          do_lower_case: normalizer.lowercase,
          strip_accents: normalizer.stripAccents,
          tokenize_chinese_chars: normalizer.handleChineseChars,
          model_max_length: model.config.maxPositions,
          ...special,
        },
        null,
        2,
      )}\n`,
    ],
    ['special_tokens_map.json', `${JSON.stringify(special, null, 2)}\n`],
  ];
  for (const [name, contents] of files) {
    if (typeof contents === 'string') await writeFileAtomic(join(dir, name), contents);
    else await contents();
  }
  return files.map(([name]) => name);
}
