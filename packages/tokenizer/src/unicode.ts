// Character classes with the semantics of HuggingFace's Rust `tokenizers` (bert normalizer and
// pre-tokenizer), evaluated per code point and memoised in one table for the whole code space.

export const CONTROL = 1;
export const WHITESPACE = 2;
export const PUNCTUATION = 4;
export const CJK = 8;
const COMPUTED = 128;

const classes = new Uint8Array(0x110000);

const otherRe = /^[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}]$/u;
const punctRe = /^\p{P}$/u;
// Rust's `char::is_whitespace` (the Unicode White_Space property).
const whiteSpaceRe = /^\p{White_Space}$/u;

/** The CJK Unified Ideograph blocks that BERT isolates, astral ones included. */
export function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function compute(cp: number): number {
  // A lone surrogate is the only way a JS string holds a Cs code point; `String.fromCodePoint`
  // keeps it whole so the regexes below see one code point.
  const ch = String.fromCodePoint(cp);
  let c = COMPUTED;
  // Tab, newline and carriage return are technically controls but count as whitespace.
  if (cp === 9 || cp === 10 || cp === 13) c |= WHITESPACE;
  else if (otherRe.test(ch)) c |= CONTROL;
  else if (whiteSpaceRe.test(ch)) c |= WHITESPACE;
  // ASCII punctuation includes symbols such as $ + < = > ^ ` | ~ that Unicode files under S*.
  if ((cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60))
    c |= PUNCTUATION;
  else if (cp >= 0x7b && cp <= 0x7e) c |= PUNCTUATION;
  else if (punctRe.test(ch)) c |= PUNCTUATION;
  if (isCjk(cp)) c |= CJK;
  return c;
}

/** Bit set of CONTROL | WHITESPACE | PUNCTUATION | CJK for a code point. */
export function charClass(cp: number): number {
  let c = classes[cp]!;
  if (c === 0) classes[cp] = c = compute(cp);
  return c & ~COMPUTED;
}
