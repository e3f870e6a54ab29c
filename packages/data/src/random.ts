/**
 * A small seeded PRNG (xoshiro128**, seeded through SplitMix32) so that splits, shuffles and
 * masks are reproducible without the tensor engine. Streams are derived from a seed and integer
 * keys (epoch, step, …), so any batch can be recomputed without replaying the ones before it.
 */

/** Murmur3's 32-bit finaliser: a bijective mix with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function assertSeed(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what}: expected an integer in [0, 2^32), got ${value}`);
  }
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator for `seed`, an integer in [0, 2^32). */
  constructor(seed: number) {
    assertSeed(seed, 'Rng: seed');
    // SplitMix32 expands the seed into the four state words (never all zero).
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return fmix32(x);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A generator for the stream named by `seed` and `keys`; different keys give independent streams. */
  static derive(seed: number, ...keys: number[]): Rng {
    assertSeed(seed, 'Rng.derive: seed');
    let h = fmix32(seed ^ 0x5bd1e995);
    for (const [i, key] of keys.entries()) {
      assertSeed(key, `Rng.derive: key ${i}`);
      h = fmix32((Math.imul(h, 31) + key + 0x9e3779b9) >>> 0);
    }
    return new Rng(h);
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) {
      throw new RangeError(`Rng.nextInt: expected an integer bound in [1, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T, A extends { length: number; [i: number]: T }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
