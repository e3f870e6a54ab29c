import { SI_NORM_EPS } from '@sibert/scale-invariant';
import { RangeArgumentError } from '@sibert/tensor';

export type ModelFamily = 'bert' | 'sibert';
export type PresetSize = 'tiny' | 'mini' | 'small' | 'base';
export type ModelName = `${ModelFamily}-${PresetSize}`;

/** Everything needed to build a model; JSON-serialisable (it travels in checkpoint metadata). */
export interface ModelConfig {
  family: ModelFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /**
   * Segment types (BERT: 2). SIBERT presets have none (0): with one segment the type embedding
   * is a shared offset before the embedding LayerNorm, which plain SGD inflates until it drowns
   * the word embeddings (see @sibert/scale-invariant's SIEmbedding).
   */
  typeVocabSize: number;
  /** Dropout on embeddings and residual branches. */
  hiddenDropout: number;
  /** Dropout on attention weights. */
  attentionDropout: number;
  /** LayerNorm epsilon (BERT uses 1e-12). */
  layerNormEps: number;
  /** Standard deviation of the truncated-normal initialisation (BERT: 0.02). */
  initStd: number;
  /**
   * BERT only: a sequence classifier's encoder has the pooler (dense + tanh over [CLS]). The MLM
   * model never builds one (MLM without next-sentence prediction gives it no gradient), as HF's
   * BertForMaskedLM.
   */
  pooler: boolean;
  /** BERT's GELU: 'gelu' (exact erf, HF's default) or 'gelu_new' (the tanh approximation). */
  hiddenAct: 'gelu' | 'gelu_new';
  /** The [PAD] id: its word embedding row starts at zero and gets no gradient (HF's padding_idx); null: none. */
  padTokenId: number | null;
  /**
   * What a sequence classifier reads: 'cls', the [CLS] state (BERT: its pooler output), as the
   * paper; or 'mean', the mean over real tokens, which works better after short MLM-only
   * pretraining, where nothing teaches [CLS] to summarise the sequence.
   */
  classifierPooling: 'cls' | 'mean';
  /**
   * The MLM head: 'standard' (BERT's and the paper's: dense → GELU → LayerNorm → decoder, trained
   * by an adaptive optimizer) or, SIBERT only, 'scale-invariant' (ScaleInvariantMlmHead: trainable
   * by plain SGD, no optimizer state anywhere; not the paper's architecture).
   */
  mlmHead: 'standard' | 'scale-invariant';
}

const SIZES: Record<
  PresetSize,
  Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'intermediateSize'>
> = {
  tiny: { numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 },
  mini: { numLayers: 4, hiddenSize: 256, numHeads: 4, intermediateSize: 1024 },
  small: { numLayers: 4, hiddenSize: 512, numHeads: 8, intermediateSize: 2048 },
  base: { numLayers: 12, hiddenSize: 768, numHeads: 12, intermediateSize: 3072 },
};

export const MODEL_NAMES: readonly ModelName[] = (['bert', 'sibert'] as const).flatMap((family) =>
  (Object.keys(SIZES) as PresetSize[]).map((size) => `${family}-${size}` as ModelName),
);

/**
 * The config of a preset (`sibert-tiny`, `bert-base`, …) with the vocabulary size taken from the
 * tokenizer and any overrides; validated.
 */
export function presetConfig(
  name: string,
  vocabSize: number,
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  const [family, size] = name.split('-') as [string, string | undefined];
  const sizes = size ? SIZES[size as PresetSize] : undefined;
  if ((family !== 'bert' && family !== 'sibert') || !sizes) {
    throw new RangeArgumentError(
      `unknown model '${name}'; expected one of ${MODEL_NAMES.join(', ')}`,
      'presetConfig',
    );
  }
  return validateConfig({
    family,
    vocabSize,
    ...sizes,
    maxPositions: 512,
    typeVocabSize: family === 'bert' ? 2 : 0,
    hiddenDropout: 0.1,
    attentionDropout: 0.1,
    // SIBERT's norms need a tiny eps to stay invariant when parameters shrink (see SI_NORM_EPS).
    layerNormEps: family === 'bert' ? 1e-12 : SI_NORM_EPS,
    initStd: 0.02,
    pooler: family === 'bert',
    hiddenAct: 'gelu',
    // Our WordPiece vocabularies put [PAD] first, as BERT's; SIBERT's embedding stage has no padding row.
    padTokenId: family === 'bert' ? 0 : null,
    classifierPooling: 'cls',
    mlmHead: 'standard',
    ...overrides,
  });
}

