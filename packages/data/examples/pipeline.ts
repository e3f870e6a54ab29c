// The whole @sibert/data pipeline on the real corpora: train a WordPiece vocabulary on the
// pretraining text, pack it into 128-token sequences, mask them, and measure the masking
// rates; then the downstream tasks' class balances and one encoded fine-tuning batch.
// Run from packages/data: npx tsx examples/pipeline.ts

import {
  BatchIterator,
  classBalance,
  encodeExamples,
  IGNORE_INDEX,
  MlmCollator,
  packSequences,
  selectRows,
  specialTokenIds,
  tokenizeDocuments,
} from '@sibert/data';
import { pretrainingDocuments, sotuPartyTask, spamTask } from '@sibert/data/node';
import { trainWordPiece } from '@sibert/tokenizer';

const documents = [...pretrainingDocuments()]; // Moby-Dick, SOTU and spam, without the tasks' dev/test text
const tokenizer = trainWordPiece(
  documents.flatMap((d) => d.paragraphs),
  { vocabSize: 8000 },
);
const ids = specialTokenIds(tokenizer);
const sequences = [
  ...packSequences(tokenizeDocuments(documents, tokenizer), { seqLen: 128, clsId: ids.cls, sepId: ids.sep }),
];

const collator = new MlmCollator({
  seqLen: 128,
  vocabSize: tokenizer.vocabSize,
  maskTokenId: ids.mask,
  padTokenId: ids.pad,
  specialTokenIds: ids.all,
  seed: 1,
});
const special = new Set(ids.all);
const counts = { candidates: 0, chosen: 0, mask: 0, random: 0, kept: 0 };
const batches = new BatchIterator({ size: sequences.length, batchSize: 32, seed: 1, epochs: 1 });
for (const { indices, step } of batches) {
  const rows = Array.from(indices, (i) => sequences[i]!);
  const batch = collator.collate(rows, step);
  rows.forEach((row, r) => {
    row.forEach((original, c) => {
      if (special.has(original)) return;
      counts.candidates++;
      const at = r * 128 + c;
      if (batch.labels[at] === IGNORE_INDEX) return;
      counts.chosen++;
      const input = batch.inputIds[at];
      if (input === ids.mask) counts.mask++;
      else if (input === original) counts.kept++;
      else counts.random++;
    });
  });
}
const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(2)}%`;
console.log(
  `${documents.length} documents, ${sequences.length} sequences of 128, ${counts.candidates} maskable tokens`,
);
console.log(
  `masked ${pct(counts.chosen, counts.candidates)}; of those [MASK] ${pct(counts.mask, counts.chosen)}, ` +
    `random ${pct(counts.random, counts.chosen)}, kept ${pct(counts.kept, counts.chosen)}`,
);

for (const task of [spamTask(), sotuPartyTask()]) {
  console.log(task.name, JSON.stringify(classBalance(task)));
}
const train = encodeExamples(spamTask().train, tokenizer, { maxLength: 128 });
const first = new BatchIterator({ size: train.batchSize, batchSize: 16, seed: 0 }).next().value!;
const batch = selectRows(train, first.indices);
console.log(
  `spam batch: inputIds [${batch.batchSize}, ${batch.seqLen}], labels ${[...batch.labels].join(' ')}`,
);
