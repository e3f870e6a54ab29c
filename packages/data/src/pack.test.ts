import { describe, expect, it } from 'vitest';
import { packSequences } from './pack';

const CLS = 2;
const SEP = 3;

describe('packSequences', () => {
  it('joins documents with [SEP] and cuts [CLS] … [SEP] sequences of seqLen', () => {
    const docs = [
      [10, 11],
      [20, 21, 22],
      [30, 31, 32, 33, 34],
    ];
    const packed = [...packSequences(docs, { seqLen: 6, clsId: CLS, sepId: SEP })].map((s) => [...s]);
    expect(packed).toEqual([
      [CLS, 10, 11, SEP, 20, SEP],
      [CLS, 21, 22, SEP, 30, SEP],
      [CLS, 31, 32, 33, 34, SEP],
    ]);
  });

  it('never puts a document separator at the start or end of a sequence content', () => {
    // Document 1 fills the content exactly: the boundary falls at a sequence start and is dropped.
    const exact = [
      ...packSequences(
        [
          [1, 1, 1, 1],
          [5, 5],
        ],
        { seqLen: 6, clsId: CLS, sepId: SEP },
      ),
    ].map((s) => [...s]);
    expect(exact).toEqual([
      [CLS, 1, 1, 1, 1, SEP],
      [CLS, 5, 5, SEP],
    ]);
    // One slot left at the boundary: the sequence closes there, one token short.
    const short = [
      ...packSequences(
        [
          [1, 1, 1],
          [5, 5],
        ],
        { seqLen: 6, clsId: CLS, sepId: SEP },
      ),
    ].map((s) => [...s]);
    expect(short).toEqual([
      [CLS, 1, 1, 1, SEP],
      [CLS, 5, 5, SEP],
    ]);
  });

  it('keeps every token once, in order, and is deterministic', () => {
    const docs = Array.from({ length: 50 }, (_, d) =>
      Array.from({ length: (d * 7) % 23 }, (_, i) => 100 + d * 100 + i),
    );
    const run = () => [...packSequences(docs, { seqLen: 16, clsId: CLS, sepId: SEP })];
    const packed = run();
    expect(packed).toEqual(run());
    const content = packed.flatMap((s) => [...s.subarray(1, -1)]).filter((id) => id !== SEP);
    expect(content).toEqual(docs.flat());
    for (const sequence of packed.slice(0, -1)) expect(sequence.length).toBeGreaterThanOrEqual(15);
  });

  it('rejects a seqLen that leaves no room for content', () => {
    expect(() => [...packSequences([[1]], { seqLen: 2, clsId: CLS, sepId: SEP })]).toThrow(
      /expected seqLen to be an integer >= 3, got 2/,
    );
  });
});
