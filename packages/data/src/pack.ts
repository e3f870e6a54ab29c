/**
 * Packing token streams into MLM sequences. Documents are concatenated into one stream with
 * [SEP] between documents (RoBERTa's "full sentences"), and the stream is cut into sequences of
 * `[CLS] … [SEP]` holding `seqLen - 2` tokens each, so almost no position is padding. A
 * separator never opens or closes a sequence's content ([CLS] and the closing [SEP] already mark
 * those ends): at a sequence start it is dropped, and when a document ends one slot before a
 * sequence is full, that sequence closes there (seqLen - 1 long). The last sequence may be
 * shorter. Deterministic: the output depends only on the input order.
 */

export interface PackOptions {
  /** Length of every sequence, [CLS] and [SEP] included; at least 3. */
  seqLen: number;
  clsId: number;
  sepId: number;
}

export function* packSequences(
  documents: Iterable<ArrayLike<number>>,
  options: PackOptions,
): Generator<Int32Array> {
  const { seqLen, clsId, sepId } = options;
  if (!Number.isInteger(seqLen) || seqLen < 3) {
    throw new RangeError(`packSequences: expected seqLen to be an integer >= 3, got ${seqLen}`);
  }
  const capacity = seqLen - 2;
  let buffer = new Int32Array(seqLen);
  let filled = 0; // content tokens in `buffer`, after its [CLS]
  let pendingSeparator = false;
  const emit = (): Int32Array => {
    buffer[0] = clsId;
    buffer[filled + 1] = sepId;
    const sequence = filled === capacity ? buffer : buffer.slice(0, filled + 2);
    buffer = new Int32Array(seqLen);
    filled = 0;
    return sequence;
  };
  for (const document of documents) {
    if (document.length === 0) continue;
    for (let i = 0; i < document.length; i++) {
      if (pendingSeparator) {
        pendingSeparator = false;
        // In the last free slot the separator would sit beside the closing [SEP]: close the sequence instead.
        if (filled === capacity - 1) yield emit();
        else if (filled > 0) buffer[1 + filled++] = sepId;
      }
      buffer[1 + filled++] = document[i]!;
      if (filled === capacity) yield emit();
    }
    pendingSeparator = true;
  }
  if (filled > 0) yield emit();
}
