import { assembleModule, FunctionBuilder, I32, Op, Simd, V128, type WasmFunction } from './wasm-asm.js';
import { elementwiseFunctions } from './wasm-elementwise.js';
import { randomFunctions } from './wasm-random.js';
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

/**
 * panel(nTiles, kLen, aPtr, bPtr, cPtr, ldcBytes, bStrideBytes): for each of nTiles consecutive
 * MR×NR tiles of C (row pitch ldcBytes), C_tile = A_tile · B_tile, where the A tile is packed
 * [kLen][MR] and tile u of B, packed [kLen][NR], starts at bPtr + u·bStrideBytes. C is written,
 * not accumulated, so it needs no zeroing. Requires nTiles ≥ 1.
 */
function panelFunction(): WasmFunction {
  const f = new FunctionBuilder('panel', [I32, I32, I32, I32, I32, I32, I32]);
  const [nTiles, kLen, aPtr, bPtr, cPtr, ldc, bStride] = [0, 1, 2, 3, 4, 5, 6];
  const [k, pa, pb] = [f.local(I32), f.local(I32), f.local(I32)];
  const rows = [cPtr, ...Array.from({ length: MR - 1 }, () => f.local(I32))];
  const acc = Array.from({ length: MR }, () => [f.local(V128), f.local(V128)] as const);
  const [b0, b1, a] = [f.local(V128), f.local(V128), f.local(V128)];
  const memarg = FunctionBuilder.memarg;
  /** One k step: the A column at pa, the B row at pb. */
  const kStep = () => {
    f.get(pb)
      .simd(Simd.load, ...memarg(0))
      .set(b0);
    f.get(pb)
      .simd(Simd.load, ...memarg(16))
      .set(b1);
    for (let r = 0; r < MR; r++) {
      f.get(pa)
        .simd(Simd.load32Splat, ...memarg(4 * r))
        .set(a);
      for (const [half, b] of [b0, b1].entries()) {
        f.get(acc[r]![half]!).get(a).get(b).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc[r]![half]!);
      }
    }
  };
  f.emit(Op.loop, Op.emptyType); // over tiles
  for (let r = 1; r < MR; r++)
    f.get(rows[r - 1]!)
      .get(ldc)
      .emit(Op.i32Add)
      .set(rows[r]!);
  for (const pair of acc) for (const v of pair) f.i32x4(0).set(v);
  f.get(aPtr).set(pa).get(bPtr).set(pb).get(kLen).set(k);
  // One k step an iteration: unrolled by 2 or 4 it measured 20–30% slower on one thread (Zen 4, Node 20).
  f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
  f.get(k).emit(Op.i32Eqz, Op.brIf, 1);
  kStep();
  f.get(pa)
    .i32(4 * MR)
    .emit(Op.i32Add)
    .set(pa);
  f.get(pb)
    .i32(4 * NR)
    .emit(Op.i32Add)
    .set(pb);
  f.get(k).i32(1).emit(Op.i32Sub).set(k);
  f.emit(Op.br, 0, Op.end, Op.end);
  for (let r = 0; r < MR; r++) {
    for (const [half, v] of acc[r]!.entries())
      f.get(rows[r]!)
        .get(v)
        .simd(Simd.store, ...memarg(16 * half));
  }
  f.get(cPtr)
    .i32(4 * NR)
    .emit(Op.i32Add)
    .set(cPtr);
  f.get(bPtr).get(bStride).emit(Op.i32Add).set(bPtr);
  f.get(nTiles).i32(1).emit(Op.i32Sub).set(nTiles);
  f.get(nTiles).emit(Op.brIf, 0, Op.end);
  return f.function();
}

/** Memory pages the module declares as its maximum (4 GiB, all a 32-bit address reaches). */
export const MAX_PAGES = 65536;

function kernelFunctions(): WasmFunction[] {
  return [panelFunction(), ...elementwiseFunctions(), ...rowFunctions(), ...randomFunctions()];
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
