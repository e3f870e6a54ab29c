import { assertString, TokenizerError } from './errors';
import { parseTokenizerJson, serializeTokenizerJson, type TokenizerJson } from './json';
import { defaultNormalizerOptions, type NormalizerOptions, Scanner } from './normalizer';
import {
  addedTokenCount,
  applyTemplate,
  type Encoding,
  type PaddingOptions,
  pad,
  paddedLength,
  type Sequence,
  type Template,
  type TruncationOptions,
  truncate,
} from './postprocess';
import { PieceBuffer, WordPieceModel, type WordPieceOptions } from './wordpiece';

/** A token matched verbatim in the raw text before normalization (e.g. `[SEP]` typed by a user). */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

export interface DecoderOptions {
  /** The continuation prefix joined to the previous piece, normally '##'. */
  prefix: string;
  /** Remove the spaces that decoding leaves before punctuation and contractions. */
  cleanup: boolean;
}

export interface PaddingDefaults extends PaddingOptions {
  padToken?: string;
  padTypeId?: number;
}

/** Everything that defines a tokenizer; what tokenizer.json holds. */
export interface TokenizerConfig {
  /** Token of each id. */
  vocab: string[];
  normalizer: NormalizerOptions;
  wordPiece: WordPieceOptions;
  addedTokens: AddedToken[];
  /** Special tokens and token types around one text and a pair; `null` adds nothing. */
  template: Template | null;
  decoder: DecoderOptions | null;
  truncation: TruncationOptions | null;
  padding: PaddingDefaults | null;
  /** The token padding uses unless `padding.padToken` says otherwise. */
  padToken: string | null;
}

