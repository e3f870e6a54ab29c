import { describe, expect, it } from 'vitest';
import { BertTokenizer, type Encoding, TokenizerError } from './index';

const vocab = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'the',
  'un',
  '##believ',
  '##able',
  'hello',
  'world',
  ',',
  '.',
  '!',
  "'",
  's',
  'it',
  'fine',
  'a',
  '##a',
  'b',
  '##b',
  'cafe',
  '中',
  '文',
  '😀',
  'x',
  '##x',
  'is',
  'on',
  'cat',
  'mat',
  '##s',
];
const tok = BertTokenizer.fromVocab(vocab);
const ids = (...tokens: string[]) => tokens.map((t) => vocab.indexOf(t));
const list = (a: ArrayLike<number>) => Array.from(a);
/** The text behind each token, by its offsets. */
const spans = (text: string, e: Encoding) =>
  Array.from(e.ids, (_, i) => text.slice(e.offsets[2 * i], e.offsets[2 * i + 1]));

describe('encode', () => {
  it('wraps a text in [CLS] … [SEP] with WordPiece pieces', () => {
    const e = tok.encode('Unbelievable, the world!');
    expect(list(e.ids)).toEqual(ids('[CLS]', 'un', '##believ', '##able', ',', 'the', 'world', '!', '[SEP]'));
    expect(list(e.typeIds)).toEqual(new Array(9).fill(0));
    expect(list(e.attentionMask)).toEqual(new Array(9).fill(1));
    expect(list(e.specialTokensMask)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('gives offsets into the original text, through accents and case', () => {
    const text = '  UNBELIEVABLE  Café!';
    const e = tok.encode(text);
    expect(spans(text, e)).toEqual(['', 'UN', 'BELIEV', 'ABLE', 'Café', '!', '']);
  });

  it('encodes a pair as [CLS] A [SEP] B [SEP] with type ids 0 then 1', () => {
    const e = tok.encode('hello', { pair: 'the world' });
    expect(list(e.ids)).toEqual(ids('[CLS]', 'hello', '[SEP]', 'the', 'world', '[SEP]'));
    expect(list(e.typeIds)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(spans('the world', e).slice(3, 5)).toEqual(['the', 'world']);
  });

  it('handles empty and whitespace-only text', () => {
    expect(list(tok.encode('').ids)).toEqual(ids('[CLS]', '[SEP]'));
    expect(list(tok.encode(' \t\n\u3000 ').ids)).toEqual(ids('[CLS]', '[SEP]'));
    expect(tok.tokenize('')).toEqual([]);
    expect(list(tok.encode('', { addSpecialTokens: false }).ids)).toEqual([]);
  });

  it('strips accents and lowercases, or not', () => {
    expect(tok.tokenize('CAFÉ Café cafe\u0301')).toEqual(['cafe', 'cafe', 'cafe']);
    const cased = BertTokenizer.fromVocab([...vocab, 'Café'], { lowercase: false });
    expect(cased.tokenize('Café cafe')).toEqual(['Café', 'cafe']);
    const keepAccents = BertTokenizer.fromVocab([...vocab, 'café'], { stripAccents: false });
    expect(keepAccents.tokenize('CAFÉ')).toEqual(['café']);
  });

  it('isolates CJK ideographs and punctuation, and knows emoji only through the vocabulary', () => {
    expect(tok.tokenize('中文,a中')).toEqual(['中', '文', ',', 'a', '中']);
    // Emoji are neither punctuation nor CJK, so two in a row are one word: '😀' then an unknown '##😀'.
    expect(tok.tokenize('😀😀 😀 😃')).toEqual(['[UNK]', '😀', '[UNK]']);
    const text = 'x😀';
    const e = tok.encode(' 😀 ', { addSpecialTokens: false });
    expect(list(e.ids)).toEqual(ids('😀'));
    expect(list(e.offsets)).toEqual([1, 3]);
    expect(tok.tokenize(text)).toEqual(['[UNK]']);
  });

  it('drops control characters, NUL and U+FFFD, and treats every whitespace as a separator', () => {
    expect(tok.tokenize('a\u0000b\u200b\ufffd\u0007a\u00a0b\u2029a')).toEqual(['a', '##b', '##a', 'b', 'a']);
  });

  it('isolates Unicode punctuation as well as ASCII symbols', () => {
    expect(tok.tokenize('a—b«a»$b')).toEqual(['a', '[UNK]', 'b', '[UNK]', 'a', '[UNK]', '[UNK]', 'b']);
  });

  it('makes a word over 100 code points [UNK], and one of 100 pieces', () => {
    expect(tok.tokenize('x'.repeat(100))).toEqual(['x', ...new Array(99).fill('##x')]);
    expect(tok.tokenize('x'.repeat(101))).toEqual(['[UNK]']);
    const e = tok.encode(`a ${'x'.repeat(101)} b`, { addSpecialTokens: false });
    expect(list(e.offsets)).toEqual([0, 1, 2, 103, 104, 105]);
  });

  it('makes the whole word [UNK] when any piece is unknown', () => {
    expect(tok.tokenize('unbelievablez hello')).toEqual(['[UNK]', 'hello']);
    expect(tok.tokenize('€')).toEqual(['[UNK]']);
  });

  it('matches special tokens written in the text before normalization', () => {
    expect(tok.tokenize('the [MASK] is[SEP]fine [mask]')).toEqual([
      'the',
      '[MASK]',
      'is',
      '[SEP]',
      'fine',
      '[UNK]',
      '[UNK]',
      '[UNK]',
    ]);
  });
});

describe('truncation', () => {
  const long = 'the cat is on the mat '.repeat(500);

  it('cuts a very long input to maxLength, keeping [CLS] and [SEP]', () => {
    const e = tok.encode(long, { truncation: { maxLength: 8 } });
    expect(list(e.ids)).toEqual(ids('[CLS]', 'the', 'cat', 'is', 'on', 'the', 'mat', '[SEP]'));
    expect(e.overflowing.length).toBe(Math.ceil(3000 / 6) - 1);
  });

  it('returns overflowing windows that overlap by the stride', () => {
    const e = tok.encode('a b a b a b a', { truncation: { maxLength: 6, stride: 2 } });
    const windows = [e, ...e.overflowing].map((w) => tok.decode(w.ids));
    expect(windows).toEqual(['a b a b', 'a b a b', 'a b a']);
    expect(() => tok.encode('a b a b a b a', { truncation: { maxLength: 4, stride: 2 } })).toThrow(/stride/);
  });

  it('truncates the longer text of a pair first, or only the one it is told', () => {
    const a = 'a a a a a a a a';
    const b = 'b b';
    const longest = tok.encode(a, { pair: b, truncation: { maxLength: 9 } });
    expect(tok.tokenize(tok.decode(longest.ids))).toEqual(['a', 'a', 'a', 'a', 'b', 'b']);
    const both = tok.encode(a, { pair: 'b b b b b b', truncation: { maxLength: 9 } });
    // 6 tokens left for 8 + 6: both cut to 3.
    expect(list(both.typeIds)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const second = tok.encode(b, { pair: a, truncation: { maxLength: 9, strategy: 'only_second' } });
    expect(list(second.ids)).toEqual(ids('[CLS]', 'b', 'b', '[SEP]', 'a', 'a', 'a', 'a', '[SEP]'));
    expect(() => tok.encode(a, { pair: b, truncation: { maxLength: 6, strategy: 'only_second' } })).toThrow(
      /second text has 2 tokens, too few to remove 7/,
    );
  });

  it('needs room for the special tokens', () => {
    expect(() => tok.encode('a', { truncation: { maxLength: 1 } })).toThrow(TokenizerError);
  });
});

describe('padding', () => {
  it('pads a batch to its longest, on the right, with masks', () => {
    const [x, y] = tok.encodeBatch(['hello world', 'a'], { padding: {} });
    expect(list(x!.ids)).toEqual(ids('[CLS]', 'hello', 'world', '[SEP]'));
    expect(list(y!.ids)).toEqual(ids('[CLS]', 'a', '[SEP]', '[PAD]'));
    expect(list(y!.attentionMask)).toEqual([1, 1, 1, 0]);
    expect(list(y!.specialTokensMask)).toEqual([1, 0, 1, 1]);
  });

  it('pads to a fixed length or a multiple, on the left', () => {
    const e = tok.encode('a', { padding: { length: 5, direction: 'left' } });
    expect(list(e.ids)).toEqual(ids('[PAD]', '[PAD]', '[CLS]', 'a', '[SEP]'));
    expect(list(e.attentionMask)).toEqual([0, 0, 1, 1, 1]);
    expect(list(e.offsets)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(tok.encode('a', { padding: { multipleOf: 8 } }).ids.length).toBe(8);
  });

  it('pads pairs and batches of pairs with type ids', () => {
    const [p] = tok.encodeBatch([['a', 'b']], { padding: { length: 7 } });
    expect(list(p!.typeIds)).toEqual([0, 0, 0, 1, 1, 0, 0]);
  });
});

describe('decode', () => {
  it('joins ## pieces and cleans up spaces before punctuation', () => {
    expect(tok.decode(tok.encode("Unbelievable, it's fine!").ids)).toBe("unbelievable, it's fine!");
    expect(tok.decode(tok.encode("it's").ids, { cleanup: false, skipSpecialTokens: false })).toBe(
      "[CLS] it ' s [SEP]",
    );
  });

  it('round-trips normalized text', () => {
    for (const text of ['the cat is on the mat.', 'hello, world!', "it's fine, the cats!", 'unbelievable']) {
      expect(tok.decode(tok.encode(text).ids)).toBe(text);
    }
  });
});

describe('bad input', () => {
  it('names the missing special tokens of a vocabulary', () => {
    expect(() => BertTokenizer.fromVocab(['[CLS]', '[SEP]', 'a'])).toThrow(
      "vocabulary is missing required special token '[UNK]'",
    );
    expect(() => BertTokenizer.fromVocab(['[UNK]', 'a'])).toThrow(
      "missing required special tokens '[CLS]', '[SEP]'",
    );
    expect(() => BertTokenizer.fromVocab(42 as unknown as string)).toThrow(
      /expected vocab.txt text or an array/,
    );
  });

  it('says what came when the input is not a string', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow('encode: text: expected a string, got number');
    expect(() => tok.encode('a', { pair: null })).not.toThrow();
    expect(() => tok.encode('a', { pair: [] as unknown as string })).toThrow(
      'encode: pair: expected a string, got array',
    );
    expect(() => tok.encodeBatch(['a', undefined as unknown as string])).toThrow(
      'encodeBatch: input 1: text: expected a string, got undefined',
    );
    expect(() => tok.encodeBatch('a' as unknown as string[])).toThrow(/expected an array of texts/);
    expect(() => tok.tokenize(null as unknown as string)).toThrow(TokenizerError);
  });

  it('rejects ids outside the vocabulary when decoding', () => {
    expect(() => tok.decode([2, 999])).toThrow(
      `decode: id 999 at position 1 is not in the vocabulary (size ${vocab.length})`,
    );
  });
});
