import { assembleModule, I32, uleb, V128, type WasmFunction } from './wasm-asm.js';
import { elementwiseFunctions } from './wasm-elementwise.js';
import { type RowKernels, rowFunctions } from './wasm-rows.js';

/**
 * The backend's WebAssembly module, assembled here (`wasm-asm.ts`; no toolchain, no .wasm file
 * to ship): SIMD kernels over a memory the caller provides, so the tensors stored in it (see
 * `heap.ts`) are read in place and worker threads can instantiate the same module on the same
 * shared memory. The GEMM micro-kernel is below; the elementwise kernels are in `wasm-elementwise.ts`.
 */

/** The slice of the WebAssembly JS API used here (the compile target's libs do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
}

/** WebAssembly, where the runtime has it. */
export function webAssembly(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

export const MR = 4;
export const NR = 8;

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
const V128_CONST = [SIMD, 0x0c];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];

/**
 * panel(nTiles, kLen, aPtr, bPtr, cPtr, ldcBytes, bStrideBytes): for each of nTiles consecutive
 * MR×NR tiles of C (row pitch ldcBytes), C_tile = A_tile · B_tile, where the A tile is packed
 * [kLen][MR] and tile u of B, packed [kLen][NR], starts at bPtr + u·bStrideBytes. C is written,
 * not accumulated, so it needs no zeroing. Requires nTiles ≥ 1 and kLen ≥ 1.
 */
function panelBody(): number[] {
  const [nTiles, kLen, aPtr, bPtr, cPtr, ldc, bStride] = [0, 1, 2, 3, 4, 5, 6];
  const [k, pa, pb] = [7, 8, 9];
  const rows = [cPtr, ...Array.from({ length: MR - 1 }, (_, r) => 10 + r)];
  const firstVector = 9 + MR;
  const acc = (r: number, half: number) => firstVector + 2 * r + half;
  const [b0, b1, a] = [firstVector + 2 * MR, firstVector + 2 * MR + 1, firstVector + 2 * MR + 2];
  const code: number[] = [];
  const get = (i: number) => code.push(LOCAL_GET, i);
  const set = (i: number) => code.push(LOCAL_SET, i);
  const memarg = (offset: number) => code.push(0, ...uleb(offset)); // align hint 1: any address is fine

  code.push(LOOP, EMPTY_BLOCK); // over tiles
  get(cPtr);
  for (let r = 1; r < MR; r++) {
    get(ldc);
    code.push(I32_ADD, r < MR - 1 ? LOCAL_TEE : LOCAL_SET, rows[r]!);
  }
  for (let r = 0; r < MR; r++) {
    for (let half = 0; half < 2; half++) {
      code.push(...V128_CONST, ...new Array<number>(16).fill(0));
      set(acc(r, half));
    }
  }
  get(aPtr);
  set(pa);
  get(bPtr);
  set(pb);
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
  get(bPtr);
  get(bStride);
  code.push(I32_ADD);
  set(bPtr);
  get(nTiles);
  code.push(I32_CONST, 1, I32_SUB, LOCAL_TEE, nTiles, BR_IF, 0);
  code.push(END);
  code.push(END);
  const locals = [2, MR + 2, I32, 2 * MR + 3, V128];
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/** Memory pages the module declares as its maximum (4 GiB, all a 32-bit address reaches). */
export const MAX_PAGES = 65536;

function kernelFunctions(): WasmFunction[] {
  const panel: WasmFunction = {
    name: 'panel',
    params: [I32, I32, I32, I32, I32, I32, I32],
    body: panelBody(),
  };
  return [panel, ...elementwiseFunctions(), ...rowFunctions()];
}

export type Panel = (
  nTiles: number,
  kLen: number,
  aPtr: number,
  bPtr: number,
  cPtr: number,
  ldcBytes: number,
  bStrideBytes: number,
) => void;

/** An elementwise kernel (see `wasm-elementwise.ts`): byte addresses of out and operands, then n. */
export type ElementwiseKernel = (out: number, ...operandsThenCount: number[]) => void;

export interface KernelModule {
  /** The compiled module (worker threads instantiate it on the same shared memory). */
  readonly module: WasmModule;
  readonly panel: Panel;
  /** Elementwise kernels by name (`wasm-elementwise.ts`). */
  readonly elementwise: Readonly<Record<string, ElementwiseKernel>>;
  /** Row kernels of the fused ops and reductions (`wasm-rows.ts`). */
  readonly rows: RowKernels;
  /** Every export in export order (how worker threads address kernels), and a name's index there. */
  readonly list: readonly ElementwiseKernel[];
  exportIndex(name: string): number;
}

/** Compiles the module for `memory` (shared or not), or returns null where WebAssembly SIMD is missing. */
export function compileKernels(wasm: WasmApi, memory: WasmMemory, shared: boolean): KernelModule | null {
  const bytes = assembleModule(kernelFunctions(), shared, MAX_PAGES);
  if (!wasm.validate(bytes)) return null;
  const module = new wasm.Module(bytes);
  const instance = new wasm.Instance(module, { env: { memory } });
  const exports = instance.exports;
  const names = Object.keys(exports);
  return {
    module,
    panel: exports['panel'] as Panel,
    elementwise: exports as Record<string, ElementwiseKernel>,
    rows: exports as unknown as RowKernels,
    list: Object.values(exports) as ElementwiseKernel[],
    exportIndex: (name) => names.indexOf(name),
  };
}
