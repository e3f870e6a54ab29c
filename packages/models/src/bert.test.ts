import '@sibert/backend-cpu';
import { manualSeed, memory, tensor, tidy } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { BertModel } from './bert.js';
import { presetConfig, validateConfig } from './config.js';

describe('configs', () => {
  it('presets fill every field and take the vocabulary size from the tokenizer', () => {
    const config = presetConfig('sibert-mini', 8192);
    expect(config).toMatchObject({
      family: 'sibert',
      numLayers: 4,
      hiddenSize: 256,
      numHeads: 4,
      intermediateSize: 1024,
      vocabSize: 8192,
      maxPositions: 512,
      // No token-type table for SIBERT (a shared offset that plain SGD inflates); BERT keeps HF's 2.
      typeVocabSize: 0,
    });
    expect(presetConfig('bert-mini', 8192).typeVocabSize).toBe(2);
    expect(() => presetConfig('bert-mini', 8192, { typeVocabSize: 0 })).toThrow(
      /typeVocabSize must be an integer ≥ 1, got 0/,
    );
    expect(presetConfig('bert-small', 100).pooler).toBe(true);
    expect(presetConfig('sibert-small', 100).pooler).toBe(false);
  });

  it('unknown or inconsistent configs are clear errors listing every problem', () => {
    expect(() => presetConfig('gpt-tiny', 10)).toThrow(
      /unknown model 'gpt-tiny'; expected one of bert-tiny, bert-mini/,
    );
    expect(() => presetConfig('bert-huge', 10)).toThrow(/unknown model/);
    expect(() => presetConfig('bert-tiny', 10, { numHeads: 3 })).toThrow(
      /hiddenSize \(128\) must be divisible by numHeads \(3\)/,
    );
    expect(() => validateConfig({ ...presetConfig('bert-tiny', 10), hiddenDropout: 1.5, extra: 1 })).toThrow(
      /unknown key 'extra'; hiddenDropout must be in \[0, 1\), got 1.5/,
    );
    expect(() => presetConfig('sibert-tiny', 0)).toThrow(/vocabSize must be a positive integer, got 0/);
  });
});

describe('BertModel', () => {
  // Initialising 110M parameters takes ~20 s alone on a 2-core machine, and CI runs other
  // packages' tests beside it: the default 60 s timeout was hit under load.
  it('has exactly 109,482,240 parameters at base size with vocab 30522 and the pooler', () => {
    const model = new BertModel(presetConfig('bert-base', 30522));
    expect(model.numParameters()).toBe(109_482_240);
    for (const p of model.parameters()) p.dispose();
  }, 240_000);

  it('encodes a padded batch into [batch, seq, hidden] and a pooled [batch, hidden]', async () => {
    manualSeed(0);
    const model = new BertModel(presetConfig('bert-tiny', 50)).eval();
    const before = memory().numTensors;
    const ids = tensor(Int32Array.of(2, 5, 9, 3, 2, 7, 3, 0), [2, 4], 'int32');
    const mask = tensor(Int32Array.of(1, 1, 1, 1, 1, 1, 1, 0), [2, 4], 'int32');
    const out = model.forward({ inputIds: ids, attentionMask: mask });
    expect(out.sequenceOutput.shape).toEqual([2, 4, 128]);
    expect(out.pooledOutput!.shape).toEqual([2, 128]);
    // Post-LN: every output position is layer-normalised with γ=1, β=0 at init.
    const row = Array.from((await out.sequenceOutput.data()).subarray(0, 128));
    const mean = row.reduce((a, b) => a + b, 0) / 128;
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    // A padded key does not change the other positions' outputs.
    const changed = tidy(() =>
      model.forward({
        inputIds: tensor(Int32Array.of(2, 5, 9, 3, 2, 7, 3, 42), [2, 4], 'int32'),
        attentionMask: mask,
      }),
    );
    const a = (await out.sequenceOutput.data()).subarray(512, 512 + 3 * 128);
    const b = (await changed.sequenceOutput.data()).subarray(512, 512 + 3 * 128);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    for (const t of [
      out.sequenceOutput,
      out.pooledOutput!,
      changed.sequenceOutput,
      changed.pooledOutput!,
      ids,
      mask,
    ])
      t.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('rejects bad inputs naming what was expected', () => {
    const model = new BertModel(presetConfig('bert-tiny', 50, { maxPositions: 8 }));
    expect(() => model.forward({ inputIds: tensor([[1, 2]]) })).toThrow(
      /BertModel: expected int32 inputIds, got float32/,
    );
    expect(() => model.forward({ inputIds: tensor(Int32Array.of(1, 2, 3), [3], 'int32') })).toThrow(
      /expected inputIds \[batch, seq\], got \[3\]/,
    );
    expect(() => model.forward({ inputIds: tensor(new Int32Array(9), [1, 9], 'int32') })).toThrow(
      /sequence length 9 exceeds maxPositions 8/,
    );
    const ids = tensor(new Int32Array(4), [2, 2], 'int32');
    expect(() =>
      model.forward({ inputIds: ids, attentionMask: tensor(new Int32Array(2), [1, 2], 'int32') }),
    ).toThrow(/expected attentionMask \[2, 2\] like inputIds, got \[1, 2\]/);
  });
});