const KEYS: readonly (keyof ModelConfig)[] = [
  'family',
  'vocabSize',
  'hiddenSize',
  'numLayers',
  'numHeads',
  'intermediateSize',
  'maxPositions',
  'typeVocabSize',
  'hiddenDropout',
  'attentionDropout',
  'layerNormEps',
  'initStd',
  'pooler',
  'hiddenAct',
  'padTokenId',
  'classifierPooling',
  'mlmHead',
];

/** Keys added after the first checkpoints were written, with the value those checkpoints meant. */
const LATER_KEYS: Partial<ModelConfig> = {
  classifierPooling: 'cls',
  hiddenAct: 'gelu',
  padTokenId: null,
  mlmHead: 'standard',
};

/** Checks a config (for example one read from JSON) and returns it typed; every problem is listed. */
export function validateConfig(value: unknown): ModelConfig {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null) {
    throw new RangeArgumentError(`expected a model config object, got ${String(value)}`, 'validateConfig');
  }
  const config = value as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!KEYS.includes(key as keyof ModelConfig)) problems.push(`unknown key '${key}'`);
  }
  for (const key of KEYS) if (!(key in config) && !(key in LATER_KEYS)) problems.push(`missing '${key}'`);
  if (config.family !== 'bert' && config.family !== 'sibert') {
    problems.push(`family must be 'bert' or 'sibert', got ${JSON.stringify(config.family)}`);
  }
  for (const key of [
    'vocabSize',
    'hiddenSize',
    'numLayers',
    'numHeads',
    'intermediateSize',
    'maxPositions',
  ] as const) {
    const v = config[key];
    if (key in config && !(Number.isInteger(v) && (v as number) > 0))
      problems.push(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  // BERT always adds a token-type embedding; SIBERT may have none.
  const minTypes = config.family === 'sibert' ? 0 : 1;
  if (
    'typeVocabSize' in config &&
    !(Number.isInteger(config.typeVocabSize) && (config.typeVocabSize as number) >= minTypes)
  )
    problems.push(
      `typeVocabSize must be an integer ≥ ${minTypes}, got ${JSON.stringify(config.typeVocabSize)}`,
    );
  for (const key of ['hiddenDropout', 'attentionDropout'] as const) {
    const v = config[key];
    if (key in config && !(typeof v === 'number' && v >= 0 && v < 1))
      problems.push(`${key} must be in [0, 1), got ${JSON.stringify(v)}`);
  }
  for (const key of ['layerNormEps', 'initStd'] as const) {
    const v = config[key];
    if (key in config && !(typeof v === 'number' && v > 0))
      problems.push(`${key} must be a positive number, got ${JSON.stringify(v)}`);
  }
  if ('pooler' in config && typeof config.pooler !== 'boolean')
    problems.push(`pooler must be a boolean, got ${JSON.stringify(config.pooler)}`);
  if ('hiddenAct' in config && config.hiddenAct !== 'gelu' && config.hiddenAct !== 'gelu_new')
    problems.push(`hiddenAct must be 'gelu' or 'gelu_new', got ${JSON.stringify(config.hiddenAct)}`);
  const pad = config.padTokenId;
  if (
    'padTokenId' in config &&
    pad !== null &&
    !(Number.isInteger(pad) && (pad as number) >= 0 && (pad as number) < (config.vocabSize as number))
  )
    problems.push(`padTokenId must be null or an id in [0, vocabSize), got ${JSON.stringify(pad)}`);
  if ('mlmHead' in config && config.mlmHead !== 'standard' && config.mlmHead !== 'scale-invariant')
    problems.push(`mlmHead must be 'standard' or 'scale-invariant', got ${JSON.stringify(config.mlmHead)}`);
  if (config.family === 'bert' && config.mlmHead === 'scale-invariant')
    problems.push("mlmHead 'scale-invariant' is SIBERT's: BERT's decoder is tied to its word embeddings");
  if (config.family === 'sibert' && config.hiddenAct === 'gelu_new')
    problems.push("hiddenAct 'gelu_new' is BERT's; SIBERT's feed-forward uses ReLU");
  const hidden = config.hiddenSize as number;
  const heads = config.numHeads as number;
  if (Number.isInteger(hidden) && Number.isInteger(heads) && heads > 0 && hidden % heads !== 0) {
    problems.push(`hiddenSize (${hidden}) must be divisible by numHeads (${heads})`);
  }
  if (problems.length > 0) {
    throw new RangeArgumentError(`invalid model config: ${problems.join('; ')}`, 'validateConfig');
  }
  // Configs written before a key existed mean what the code did then.
  return { ...LATER_KEYS, ...config } as unknown as ModelConfig;
}
