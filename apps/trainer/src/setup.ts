import '@sibert/backend-cpu';
import type { CorpusName } from '@sibert/data';
import { emptyTextStats, pretrainingDocuments, textDocuments } from '@sibert/data/node';
import { setBackend } from '@sibert/tensor';
import { type BertTokenizer, WordPieceTrainer } from '@sibert/tokenizer';
import type { BackendName } from './options.js';
import type { ReadProgress, TextSource } from './pretrain-data.js';

/** Makes `name` the engine's backend (WebGPU's native module is loaded only when asked for). */
export async function useBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') await import('@sibert/backend-webgpu');
  await setBackend(name);
}

/**
 * A WordPiece vocabulary trained on the bundled corpora's paragraphs and the user's documents,
 * the files streamed (only word counts are kept).
 */
export async function trainTokenizer(
  corpora: readonly CorpusName[],
  text: Omit<TextSource, 'holdout'> | null,
  vocabSize: number,
  onProgress?: ReadProgress,
): Promise<BertTokenizer> {
  const trainer = new WordPieceTrainer({ vocabSize });
  for (const document of pretrainingDocuments({ corpora }))
    for (const p of document.paragraphs) trainer.feed(p);
  const stats = emptyTextStats();
  for await (const document of textDocuments(text?.files ?? [], text ?? {}, stats)) {
    trainer.feed(document.text);
    onProgress?.({ ...stats, tokens: 0 }); // the reporter decides when to print
  }
  return trainer.train();
}
