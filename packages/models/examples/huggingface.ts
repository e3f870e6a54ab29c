/**
 * To HuggingFace and back: a BERT MLM with its tokenizer written as a folder transformers'
 * BertForMaskedLM.from_pretrained reads, then read back into a fresh model that computes the
 * same loss. Run from packages/models: npx tsx --conditions=source examples/huggingface.ts [DIR]
 */
import '@sibert/backend-cpu';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWeights, MaskedLanguageModel, presetConfig } from '@sibert/models';
import { readHuggingFace, saveHuggingFace } from '@sibert/models/node';
import { manualSeed, noGrad, tensor } from '@sibert/tensor';
import { trainWordPiece } from '@sibert/tokenizer';

const texts = ['Call me Ishmael.', 'The whale surfaced beside the ship.', 'The captain watched the sea.'];
const tokenizer = trainWordPiece(texts, { vocabSize: 200 });
manualSeed(0);
const model = new MaskedLanguageModel(presetConfig('bert-tiny', tokenizer.vocabSize));

const dir = process.argv[2] ?? join(await mkdtemp(join(tmpdir(), 'bert-hf-')), 'model');
const files = await saveHuggingFace(dir, model, tokenizer);
console.log(`wrote ${dir}: ${files.join(', ')}`);

// Reading works the same for a folder downloaded from the HuggingFace Hub (safetensors weights).
const { config, tensors, architecture, tokenizer: read } = await readHuggingFace(dir);
const again = new MaskedLanguageModel(config);
const report = loadWeights(again, tensors);
console.log(
  `read ${architecture}: ${config.numLayers} layers of ${config.hiddenSize}; set aside: ${report.ignored.length}`,
);

const encoding = read.encode('The whale watched the ship.');
const ids = tensor(encoding.ids, [1, encoding.ids.length], 'int32');
const targets = {
  positions: tensor(Int32Array.of(2), [1], 'int32'),
  labels: tensor(Int32Array.of(encoding.ids[2]!), [1], 'int32'),
};
const loss = (m: MaskedLanguageModel) => {
  m.eval();
  return noGrad(() => m.forward({ inputIds: ids }, targets).loss).dataSync()[0]!;
};
console.log(`MLM loss: written ${loss(model).toFixed(6)}, read back ${loss(again).toFixed(6)}`);
