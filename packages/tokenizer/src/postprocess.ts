import { TokenizerError } from './errors';

/** The model input for one text or one pair of texts. */
export interface Encoding {
  /** Token ids. */
  ids: Int32Array;
  /** Segment of each token: 0 for the first text, 1 for the second (BERT's token type ids). */
  typeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Uint8Array;
  /** 1 for tokens added by post-processing ([CLS], [SEP], padding), 0 for tokens of the text. */
  specialTokensMask: Uint8Array;
  /**
   * Character offsets into the original text, two per token: `[start, end)` in UTF-16 units, so
   * `text.slice(offsets[2 * i], offsets[2 * i + 1])` is what token i came from; [0, 0) for added tokens.
   */
  offsets: Int32Array;
  /** The windows cut off by truncation, each post-processed and padded like this one. */
  overflowing: Encoding[];
}

/** One text after WordPiece, before special tokens. */
export interface Sequence {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

export type TemplateItem =
  | { kind: 'special'; token: string; ids: number[]; typeId: number }
  | { kind: 'sequence'; sequence: 'A' | 'B'; typeId: number };

/** A TemplateProcessing post-processor, e.g. `[CLS] $A [SEP]` and `[CLS] $A [SEP] $B:1 [SEP]:1`. */
export interface Template {
  single: TemplateItem[];
  pair: TemplateItem[];
}

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

export interface TruncationOptions {
  /** Most tokens in the result, special tokens included. */
  maxLength: number;
  /** Which text loses tokens when a pair is too long; default 'longest_first'. */
  strategy?: TruncationStrategy;
  /** Tokens each overflowing window repeats from the end of the previous one; default 0. */
  stride?: number;
}

export interface PaddingOptions {
  /** Pad to this many tokens, or to the longest encoding of the batch; default 'longest'. */
  length?: number | 'longest';
  /** Round the padded length up to a multiple of this. */
  multipleOf?: number;
  /** Side the padding goes on; default 'right'. */
  direction?: 'right' | 'left';
}

export function addedTokenCount(items: readonly TemplateItem[]): number {
  let n = 0;
  for (const item of items) if (item.kind === 'special') n += item.ids.length;
  return n;
}

function slice(seq: Sequence, start: number, end: number): Sequence {
  return {
    ids: seq.ids.slice(start, end),
    starts: seq.starts.slice(start, end),
    ends: seq.ends.slice(start, end),
  };
}

/** Right truncation to `maxLength` tokens: the kept window first, then the overflowing ones. */
function windows(seq: Sequence, maxLength: number, stride: number): Sequence[] {
  const n = seq.ids.length;
  if (n <= maxLength) return [seq];
  if (maxLength === 0) return [slice(seq, 0, 0), seq];
  if (stride >= maxLength) {
    throw new TokenizerError(
      `truncation: stride (${stride}) must be less than the tokens left for this text (${maxLength})`,
    );
  }
  const out: Sequence[] = [];
  for (let start = 0; ; start += maxLength - stride) {
    const stop = Math.min(start + maxLength, n);
    out.push(slice(seq, start, stop));
    if (stop === n) break;
  }
  return out;
}

/**
 * HuggingFace's truncation: `maxLength` counts the template's special tokens too. Returns every
 * window of each text; the first ones are what the encoding keeps.
 */
export function truncate(
  a: Sequence,
  b: Sequence | null,
  options: TruncationOptions,
  specialTokens: number,
): [Sequence[], Sequence[] | null] {
  const { strategy = 'longest_first', stride = 0 } = options;
  const maxLength = options.maxLength - specialTokens;
  if (!Number.isInteger(options.maxLength) || maxLength < 0) {
    throw new TokenizerError(
      `truncation: maxLength must be an integer of at least ${specialTokens} (the special tokens), got ${options.maxLength}`,
    );
  }
  if (!Number.isInteger(stride) || stride < 0) {
    throw new TokenizerError(`truncation: stride must be a non-negative integer, got ${stride}`);
  }
  const n1 = a.ids.length;
  const n2 = b ? b.ids.length : 0;
  const total = n1 + n2;
  if (total <= maxLength) return [[a], b ? [b] : null];
  const toRemove = total - maxLength;
  if (!b) {
    if (strategy === 'only_second') {
      throw new TokenizerError(`truncation: strategy 'only_second' needs a pair of texts, got one text`);
    }
    return [windows(a, maxLength, stride), null];
  }
  if (strategy === 'longest_first') {
    // Assuming short <= long: truncate only the longer one, or both to about half.
    let short = Math.min(n1, n2);
    let long = short > maxLength ? short : Math.max(short, maxLength - short);
    if (short + long > maxLength) {
      short = Math.floor(maxLength / 2);
      long = short + (maxLength % 2);
    }
    const [len1, len2] = n1 > n2 ? [long, short] : [short, long];
    return [windows(a, len1, stride), windows(b, len2, stride)];
  }
  const first = strategy === 'only_first';
  const target = first ? n1 : n2;
  if (target <= toRemove) {
    throw new TokenizerError(
      `truncation: ${first ? 'first' : 'second'} text has ${target} tokens, too few to remove ${toRemove} ` +
        `and fit maxLength ${options.maxLength}; use strategy 'longest_first'`,
    );
  }
  return first ? [windows(a, n1 - toRemove, stride), [b]] : [[a], windows(b, n2 - toRemove, stride)];
}

/** Applies the template: special tokens, token type ids, special-tokens mask, offsets. */
export function applyTemplate(
  template: Template,
  a: Sequence,
  b: Sequence | null,
  addSpecialTokens: boolean,
): Encoding {
  const items = b ? template.pair : template.single;
  let n = 0;
  for (const item of items) {
    if (item.kind === 'special') n += addSpecialTokens ? item.ids.length : 0;
    else n += item.sequence === 'A' ? a.ids.length : b ? b.ids.length : 0;
  }
  const ids = new Int32Array(n);
  const typeIds = new Int32Array(n);
  const specialTokensMask = new Uint8Array(n);
  const offsets = new Int32Array(2 * n);
  let k = 0;
  for (const item of items) {
    if (item.kind === 'special') {
      if (!addSpecialTokens) continue;
      for (const id of item.ids) {
        ids[k] = id;
        typeIds[k] = item.typeId;
        specialTokensMask[k] = 1;
        k++;
      }
    } else {
      const seq = item.sequence === 'A' ? a : b;
      if (!seq) continue;
      ids.set(seq.ids, k);
      typeIds.fill(item.typeId, k, k + seq.ids.length);
      for (let j = 0; j < seq.ids.length; j++, k++) {
        offsets[2 * k] = seq.starts[j]!;
        offsets[2 * k + 1] = seq.ends[j]!;
      }
    }
  }
  return {
    ids,
    typeIds,
    attentionMask: new Uint8Array(n).fill(1),
    specialTokensMask,
    offsets,
    overflowing: [],
  };
}

/** The padded length for encodings whose longest has `longest` tokens. */
export function paddedLength(options: PaddingOptions, longest: number): number {
  const { length = 'longest', multipleOf } = options;
  let target = length === 'longest' ? longest : length;
  if (!Number.isInteger(target) || target < 0) {
    throw new TokenizerError(
      `padding: length must be 'longest' or a non-negative integer, got ${String(length)}`,
    );
  }
  if (multipleOf !== undefined) {
    if (!Number.isInteger(multipleOf) || multipleOf <= 0) {
      throw new TokenizerError(`padding: multipleOf must be a positive integer, got ${multipleOf}`);
    }
    target = Math.ceil(target / multipleOf) * multipleOf;
  }
  return target;
}

/** Pads `encoding` (and its overflowing windows) to `length` tokens; longer encodings are left alone. */
export function pad(
  encoding: Encoding,
  length: number,
  padId: number,
  padTypeId: number,
  direction: 'right' | 'left',
): Encoding {
  const overflowing = encoding.overflowing.map((o) => pad(o, length, padId, padTypeId, direction));
  const n = encoding.ids.length;
  if (n >= length) return { ...encoding, overflowing };
  const at = direction === 'right' ? 0 : length - n;
  const padFrom = direction === 'right' ? n : 0;
  const padTo = padFrom + length - n;
  const ids = new Int32Array(length).fill(padId, padFrom, padTo);
  ids.set(encoding.ids, at);
  const typeIds = new Int32Array(length).fill(padTypeId, padFrom, padTo);
  typeIds.set(encoding.typeIds, at);
  const attentionMask = new Uint8Array(length);
  attentionMask.set(encoding.attentionMask, at);
  const specialTokensMask = new Uint8Array(length).fill(1, padFrom, padTo);
  specialTokensMask.set(encoding.specialTokensMask, at);
  const offsets = new Int32Array(2 * length);
  offsets.set(encoding.offsets, 2 * at);
  return { ids, typeIds, attentionMask, specialTokensMask, offsets, overflowing };
}
