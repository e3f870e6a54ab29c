// Golden parity with @huggingface/tokenizers (the JS port of HuggingFace's tokenizers): a
// vocabulary trained by our trainer on the State of the Union corpus, saved as tokenizer.json,
// loaded by both, must give the same ids on every paragraph of SOTU and of Moby-Dick.
import { Tokenizer } from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { mobyDickParagraphs, sotuParagraphs } from '../test/corpora';
import { BertTokenizer, trainWordPiece } from './index';

let ours: BertTokenizer;
let hf: Tokenizer;
let sotu: string[];
let moby: string[];

beforeAll(() => {
  sotu = sotuParagraphs();
  moby = mobyDickParagraphs();
  const trained = trainWordPiece(sotu, { vocabSize: 8000 });
  // Through the file format both ways: what we write is what both sides read.
  const file = JSON.stringify(trained.toTokenizerJson());
  ours = BertTokenizer.fromTokenizerJson(file);
  hf = new Tokenizer(JSON.parse(file), {});
}, 60_000); // training on the corpus takes seconds, more on a busy machine

/** The paragraphs whose ids differ, with the start of each side (empty when all agree). */
function mismatches(texts: string[]): { index: number; text: string; ours: number[]; hf: number[] }[] {
  const out: { index: number; text: string; ours: number[]; hf: number[] }[] = [];
  texts.forEach((text, index) => {
    const a = Array.from(ours.encode(text).ids);
    const b = hf.encode(text).ids;
    if (a.length !== b.length || a.some((id, k) => id !== b[k])) {
      out.push({ index, text: text.slice(0, 80), ours: a.slice(0, 20), hf: b.slice(0, 20) });
    }
  });
  return out;
}

describe('parity with @huggingface/tokenizers on a vocabulary we trained', () => {
  it('reads the corpora it is meant to cover', () => {
    expect(sotu.length).toBe(233);
    expect(moby.length).toBeGreaterThan(2000);
    expect(ours.vocabSize).toBe(8000);
  });

  it('gives the same ids on every State of the Union paragraph', () => {
    expect(mismatches(sotu)).toEqual([]);
  });

  it('gives the same ids on every Moby-Dick paragraph', () => {
    expect(mismatches(moby)).toEqual([]);
  });

  it('gives the same ids and token type ids on pairs, and without special tokens', () => {
    for (let i = 0; i + 1 < 200; i += 2) {
      const [a, b] = [moby[i]!, moby[i + 1]!];
      const mine = ours.encode(a, { pair: b });
      const theirs = hf.encode(a, { text_pair: b, return_token_type_ids: true });
      expect(Array.from(mine.ids)).toEqual(theirs.ids);
      expect(Array.from(mine.typeIds)).toEqual(theirs.token_type_ids);
      expect(Array.from(ours.encode(a, { addSpecialTokens: false }).ids)).toEqual(
        hf.encode(a, { add_special_tokens: false }).ids,
      );
    }
  });

  it('agrees on tokens written verbatim, accents, CJK, emoji and long words', () => {
    const texts = [
      '[CLS] The [MASK] of the Union [SEP] is strong.',
      'Café déjà vu — naïve résumé ÉCOLE',
      '中国的总统 and 日本',
      'emoji 😀 and ☃ and the flag 🇺🇸',
      `${'x'.repeat(100)} ${'y'.repeat(101)} done`,
      '   \t\n  ',
      '',
    ];
    expect(mismatches(texts)).toEqual([]);
  });
});

describe('parity on generated text from many scripts and character classes', () => {
  // Every character class the pipeline treats differently, minus the documented departures below
  // (uppercase sigma, unassigned code points, astral CJK).
  const alphabet = [
    ...'abcXYZ019 .,;:!?\'"-()[]{}<>$^`|~#@&*+=/\\_%',
    ...'éÉàçñüÅøßæœ',
    'e\u0301',
    'a\u0308\u0304',
    ...'αβγδπωΑΒΓ',
    ...'абвгдЖЗИ',
    ...'中文字日本한국어ひらがなカタカナ',
    ...'١٢٣عربية',
    ...'—–…«»¿¡“”‘’•·',
    '😀',
    '👍🏽',
    '🇺🇸',
    '\u200d',
    ...' \t\n\r\u00a0\u2003\u3000\u2028',
    ...'\u0000\u0007\u001b\u007f\u0085\u200b\ufeff\ufffd\ue000',
  ];
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const texts = Array.from({ length: 1500 }, () =>
    Array.from(
      { length: 1 + Math.floor(random() * 40) },
      () => alphabet[Math.floor(random() * alphabet.length)],
    ).join(''),
  );

  it('gives the same ids with the SOTU vocabulary (many unknown words)', () => {
    expect(mismatches(texts)).toEqual([]);
  });

  it('gives the same ids with a vocabulary trained on the generated text', () => {
    const file = JSON.stringify(trainWordPiece(texts, { vocabSize: 600, minFrequency: 1 }).toTokenizerJson());
    const mine = BertTokenizer.fromTokenizerJson(file);
    const port = new Tokenizer(JSON.parse(file), {});
    const differ = texts.filter((t) => {
      const a = Array.from(mine.encode(t).ids);
      const b = port.encode(t).ids;
      return a.length !== b.length || a.some((id, k) => id !== b[k]);
    });
    expect(differ).toEqual([]);
  });
});

// Where the JS port departs from the Rust `tokenizers` semantics, we follow Rust. Each case below
// shows the difference on a vocabulary that can tell them apart.
describe('documented departures of the JS port from Rust tokenizers (we follow Rust)', () => {
  const vocab = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    'οδοσ',
    'οδος',
    'ab',
    'a',
    '##b',
    '𠀀',
    '𠀁',
    '##𠀁',
  ];
  let small: BertTokenizer;
  let port: Tokenizer;
  beforeAll(() => {
    small = BertTokenizer.fromVocab(vocab);
    port = new Tokenizer(small.toTokenizerJson(), {});
  });
  const tokens = (ids: ArrayLike<number>) => Array.from(ids, (id) => vocab[id]);

  it('lowercases per character after stripping accents: no final sigma (the port lowercases the whole string first)', () => {
    expect(small.tokenize('ΟΔΟΣ')).toEqual(['οδοσ']);
    expect(tokens(port.encode('ΟΔΟΣ', { add_special_tokens: false }).ids)).toEqual(['οδος']);
  });

  it('drops unassigned code points (Cn) as control characters (the port keeps them)', () => {
    expect(small.tokenize('a\u0378b')).toEqual(['ab']);
    expect(tokens(port.encode('a\u0378b', { add_special_tokens: false }).ids)).toEqual(['[UNK]']);
  });

  it('isolates astral CJK ideographs (the port tests UTF-16 units, so misses them)', () => {
    expect(small.tokenize('𠀀𠀁')).toEqual(['𠀀', '𠀁']);
    expect(tokens(port.encode('𠀀𠀁', { add_special_tokens: false }).ids)).toEqual(['𠀀', '##𠀁']);
  });
});
