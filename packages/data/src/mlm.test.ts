import { describe, expect, it } from 'vitest';
import { tokenizeDocuments } from './documents';
import { IGNORE_INDEX, MlmCollator } from './mlm';
import { pretrainingDocuments } from './node/pretraining';
import { packSequences } from './pack';
import { mobyDickTokenizer } from './test-support';
import { specialTokenIds } from './tokens';

let mobyDickIds: Int32Array[] | undefined;

function corpusCollator(seqLen: number, seed: number) {
  const tokenizer = mobyDickTokenizer();
  const ids = specialTokenIds(tokenizer);
  mobyDickIds ??= [...tokenizeDocuments(pretrainingDocuments({ corpora: ['moby-dick'] }), tokenizer)];
  const collator = MlmCollator.forTokenizer(tokenizer, { seqLen, seed });
  const sequences = [...packSequences(mobyDickIds, { seqLen, clsId: ids.cls, sepId: ids.sep })];
  return { collator, sequences, ids };
}

describe('MlmCollator', () => {
  it('masks 15% of non-special tokens, 80/10/10, on Moby-Dick (within 1 percentage point)', () => {
    const { collator, sequences, ids } = corpusCollator(128, 42);
    const special = new Set(ids.all);
    let candidates = 0;
    let chosen = 0;
    let toMask = 0;
    let toRandom = 0;
    let kept = 0;
    // Counted rather than asserted per token: expect() per token would take most of the test's time.
    let specialTouched = 0;
    let unchosenChanged = 0;
    let wrongLabel = 0;
    let specialDrawn = 0;
    for (let start = 0, step = 0; start < sequences.length; start += 32, step++) {
      const rows = sequences.slice(start, start + 32);
      const batch = collator.collate(rows, step);
      rows.forEach((row, r) => {
        for (let c = 0; c < batch.seqLen; c++) {
          const at = r * batch.seqLen + c;
          const original = row[c];
          const label = batch.labels[at]!;
          const input = batch.inputIds[at]!;
          if (original === undefined || special.has(original)) {
            // Special tokens and padding are never chosen nor changed.
            if (label !== IGNORE_INDEX || input !== (original ?? ids.pad)) specialTouched++;
            continue;
          }
          candidates++;
          if (label === IGNORE_INDEX) {
            if (input !== original) unchosenChanged++;
            continue;
          }
          if (label !== original) wrongLabel++;
          chosen++;
          if (input === ids.mask) toMask++;
          else if (input === original) kept++;
          else {
            if (special.has(input)) specialDrawn++;
            toRandom++;
          }
        }
      });
    }
    expect({ specialTouched, unchosenChanged, wrongLabel, specialDrawn }).toEqual({
      specialTouched: 0,
      unchosenChanged: 0,
      wrongLabel: 0,
      specialDrawn: 0,
    });
    expect(candidates).toBeGreaterThan(250_000);
    expect(Math.abs(chosen / candidates - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(toMask / chosen - 0.8)).toBeLessThan(0.01);
    // A random draw can land on the original token (1 in ~3000): counted as kept.
    expect(Math.abs(toRandom / chosen - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(kept / chosen - 0.1)).toBeLessThan(0.01);
  });

  it('pads to seqLen with an attention mask, lists masked positions, and is deterministic by seed and step', () => {
    const { collator, sequences, ids } = corpusCollator(64, 7);
    const rows = [sequences[0]!, sequences[1]!.subarray(0, 10)];
    const batch = collator.collate(rows, 3);
    expect(batch.inputIds.length).toBe(2 * 64);
    expect([...batch.attentionMask.subarray(64, 128)]).toEqual([...Array(10).fill(1), ...Array(54).fill(0)]);
    expect([...batch.inputIds.subarray(74, 128)]).toEqual(Array(54).fill(ids.pad));
    expect([...batch.tokenTypeIds]).toEqual(Array(128).fill(0));
    const labelled = [...batch.labels.keys()].filter((i) => batch.labels[i] !== IGNORE_INDEX);
    expect([...batch.maskedPositions]).toEqual(labelled);
    expect(collator.collate(rows, 3)).toEqual(batch);
    expect(collator.collate(rows, 4).labels).not.toEqual(batch.labels);
    const { collator: otherSeed } = corpusCollator(64, 8);
    expect(otherSeed.collate(rows, 3).labels).not.toEqual(batch.labels);
  });

  it('rejects sequences longer than seqLen, ids outside the vocabulary, and bad options', () => {
    const collator = new MlmCollator({
      seqLen: 4,
      vocabSize: 10,
      maskTokenId: 4,
      padTokenId: 0,
      specialTokenIds: [0, 1, 2, 3, 4],
      seed: 1,
    });
    expect(() => collator.collate([[2, 5, 6, 7, 3]], 0)).toThrow(
      /sequence 0 has 5 tokens, expected at most 4/,
    );
    expect(() => collator.collate([[2, 12, 3]], 0)).toThrow(/token 1 is 12, expected an id in \[0, 10\)/);
    expect(
      () =>
        new MlmCollator({
          seqLen: 4,
          vocabSize: 10,
          maskTokenId: 4,
          padTokenId: 0,
          specialTokenIds: [],
          seed: 1,
          maskTokenShare: 0.95,
          randomTokenShare: 0.1,
        }),
    ).toThrow(/maskTokenShare \+ randomTokenShare <= 1, got 1.05/);
    expect(
      () =>
        new MlmCollator({
          seqLen: 4,
          vocabSize: 10,
          maskTokenId: 10,
          padTokenId: 0,
          specialTokenIds: [],
          seed: 1,
        }),
    ).toThrow(/expected maskTokenId in \[0, 10\), got 10/);
  });
});
