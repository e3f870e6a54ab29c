import type { Module, Parameter } from '@sibert/nn';
import { formatShape, type Tensor, tensor } from '@sibert/tensor';
import { type ModelConfig, validateConfig } from './config.js';
import { CheckpointError, loadSafetensors, saveSafetensors, type TensorData } from './safetensors.js';

/**
 * Checkpoint names. SIBERT tensors keep their module paths; BERT tensors get HuggingFace's names
 * (`bert.encoder.layer.0.attention.self.query.weight`, `cls.predictions.transform.dense.weight`,
 * `classifier.weight`), so a BERT checkpoint loads in other tools.
 */
const HF_BERT_RULES: [RegExp, string][] = [
  [/^encoder\.embeddings\.wordEmbeddings\./, 'bert.embeddings.word_embeddings.'],
  [/^encoder\.embeddings\.positionEmbeddings\./, 'bert.embeddings.position_embeddings.'],
  [/^encoder\.embeddings\.tokenTypeEmbeddings\./, 'bert.embeddings.token_type_embeddings.'],
  [/^encoder\.embeddings\.layerNorm\./, 'bert.embeddings.LayerNorm.'],
  [/^encoder\.layers\.(\d+)\.attention\.(query|key|value)\./, 'bert.encoder.layer.$1.attention.self.$2.'],
  [/^encoder\.layers\.(\d+)\.attention\.output\./, 'bert.encoder.layer.$1.attention.output.dense.'],
  [/^encoder\.layers\.(\d+)\.attentionNorm\./, 'bert.encoder.layer.$1.attention.output.LayerNorm.'],
  [/^encoder\.layers\.(\d+)\.feedForward\.intermediate\./, 'bert.encoder.layer.$1.intermediate.dense.'],
  [/^encoder\.layers\.(\d+)\.feedForward\.output\./, 'bert.encoder.layer.$1.output.dense.'],
  [/^encoder\.layers\.(\d+)\.outputNorm\./, 'bert.encoder.layer.$1.output.LayerNorm.'],
  [/^encoder\.pooler\./, 'bert.pooler.dense.'],
  [/^head\.transform\./, 'cls.predictions.transform.dense.'],
  [/^head\.transformNorm\./, 'cls.predictions.transform.LayerNorm.'],
  [/^head\.bias$/, 'cls.predictions.bias'],
  [/^head\.classifier\./, 'classifier.'],
];

/** A model with an `encoder` and a `head`, and the config it was built from. */
export interface CheckpointableModel extends Module {
  readonly config: ModelConfig;
  readonly task: 'mlm' | 'classification';
  readonly numLabels?: number;
}

/** Module path → checkpoint name, for every parameter of `model`. */
export function checkpointNames(model: CheckpointableModel): Map<string, string> {
  const names = new Map<string, string>();
  for (const [path] of model.namedParameters()) {
    let name = path;
    if (model.config.family === 'bert') {
      const rule = HF_BERT_RULES.find(([pattern]) => pattern.test(path));
      if (!rule) throw new CheckpointError(`no HuggingFace name for parameter '${path}'`, 'checkpointNames');
      name = path.replace(rule[0], rule[1]);
    }
    names.set(path, name);
  }
  return names;
}

export interface CheckpointContents {
  config: ModelConfig;
  task: 'mlm' | 'classification';
  numLabels?: number;
  tensors: Map<string, TensorData>;
  /** Metadata entries beyond the model's own (`sibert.*`) ones. */
  extra: Record<string, string>;
}

/** Saves every parameter (safetensors, atomically) with the config in `__metadata__`. */
export async function saveModel(
  path: string,
  model: CheckpointableModel,
  extra: Record<string, string> = {},
): Promise<void> {
  const tensors = new Map<string, TensorData>();
  const params = new Map(model.namedParameters());
  for (const [modulePath, name] of checkpointNames(model)) {
    const p = params.get(modulePath)!;
    tensors.set(name, { dtype: p.dtype, shape: [...p.shape], data: await p.data() });
  }
  const metadata: Record<string, string> = {
    ...extra,
    'sibert.format': '1',
    'sibert.task': model.task,
    'sibert.config': JSON.stringify(model.config),
  };
  if (model.numLabels !== undefined) metadata['sibert.numLabels'] = String(model.numLabels);
  await saveSafetensors(path, tensors, metadata);
}

