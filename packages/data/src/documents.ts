// Pretraining documents as paragraphs, and their token streams for `packSequences`.
import type { BertTokenizer } from '@sibert/tokenizer';

/** The bundled corpora (`pretrainingDocuments` in @sibert/data/node reads them). */
export type CorpusName = 'moby-dick' | 'sotu' | 'spam';

export interface PretrainingDocument {
  corpus: CorpusName;
  /** Chapter, address or email id. */
  id: string;
  paragraphs: string[];
}

/** Token ids of each document (no special tokens), its paragraphs encoded in order and concatenated. */
export function* tokenizeDocuments(
  documents: Iterable<PretrainingDocument>,
  tokenizer: BertTokenizer,
): Generator<Int32Array> {
  for (const document of documents) {
    const pieces = document.paragraphs.map(
      (paragraph) =>
        tokenizer.encode(paragraph, { addSpecialTokens: false, truncation: false, padding: false }).ids,
    );
    const ids = new Int32Array(pieces.reduce((n, piece) => n + piece.length, 0));
    let at = 0;
    for (const piece of pieces) {
      ids.set(piece, at);
      at += piece.length;
    }
    yield ids;
  }
}
