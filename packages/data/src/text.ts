/** Documents into paragraphs and sentences. */

/** Paragraphs: runs of text separated by blank lines, each with its whitespace collapsed. */
export function splitParagraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.replace(/\s+/g, ' ').trim())
    .filter((paragraph) => paragraph !== '');
}

// Abbreviations whose period ends no sentence ("Mr. Lincoln", "U.S. Army").
const ABBREVIATION =
  /(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Col|Capt|Lt|Gov|Sen|Rep|Hon|Rev|No|Nos|Vol|vs|etc|Messrs|Mt|Ft|Co|Inc|Ltd|viz|cf|ie|eg|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)|\b[A-Z])\.$/;

/**
 * Sentences of a paragraph: a break after `.`, `!` or `?` (and any closing quotes or brackets)
 * when whitespace and a capital, digit or opening quote follow, except after a known
 * abbreviation or a single initial.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  const boundary = /[.!?]+["'”’)\]]*(?=\s+["'“‘(]?[A-Z0-9])/g;
  let start = 0;
  for (let match = boundary.exec(text); match; match = boundary.exec(text)) {
    const end = match.index + match[0].length;
    if (ABBREVIATION.test(text.slice(Math.max(start, end - 12), end))) continue;
    const sentence = text.slice(start, end).trim();
    if (sentence) sentences.push(sentence);
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

/**
 * Passages of whole consecutive sentences of about `maxWords` words each: a sentence joins the
 * current passage while the passage stays within `maxWords`; a longer sentence stands alone.
 * For texts without paragraph breaks (the State of the Union files have none).
 */
export function sentencePassages(text: string, maxWords: number): string[] {
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    throw new RangeError(`sentencePassages: expected maxWords to be a positive integer, got ${maxWords}`);
  }
  const passages: string[] = [];
  let current: string[] = [];
  let words = 0;
  for (const sentence of splitSentences(text.replace(/\s+/g, ' '))) {
    const n = wordCount(sentence);
    if (current.length > 0 && words + n > maxWords) {
      passages.push(current.join(' '));
      current = [];
      words = 0;
    }
    current.push(sentence);
    words += n;
  }
  if (current.length > 0) passages.push(current.join(' '));
  return passages;
}
