import type { Gemm } from './matmul.js';

/**
 * A WebAssembly SIMD GEMM: the 4×8 micro-kernel runs in WASM on f32x4 vectors; JavaScript packs
 * K×N blocks of B and K-slices of A into WASM memory (reading any transpose through strides, so
 * nothing is ever materialised whole), zero-padding edges to whole tiles.
 *
 * The module is hand-assembled below (about 300 bytes), so the package needs no toolchain.
 */

const MR = 4;
const NR = 8;
/** K block: a 4×KC A tile (4 KiB) stays in L1 while it sweeps the B block. */
const KC = 256;
/** N block: a KC×NC B block (512 KiB) stays in L2 across all A tiles. */
const NC = 512;

// --- module bytes ------------------------------------------------------------------------------

const I32 = 0x7f;
const V128 = 0x7b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const LOOP = 0x03;
const BR_IF = 0x0d;
const END = 0x0b;
const EMPTY_BLOCK = 0x40;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const V128_LOAD32_SPLAT = [SIMD, 0x09];
const V128_STORE = [SIMD, 0x0b];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];

function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
}

/**
 * panel(nTiles, kLen, aPtr, bPtr, cPtr, ldcBytes): for each of nTiles consecutive MR×NR tiles of C
 * (row pitch ldcBytes), C_tile += A_panel · B_tile, where the A panel is packed [kLen][MR] and the
 * B tiles are packed one after another, each [kLen][NR]. Requires nTiles ≥ 1 and kLen ≥ 1.
 */
function panelBody(): number[] {
  // Locals: params 0..5; i32 k, pa, pb and the C row pointers 1..MR−1; v128 accumulators, b0, b1, a.
  const [nTiles, kLen, aPtr, bPtr, cPtr, ldc] = [0, 1, 2, 3, 4, 5];
  const [k, pa, pb] = [6, 7, 8];
  const rows = [cPtr, ...Array.from({ length: MR - 1 }, (_, r) => 9 + r)];
  const firstVector = 8 + MR;
  const acc = (r: number, half: number) => firstVector + 2 * r + half;
  const [b0, b1, a] = [firstVector + 2 * MR, firstVector + 2 * MR + 1, firstVector + 2 * MR + 2];
  const code: number[] = [];
  const get = (i: number) => code.push(LOCAL_GET, i);
  const set = (i: number) => code.push(LOCAL_SET, i);
  const memarg = (offset: number) => code.push(0, ...uleb(offset)); // align hint 1: any address is fine

  get(bPtr);
  set(pb);
  code.push(LOOP, EMPTY_BLOCK); // over tiles
  get(cPtr);
  for (let r = 1; r < MR; r++) {
    get(ldc);
    code.push(I32_ADD, r < MR - 1 ? LOCAL_TEE : LOCAL_SET, rows[r]!);
  }
  for (let r = 0; r < MR; r++) {
    for (let half = 0; half < 2; half++) {
      get(rows[r]!);
      code.push(...V128_LOAD);
      memarg(16 * half);
      set(acc(r, half));
    }
  }
  get(aPtr);
  set(pa);
  get(kLen);
  set(k);
  code.push(LOOP, EMPTY_BLOCK); // over k
  get(pb);
  code.push(...V128_LOAD);
  memarg(0);
  set(b0);
  get(pb);
  code.push(...V128_LOAD);
  memarg(16);
  set(b1);
  for (let r = 0; r < MR; r++) {
    get(pa);
    code.push(...V128_LOAD32_SPLAT);
    memarg(4 * r);
    set(a);
    for (let half = 0; half < 2; half++) {
      get(acc(r, half));
      get(a);
      get(half === 0 ? b0 : b1);
      code.push(...F32X4_MUL, ...F32X4_ADD);
      set(acc(r, half));
    }
  }
  get(pa);
  code.push(I32_CONST, 4 * MR, I32_ADD);
  set(pa);
  get(pb);
  code.push(I32_CONST, 4 * NR, I32_ADD);
  set(pb);
  get(k);
  code.push(I32_CONST, 1, I32_SUB, LOCAL_TEE, k, BR_IF, 0);
  code.push(END);
  for (let r = 0; r < MR; r++) {
    for (let half = 0; half < 2; half++) {
      get(rows[r]!);
      get(acc(r, half));
      code.push(...V128_STORE);
      memarg(16 * half);
    }
  }
  get(cPtr);
  code.push(I32_CONST, 4 * NR, I32_ADD);
  set(cPtr);
  get(nTiles);
  code.push(I32_CONST, 1, I32_SUB, LOCAL_TEE, nTiles, BR_IF, 0);
  code.push(END);
  code.push(END);
  const locals = [2, MR + 2, I32, 2 * MR + 3, V128];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

function moduleBytes(): Uint8Array {
  const panelType = [0x60, 6, I32, I32, I32, I32, I32, I32, 0];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, ...panelType]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]), // one memory, initially one page, growable
    ...section(7, [2, ...name('panel'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...panelBody()]),
  ]);
}

