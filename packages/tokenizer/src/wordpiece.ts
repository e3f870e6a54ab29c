import type { WordSink } from './normalizer';

/**
 * A trie over the UTF-16 units of every vocabulary token. Edges live in one open-addressing hash
 * table keyed by (parent node, unit), so a lookup allocates nothing.
 */
export class Trie {
  /** Token id ending at each node, or -1. */
  readonly tokenIds: Int32Array;
  private readonly parents: Int32Array;
  private readonly units: Uint16Array;
  private readonly children: Int32Array;
  private readonly mask: number;

  constructor(tokens: readonly string[]) {
    let edges = 0;
    for (const t of tokens) edges += t.length;
    let capacity = 16;
    while (capacity < edges * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.parents = new Int32Array(capacity).fill(-1);
    this.units = new Uint16Array(capacity);
    this.children = new Int32Array(capacity);
    const ids: number[] = [-1];
    let nodes = 1;
    tokens.forEach((token, id) => {
      let node = 0;
      for (let k = 0; k < token.length; k++) {
        const unit = token.charCodeAt(k);
        let next = this.child(node, unit);
        if (next < 0) {
          next = nodes++;
          ids.push(-1);
          this.insert(node, unit, next);
        }
        node = next;
      }
      // The last id wins when a token is listed twice, as when Rust fills its map from a vocab.txt.
      if (token.length > 0) ids[node] = id;
    });
    this.tokenIds = Int32Array.from(ids);
  }

  private slot(node: number, unit: number): number {
    return (Math.imul(node, 0x9e3779b1) ^ Math.imul(unit, 0x85ebca6b)) & this.mask;
  }

  private insert(node: number, unit: number, child: number): void {
    let h = this.slot(node, unit);
    while (this.parents[h] !== -1) h = (h + 1) & this.mask;
    this.parents[h] = node;
    this.units[h] = unit;
    this.children[h] = child;
  }

  /** The child of `node` along `unit`, or -1. */
  child(node: number, unit: number): number {
    const { parents, units, mask } = this;
    let h = this.slot(node, unit);
    for (;;) {
      const p = parents[h]!;
      if (p === -1) return -1;
      if (p === node && units[h] === unit) return this.children[h]!;
      h = (h + 1) & mask;
    }
  }

  /** The node reached from the root along `prefix`, or -1. */
  walk(prefix: string): number {
    let node = 0;
    for (let k = 0; k < prefix.length && node >= 0; k++) node = this.child(node, prefix.charCodeAt(k));
    return node;
  }
}

/** A growable buffer of token ids with their [start, end) offsets in the original text. */
export class PieceBuffer {
  ids = new Int32Array(1024);
  starts = new Int32Array(1024);
  ends = new Int32Array(1024);
  length = 0;

  push(id: number, start: number, end: number): void {
    const n = this.length;
    if (n === this.ids.length) this.grow();
    this.ids[n] = id;
    this.starts[n] = start;
    this.ends[n] = end;
    this.length = n + 1;
  }

  private grow(): void {
    const size = this.ids.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.ids = grow(this.ids);
    this.starts = grow(this.starts);
    this.ends = grow(this.ends);
  }
}

export interface WordPieceOptions {
  unkToken: string;
  continuingSubwordPrefix: string;
  /** Words longer than this many code points become the unknown token. */
  maxInputCharsPerWord: number;
}

/** Words of at most this many UTF-16 units are remembered in the model's cache. */
const CACHED_WORD_UNITS = 24;
const CACHE_SLOTS = 1 << 14;

/**
 * The WordPiece model: greedy longest-match-first over a word, later pieces looked up with the
 * continuation prefix; a word with any piece not in the vocabulary becomes `[UNK]` as a whole.
 * Text repeats words, so the pieces of short words are kept in a direct-mapped cache (flat typed
 * arrays, nothing allocated per word).
 */
export class WordPieceModel implements WordSink {
  readonly trie: Trie;
  readonly unkId: number;
  readonly options: WordPieceOptions;
  /** Where encoded pieces go; the tokenizer points it at its scratch buffer before a scan. */
  out: PieceBuffer = new PieceBuffer();
  private readonly continuationRoot: number;
  /** The pieces of the current word: ids, and the unit index where each ends. */
  private pieceIds = new Int32Array(256);
  private pieceEnds = new Int32Array(256);
  private readonly cacheHash = new Int32Array(CACHE_SLOTS);
  /** Units of the cached word; 0 marks an empty slot. */
  private readonly cacheLength = new Uint8Array(CACHE_SLOTS);
  private readonly cacheUnits = new Uint16Array(CACHE_SLOTS * CACHED_WORD_UNITS);
  private readonly cachePieces = new Uint8Array(CACHE_SLOTS);
  private readonly cacheIds = new Int32Array(CACHE_SLOTS * CACHED_WORD_UNITS);
  private readonly cacheEnds = new Uint8Array(CACHE_SLOTS * CACHED_WORD_UNITS);

