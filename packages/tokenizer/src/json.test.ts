import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { BertTokenizer, parseVocabTxt, TokenizerError } from './index';

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', '##s', 'sat', '.'];
const tok = BertTokenizer.fromVocab(vocab);

describe('vocab.txt', () => {
  it('round-trips, one token per line in id order', () => {
    const txt = tok.toVocabTxt();
    expect(txt).toBe(`${vocab.join('\n')}\n`);
    expect(BertTokenizer.fromVocab(txt).config.vocab).toEqual(vocab);
    expect(parseVocabTxt('a\r\nb  \nc')).toEqual(['a', 'b', 'c']);
  });
});

describe('tokenizer.json', () => {
  it('writes format 1.0 with the BERT pipeline and reads it back to the same tokenizer', () => {
    const json = tok.toTokenizerJson();
    expect(json.version).toBe('1.0');
    expect(json.normalizer?.type).toBe('BertNormalizer');
    expect(json.pre_tokenizer.type).toBe('BertPreTokenizer');
    expect(json.model.type).toBe('WordPiece');
    expect(json.post_processor?.type).toBe('TemplateProcessing');
    expect(json.decoder?.type).toBe('WordPiece');
    expect(json.added_tokens.map((t) => t.content)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const back = BertTokenizer.fromTokenizerJson(JSON.stringify(json));
    expect(back.config).toEqual(tok.config);
  });

  it('is read by @huggingface/tokenizers to the same ids, pairs and decoding', () => {
    const hf = new Tokenizer(JSON.parse(JSON.stringify(tok.toTokenizerJson())), {});
    const text = 'The cats sat. The CAT!';
    expect(hf.encode(text).ids).toEqual(Array.from(tok.encode(text).ids));
    expect(hf.encode('the cat', { text_pair: 'sat.', return_token_type_ids: true }).token_type_ids).toEqual(
      Array.from(tok.encode('the cat', { pair: 'sat.' }).typeIds),
    );
    expect(hf.decode(Array.from(tok.encode('the cats sat.').ids), { skip_special_tokens: true })).toBe(
      tok.decode(tok.encode('the cats sat.').ids),
    );
  });

  it('reads a BertProcessing post-processor and default truncation and padding', () => {
    const json = {
      ...tok.toTokenizerJson(),
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
      truncation: { direction: 'Right', max_length: 4, strategy: 'LongestFirst', stride: 0 },
      padding: {
        strategy: { Fixed: 6 },
        direction: 'Right',
        pad_to_multiple_of: null,
        pad_id: 0,
        pad_type_id: 0,
        pad_token: '[PAD]',
      },
    };
    const t = BertTokenizer.fromTokenizerJson(json);
    expect(Array.from(t.encode('the cats sat').ids)).toEqual([2, 5, 6, 3, 0, 0]);
    expect(Array.from(t.encode('the cats sat', { truncation: false, padding: false }).ids)).toEqual([
      2, 5, 6, 7, 8, 3,
    ]);
    const again = BertTokenizer.fromTokenizerJson(t.toTokenizerJson());
    expect(again.config.truncation).toEqual(t.config.truncation);
    expect(again.config.padding).toEqual(t.config.padding);
  });

  it('says what is wrong with a malformed file', () => {
    const good = tok.toTokenizerJson();
    const bad = (patch: object) => () => BertTokenizer.fromTokenizerJson({ ...good, ...patch });
    expect(() => BertTokenizer.fromTokenizerJson('{"model": ')).toThrow(/^tokenizer.json: not valid JSON/);
    expect(() => BertTokenizer.fromTokenizerJson('[]')).toThrow(
      'tokenizer.json: expected an object at the top level, got an array',
    );
    expect(bad({ model: { ...good.model, type: 'BPE' } })).toThrow(
      "tokenizer.json: model.type must be 'WordPiece', got 'BPE'",
    );
    expect(bad({ model: { ...good.model, vocab: [] } })).toThrow(
      'tokenizer.json: model.vocab must be an object of token → id, got an array',
    );
    expect(bad({ added_tokens: [], model: { ...good.model, vocab: { a: 0, b: 2 } } })).toThrow(
      /model.vocab has no token with id 1/,
    );
    expect(bad({ model: { ...good.model, vocab: { a: -1 } } })).toThrow(
      "model.vocab['a'] must be a non-negative integer id, got number -1",
    );
    expect(bad({ model: { ...good.model, unk_token: '<unk>' } })).toThrow(
      "model.unk_token '<unk>' is not in model.vocab",
    );
    expect(bad({ pre_tokenizer: { type: 'Whitespace' } })).toThrow(
      "pre_tokenizer must be a BertPreTokenizer, got type 'Whitespace'",
    );
    expect(bad({ normalizer: { type: 'NFC' } })).toThrow(
      "normalizer must be a BertNormalizer or null, got type 'NFC'",
    );
    expect(bad({ normalizer: { ...good.normalizer, lowercase: 'yes' } })).toThrow(
      "normalizer.lowercase must be a boolean, got 'yes'",
    );
    expect(bad({ post_processor: { type: 'RobertaProcessing' } })).toThrow(
      /post_processor must be TemplateProcessing/,
    );
    expect(bad({ added_tokens: [{ id: 5, content: '[X]', special: true }] })).toThrow(
      "added_tokens[0] ('[X]') has id 5, which model.vocab gives to 'the'",
    );
    expect(bad({ model: undefined })).toThrow('tokenizer.json: model must be an object, got undefined');
    expect(bad({ decoder: { type: 'BPEDecoder' } })).toThrow(TokenizerError);
  });
});
