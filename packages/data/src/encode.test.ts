import { describe, expect, it } from 'vitest';
import { BatchIterator } from './batching';
import { tokenizeDocuments } from './documents';
import { encodeExamples, selectRows } from './encode';
import { sotuPartyTask } from './node/bundled-tasks';
import { pretrainingDocuments } from './node/pretraining';
import { mobyDickTokenizer } from './test-support';
import { specialTokenIds } from './tokens';

describe('encodeExamples', () => {
  it('encodes a task split into [CLS] text [SEP] rows truncated and padded to maxLength', () => {
    const tokenizer = mobyDickTokenizer();
    const ids = specialTokenIds(tokenizer);
    const examples = sotuPartyTask().dev.slice(0, 16);
    const encoded = encodeExamples(examples, tokenizer, { maxLength: 32 });
    expect(encoded.batchSize).toBe(16);
    expect(encoded.seqLen).toBe(32);
    expect([...encoded.labels]).toEqual(examples.map((e) => e.label));
    examples.forEach((example, row) => {
      const tokens = tokenizer.encode(example.text, { addSpecialTokens: false }).ids;
      const content = Math.min(tokens.length, 30);
      const rowIds = [...encoded.inputIds.subarray(row * 32, row * 32 + 32)];
      expect(rowIds).toEqual([
        ids.cls,
        ...tokens.subarray(0, content),
        ids.sep,
        ...Array(30 - content).fill(ids.pad),
      ]);
      expect([...encoded.attentionMask.subarray(row * 32, row * 32 + 32)]).toEqual([
        ...Array(content + 2).fill(1),
        ...Array(30 - content).fill(0),
      ]);
    });
    expect(encoded.tokenTypeIds.every((t) => t === 0)).toBe(true);
  });

  it('selects the rows of an iterator batch', () => {
    const tokenizer = mobyDickTokenizer();
    const encoded = encodeExamples(sotuPartyTask().test.slice(0, 10), tokenizer, { maxLength: 16 });
    const batch = new BatchIterator({ size: encoded.batchSize, batchSize: 4, seed: 9 }).next().value!;
    const selected = selectRows(encoded, batch.indices);
    expect(selected.batchSize).toBe(4);
    batch.indices.forEach((row, i) => {
      expect(selected.inputIds.subarray(i * 16, i * 16 + 16)).toEqual(
        encoded.inputIds.subarray(row * 16, row * 16 + 16),
      );
      expect(selected.labels[i]).toBe(encoded.labels[row]);
    });
    expect(() => selectRows(encoded, [10])).toThrow(/index 0 is 10, expected a row in \[0, 10\)/);
  });
});

describe('tokenizeDocuments', () => {
  it('concatenates the ids of a document’s paragraphs, without special tokens', () => {
    const tokenizer = mobyDickTokenizer();
    const [document] = [...pretrainingDocuments({ corpora: ['moby-dick'] })].slice(2, 3);
    const [ids] = [...tokenizeDocuments([document!], tokenizer)];
    const expected = document!.paragraphs.flatMap((p) => [
      ...tokenizer.encode(p, { addSpecialTokens: false }).ids,
    ]);
    expect([...ids!]).toEqual(expected);
    expect(tokenizer.decode(ids!.subarray(0, 4))).toBe('call me ishmael.');
  });
});
