import { type BertTokenizer, trainWordPiece } from '@sibert/tokenizer';
import { loadMobyDick } from './node/corpora';

let tokenizer: BertTokenizer | undefined;

/** A WordPiece tokenizer trained on Moby-Dick (about a second), shared by a test file's tests. */
export function mobyDickTokenizer(): BertTokenizer {
  tokenizer ??= trainWordPiece(
    loadMobyDick().map((chapter) => chapter.text),
    { vocabSize: 3000 },
  );
  return tokenizer;
}
