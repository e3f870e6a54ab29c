import '@sibert/backend-cpu';
import { type CorpusName, pretrainingDocuments } from '@sibert/data';
import { setBackend } from '@sibert/tensor';
import { type BertTokenizer, trainWordPiece } from '@sibert/tokenizer';
import type { BackendName } from './options.js';

/** Makes `name` the engine's backend (WebGPU's native module is loaded only when asked for). */
export async function useBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') await import('@sibert/backend-webgpu');
  await setBackend(name);
}

/** A WordPiece vocabulary trained on the pretraining corpora's paragraphs. */
export function trainTokenizer(corpora: readonly CorpusName[], vocabSize: number): BertTokenizer {
  function* paragraphs(): Generator<string> {
    for (const document of pretrainingDocuments({ corpora })) yield* document.paragraphs;
  }
  return trainWordPiece(paragraphs(), { vocabSize });
}
