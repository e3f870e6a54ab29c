import { TokenizerError } from './errors';
import type { NormalizerOptions } from './normalizer';
import type { PaddingOptions, Template, TemplateItem, TruncationStrategy } from './postprocess';
import type { AddedToken, PaddingDefaults, TokenizerConfig } from './tokenizer';

/** The parts of a HuggingFace tokenizer.json (format 1.0) that a BERT WordPiece tokenizer uses. */
export interface TokenizerJson {
  version: string;
  truncation: { direction: 'Right'; max_length: number; strategy: string; stride: number } | null;
  padding: {
    strategy: 'BatchLongest' | { Fixed: number };
    direction: 'Right' | 'Left';
    pad_to_multiple_of: number | null;
    pad_id: number;
    pad_type_id: number;
    pad_token: string;
  } | null;
  added_tokens: {
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }[];
  normalizer: {
    type: 'BertNormalizer';
    clean_text: boolean;
    handle_chinese_chars: boolean;
    strip_accents: boolean | null;
    lowercase: boolean;
  } | null;
  pre_tokenizer: { type: 'BertPreTokenizer' };
  post_processor: {
    type: 'TemplateProcessing';
    single: (
      | { SpecialToken: { id: string; type_id: number } }
      | { Sequence: { id: 'A' | 'B'; type_id: number } }
    )[];
    pair: (
      | { SpecialToken: { id: string; type_id: number } }
      | { Sequence: { id: 'A' | 'B'; type_id: number } }
    )[];
    special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  } | null;
  decoder: { type: 'WordPiece'; prefix: string; cleanup: boolean } | null;
  model: {
    type: 'WordPiece';
    unk_token: string;
    continuing_subword_prefix: string;
    max_input_chars_per_word: number;
    vocab: Record<string, number>;
  };
}

const strategies: Record<string, TruncationStrategy> = {
  LongestFirst: 'longest_first',
  OnlyFirst: 'only_first',
  OnlySecond: 'only_second',
};

export function serializeTokenizerJson(config: TokenizerConfig): TokenizerJson {
  const vocab: Record<string, number> = {};
  config.vocab.forEach((token, id) => {
    vocab[token] = id;
  });
  const item = (i: TemplateItem) =>
    i.kind === 'special'
      ? { SpecialToken: { id: i.token, type_id: i.typeId } }
      : { Sequence: { id: i.sequence, type_id: i.typeId } };
  const specialTokens: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  const { template, truncation, padding } = config;
  for (const i of [...(template?.single ?? []), ...(template?.pair ?? [])]) {
    if (i.kind === 'special') {
      specialTokens[i.token] = { id: i.token, ids: i.ids, tokens: i.ids.map((id) => config.vocab[id]!) };
    }
  }
  const padToken = padding?.padToken ?? config.padToken ?? '[PAD]';
  const reverse = (s: TruncationStrategy) => Object.keys(strategies).find((k) => strategies[k] === s)!;
  return {
    version: '1.0',
    truncation: truncation
      ? {
          direction: 'Right',
          max_length: truncation.maxLength,
          strategy: reverse(truncation.strategy ?? 'longest_first'),
          stride: truncation.stride ?? 0,
        }
      : null,
    padding: padding
      ? {
          strategy:
            padding.length === undefined || padding.length === 'longest'
              ? 'BatchLongest'
              : { Fixed: padding.length },
          direction: padding.direction === 'left' ? 'Left' : 'Right',
          pad_to_multiple_of: padding.multipleOf ?? null,
          pad_id: config.vocab.indexOf(padToken),
          pad_type_id: padding.padTypeId ?? 0,
          pad_token: padToken,
        }
      : null,
    added_tokens: config.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: config.normalizer.cleanText,
      handle_chinese_chars: config.normalizer.handleChineseChars,
      strip_accents: config.normalizer.stripAccents,
      lowercase: config.normalizer.lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: template
      ? {
          type: 'TemplateProcessing',
          single: template.single.map(item),
          pair: template.pair.map(item),
          special_tokens: specialTokens,
        }
      : null,
    decoder: config.decoder ? { type: 'WordPiece', ...config.decoder } : null,
    model: {
      type: 'WordPiece',
      unk_token: config.wordPiece.unkToken,
      continuing_subword_prefix: config.wordPiece.continuingSubwordPrefix,
      max_input_chars_per_word: config.wordPiece.maxInputCharsPerWord,
      vocab,
    },
  };
}

type Json = Record<string, unknown>;

