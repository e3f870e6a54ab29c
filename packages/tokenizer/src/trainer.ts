import { assertString, TokenizerError } from './errors';
import { defaultNormalizerOptions, Scanner, unitsToString } from './normalizer';
import { BertTokenizer, type BertTokenizerOptions, bertConfig } from './tokenizer';

export interface WordPieceTrainerOptions extends BertTokenizerOptions {
  /** Size of the vocabulary to reach, special tokens and alphabet included; default 30000. */
  vocabSize?: number;
  /** Pairs seen fewer times than this are not merged; default 2. */
  minFrequency?: number;
  /** Keep at most this many distinct characters (the most frequent); default 1000, `null` for all. */
  limitAlphabet?: number | null;
  /** Characters always kept in the alphabet, even if never seen. */
  initialAlphabet?: string[];
  /** Tokens placed first in the vocabulary; default [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: string[];
}

const PAIR = 0x400000; // pair key = a * PAIR + b; ids stay far below 2^22

/** Max-heap of candidate merges: higher count first, then the smaller pair (Rust's `Merge` order). */
class MergeQueue {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci !== cj ? ci > cj : this.keys[i]! < this.keys[j]!;
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top; returns [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < n && this.before(l, best)) best = l;
        if (r < n && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/**
 * HuggingFace's WordPiece trainer: count the normalized, pre-tokenized words, start from the
 * special tokens and the alphabet (non-initial characters carry the `##` prefix), then repeatedly
 * merge the most frequent adjacent pair until the vocabulary is full. The same input gives the same
 * vocabulary: ties go to the smaller pair of ids, and words are kept in first-seen order.
 *
 * Feed text with `feed` (any number of calls, so async sources work), then call `train`.
 */
export class WordPieceTrainer {
  private readonly options: WordPieceTrainerOptions;
  private readonly scanner: Scanner;
  private readonly wordCounts = new Map<string, number>();

  constructor(options: WordPieceTrainerOptions = {}) {
    const { vocabSize = 30000, minFrequency = 2, limitAlphabet = 1000 } = options;
    for (const [name, value] of [
      ['vocabSize', vocabSize],
      ['minFrequency', minFrequency],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new TokenizerError(`WordPieceTrainer: ${name} must be a non-negative integer, got ${value}`);
      }
    }
    if (limitAlphabet !== null && (!Number.isInteger(limitAlphabet) || limitAlphabet < 0)) {
      throw new TokenizerError(
        `WordPieceTrainer: limitAlphabet must be a non-negative integer or null, got ${limitAlphabet}`,
      );
    }
    this.options = options;
    this.scanner = new Scanner({
      cleanText: options.cleanText ?? defaultNormalizerOptions.cleanText,
      handleChineseChars: options.handleChineseChars ?? defaultNormalizerOptions.handleChineseChars,
      stripAccents: options.stripAccents ?? defaultNormalizerOptions.stripAccents,
      lowercase: options.lowercase ?? defaultNormalizerOptions.lowercase,
    });
  }

  /** Counts the words of one text. */
  feed(text: string): void {
    assertString(text, 'WordPieceTrainer.feed: text');
    const counts = this.wordCounts;
    this.scanner.scan(text, 0, text.length, {
      word(units, _starts, _ends, length) {
        const w = unitsToString(units, length);
        counts.set(w, (counts.get(w) ?? 0) + 1);
      },
    });
  }

  /** Learns the vocabulary from everything fed so far and returns a BERT tokenizer over it. */
  train(): BertTokenizer {
    const {
      vocabSize = 30000,
      minFrequency = 2,
      limitAlphabet = 1000,
      initialAlphabet = [],
      specialTokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
      continuingSubwordPrefix: prefix = '##',
    } = this.options;
    const vocab: string[] = [];
    const ids = new Map<string, number>();
    const add = (token: string): number => {
      let id = ids.get(token);
      if (id === undefined) {
        id = vocab.length;
        vocab.push(token);
        ids.set(token, id);
      }
      return id;
    };
    for (const t of specialTokens) add(t);

    for (const cp of keptAlphabet(this.wordCounts, initialAlphabet, limitAlphabet))
      add(String.fromCodePoint(cp));

    // Each word as symbol ids; characters outside the alphabet are dropped.
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [word, count] of this.wordCounts) {
      const symbols: number[] = [];
      let first = true;
      for (const ch of word) {
        if (ids.has(ch)) symbols.push(add(first ? ch : prefix + ch));
        first = false;
      }
      words.push(symbols);
      counts.push(count);
    }

    learnMerges({ words, counts, vocab, add, vocabSize, minFrequency, prefix });
    return new BertTokenizer(bertConfig(vocab, this.options));
  }
}

/**
 * The alphabet: every character weighted by the frequency of the words it is in, the rarest
 * dropped beyond `limit` (characters of `initial` always kept); code points in ascending order.
 */
function keptAlphabet(
  wordCounts: ReadonlyMap<string, number>,
  initialAlphabet: readonly string[],
  limitAlphabet: number | null,
): number[] {
  const alphabet = new Map<number, number>();
  for (const [word, count] of wordCounts) {
    for (const ch of word) {
      const cp = ch.codePointAt(0)!;
      alphabet.set(cp, (alphabet.get(cp) ?? 0) + count);
    }
  }
  for (const ch of initialAlphabet) alphabet.set(ch.codePointAt(0)!, Number.POSITIVE_INFINITY);
  let kept = [...alphabet];
  if (limitAlphabet !== null && kept.length > limitAlphabet) {
    kept.sort((x, y) => x[1] - y[1] || y[0] - x[0]);
    kept = kept.slice(kept.length - limitAlphabet);
  }
  kept.sort((x, y) => x[0] - y[0]);
  return kept.map(([cp]) => cp);
}

/**
 * WordPiece's merges (as HF's trainer): the most frequent adjacent pair of symbols, summed over
 * words weighted by their counts, becomes a new token, until `vocabSize` or `minFrequency`. Pair
 * counts are kept up to date incrementally, with the words each pair occurs in; the queue holds
 * stale counts that are re-checked when popped.
 */
function learnMerges(o: {
  words: number[][];
  counts: readonly number[];
  vocab: readonly string[];
  add: (token: string) => number;
  vocabSize: number;
  minFrequency: number;
  prefix: string;
}): void {
  const { words, counts, vocab, add, vocabSize, minFrequency, prefix } = o;
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const change = (key: number, delta: number, word: number) => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
    if (delta > 0) {
      let set = where.get(key);
      if (!set) where.set(key, (set = new Set()));
      set.add(word);
    }
  };
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) change(symbols[i]! * PAIR + symbols[i + 1]!, counts[w]!, w);
  });
  const queue = new MergeQueue();
  for (const [key, count] of pairCounts) if (count > 0) queue.push(count, key);

  while (vocab.length < vocabSize && queue.size > 0) {
    const [count, key] = queue.pop();
    const current = pairCounts.get(key) ?? 0;
    if (count !== current) {
      if (current > 0) queue.push(current, key);
      continue;
    }
    if (count < 1 || count < minFrequency) break;
    const a = Math.floor(key / PAIR);
    const b = key % PAIR;
    const partB = vocab[b]!;
    const merged = add(vocab[a]! + (partB.startsWith(prefix) ? partB.slice(prefix.length) : partB));
    const touched = where.get(key)!;
    where.delete(key);
    pairCounts.delete(key);
    const fresh = new Set<number>();
    for (const w of touched) {
      const symbols = words[w]!;
      const c = counts[w]!;
      const out: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === a && symbols[i + 1] === b && i + 1 < symbols.length) {
          if (out.length > 0) {
            const prev = out[out.length - 1]!;
            change(prev * PAIR + a, -c, w);
            change(prev * PAIR + merged, c, w);
            fresh.add(prev * PAIR + merged);
          }
          if (i + 2 < symbols.length) {
            const next = symbols[i + 2]!;
            change(b * PAIR + next, -c, w);
            change(merged * PAIR + next, c, w);
            fresh.add(merged * PAIR + next);
          }
          out.push(merged);
          i++;
        } else {
          out.push(symbols[i]!);
        }
      }
      words[w] = out;
    }
    // Counting the merged pair inside its own neighbours above may have re-added it; it is gone now.
    pairCounts.delete(key);
    for (const k of fresh) {
      const n = pairCounts.get(k) ?? 0;
      if (n > 0) queue.push(n, k);
    }
  }
}

/** Trains a WordPiece vocabulary on the texts and returns a BERT tokenizer over it. */
export function trainWordPiece(
  texts: Iterable<string>,
  options: WordPieceTrainerOptions = {},
): BertTokenizer {
  const trainer = new WordPieceTrainer(options);
  for (const text of texts) trainer.feed(text);
  return trainer.train();
}
