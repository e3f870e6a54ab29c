/**
 * HuggingFace's BERT formats without files: our config from an HF `config.json` and back, and the
 * files of an HF model folder as bytes (a page can offer them as downloads). Reading and writing
 * folders on disk is `@sibert/models/node` (`readHuggingFace`, `saveHuggingFace`). A SIBERT folder
 * uses its own `model_type` ("sibert"): no HuggingFace class computes its architecture.
 */
import type { BertTokenizer } from '@sibert/tokenizer';
import { type CheckpointableModel, checkpointTensors } from './checkpoint.js';
import { type ModelConfig, validateConfig } from './config.js';
import { CheckpointError, encodeSafetensors } from './safetensors.js';

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

/**
 * The files of a HuggingFace folder for `model` and its tokenizer, in writing order: config.json,
 * model.safetensors (HF's tensor names; the decoder tied, as `save_pretrained` writes it),
 * tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json.
 */
export async function huggingFaceFiles(
  model: CheckpointableModel,
  tokenizer: BertTokenizer,
  options: { labelNames?: readonly string[] } = {},
): Promise<[name: string, contents: Uint8Array | string][]> {
  if (tokenizer.vocabSize !== model.config.vocabSize)
    throw new CheckpointError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model a vocabulary of ${model.config.vocabSize}`,
      'huggingFaceFiles',
    );
  const config = configToHuggingFace(model, tokenizer, options.labelNames ?? null);
  const special = {
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
  const normalizer = tokenizer.config.normalizer;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return [
    ['config.json', json(config)],
    ['model.safetensors', encodeSafetensors(await checkpointTensors(model), { format: 'pt' })],
    ['tokenizer.json', JSON.stringify(tokenizer.toTokenizerJson())],
    ['vocab.txt', tokenizer.toVocabTxt()],
    [
      'tokenizer_config.json',
      json({
        tokenizer_class: 'BertTokenizer',
        do_lower_case: normalizer.lowercase,
        strip_accents: normalizer.stripAccents,
        tokenize_chinese_chars: normalizer.handleChineseChars,
        model_max_length: model.config.maxPositions,
        ...special,
      }),
    ],
    ['special_tokens_map.json', json(special)],
  ];
}