function fail(message: string): never {
  throw new TokenizerError(`tokenizer.json: ${message}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function get<T>(
  obj: Json,
  key: string,
  path: string,
  check: (v: unknown) => v is T,
  expected: string,
  fallback?: T,
): T {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (!check(v)) fail(`${path}.${key} must be ${expected}, got ${describe(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isBoolOrNull = (v: unknown): v is boolean | null => v === null || typeof v === 'boolean';

function parseNormalizer(n: unknown): NormalizerOptions {
  if (n === null)
    return { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  if (!isObject(n) || n['type'] !== 'BertNormalizer') {
    fail(
      `normalizer must be a BertNormalizer or null, got ${isObject(n) ? `type ${describe(n['type'])}` : describe(n)}`,
    );
  }
  return {
    cleanText: get(n, 'clean_text', 'normalizer', isBool, 'a boolean', true),
    handleChineseChars: get(n, 'handle_chinese_chars', 'normalizer', isBool, 'a boolean', true),
    stripAccents:
      n['strip_accents'] === undefined
        ? null
        : get(n, 'strip_accents', 'normalizer', isBoolOrNull, 'a boolean or null'),
    lowercase: get(n, 'lowercase', 'normalizer', isBool, 'a boolean', true),
  };
}

function parseTemplate(p: unknown, ids: Map<string, number>): Template | null {
  if (p === null) return null;
  if (!isObject(p)) fail(`post_processor must be an object or null, got ${describe(p)}`);
  if (p['type'] === 'BertProcessing') {
    const pairOf = (key: string): [string, number] => {
      const v = p[key];
      if (!Array.isArray(v) || !isString(v[0]) || !isCount(v[1])) {
        fail(`post_processor.${key} must be [token, id], got ${describe(v)}`);
      }
      return [v[0], v[1]];
    };
    const [cls, clsId] = pairOf('cls');
    const [sep, sepId] = pairOf('sep');
    const special = (token: string, id: number, typeId: number): TemplateItem => ({
      kind: 'special',
      token,
      ids: [id],
      typeId,
    });
    return {
      single: [
        special(cls, clsId, 0),
        { kind: 'sequence', sequence: 'A', typeId: 0 },
        special(sep, sepId, 0),
      ],
      pair: [
        special(cls, clsId, 0),
        { kind: 'sequence', sequence: 'A', typeId: 0 },
        special(sep, sepId, 0),
        { kind: 'sequence', sequence: 'B', typeId: 1 },
        special(sep, sepId, 1),
      ],
    };
  }
  if (p['type'] !== 'TemplateProcessing') {
    fail(
      `post_processor must be TemplateProcessing, BertProcessing or null, got type ${describe(p['type'])}`,
    );
  }
  const specials = isObject(p['special_tokens']) ? p['special_tokens'] : {};
  const items = (key: 'single' | 'pair'): TemplateItem[] => {
    const list = p[key];
    if (!Array.isArray(list)) fail(`post_processor.${key} must be an array, got ${describe(list)}`);
    return list.map((entry, i): TemplateItem => {
      const where = `post_processor.${key}[${i}]`;
      if (isObject(entry) && isObject(entry['SpecialToken'])) {
        const { id: token, type_id: typeId } = entry['SpecialToken'];
        if (!isString(token) || !isCount(typeId))
          fail(`${where}.SpecialToken needs a string id and a type_id`);
        const known = specials[token];
        const tokenIds = isObject(known) && Array.isArray(known['ids']) ? known['ids'] : [ids.get(token)];
        if (!tokenIds.every(isCount)) fail(`${where}: special token '${token}' has no id`);
        return { kind: 'special', token, ids: tokenIds, typeId };
      }
      if (isObject(entry) && isObject(entry['Sequence'])) {
        const { id, type_id: typeId } = entry['Sequence'];
        if ((id !== 'A' && id !== 'B') || !isCount(typeId))
          fail(`${where}.Sequence needs id 'A' or 'B' and a type_id`);
        return { kind: 'sequence', sequence: id, typeId };
      }
      return fail(`${where} must be {SpecialToken} or {Sequence}, got ${describe(entry)}`);
    });
  };
  return { single: items('single'), pair: items('pair') };
}

/** Reads tokenizer.json text or its parsed object into a tokenizer configuration, or says what is wrong. */
export function parseTokenizerJson(input: string | object): TokenizerConfig {
  let root: unknown = input;
  if (typeof input === 'string') {
    try {
      root = JSON.parse(input);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(root)) fail(`expected an object at the top level, got ${describe(root)}`);
  const model = root['model'];
  if (!isObject(model)) fail(`model must be an object, got ${describe(model)}`);
  if (model['type'] !== undefined && model['type'] !== 'WordPiece') {
    fail(`model.type must be 'WordPiece', got ${describe(model['type'])}`);
  }
  const { vocab, addedTokens } = parseVocabulary(model, root);
  const ids = new Map(vocab.map((t, id) => [t, id]));
  const unkToken = get(model, 'unk_token', 'model', isString, 'a string');
  if (!ids.has(unkToken)) fail(`model.unk_token '${unkToken}' is not in model.vocab`);
  const preTokenizer = root['pre_tokenizer'];
  if (!isObject(preTokenizer) || preTokenizer['type'] !== 'BertPreTokenizer') {
    fail(
      `pre_tokenizer must be a BertPreTokenizer, got ${isObject(preTokenizer) ? `type ${describe(preTokenizer['type'])}` : describe(preTokenizer)}`,
    );
  }
  const decoderRaw = root['decoder'] ?? null;
  if (decoderRaw !== null && (!isObject(decoderRaw) || decoderRaw['type'] !== 'WordPiece')) {
    fail(
      `decoder must be a WordPiece decoder or null, got ${isObject(decoderRaw) ? `type ${describe(decoderRaw['type'])}` : describe(decoderRaw)}`,
    );
  }
  const truncation = parseTruncation(root['truncation'] ?? null);
  const padding = parsePadding(root['padding'] ?? null);
  return {
    vocab,
    normalizer: parseNormalizer(root['normalizer'] ?? null),
    wordPiece: {
      unkToken,
      continuingSubwordPrefix: get(model, 'continuing_subword_prefix', 'model', isString, 'a string', '##'),
      maxInputCharsPerWord: get(
        model,
        'max_input_chars_per_word',
        'model',
        isCount,
        'a non-negative integer',
        100,
      ),
    },
    addedTokens,
    template: parseTemplate(root['post_processor'] ?? null, ids),
    decoder: isObject(decoderRaw)
      ? {
          prefix: get(decoderRaw, 'prefix', 'decoder', isString, 'a string', '##'),
          cleanup: get(decoderRaw, 'cleanup', 'decoder', isBool, 'a boolean', true),
        }
      : null,
    truncation,
    padding,
    padToken: ids.has('[PAD]') ? '[PAD]' : null,
  };
}

/** model.vocab and added_tokens: every id from 0 up given to exactly one token. */
function parseVocabulary(
  model: Record<string, unknown>,
  root: Record<string, unknown>,
): { vocab: string[]; addedTokens: AddedToken[] } {
  const rawVocab = model['vocab'];
  if (!isObject(rawVocab)) fail(`model.vocab must be an object of token → id, got ${describe(rawVocab)}`);
  const vocab: string[] = [];
  for (const [token, id] of Object.entries(rawVocab)) {
    if (!isCount(id)) fail(`model.vocab['${token}'] must be a non-negative integer id, got ${describe(id)}`);
    vocab[id] = token;
  }
  const addedRaw = root['added_tokens'] ?? [];
  if (!Array.isArray(addedRaw)) fail(`added_tokens must be an array, got ${describe(addedRaw)}`);
  const addedTokens: AddedToken[] = addedRaw.map((t: unknown, i: number) => {
    if (!isObject(t)) fail(`added_tokens[${i}] must be an object, got ${describe(t)}`);
    const path = `added_tokens[${i}]`;
    const id = get(t, 'id', path, isCount, 'a non-negative integer');
    const content = get(t, 'content', path, isString, 'a string');
    if (get(t, 'normalized', path, isBool, 'a boolean', false)) {
      fail(`${path} ('${content}') has normalized: true; only tokens matched in the raw text are supported`);
    }
    if (vocab[id] !== undefined && vocab[id] !== content) {
      fail(`${path} ('${content}') has id ${id}, which model.vocab gives to '${vocab[id]}'`);
    }
    vocab[id] = content;
    return { id, content, special: get(t, 'special', path, isBool, 'a boolean', false) };
  });
  for (let id = 0; id < vocab.length; id++) {
    if (vocab[id] === undefined)
      fail(`model.vocab has no token with id ${id}; ids must run from 0 to ${vocab.length - 1}`);
  }
  return { vocab, addedTokens };
}

function parseTruncation(truncationRaw: unknown): TokenizerConfig['truncation'] {
  if (truncationRaw === null) return null;
  if (!isObject(truncationRaw)) fail(`truncation must be an object or null, got ${describe(truncationRaw)}`);
  if ((truncationRaw['direction'] ?? 'Right') !== 'Right') fail(`truncation.direction must be 'Right'`);
  const strategy = strategies[String(truncationRaw['strategy'] ?? 'LongestFirst')];
  if (!strategy)
    fail(
      `truncation.strategy must be LongestFirst, OnlyFirst or OnlySecond, got ${describe(truncationRaw['strategy'])}`,
    );
  return {
    maxLength: get(truncationRaw, 'max_length', 'truncation', isCount, 'a non-negative integer'),
    stride: get(truncationRaw, 'stride', 'truncation', isCount, 'a non-negative integer', 0),
    strategy,
  };
}

function parsePadding(paddingRaw: unknown): PaddingDefaults | null {
  if (paddingRaw === null) return null;
  if (!isObject(paddingRaw)) fail(`padding must be an object or null, got ${describe(paddingRaw)}`);
  const s = paddingRaw['strategy'] ?? 'BatchLongest';
  let length: PaddingOptions['length'];
  if (s === 'BatchLongest') length = 'longest';
  else if (isObject(s) && isCount(s['Fixed'])) length = s['Fixed'];
  else fail(`padding.strategy must be 'BatchLongest' or {Fixed: n}, got ${describe(s)}`);
  const multiple = paddingRaw['pad_to_multiple_of'];
  return {
    length,
    direction: paddingRaw['direction'] === 'Left' ? 'left' : 'right',
    padToken: get(paddingRaw, 'pad_token', 'padding', isString, 'a string', '[PAD]'),
    padTypeId: get(paddingRaw, 'pad_type_id', 'padding', isCount, 'a non-negative integer', 0),
    ...(isCount(multiple) ? { multipleOf: multiple } : {}),
  };
}
