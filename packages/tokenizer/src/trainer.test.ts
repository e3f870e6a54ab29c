import { describe, expect, it } from 'vitest';
import { sotuParagraphs } from '../test/corpora';
import { TokenizerError, trainWordPiece, WordPieceTrainer } from './index';

const corpus = ['low lower lowest', 'newer newest wider', 'low low lower newest newest'];
const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

describe('WordPiece trainer', () => {
  it('starts from the special tokens and the alphabet, then adds ## characters and merges', () => {
    const vocab = trainWordPiece(corpus, { vocabSize: 30, minFrequency: 1 }).config.vocab;
    expect(vocab.slice(0, 5)).toEqual(specials);
    expect(vocab.slice(5, 15)).toEqual(['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w']);
    expect(vocab).toContain('##o');
    // 'l','##o' is the most frequent pair (low ×5 lower ×2 lowest ×1 = 8 times).
    const firstMerge = vocab.findIndex((t) => t.length > 1 && !t.startsWith('##') && !t.startsWith('['));
    expect(vocab[firstMerge]).toBe('lo');
    expect(vocab.length).toBe(30);
  });

  it('encodes its own corpus without [UNK]', () => {
    const tok = trainWordPiece(corpus, { vocabSize: 40, minFrequency: 1 });
    for (const text of corpus) expect(tok.tokenize(text)).not.toContain('[UNK]');
    expect(tok.tokenize('lowest')).toEqual(['lowest']);
  });

  it('stops merging below the minimum frequency', () => {
    const rare = trainWordPiece(corpus, { vocabSize: 1000, minFrequency: 3 }).config.vocab;
    const all = trainWordPiece(corpus, { vocabSize: 1000, minFrequency: 1 }).config.vocab;
    expect(rare.length).toBeLessThan(all.length);
    expect(rare).toContain('low');
    expect(rare).not.toContain('wider');
  });

  it('keeps only the most frequent characters under an alphabet limit', () => {
    const vocab = trainWordPiece(['aaaa bbb cc d'], { vocabSize: 100, limitAlphabet: 2, minFrequency: 1 })
      .config.vocab;
    expect(vocab.slice(5, 7)).toEqual(['a', 'b']);
    expect(vocab).not.toContain('c');
    expect(trainWordPiece(['x'], { limitAlphabet: 0, initialAlphabet: ['q'] }).config.vocab).not.toContain(
      'q',
    );
    expect(trainWordPiece(['x'], { initialAlphabet: ['q'] }).config.vocab).toContain('q');
  });

  it('is deterministic: the same input gives the same vocabulary', () => {
    const texts = sotuParagraphs().slice(0, 40);
    const a = trainWordPiece(texts, { vocabSize: 3000 }).config.vocab;
    const b = trainWordPiece(texts, { vocabSize: 3000 }).config.vocab;
    expect(a.length).toBe(3000);
    expect(a).toEqual(b);
  });

  it('takes text incrementally and rejects bad options and input', () => {
    const trainer = new WordPieceTrainer({ vocabSize: 40, minFrequency: 1 });
    for (const t of corpus) trainer.feed(t);
    expect(trainer.train().config.vocab).toEqual(
      trainWordPiece(corpus, { vocabSize: 40, minFrequency: 1 }).config.vocab,
    );
    expect(() => new WordPieceTrainer({ vocabSize: -1 })).toThrow(
      'WordPieceTrainer: vocabSize must be a non-negative integer, got -1',
    );
    expect(() => trainer.feed(3 as unknown as string)).toThrow(TokenizerError);
    expect(() => trainWordPiece(['a'], { specialTokens: ['[UNK]'] })).toThrow(
      /missing required special tokens '\[CLS\]', '\[SEP\]'/,
    );
  });
});