/** How `fromVocab` and the trainer build a BERT tokenizer; every field has BERT's default. */
export interface BertTokenizerOptions extends Partial<NormalizerOptions> {
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  maskToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

export interface EncodeOptions {
  /** A second text: the result is `[CLS] text [SEP] pair [SEP]` with type id 1 for the pair. */
  pair?: string | null;
  /** Add [CLS]/[SEP]; default true. */
  addSpecialTokens?: boolean;
  /** Truncate to a maximum length (special tokens included); `false` turns off the tokenizer's default. */
  truncation?: TruncationOptions | false;
  /** Pad to a length; `false` turns off the tokenizer's default. */
  padding?: PaddingOptions | false;
}

export interface DecodeOptions {
  /** Leave out [CLS], [SEP], [PAD] and other special tokens; default true. */
  skipSpecialTokens?: boolean;
  /** Join punctuation and contractions to the previous word ("hello , it ' s" → "hello, it's"); default true. */
  cleanup?: boolean;
}

/** An encode input: one text or a pair of texts. */
export type TextInput = string | readonly [string, string];

const CLEANUPS: [RegExp, string][] = [
  [/ \./g, '.'],
  [/ \?/g, '?'],
  [/ !/g, '!'],
  [/ ,/g, ','],
  [/ ' /g, "'"],
  [/ n't/g, "n't"],
  [/ 'm/g, "'m"],
  [/ 's/g, "'s"],
  [/ 've/g, "'ve"],
  [/ 're/g, "'re"],
];

/**
 * A BERT WordPiece tokenizer with HuggingFace `tokenizers` semantics: BertNormalizer,
 * BertPreTokenizer, WordPiece, `[CLS] A [SEP] B [SEP]` post-processing, WordPiece decoder.
 */
export class BertTokenizer {
  readonly config: TokenizerConfig;
  private readonly scanner: Scanner;
  private readonly model: WordPieceModel;
  private readonly tokenToIdMap = new Map<string, number>();
  private readonly added: AddedToken[];
  private readonly specialIds: Set<number>;
  private readonly buffer = new PieceBuffer();

  constructor(config: TokenizerConfig) {
    this.config = config;
    const { vocab, wordPiece } = config;
    vocab.forEach((token, id) => {
      this.tokenToIdMap.set(token, id);
    });
    const unkId = this.tokenToIdMap.get(wordPiece.unkToken);
    if (unkId === undefined) {
      throw new TokenizerError(`vocabulary has no unknown token '${wordPiece.unkToken}'`);
    }
    for (const item of [...(config.template?.single ?? []), ...(config.template?.pair ?? [])]) {
      if (item.kind === 'special' && item.ids.some((id) => vocab[id] === undefined)) {
        throw new TokenizerError(
          `special token '${item.token}' of the post-processor is not in the vocabulary`,
        );
      }
    }
    for (const token of config.addedTokens) {
      if (vocab[token.id] !== token.content) {
        throw new TokenizerError(
          `added token '${token.content}' has id ${token.id}, but that id is '${vocab[token.id]}' in the vocabulary`,
        );
      }
    }
    // Longest first, so that of two tokens starting at the same place the longer one wins.
    this.added = config.addedTokens
      .filter((t) => t.content.length > 0)
      .sort((a, b) => b.content.length - a.content.length);
    this.specialIds = new Set(config.addedTokens.filter((t) => t.special).map((t) => t.id));
    this.scanner = new Scanner(config.normalizer);
    this.model = new WordPieceModel(vocab, unkId, wordPiece);
    this.model.out = this.buffer;
  }

  /**
   * A BERT tokenizer over a vocabulary: the lines of a vocab.txt (one token per line, id = line
   * number) or an array of tokens. It needs [UNK], [CLS] and [SEP]; [PAD] and [MASK] when present
   * are special tokens too.
   */
  static fromVocab(vocab: string | readonly string[], options: BertTokenizerOptions = {}): BertTokenizer {
    if (!Array.isArray(vocab) && typeof vocab !== 'string') {
      throw new TokenizerError(
        `fromVocab: expected vocab.txt text or an array of tokens, got ${typeof vocab}`,
      );
    }
    const tokens = typeof vocab === 'string' ? parseVocabTxt(vocab) : [...vocab];
    tokens.forEach((t, i) => {
      assertString(t, `fromVocab: token ${i}`);
    });
    return new BertTokenizer(bertConfig(tokens, options));
  }

  /** A tokenizer from a HuggingFace tokenizer.json (its text or parsed object), format 1.0. */
  static fromTokenizerJson(json: string | object): BertTokenizer {
    return new BertTokenizer(parseTokenizerJson(json));
  }

  /** The tokenizer.json object (format 1.0) that `@huggingface/tokenizers` and Rust read; stringify to save. */
  toTokenizerJson(): TokenizerJson {
    return serializeTokenizerJson(this.config);
  }

  /** The vocab.txt text: one token per line, in id order. */
  toVocabTxt(): string {
    return `${this.config.vocab.join('\n')}\n`;
  }

  get vocabSize(): number {
    return this.config.vocab.length;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.config.vocab[id];
  }

  /** Token ids of the text, without special tokens, truncation or padding, with their offsets. */
  private sequence(text: string): Sequence {
    const buf = this.buffer;
    buf.length = 0;
    let from = 0;
    if (this.added.length > 0) {
      for (const [start, end, id] of this.findAddedTokens(text)) {
        this.scanner.scan(text, from, start, this.model);
        buf.push(id, start, end);
        from = end;
      }
    }
    this.scanner.scan(text, from, text.length, this.model);
    const n = buf.length;
    return { ids: buf.ids.slice(0, n), starts: buf.starts.slice(0, n), ends: buf.ends.slice(0, n) };
  }

  /** Leftmost-longest, non-overlapping matches of the added tokens in the raw text. */
  private findAddedTokens(text: string): [number, number, number][] {
    const found: [number, number, number][] = [];
    for (const token of this.added) {
      for (let at = text.indexOf(token.content); at >= 0; at = text.indexOf(token.content, at + 1)) {
        found.push([at, at + token.content.length, token.id]);
      }
    }
    if (found.length < 2) return found;
    found.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    const kept: [number, number, number][] = [];
    let end = 0;
    for (const m of found) {
      if (m[0] >= end) {
        kept.push(m);
        end = m[1];
      }
    }
    return kept;
  }

  /** The WordPiece tokens of a text (no special tokens). */
  tokenize(text: string): string[] {
    assertString(text, 'tokenize: text');
    return Array.from(this.sequence(text).ids, (id) => this.config.vocab[id]!);
  }

  /** Encodes one text, or a pair with `options.pair`, to ids, type ids, masks and offsets. */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    const encoding = this.encodeUnpadded(text, options.pair ?? null, options, 'encode');
    const padding = this.paddingFor(options);
    return padding ? this.pad([encoding], padding)[0]! : encoding;
  }

  /** Encodes many texts or pairs; `padding: { length: 'longest' }` pads all to the longest. */
  encodeBatch(inputs: readonly TextInput[], options: Omit<EncodeOptions, 'pair'> = {}): Encoding[] {
    if (!Array.isArray(inputs)) {
      throw new TokenizerError(`encodeBatch: expected an array of texts, got ${typeof inputs}`);
    }
    const encodings = inputs.map((input, i) =>
      typeof input === 'string' || !Array.isArray(input)
        ? this.encodeUnpadded(input as string, null, options, `encodeBatch: input ${i}`)
        : this.encodeUnpadded(input[0], input[1], options, `encodeBatch: input ${i}`),
    );
    const padding = this.paddingFor(options);
    return padding ? this.pad(encodings, padding) : encodings;
  }

  private encodeUnpadded(text: string, pair: string | null, options: EncodeOptions, where: string): Encoding {
    assertString(text, `${where}: text`);
    if (pair !== null) assertString(pair, `${where}: pair`);
    const a = this.sequence(text);
    const b = pair === null ? null : this.sequence(pair);
    const addSpecialTokens = options.addSpecialTokens ?? true;
    const template = this.config.template ?? { single: [], pair: [] };
    const truncation = options.truncation === undefined ? this.config.truncation : options.truncation;
    if (!truncation) return applyTemplate(template, a, b, addSpecialTokens);
    const special = addSpecialTokens ? addedTokenCount(b ? template.pair : template.single) : 0;
    const [windowsA, windowsB] = truncate(a, b, truncation, special);
    const encoding = applyTemplate(template, windowsA[0]!, windowsB ? windowsB[0]! : null, addSpecialTokens);
    // Every combination of windows but the first, A-major, as Rust's TemplateProcessing does.
    for (let i = 0; i < windowsA.length; i++) {
      for (let j = 0; j < (windowsB ? windowsB.length : 1); j++) {
        if (i === 0 && j === 0) continue;
        encoding.overflowing.push(
          applyTemplate(template, windowsA[i]!, windowsB ? windowsB[j]! : null, addSpecialTokens),
        );
      }
    }
    return encoding;
  }

  private paddingFor(options: EncodeOptions): PaddingDefaults | null {
    if (options.padding === false) return null;
    return options.padding ?? this.config.padding;
  }

  /** Pads encodings to a common length (the longest by default) with the pad token. */
  pad(encodings: readonly Encoding[], padding: PaddingDefaults = {}): Encoding[] {
    const padToken = padding.padToken ?? this.config.padToken ?? '[PAD]';
    const padId = this.tokenToIdMap.get(padToken);
    if (padId === undefined)
      throw new TokenizerError(`padding: pad token '${padToken}' is not in the vocabulary`);
    let longest = 0;
    for (const e of encodings) {
      longest = Math.max(longest, e.ids.length);
      for (const o of e.overflowing) longest = Math.max(longest, o.ids.length);
    }
    const length = paddedLength(padding, longest);
    return encodings.map((e) => pad(e, length, padId, padding.padTypeId ?? 0, padding.direction ?? 'right'));
  }

  /** Text from ids: pieces joined at the continuation prefix, words by spaces. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new TokenizerError(
        `decode: expected an array of token ids, got ${ids === null ? 'null' : typeof ids}`,
      );
    }
    const { skipSpecialTokens = true, cleanup = true } = options;
    const prefix = this.config.decoder?.prefix ?? null;
    const { vocab } = this.config;
    let text = '';
    let first = true;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const token = vocab[id];
      if (token === undefined) {
        throw new TokenizerError(
          `decode: id ${id} at position ${i} is not in the vocabulary (size ${vocab.length})`,
        );
      }
      if (skipSpecialTokens && this.specialIds.has(id)) continue;
      if (first) text = token;
      else if (prefix !== null && prefix.length > 0 && token.startsWith(prefix))
        text += token.slice(prefix.length);
      else text += ` ${token}`;
      first = false;
    }
    if (cleanup && (this.config.decoder?.cleanup ?? true)) {
      for (const [pattern, replacement] of CLEANUPS) text = text.replace(pattern, replacement);
    }
    return text;
  }
}

/** Tokens of a vocab.txt: one per line, trailing whitespace dropped, as Rust reads it. */
export function parseVocabTxt(text: string): string[] {
  assertString(text, 'parseVocabTxt: text');
  const lines = text.split('\n').map((line) => line.trimEnd());
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The standard BERT configuration around a vocabulary. */
export function bertConfig(vocab: string[], options: BertTokenizerOptions = {}): TokenizerConfig {
  const {
    unkToken = '[UNK]',
    clsToken = '[CLS]',
    sepToken = '[SEP]',
    padToken = '[PAD]',
    maskToken = '[MASK]',
    continuingSubwordPrefix = '##',
    maxInputCharsPerWord = 100,
  } = options;
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const missing = [unkToken, clsToken, sepToken].filter((t) => !ids.has(t));
  if (missing.length > 0) {
    throw new TokenizerError(
      `vocabulary is missing required special token${missing.length > 1 ? 's' : ''} ${missing.map((t) => `'${t}'`).join(', ')}`,
    );
  }
  const cls = ids.get(clsToken)!;
  const sep = ids.get(sepToken)!;
  const addedTokens = [padToken, unkToken, clsToken, sepToken, maskToken]
    .filter((t, i, all) => ids.has(t) && all.indexOf(t) === i)
    .map((content) => ({ id: ids.get(content)!, content, special: true }))
    .sort((a, b) => a.id - b.id);
  const special = (token: string, id: number, typeId: number) => ({
    kind: 'special' as const,
    token,
    ids: [id],
    typeId,
  });
  return {
    vocab,
    normalizer: {
      cleanText: options.cleanText ?? defaultNormalizerOptions.cleanText,
      handleChineseChars: options.handleChineseChars ?? defaultNormalizerOptions.handleChineseChars,
      stripAccents: options.stripAccents ?? defaultNormalizerOptions.stripAccents,
      lowercase: options.lowercase ?? defaultNormalizerOptions.lowercase,
    },
    wordPiece: { unkToken, continuingSubwordPrefix, maxInputCharsPerWord },
    addedTokens,
    template: {
      single: [
        special(clsToken, cls, 0),
        { kind: 'sequence', sequence: 'A', typeId: 0 },
        special(sepToken, sep, 0),
      ],
      pair: [
        special(clsToken, cls, 0),
        { kind: 'sequence', sequence: 'A', typeId: 0 },
        special(sepToken, sep, 0),
        { kind: 'sequence', sequence: 'B', typeId: 1 },
        special(sepToken, sep, 1),
      ],
    },
    decoder: { prefix: continuingSubwordPrefix, cleanup: true },
    truncation: null,
    padToken: ids.has(padToken) ? padToken : null,
    padding: null,
  };
}
