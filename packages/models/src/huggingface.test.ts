import '@sibert/backend-cpu';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, sum, tensor } from '@sibert/tensor';
import { BertTokenizer } from '@sibert/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BertModel,
  encodeSafetensors,
  loadWeights,
  MaskedLanguageModel,
  MlmHead,
  presetConfig,
  SequenceClassifier,
  type TensorData,
} from './index.js';
import { readCheckpoint, readHuggingFace, saveHuggingFace } from './node/index.js';

const WORDS = ['the', 'whale', 'ship', 'sea', 'captain', 'white', 'deck', 'sail', 'harbour', 'storm'];
const tokenizer = BertTokenizer.fromVocab([
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  ...WORDS,
  ...WORDS.map((w) => `##${w}`),
]);
const VOCAB = tokenizer.vocabSize;
const SMALL = {
  hiddenSize: 8,
  numHeads: 2,
  intermediateSize: 16,
  numLayers: 2,
  maxPositions: 16,
  hiddenDropout: 0,
  attentionDropout: 0,
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sibert-hf-'));
});

function inputs() {
  return {
    inputIds: tensor(Int32Array.of(2, 5, 6, 4, 3, 2, 9, 4, 3, 0), [2, 5], 'int32'),
    attentionMask: tensor(Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 0), [2, 5], 'int32'),
  };
}
const targets = () => ({
  positions: tensor(Int32Array.of(3, 7), [2], 'int32'),
  labels: tensor(Int32Array.of(7, 8), [2], 'int32'),
});

async function mlmLossOf(model: MaskedLanguageModel): Promise<number> {
  model.eval();
  return noGrad(() => model.forward(inputs(), targets()).loss).itemAsync();
}

/** A safetensors header read without our decoder: 8-byte little-endian length, then JSON. */
async function independentHeader(
  path: string,
): Promise<Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>> {
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  delete header.__metadata__;
  const ranges = Object.values(header as Record<string, { data_offsets: [number, number] }>)
    .map((e) => e.data_offsets)
    .sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [begin, end] of ranges) {
    expect(begin).toBe(at);
    at = end;
  }
  expect(at).toBe(bytes.length - 8 - length);
  return header;
}

