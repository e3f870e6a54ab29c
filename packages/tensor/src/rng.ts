import type { RandomDistribution, RandomStream } from './backend.js';

/**
 * The counter-based random stream every backend reproduces (Philox4x32-10, Salmon et al. 2011).
 *
 * Element i of a random tensor drawn from stream (seed, offset) uses the 128-bit counter
 * (lo32(offset + i), hi32(offset + i), 0, 0) under the key (lo32(seed), hi32(seed)), giving four
 * 32-bit words w0..w3. From them:
 * - uniform:   u = (w0 >>> 8) · 2⁻²⁴ ∈ [0, 1);  value = low + (high − low) · u
 * - bernoulli: 1 if (w0 >>> 8) < bernoulliThreshold(p) else 0 (integer compare, exact everywhere)
 * - normal:    Box–Muller, u1 = ((w0 >>> 8) + 1) · 2⁻²⁴, u2 = (w1 >>> 8) · 2⁻²⁴,
 *              z = √(−2 ln u1) · cos(2π u2)
 * - truncatedNormal: candidates z = √(−2 ln u1)·cos(2π u2), √(−2 ln u1)·sin(2π u2) from (w0, w1),
 *              then the same from (w2, w3); the first with |z| ≤ 2 wins; if none does
 *              (probability ≈ 4·10⁻⁶), the first clamped to [−2, 2].
 * Seeds and offsets are integers in [0, 2⁵³).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const M0_HI = M0 >>> 16;
const M0_LO = M0 & 0xffff;
const M1_HI = M1 >>> 16;
const M1_LO = M1 & 0xffff;

/** Philox4x32-10 of the counter (c0, c1, c2, c3) under key (k0, k1); writes the four words into `out`. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    // 32×32 → 64-bit products split into 16-bit halves of the constant, exact in doubles (< 2⁴⁹).
    const hi0 = Math.floor((x0 * M0_HI + Math.floor((x0 * M0_LO) / 65536)) / 65536) >>> 0;
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = Math.floor((x2 * M1_HI + Math.floor((x2 * M1_LO) / 65536)) / 65536) >>> 0;
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** The integer threshold t such that a draw is 1 iff (w0 >>> 8) < t. */
export function bernoulliThreshold(p: number): number {
  return Math.min(16777216, Math.max(0, Math.ceil(p * 16777216)));
}

export function splitU64(value: number): [number, number] {
  return [(value % TWO_POW_32) >>> 0, Math.floor(value / TWO_POW_32) >>> 0];
}

const U24 = 1 / 16777216;

function boxMuller(wa: number, wb: number, useSin: boolean): number {
  const u1 = ((wa >>> 8) + 1) * U24;
  const u2 = (wb >>> 8) * U24;
  const r = Math.sqrt(-2 * Math.log(u1));
  return useSin ? r * Math.sin(2 * Math.PI * u2) : r * Math.cos(2 * Math.PI * u2);
}

/** Fills `out` with the stream's values (the reference implementation; the CPU backend uses it). */
export function fillRandom(dist: RandomDistribution, stream: RandomStream, out: Float32Array): void {
  const [k0, k1] = splitU64(stream.seed);
  const words = new Uint32Array(4);
  const threshold = dist.kind === 'bernoulli' ? bernoulliThreshold(dist.p) : 0;
  let [c0, c1] = splitU64(stream.offset);
  for (let i = 0; i < out.length; i++) {
    philox4x32(c0, c1, 0, 0, k0, k1, words);
    c0 = (c0 + 1) >>> 0;
    if (c0 === 0) c1 = (c1 + 1) >>> 0;
    const w0 = words[0]!;
    switch (dist.kind) {
      case 'uniform':
        out[i] = dist.low + (dist.high - dist.low) * ((w0 >>> 8) * U24);
        break;
      case 'bernoulli':
        out[i] = w0 >>> 8 < threshold ? 1 : 0;
        break;
      case 'normal':
        out[i] = dist.mean + dist.std * boxMuller(w0, words[1]!, false);
        break;
      case 'truncatedNormal': {
        const first = boxMuller(w0, words[1]!, false);
        let z = first;
        if (Math.abs(z) > 2) z = boxMuller(w0, words[1]!, true);
        if (Math.abs(z) > 2) z = boxMuller(words[2]!, words[3]!, false);
        if (Math.abs(z) > 2) z = boxMuller(words[2]!, words[3]!, true);
        if (Math.abs(z) > 2) z = Math.max(-2, Math.min(2, first));
        out[i] = dist.mean + dist.std * z;
        break;
      }
    }
  }
}