  constructor(tokens: readonly string[], unkId: number, options: WordPieceOptions) {
    this.trie = new Trie(tokens);
    this.unkId = unkId;
    this.options = options;
    this.continuationRoot = this.trie.walk(options.continuingSubwordPrefix);
  }

  word(units: Uint16Array, starts: Int32Array, ends: Int32Array, length: number, codePoints: number): void {
    const out = this.out;
    if (codePoints > this.options.maxInputCharsPerWord) {
      out.push(this.unkId, starts[0]!, ends[length - 1]!);
      return;
    }
    let slot = -1;
    let hash = 0;
    if (length <= CACHED_WORD_UNITS) {
      hash = length;
      for (let j = 0; j < length; j++) hash = Math.imul(hash ^ units[j]!, 0x01000193);
      slot = (hash ^ (hash >>> 15)) & (CACHE_SLOTS - 1);
      if (
        this.cacheLength[slot] === length &&
        this.cacheHash[slot] === hash &&
        this.cached(slot, units, length)
      ) {
        const at = slot * CACHED_WORD_UNITS;
        let from = 0;
        for (let p = 0; p < this.cachePieces[slot]!; p++) {
          const end = this.cacheEnds[at + p]!;
          out.push(this.cacheIds[at + p]!, starts[from]!, ends[end - 1]!);
          from = end;
        }
        return;
      }
    }
    const pieces = this.match(units, length);
    let from = 0;
    for (let p = 0; p < pieces; p++) {
      const end = this.pieceEnds[p]!;
      out.push(this.pieceIds[p]!, starts[from]!, ends[end - 1]!);
      from = end;
    }
    if (slot >= 0) {
      const at = slot * CACHED_WORD_UNITS;
      this.cacheHash[slot] = hash;
      this.cacheLength[slot] = length;
      this.cachePieces[slot] = pieces;
      this.cacheUnits.set(units.subarray(0, length), at);
      this.cacheIds.set(this.pieceIds.subarray(0, pieces), at);
      for (let p = 0; p < pieces; p++) this.cacheEnds[at + p] = this.pieceEnds[p]!;
    }
  }

  private cached(slot: number, units: Uint16Array, length: number): boolean {
    const at = slot * CACHED_WORD_UNITS;
    for (let j = 0; j < length; j++) if (this.cacheUnits[at + j] !== units[j]) return false;
    return true;
  }

  /** Splits a word into pieces (into pieceIds/pieceEnds) and returns how many; `[UNK]` is one piece. */
  private match(units: Uint16Array, length: number): number {
    if (length > this.pieceIds.length) {
      this.pieceIds = new Int32Array(length);
      this.pieceEnds = new Int32Array(length);
    }
    const { trie, pieceIds, pieceEnds } = this;
    const tokenIds = trie.tokenIds;
    let pieces = 0;
    let pos = 0;
    while (pos < length) {
      let node = pos === 0 ? 0 : this.continuationRoot;
      let bestEnd = -1;
      let bestId = -1;
      for (let j = pos; j < length && node >= 0; j++) {
        node = trie.child(node, units[j]!);
        if (node >= 0 && tokenIds[node]! >= 0) {
          bestEnd = j + 1;
          bestId = tokenIds[node]!;
        }
      }
      if (bestEnd < 0) {
        pieceIds[0] = this.unkId;
        pieceEnds[0] = length;
        return 1;
      }
      pieceIds[pieces] = bestId;
      pieceEnds[pieces++] = bestEnd;
      pos = bestEnd;
    }
    return pieces;
  }
}