/** Writes a folder the way other tools do: `tensors` renamed, as one file or shards, with a config. */
async function writeHfFolder(
  dir: string,
  config: Record<string, unknown>,
  tensors: Map<string, TensorData>,
  options: { shards?: number; vocabOnly?: boolean } = {},
) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const names = [...tensors.keys()];
  const shards = options.shards ?? 1;
  if (shards === 1) {
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  } else {
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-0000${s + 1}-of-0000${shards}.safetensors`;
      const part = new Map(names.filter((_, i) => i % shards === s).map((n) => [n, tensors.get(n)!]));
      for (const n of part.keys()) weightMap[n] = file;
      await writeFile(join(dir, file), encodeSafetensors(part));
    }
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
  }
  if (options.vocabOnly) {
    await writeFile(join(dir, 'vocab.txt'), tokenizer.toVocabTxt());
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  } else {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toTokenizerJson()));
  }
}

const hfBertConfig = (extra: Record<string, unknown> = {}) => ({
  architectures: ['BertForMaskedLM'],
  model_type: 'bert',
  vocab_size: VOCAB,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  max_position_embeddings: 16,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  ...extra,
});

async function tensorsOf(
  model: MaskedLanguageModel | SequenceClassifier,
  dir: string,
): Promise<Map<string, TensorData>> {
  await saveHuggingFace(dir, model, tokenizer);
  return (await readHuggingFace(dir)).tensors;
}

describe('to HuggingFace and back', () => {
  it('exports a BERT MLM folder transformers loads as BertForMaskedLM, and reads it back to the same outputs', async () => {
    manualSeed(1);
    const model = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB, SMALL));
    const dir = join(root, 'bert-export');
    const files = await saveHuggingFace(dir, model, tokenizer);
    expect(files.sort()).toEqual(
      [
        'config.json',
        'model.safetensors',
        'special_tokens_map.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vocab.txt',
      ].sort(),
    );
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['BertForMaskedLM'],
      model_type: 'bert',
      hidden_size: 8,
      num_hidden_layers: 2,
      pad_token_id: 0,
      hidden_act: 'gelu',
    });
    const header = await independentHeader(join(dir, 'model.safetensors'));
    expect(Object.keys(header)).toContain('bert.embeddings.word_embeddings.weight');
    expect(Object.keys(header)).toContain('cls.predictions.bias');
    expect(Object.keys(header).some((n) => n.startsWith('bert.pooler.') || n.includes('decoder'))).toBe(
      false,
    );
    expect(header['bert.encoder.layer.1.intermediate.dense.weight']).toMatchObject({
      dtype: 'F32',
      shape: [16, 8],
    });
    expect((await readFile(join(dir, 'vocab.txt'), 'utf8')).split('\n')[5]).toBe('the');

    const read = await readHuggingFace(dir);
    const again = new MaskedLanguageModel(read.config);
    expect(loadWeights(again, read.tensors)).toEqual({ ignored: [], initialised: [] });
    expect(await mlmLossOf(again)).toBe(await mlmLossOf(model));
    expect(read.tokenizer.toTokenizerJson()).toEqual(tokenizer.toTokenizerJson());
  });

  it('exports SIBERT under its own model_type, and a classifier with its labels', async () => {
    manualSeed(2);
    const sibert = new MaskedLanguageModel(presetConfig('sibert-tiny', VOCAB, SMALL));
    const dir = join(root, 'sibert-export');
    await saveHuggingFace(dir, sibert, tokenizer);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'sibert', architectures: ['SibertForMaskedLM'] });
    const read = await readHuggingFace(dir);
    const again = new MaskedLanguageModel(read.config);
    loadWeights(again, read.tensors);
    expect(await mlmLossOf(again)).toBe(await mlmLossOf(sibert));

    const classifier = new SequenceClassifier(presetConfig('bert-tiny', VOCAB, SMALL), 3);
    const cdir = join(root, 'classifier-export');
    await saveHuggingFace(cdir, classifier, tokenizer, { labelNames: ['neg', 'mid', 'pos'] });
    const cread = await readHuggingFace(cdir);
    expect(cread.architecture).toBe('BertForSequenceClassification');
    expect(cread.labelNames).toEqual(['neg', 'mid', 'pos']);
    const reloaded = new SequenceClassifier(cread.config, 3);
    loadWeights(reloaded, cread.tensors);
    classifier.eval();
    reloaded.eval();
    const a = noGrad(() => classifier.forward(inputs())).dataSync();
    const b = noGrad(() => reloaded.forward(inputs())).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe('from HuggingFace: the variants other tools write', () => {
  it('torch.save-style BertForPreTraining: tied aliases, an NSP head, a pooler, LayerNorm.gamma/beta, id buffers', async () => {
    manualSeed(3);
    const model = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB, SMALL));
    const ours = await tensorsOf(model, join(root, 'base-1'));
    const variant = new Map<string, TensorData>();
    for (const [name, t] of ours)
      variant.set(
        name.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'),
        t,
      );
    variant.set('cls.predictions.decoder.weight', ours.get('bert.embeddings.word_embeddings.weight')!);
    variant.set('cls.predictions.decoder.bias', ours.get('cls.predictions.bias')!);
    variant.set('cls.seq_relationship.weight', {
      dtype: 'float32',
      shape: [2, 8],
      data: new Float32Array(16),
    });
    variant.set('cls.seq_relationship.bias', { dtype: 'float32', shape: [2], data: new Float32Array(2) });
    variant.set('bert.pooler.dense.weight', { dtype: 'float32', shape: [8, 8], data: new Float32Array(64) });
    variant.set('bert.pooler.dense.bias', { dtype: 'float32', shape: [8], data: new Float32Array(8) });
    variant.set('bert.embeddings.position_ids', {
      dtype: 'int32',
      shape: [1, 16],
      data: Int32Array.from({ length: 16 }, (_, i) => i),
    });
    const dir = join(root, 'pretraining-variant');
    await writeHfFolder(dir, hfBertConfig({ architectures: ['BertForPreTraining'] }), variant);
    const read = await readHuggingFace(dir);
    expect(read.config.pooler).toBe(true);
    const mlm = new MaskedLanguageModel(read.config);
    const report = loadWeights(mlm, read.tensors);
    expect(report.ignored.sort()).toEqual(
      [
        'bert.embeddings.position_ids',
        'bert.pooler.dense.bias',
        'bert.pooler.dense.weight',
        'cls.predictions.decoder.bias',
        'cls.predictions.decoder.weight',
        'cls.seq_relationship.bias',
        'cls.seq_relationship.weight',
      ].sort(),
    );
    expect(await mlmLossOf(mlm)).toBe(await mlmLossOf(model));
  });

  it('a bare BertModel in shards with vocab.txt loads into a classifier; a pooler-less MLM file too (pooler initialised)', async () => {
    manualSeed(4);
    const model = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB, SMALL));
    const ours = await tensorsOf(model, join(root, 'base-2'));
    const bare = new Map(
      [...ours].filter(([n]) => n.startsWith('bert.')).map(([n, t]) => [n.slice('bert.'.length), t]),
    );
    bare.set('pooler.dense.weight', {
      dtype: 'float32',
      shape: [8, 8],
      data: new Float32Array(64).fill(0.5),
    });
    bare.set('pooler.dense.bias', { dtype: 'float32', shape: [8], data: new Float32Array(8) });
    const dir = join(root, 'bare-sharded');
    await writeHfFolder(dir, hfBertConfig({ architectures: ['BertModel'] }), bare, {
      shards: 2,
      vocabOnly: true,
    });
    const read = await readHuggingFace(dir);
    expect(read.tokenizer.vocabSize).toBe(VOCAB);
    const classifier = new SequenceClassifier(read.config, 2);
    expect(loadWeights(classifier, read.tensors, { scope: 'encoder' })).toEqual({
      ignored: [],
      initialised: [],
    });
    if (!(classifier.encoder instanceof BertModel)) throw new Error('expected BERT');
    expect(Array.from(await classifier.encoder.pooler!.weight.data())).toEqual(new Array(64).fill(0.5));

    // Our own MLM export has no pooler: a classifier from it starts its pooler fresh, as HF does.
    const fresh = new SequenceClassifier(presetConfig('bert-tiny', VOCAB, SMALL), 2);
    expect(loadWeights(fresh, ours, { scope: 'encoder' }).initialised).toEqual([
      'bert.pooler.dense.weight',
      'bert.pooler.dense.bias',
    ]);
  });

  it('reads hidden_act gelu_new and max_position_embeddings, and refuses what it cannot compute, naming the key', async () => {
    manualSeed(5);
    const model = new MaskedLanguageModel(presetConfig('bert-tiny', VOCAB, SMALL));
    const ours = await tensorsOf(model, join(root, 'base-3'));
    const dir = join(root, 'gelu-new');
    await writeHfFolder(dir, hfBertConfig({ hidden_act: 'gelu_new' }), ours);
    const read = await readHuggingFace(dir);
    expect(read.config).toMatchObject({
      hiddenAct: 'gelu_new',
      maxPositions: 16,
      padTokenId: 0,
      typeVocabSize: 2,
    });
    const tanh = new MaskedLanguageModel(read.config);
    loadWeights(tanh, read.tensors);
    if (!(tanh.encoder instanceof BertModel)) throw new Error('expected BERT');
    expect(tanh.encoder.layers[0]!.feedForward.activation.approximate).toBe('tanh');
    if (!(tanh.head instanceof MlmHead)) throw new Error('expected the standard MLM head');
    expect(tanh.head.activation.approximate).toBe('tanh');
    expect(Math.abs((await mlmLossOf(tanh)) - (await mlmLossOf(model)))).toBeLessThan(1e-3);

    const refused = async (extra: Record<string, unknown>, message: RegExp) => {
      const bad = join(root, `bad-${Object.keys(extra)[0]}`);
      await writeHfFolder(bad, hfBertConfig(extra), ours);
      await expect(readHuggingFace(bad)).rejects.toThrow(message);
    };
    await refused({ hidden_act: 'relu' }, /config\.json: hidden_act 'relu' is not one we compute/);
    await refused(
      { position_embedding_type: 'relative_key' },
      /position_embedding_type "relative_key" is not supported/,
    );
    await refused({ model_type: 'roberta' }, /model_type "roberta" is not 'bert'/);
    await refused({ vocab_size: VOCAB + 1 }, /its tokenizer has \d+ tokens but config\.json's vocab_size is/);
    const pickle = join(root, 'pickle-only');
    await mkdir(pickle, { recursive: true });
    await writeFile(join(pickle, 'config.json'), JSON.stringify(hfBertConfig()));
    await writeFile(join(pickle, 'pytorch_model.bin'), 'x');
    await expect(readHuggingFace(pickle)).rejects.toThrow(/convert it to model\.safetensors first/);
  });
});

describe('checkpoints written before HF interop', () => {
  const FIXTURES = fileURLToPath(new URL('../test-fixtures/', import.meta.url));

  it('load into today’s models (their pooler set aside) and compute the losses they did', async () => {
    const losses = JSON.parse(await readFile(join(FIXTURES, 'mlm-v0.1-losses.json'), 'utf8'));
    for (const family of ['bert', 'sibert'] as const) {
      const { config, tensors } = await readCheckpoint(join(FIXTURES, `${family}-mlm-v0.1.safetensors`));
      expect(config).toMatchObject({ hiddenAct: 'gelu', padTokenId: null });
      const model = new MaskedLanguageModel(config);
      const report = loadWeights(model, tensors);
      expect(report.ignored).toEqual(
        family === 'bert' ? ['bert.pooler.dense.weight', 'bert.pooler.dense.bias'] : [],
      );
      const inputIds = tensor(Int32Array.from([2, 5, 6, 7, 3, 2, 9, 10, 11, 3]), [2, 5], 'int32');
      model.eval();
      const { loss } = noGrad(() =>
        model.forward(
          {
            inputIds,
            attentionMask: tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), [2, 5], 'int32'),
          },
          {
            positions: tensor(Int32Array.from([1, 3, 7]), [3], 'int32'),
            labels: tensor(Int32Array.from([12, 13, 14]), [3], 'int32'),
          },
        ),
      );
      expect(await loss.itemAsync()).toBe(losses[family]);
    }
  });
});

describe('the padding row', () => {
  it("BERT presets start [PAD]'s word embedding at zero and send it no gradient through the lookup (HF's padding_idx)", async () => {
    manualSeed(6);
    // A classifier: in the MLM model the tied decoder gives the row a gradient, as in HF.
    const model = new SequenceClassifier(presetConfig('bert-tiny', VOCAB, SMALL), 2);
    if (!(model.encoder instanceof BertModel)) throw new Error('expected BERT');
    const table = model.encoder.embeddings.wordEmbeddings.weight;
    expect(Array.from((await table.data()).subarray(0, 8))).toEqual(new Array(8).fill(0));
    sum(model.forward(inputs())).backward();
    const grad = await table.grad!.data();
    expect(Array.from(grad.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(Array.from(grad.subarray(8 * 5, 8 * 6)).some((g) => g !== 0)).toBe(true);
  });
});
