import '@sibert/backend-cpu';
import { type CorpusName, pretrainingDocuments } from '@sibert/data';
import { registerBackend, registeredBackends, setBackend } from '@sibert/tensor';
import { type BertTokenizer, trainWordPiece } from '@sibert/tokenizer';
import type { BackendName } from './options.js';

/** Makes `name` the engine's backend (WebGPU is loaded only when asked for). */
export async function useBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu' && !registeredBackends().includes('webgpu')) {
    const { WebGpuBackend } = await import('@sibert/backend-webgpu');
    registerBackend('webgpu', () => WebGpuBackend.create(), 0);
  }
  await setBackend(name);
}

/** A WordPiece vocabulary trained on the pretraining corpora's paragraphs. */
export function trainTokenizer(corpora: readonly CorpusName[], vocabSize: number): BertTokenizer {
  function* paragraphs(): Generator<string> {
    for (const document of pretrainingDocuments({ corpora })) yield* document.paragraphs;
  }
  return trainWordPiece(paragraphs(), { vocabSize });
}
