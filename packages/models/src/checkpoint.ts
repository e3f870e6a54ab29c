import { type Module, StateDictError } from '@sibert/nn';
import { type Tensor, tensor } from '@sibert/tensor';
import { type ModelConfig, validateConfig } from './config.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type TensorData } from './safetensors.js';

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

/** Every parameter's values under its checkpoint name (`checkpointNames`). */
export async function checkpointTensors(model: CheckpointableModel): Promise<Map<string, TensorData>> {
  const tensors = new Map<string, TensorData>();
  const params = new Map(model.namedParameters());
  for (const [modulePath, name] of checkpointNames(model)) {
    const p = params.get(modulePath)!;
    tensors.set(name, { dtype: p.dtype, shape: [...p.shape], data: await p.data() });
  }
  return tensors;
}

/**
 * A checkpoint's bytes (safetensors): every parameter, with the config in `__metadata__`. What
 * `saveModel` (`@sibert/models/node`) writes to a file; in a page, what a download holds.
 */
export async function encodeModel(
  model: CheckpointableModel,
  extra: Record<string, string> = {},
): Promise<Uint8Array> {
  const metadata: Record<string, string> = {
    ...extra,
    'sibert.format': '1',
    'sibert.task': model.task,
    'sibert.config': JSON.stringify(model.config),
  };
  if (model.numLabels !== undefined) metadata['sibert.numLabels'] = String(model.numLabels);
  return encodeSafetensors(await checkpointTensors(model), metadata);
}

/** Reads checkpoint bytes written by `encodeModel`: config, task and tensors (nothing is built). `source` names them in errors. */
export function decodeModel(bytes: Uint8Array, source: string): CheckpointContents {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const {
    'sibert.format': format,
    'sibert.task': task,
    'sibert.config': configJson,
    'sibert.numLabels': labels,
    ...extra
  } = metadata;
  if (format !== '1' || (task !== 'mlm' && task !== 'classification') || !configJson) {
    throw new CheckpointError(
      `${source} has no SIBERT model metadata (format ${format ?? 'missing'}, task ${task ?? 'missing'})`,
      'decodeModel',
    );
  }
  let config: ModelConfig;
  try {
    config = validateConfig(JSON.parse(configJson));
  } catch (error) {
    throw new CheckpointError(
      `${source} carries an invalid model config: ${(error as Error).message}`,
      'decodeModel',
    );
  }
  return { config, task, ...(labels ? { numLabels: Number(labels) } : {}), tensors, extra };
}

export interface LoadWeightsOptions {
  /** 'all' (default): every parameter must be in the file and nothing else. 'encoder': only `encoder.*`, the rest is ignored. */
  scope?: 'all' | 'encoder';
}

/** What a load did besides assigning: tensors of the file it left aside, parameters it left at their init. */
export interface LoadReport {
  /** File tensors the model has no place for and that are safe to drop (a pooler, tied aliases, HF's NSP head). */
  ignored: string[];
  /** Parameters the file has no tensor for that keep their initialisation (BERT's pooler, as HF does). */
  initialised: string[];
}

/** BERT's pooler: a classifier loads an MLM checkpoint without one by initialising it (HF does the same). */
const POOLER = /^bert\.pooler\./;

/**
 * HuggingFace BERT's variants of a name, mapped to the ones `checkpointNames` gives: no `bert.`
 * prefix (a bare BertModel), TF-era `LayerNorm.gamma`/`beta`. Also says which file tensors may be
 * dropped: the tied aliases `cls.predictions.decoder.{weight,bias}` (a copy of the word embedding
 * and of `cls.predictions.bias`), the next-sentence head of BertForPreTraining, the buffers
 * `position_ids` / `token_type_ids`.
 */
export function canonicalBertName(name: string): { name: string; droppable: boolean } {
  let n = name
    .replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight')
    .replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
  if (/^(embeddings|encoder|pooler)\./.test(n)) n = `bert.${n}`;
  const droppable =
    /^cls\.predictions\.decoder\.(weight|bias)$/.test(n) ||
    /^cls\.seq_relationship\./.test(n) ||
    /^bert\.embeddings\.(position_ids|token_type_ids)$/.test(n);
  return { name: n, droppable };
}

/**
 * Loads checkpoint tensors into `model`, through `Module.loadStateDict`: every missing, unexpected
 * and mis-shaped tensor is listed in one CheckpointError (under checkpoint names) and nothing is
 * assigned unless everything fits. BERT files may use HuggingFace's variants of the names (see
 * `canonicalBertName`).
 */
export function loadWeights(
  model: CheckpointableModel,
  fileTensors: ReadonlyMap<string, TensorData>,
  options: LoadWeightsOptions = {},
): LoadReport {
  const inScope = (path: string) => options.scope !== 'encoder' || path.startsWith('encoder.');
  const report: LoadReport = { ignored: [], initialised: [] };
  const tensors = new Map<string, TensorData>();
  for (const [name, data] of fileTensors) {
    const canonical = model.config.family === 'bert' ? canonicalBertName(name) : { name, droppable: false };
    if (canonical.droppable) report.ignored.push(name);
    else tensors.set(canonical.name, data);
  }
  const names = checkpointNames(model);
  const pathOf = new Map([...names].map(([path, name]) => [name, path]));
  // A parameter given itself keeps its value: those outside the scope, and a pooler the file lacks.
  const state = new Map<string, Tensor>();
  for (const [path, p] of model.namedParameters()) {
    const name = names.get(path)!;
    if (!inScope(path)) state.set(path, p);
    else if (!tensors.has(name) && POOLER.test(name)) {
      report.initialised.push(name);
      state.set(path, p);
    }
  }
  const loaded: Tensor[] = [];
  const put = (key: string, entry: TensorData) => {
    const value = tensor(entry.data, entry.shape, entry.dtype);
    loaded.push(value);
    state.set(key, value);
  };
  try {
    for (const [name, entry] of tensors) {
      const path = pathOf.get(name);
      if (path !== undefined) {
        if (inScope(path)) put(path, entry);
      } else if (POOLER.test(name)) report.ignored.push(name);
      // An unknown name goes in under itself, so that loadStateDict reports it as unexpected.
      else if (options.scope !== 'encoder') put(name, entry);
    }
    model.loadStateDict(state);
  } catch (error) {
    if (error instanceof StateDictError) throw misfit(error, names);
    throw error;
  } finally {
    for (const value of loaded) value.dispose();
  }
  return report;
}

/** A StateDictError told under checkpoint names (BERT's are HuggingFace's, not module paths). */
function misfit(error: StateDictError, names: ReadonlyMap<string, string>): CheckpointError {
  const named = (path: string) => names.get(path) ?? path;
  // nn describes a mis-shaped entry as "<path> expected …, got …".
  const mismatched = error.mismatched.map((entry) => entry.replace(/^\S+/, named));
  const parts = [
    error.missing.length ? `missing ${error.missing.length}: ${error.missing.map(named).join(', ')}` : '',
    error.unexpected.length ? `unexpected ${error.unexpected.length}: ${error.unexpected.join(', ')}` : '',
    mismatched.length ? `mis-shaped ${mismatched.length}: ${mismatched.join('; ')}` : '',
  ];
  return new CheckpointError(
    `the checkpoint does not fit the model (${parts.filter(Boolean).join(' | ')})`,
    'loadWeights',
  );
}
