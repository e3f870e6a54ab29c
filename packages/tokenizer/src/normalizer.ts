import { CJK, CONTROL, charClass, PUNCTUATION, WHITESPACE } from './unicode';

/** BertNormalizer switches, named as in tokenizer.json. */
export interface NormalizerOptions {
  /** Drop NUL, U+FFFD and control characters; turn every whitespace character into a space. */
  cleanText: boolean;
  /** Put spaces around CJK ideographs so each becomes a word of its own. */
  handleChineseChars: boolean;
  /** Decompose (NFD) and drop nonspacing marks; `null` means "same as lowercase". */
  stripAccents: boolean | null;
  /** Lowercase each character (per character, as Rust does: no final-sigma context). */
  lowercase: boolean;
}

export const defaultNormalizerOptions: NormalizerOptions = {
  cleanText: true,
  handleChineseChars: true,
  stripAccents: null,
  lowercase: true,
};

/**
 * Receives each pre-tokenized word of normalized text as UTF-16 units, with the range in the
 * original text that each unit came from. The arrays are scratch space, valid only during the call.
 */
export interface WordSink {
  word(units: Uint16Array, starts: Int32Array, ends: Int32Array, length: number, codePoints: number): void;
}

const ASCII_DROP = 0;
const ASCII_SPACE = 1;
const ASCII_PUNCT = 2;
const ASCII_CHAR = 3;

/**
 * BertNormalizer and BertPreTokenizer fused into one pass over the original text, so words come out
 * already normalized, with offsets into the original, and without building intermediate strings.
 * The order of the Rust pipeline is kept: clean text, isolate CJK, strip accents, lowercase, then
 * split on whitespace and isolate punctuation.
 */
export class Scanner {
  readonly options: NormalizerOptions;
  private readonly stripAccents: boolean;
  private readonly asciiKind = new Uint8Array(128);
  private readonly asciiUnit = new Uint16Array(128);
  /** Non-ASCII code point → its normalized form (a string of zero or more code points). */
  private readonly mapped = new Map<number, string>();
  private units = new Uint16Array(256);
  private starts = new Int32Array(256);
  private ends = new Int32Array(256);
  private length = 0;
  private codePoints = 0;

  constructor(options: NormalizerOptions) {
    this.options = options;
    this.stripAccents = options.stripAccents ?? options.lowercase;
    for (let cp = 0; cp < 128; cp++) {
      const cls = charClass(cp);
      let kind = ASCII_CHAR;
      if (options.cleanText && (cp === 0 || cls & CONTROL)) kind = ASCII_DROP;
      else if (cls & WHITESPACE) kind = ASCII_SPACE;
      else if (cls & PUNCTUATION) kind = ASCII_PUNCT;
      this.asciiKind[cp] = kind;
      this.asciiUnit[cp] = options.lowercase && cp >= 65 && cp <= 90 ? cp + 32 : cp;
    }
  }

  /** Accent stripping then lowercasing of one code point, memoised. */
  private normalizeCodePoint(cp: number): string {
    let out = this.mapped.get(cp);
    if (out === undefined) {
      out = String.fromCodePoint(cp);
      if (this.stripAccents) out = out.normalize('NFD').replace(/\p{Mn}/gu, '');
      if (this.options.lowercase) {
        let lowered = '';
        for (const ch of out) lowered += ch.toLowerCase();
        out = lowered;
      }
      this.mapped.set(cp, out);
    }
    return out;
  }

  private push(unit: number, start: number, end: number): void {
    const n = this.length;
    if (n === this.units.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(n * 2);
        b.set(a);
        return b;
      };
      const units = new Uint16Array(n * 2);
      units.set(this.units);
      this.units = units;
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.units[n] = unit;
    this.starts[n] = start;
    this.ends[n] = end;
    this.length = n + 1;
  }

  private flush(sink: WordSink): void {
    if (this.length > 0) {
      sink.word(this.units, this.starts, this.ends, this.length, this.codePoints);
      this.length = 0;
      this.codePoints = 0;
    }
  }

  /** Emits every word of `text.slice(from, to)` to `sink`. */
  scan(text: string, from: number, to: number, sink: WordSink): void {
    const { asciiKind, asciiUnit } = this;
    const { cleanText, handleChineseChars } = this.options;
    this.length = 0;
    this.codePoints = 0;
    let i = from;
    while (i < to) {
      let cp = text.charCodeAt(i);
      if (cp < 128) {
        const kind = asciiKind[cp]!;
        if (kind === ASCII_CHAR) {
          // Inline of push() for the hot path.
          const n = this.length;
          if (n === this.units.length) this.push(asciiUnit[cp]!, i, i + 1);
          else {
            this.units[n] = asciiUnit[cp]!;
            this.starts[n] = i;
            this.ends[n] = i + 1;
            this.length = n + 1;
          }
          this.codePoints++;
        } else if (kind === ASCII_SPACE) {
          this.flush(sink);
        } else if (kind === ASCII_PUNCT) {
          this.flush(sink);
          this.push(cp, i, i + 1);
          this.codePoints = 1;
          this.flush(sink);
        }
        i++;
        continue;
      }
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < to) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      const end = i + width;
      const cls = charClass(cp);
      if (cleanText) {
        if (cp === 0xfffd || cls & CONTROL) {
          i = end;
          continue;
        }
        if (cls & WHITESPACE) {
          this.flush(sink);
          i = end;
          continue;
        }
      }
      const isolate = handleChineseChars && (cls & CJK) !== 0;
      if (isolate) this.flush(sink);
      const normalized = this.normalizeCodePoint(cp);
      for (let k = 0; k < normalized.length; k++) {
        const unit = normalized.charCodeAt(k);
        const isHigh = unit >= 0xd800 && unit <= 0xdbff && k + 1 < normalized.length;
        const mcp = isHigh ? normalized.codePointAt(k)! : unit;
        const mcls = mcp === cp ? cls : charClass(mcp);
        if (mcls & WHITESPACE) {
          this.flush(sink);
          if (isHigh) k++;
          continue;
        }
        const punct = (mcls & PUNCTUATION) !== 0;
        if (punct) this.flush(sink);
        this.push(unit, i, end);
        if (isHigh) this.push(normalized.charCodeAt(++k), i, end);
        this.codePoints++;
        if (punct) this.flush(sink);
      }
      if (isolate) this.flush(sink);
      i = end;
    }
    this.flush(sink);
  }
}

/** The UTF-16 units as a string. */
export function unitsToString(units: Uint16Array, length: number): string {
  if (length <= 64) return String.fromCharCode.apply(null, units.subarray(0, length) as unknown as number[]);
  let s = '';
  for (let k = 0; k < length; k += 4096) {
    s += String.fromCharCode.apply(
      null,
      units.subarray(k, Math.min(length, k + 4096)) as unknown as number[],
    );
  }
  return s;
}