// --- the GEMM ----------------------------------------------------------------------------------

/** The slice of the WebAssembly JS API used here (the compile target's libs do not declare it). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

type Panel = (nTiles: number, kLen: number, aPtr: number, bPtr: number, cPtr: number, ldc: number) => void;

const PAGE_BYTES = 65536;

/** Returns the WASM SIMD GEMM, or null where WebAssembly SIMD is unavailable. */
export function createWasmGemm(): Gemm | null {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm === undefined) return null;
  const bytes = moduleBytes();
  if (!wasm.validate(bytes)) return null;
  const instance = new wasm.Instance(new wasm.Module(bytes));
  const panel = instance.exports['panel'] as Panel;
  const memory = instance.exports['memory'] as WasmMemory;
  let heap = new Float32Array(memory.buffer);

  function reserve(floats: number): void {
    const needed = floats * 4;
    if (needed > memory.buffer.byteLength) {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE_BYTES));
      heap = new Float32Array(memory.buffer);
    }
  }

  return (m, n, k, a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff) => {
    if (m === 0 || n === 0 || k === 0) return;
    const mTiles = Math.ceil(m / MR);
    const mPad = mTiles * MR;
    const ncMax = Math.min(NC, Math.ceil(n / NR) * NR);
    const kcMax = Math.min(KC, k);
    // Heap layout (in floats): C block [mPad × ncMax], then packed A [mPad × kcMax], then packed B [kcMax × ncMax].
    const cBase = 0;
    const aBase = mPad * ncMax;
    const bBase = aBase + mPad * kcMax;
    reserve(bBase + kcMax * ncMax);
    const h = heap;
    const [ars2, ars3] = [2 * ars, 3 * ars];
    const [bcs2, bcs3, bcs4, bcs5, bcs6, bcs7] = [2 * bcs, 3 * bcs, 4 * bcs, 5 * bcs, 6 * bcs, 7 * bcs];
    for (let jc = 0; jc < n; jc += NC) {
      const nc = Math.min(NC, n - jc);
      const nTiles = Math.ceil(nc / NR);
      const ldc = nTiles * NR;
      h.fill(0, cBase, cBase + mPad * ldc);
      for (let kc = 0; kc < k; kc += KC) {
        const kLen = Math.min(KC, k - kc);
        // Pack B block: tile u holds [kLen][NR] of columns jc + u·NR …, zero past n.
        let q = bBase;
        for (let u = 0; u < nTiles; u++) {
          const j0 = jc + u * NR;
          const width = Math.min(NR, n - j0);
          let s = bOff + kc * brs + j0 * bcs;
          if (width === NR) {
            // Whole tile, unrolled: this copy runs once per element of B per block.
            for (let p = 0; p < kLen; p++, s += brs, q += NR) {
              h[q] = b[s]!;
              h[q + 1] = b[s + bcs]!;
              h[q + 2] = b[s + bcs2]!;
              h[q + 3] = b[s + bcs3]!;
              h[q + 4] = b[s + bcs4]!;
              h[q + 5] = b[s + bcs5]!;
              h[q + 6] = b[s + bcs6]!;
              h[q + 7] = b[s + bcs7]!;
            }
            continue;
          }
          for (let p = 0; p < kLen; p++, s += brs, q += NR) {
            let x = 0;
            for (let e = s; x < width; x++, e += bcs) h[q + x] = b[e]!;
            for (; x < NR; x++) h[q + x] = 0;
          }
        }
        // Pack A slice: tile t holds [kLen][MR] of rows t·MR …, zero past m.
        q = aBase;
        for (let t = 0; t < mTiles; t++) {
          const i0 = t * MR;
          const height = Math.min(MR, m - i0);
          let s = aOff + i0 * ars + kc * acs;
          if (height === MR) {
            for (let p = 0; p < kLen; p++, s += acs, q += MR) {
              h[q] = a[s]!;
              h[q + 1] = a[s + ars]!;
              h[q + 2] = a[s + ars2]!;
              h[q + 3] = a[s + ars3]!;
            }
            continue;
          }
          for (let p = 0; p < kLen; p++, s += acs, q += MR) {
            let x = 0;
            for (let e = s; x < height; x++, e += ars) h[q + x] = a[e]!;
            for (; x < MR; x++) h[q + x] = 0;
          }
        }
        for (let t = 0; t < mTiles; t++) {
          panel(nTiles, kLen, 4 * (aBase + t * kLen * MR), 4 * bBase, 4 * (cBase + t * MR * ldc), 4 * ldc);
        }
      }
      for (let i = 0; i < m; i++) {
        const src = cBase + i * ldc;
        const dst = cOff + i * n + jc;
        for (let j = 0; j < nc; j++) c[dst + j]! += h[src + j]!;
      }
    }
  };
}