/** Reads a checkpoint written by `saveModel`: its config, task and tensors (nothing is built). */
export async function readCheckpoint(path: string): Promise<CheckpointContents> {
  const { tensors, metadata } = await loadSafetensors(path);
  const {
    'sibert.format': format,
    'sibert.task': task,
    'sibert.config': configJson,
    'sibert.numLabels': labels,
    ...extra
  } = metadata;
  if (format !== '1' || (task !== 'mlm' && task !== 'classification') || !configJson) {
    throw new CheckpointError(
      `${path} has no SIBERT model metadata (format ${format ?? 'missing'}, task ${task ?? 'missing'})`,
      'readCheckpoint',
    );
  }
  let config: ModelConfig;
  try {
    config = validateConfig(JSON.parse(configJson));
  } catch (error) {
    throw new CheckpointError(
      `${path} carries an invalid model config: ${(error as Error).message}`,
      'readCheckpoint',
    );
  }
  return { config, task, ...(labels ? { numLabels: Number(labels) } : {}), tensors, extra };
}

export interface LoadWeightsOptions {
  /** 'all' (default): every parameter must be in the file and nothing else. 'encoder': only `encoder.*`, the rest is ignored. */
  scope?: 'all' | 'encoder';
}

/**
 * Loads checkpoint tensors into `model`. Names and shapes are checked first and every mismatch is
 * listed in one CheckpointError; nothing is assigned unless everything fits.
 */
export function loadWeights(
  model: CheckpointableModel,
  tensors: ReadonlyMap<string, TensorData>,
  options: LoadWeightsOptions = {},
): void {
  const scope = options.scope ?? 'all';
  const params = new Map<string, Parameter>(model.namedParameters());
  const names = [...checkpointNames(model)].filter(
    ([path]) => scope === 'all' || path.startsWith('encoder.'),
  );
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [path, name] of names) {
    const entry = tensors.get(name);
    const p = params.get(path)!;
    if (!entry) missing.push(name);
    else if (formatShape(entry.shape) !== formatShape(p.shape) || entry.dtype !== p.dtype) {
      mismatched.push(
        `${name}: model ${p.dtype} ${formatShape(p.shape)}, file ${entry.dtype} ${formatShape(entry.shape)}`,
      );
    }
  }
  const wanted = new Set(names.map(([, name]) => name));
  const unexpected = scope === 'all' ? [...tensors.keys()].filter((name) => !wanted.has(name)) : [];
  if (missing.length + mismatched.length + unexpected.length > 0) {
    const parts = [
      missing.length ? `missing ${missing.length}: ${missing.join(', ')}` : '',
      unexpected.length ? `unexpected ${unexpected.length}: ${unexpected.join(', ')}` : '',
      mismatched.length ? `mis-shaped ${mismatched.length}: ${mismatched.join('; ')}` : '',
    ];
    throw new CheckpointError(
      `the checkpoint does not fit the model (${parts.filter(Boolean).join(' | ')})`,
      'loadWeights',
    );
  }
  const values = new Map<string, Tensor>();
  try {
    for (const [path, name] of names) {
      const entry = tensors.get(name)!;
      const target = params.get(path)!.backend;
      const value = tensor(entry.data, entry.shape, entry.dtype);
      values.set(path, value);
      if (value.backend !== target) {
        values.set(path, value.to(target));
        value.dispose();
      }
    }
    model.loadStateDict(values, { strict: scope === 'all' });
  } finally {
    for (const t of values.values()) t.dispose();
  }
}
