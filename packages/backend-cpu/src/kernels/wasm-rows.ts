import {
  F32,
  F64,
  FunctionBuilder,
  I32,
  Op,
  Simd,
  V128,
  type ValueType,
  type WasmFunction,
} from './wasm-asm.js';
import { emitExp } from './wasm-elementwise.js';

/**
 * Row kernels for the fused ops, reductions and copies (`fused.ts`, `reduce.ts`, `movement.ts`)
 * over float32 rows in the heap: `*_row` kernels do one row per call (JavaScript combines their
 * results: a log, a label's logit), `*_rows` kernels every row in one call (so the thread pool can
 * split them). Sums are accumulated in float64 (two f64x2 lanes), as the JavaScript kernels
 * accumulate in doubles, so long rows (a vocabulary of logits) keep their precision; per-row
 * scalars travel as float32 parameters.
 */

const memarg = FunctionBuilder.memarg;

interface RowIo {
  readonly lanes: 4 | 1;
  /** Pushes four elements at `pointer` (or one, splatted). */
  load(pointer: number): void;
  /** Stores the v128 on the stack (address pushed before it): four lanes, or lane 0. */
  store(): void;
}

/**
 * The two loops over a row of `count` elements (an i32 local, consumed): four lanes while four
 * remain, then one at a time through the same `step` code; `pointers` advance 4 bytes an element.
 */
function overRow(
  f: FunctionBuilder,
  count: number,
  pointers: readonly number[],
  step: (io: RowIo) => void,
): void {
  for (const lanes of [4, 1] as const) {
    f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
    f.get(count);
    if (lanes === 4) f.i32(4).emit(Op.i32LtU);
    else f.emit(Op.i32Eqz);
    f.emit(Op.brIf, 1);
    step({
      lanes,
      load: (pointer) => void f.get(pointer).simd(lanes === 4 ? Simd.load : Simd.load32Splat, ...memarg()),
      store: () =>
        void (lanes === 4 ? f.simd(Simd.store, ...memarg()) : f.simd(Simd.store32Lane, ...memarg(), 0)),
    });
    for (const p of pointers)
      f.get(p)
        .i32(4 * lanes)
        .emit(Op.i32Add)
        .set(p);
    f.get(count).i32(lanes).emit(Op.i32Sub).set(count);
    f.emit(Op.br, 0, Op.end, Op.end);
  }
}

/** Leaves the float32 max of the four lanes of `m` on the stack (NaN if any lane is NaN). */
function laneMax(f: FunctionBuilder, m: number): void {
  f.get(m).simd(Simd.f32x4ExtractLane, 0);
  for (const lane of [1, 2, 3]) f.get(m).simd(Simd.f32x4ExtractLane, lane).emit(Op.f32Max);
}

/** Leaves the f64 sum of the two lanes of `acc` on the stack. */
function laneSum(f: FunctionBuilder, acc: number): void {
  f.get(acc).simd(Simd.f64x2ExtractLane, 0).get(acc).simd(Simd.f64x2ExtractLane, 1).emit(Op.f64Add);
}

/** acc (f64x2) += the four float32 lanes of `v` (only lane 0 in the one-at-a-time loop). */
function accumulate(f: FunctionBuilder, io: RowIo, acc: number, v: number): void {
  if (io.lanes === 1) f.get(v).i32x4Lanes([-1, 0, 0, 0]).simd(Simd.and).set(v);
  f.get(acc).get(v).simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add);
  f.get(v).get(v).simd(Simd.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  f.simd(Simd.f64x2PromoteLowF32x4).simd(Simd.f64x2Add).set(acc);
}

interface RowKernel {
  readonly name: string;
  /** Whether the first parameter is an output row that receives the mapped values. */
  readonly store: boolean;
  /** Input rows (pointers after the output). */
  readonly inputs: number;
  /** float32 parameters after n, splatted for `map`. */
  readonly scalars: number;
  /** Whether the kernel returns Σ of the mapped values (float64). */
  readonly sum: boolean;
  /** Emits the mapped value of one step (a v128) from the inputs' and scalars' v128 locals. */
  readonly map: (f: FunctionBuilder, inputs: readonly number[], scalars: readonly number[]) => void;
}

/** Parameters: (out?, input…, n, scalar…) → Σ? */
function rowKernel(spec: RowKernel): WasmFunction {
  const pointers = (spec.store ? 1 : 0) + spec.inputs;
  const params: ValueType[] = [
    ...new Array<ValueType>(pointers).fill(I32),
    I32,
    ...new Array<ValueType>(spec.scalars).fill(F32),
  ];
  const f = new FunctionBuilder(spec.name, params, spec.sum ? [F64] : []);
  const out = 0;
  const inputPointers = Array.from({ length: spec.inputs }, (_, i) => (spec.store ? 1 : 0) + i);
  const n = pointers;
  const scalars = Array.from({ length: spec.scalars }, () => f.local(V128));
  const values = inputPointers.map(() => f.local(V128));
  const [mapped, acc] = [f.local(V128), f.local(V128)];
  for (const [i, local] of scalars.entries())
    f.get(n + 1 + i)
      .simd(Simd.f32x4Splat)
      .set(local);
  if (spec.sum) f.i32x4(0).set(acc);
  overRow(f, n, [...(spec.store ? [out] : []), ...inputPointers], (io) => {
    inputPointers.forEach((p, i) => {
      io.load(p);
      f.set(values[i]!);
    });
    spec.map(f, values, scalars);
    f.set(mapped);
    if (spec.store) {
      f.get(out).get(mapped);
      io.store();
    }
    if (spec.sum) accumulate(f, io, acc, mapped);
  });
  if (spec.sum) laneSum(f, acc);
  return f.function();
}

/** max_row(x, n) → float32: the row max, NaN if any element is NaN (−∞ for n = 0). */
function maxRow(): WasmFunction {
  const f = new FunctionBuilder('max_row', [I32, I32], [F32]);
  const m = f.local(V128);
  f.f32x4(Number.NEGATIVE_INFINITY).set(m);
  overRow(f, 1, [0], (io) => {
    f.get(m);
    io.load(0);
    f.simd(Simd.f32x4Max).set(m);
  });
  laneMax(f, m);
  return f.function();
}

/** accumulate_row(acc, x, n): acc[i] += x[i] with acc a float64 row (the kept axis of a sum). */
function accumulateRow(): WasmFunction {
  const f = new FunctionBuilder('accumulate_row', [I32, I32, I32]);
  const [acc, x, n] = [0, 1, 2];
  const v = f.local(V128);
  f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
  f.get(n).i32(4).emit(Op.i32LtU, Op.brIf, 1);
  f.get(x)
    .simd(Simd.load, ...memarg())
    .set(v);
  f.get(acc)
    .get(acc)
    .simd(Simd.load, ...memarg())
    .get(v)
    .simd(Simd.f64x2PromoteLowF32x4);
  f.simd(Simd.f64x2Add).simd(Simd.store, ...memarg());
  f.get(acc)
    .get(acc)
    .simd(Simd.load, ...memarg(16))
    .get(v)
    .get(v);
  f.simd(Simd.shuffle, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  f.simd(Simd.f64x2PromoteLowF32x4)
    .simd(Simd.f64x2Add)
    .simd(Simd.store, ...memarg(16));
  f.get(acc).i32(32).emit(Op.i32Add).set(acc).get(x).i32(16).emit(Op.i32Add).set(x);
  f.get(n).i32(4).emit(Op.i32Sub).set(n).emit(Op.br, 0, Op.end, Op.end);
  f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
  f.get(n).emit(Op.i32Eqz, Op.brIf, 1);
  f.get(acc)
    .get(acc)
    .emit(Op.f64Load, ...memarg())
    .get(x)
    .emit(Op.f32Load, ...memarg(), Op.f64PromoteF32);
  f.emit(Op.f64Add, Op.f64Store, ...memarg());
  f.get(acc).i32(8).emit(Op.i32Add).set(acc).get(x).i32(4).emit(Op.i32Add).set(x);
  f.get(n).i32(1).emit(Op.i32Sub).set(n).emit(Op.br, 0, Op.end, Op.end);
  return f.function();
}

/**
 * A kernel over whole rows, (out, x, rows, n, …extra): `row` emits the work of one row reading
 * x at local `px` and writing out at `po`; the loop advances both by a row. One call does every
 * row, so the thread pool can split the rows (see `parallel.ts`).
 */
function overRows(
  name: string,
  extra: readonly ValueType[],
  row: (f: FunctionBuilder, px: number, po: number, n: number) => void,
): WasmFunction {
  const f = new FunctionBuilder(name, [I32, I32, I32, I32, ...extra]);
  const [out, x, rows, n] = [0, 1, 2, 3];
  f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
  f.get(rows).emit(Op.i32Eqz, Op.brIf, 1);
  row(f, x, out, n);
  f.get(x).get(n).i32(2).emit(Op.i32Shl, Op.i32Add).set(x);
  f.get(out).get(n).i32(2).emit(Op.i32Shl, Op.i32Add).set(out);
  f.get(rows).i32(1).emit(Op.i32Sub).set(rows).emit(Op.br, 0, Op.end, Op.end);
  return f.function();
}

/** softmax_rows(out, x, rows, n): max-subtracted exp, Σ in float64, × 1/Σ. */
function softmaxRows(): WasmFunction {
  return overRows('softmax_rows', [], (f, x, out, n) => {
    const [count, px, po] = [f.local(I32), f.local(I32), f.local(I32)];
    const [m, shift, acc] = [f.local(V128), f.local(V128), f.local(V128)];
    const [e, d, factor] = [f.local(V128), f.local(V128), f.local(V128)];
    const start = (...pointers: [number, number][]) => {
      f.get(n).set(count);
      for (const [local, from] of pointers) f.get(from).set(local);
    };
    start([px, x]);
    f.f32x4(Number.NEGATIVE_INFINITY).set(m);
    overRow(f, count, [px], (io) => {
      f.get(m);
      io.load(px);
      f.simd(Simd.f32x4Max).set(m);
    });
    laneMax(f, m);
    f.simd(Simd.f32x4Splat).set(shift);
    start([px, x], [po, out]);
    f.i32x4(0).set(acc);
    overRow(f, count, [po, px], (io) => {
      io.load(px);
      f.get(shift).simd(Simd.f32x4Sub).set(d);
      emitExp(f, d);
      f.set(e);
      f.get(po).get(e);
      io.store();
      accumulate(f, io, acc, e);
    });
    f.f64(1);
    laneSum(f, acc);
    f.emit(Op.f64Div, Op.f32DemoteF64).simd(Simd.f32x4Splat).set(factor);
    start([po, out]);
    overRow(f, count, [po], (io) => {
      f.get(po);
      io.load(po);
      f.get(factor).simd(Simd.f32x4Mul);
      io.store();
    });
  });
}

/** layer_norm_rows(out, x, rows, n, eps): (x − mean)/√(var + eps), biased variance, two passes. */
function layerNormRows(): WasmFunction {
  return overRows('layer_norm_rows', [F32], (f, x, out, n) => {
    const eps = 4;
    const [count, px, po] = [f.local(I32), f.local(I32), f.local(I32)];
    const [acc, v, d] = [f.local(V128), f.local(V128), f.local(V128)];
    const [mean, factor] = [f.local(V128), f.local(V128)];
    const meanF64 = f.local(F64);
    f.get(n).set(count).get(x).set(px).i32x4(0).set(acc);
    overRow(f, count, [px], (io) => {
      io.load(px);
      f.set(v);
      accumulate(f, io, acc, v);
    });
    laneSum(f, acc);
    f.get(n).emit(Op.f64ConvertI32U, Op.f64Div).set(meanF64);
    f.get(meanF64).emit(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(mean);
    f.get(n).set(count).get(x).set(px).i32x4(0).set(acc);
    overRow(f, count, [px], (io) => {
      io.load(px);
      f.get(mean).simd(Simd.f32x4Sub).set(d);
      f.get(d).get(d).simd(Simd.f32x4Mul).set(v);
      accumulate(f, io, acc, v);
    });
    // factor = 1/√(Σd²/n + eps)
    f.f64(1);
    laneSum(f, acc);
    f.get(n)
      .emit(Op.f64ConvertI32U, Op.f64Div)
      .get(eps)
      .emit(Op.f64PromoteF32, Op.f64Add, Op.f64Sqrt, Op.f64Div);
    f.emit(Op.f32DemoteF64).simd(Simd.f32x4Splat).set(factor);
    f.get(n).set(count).get(x).set(px).get(out).set(po);
    overRow(f, count, [po, px], (io) => {
      f.get(po);
      io.load(px);
      f.get(mean).simd(Simd.f32x4Sub).get(factor).simd(Simd.f32x4Mul);
      io.store();
    });
  });
}

/** copy_row(out, x, n): n 32-bit elements (either dtype), by memory.copy. */
function copyRow(): WasmFunction {
  const f = new FunctionBuilder('copy_row', [I32, I32, I32]);
  f.get(0)
    .get(1)
    .get(2)
    .i32(2)
    .emit(Op.i32Shl, ...Op.memoryCopy);
  return f.function();
}

export function rowFunctions(): WasmFunction[] {
  const identity = (f: FunctionBuilder, [x]: readonly number[]) => void f.get(x!);
  const expShifted = (f: FunctionBuilder, [x]: readonly number[], [shift]: readonly number[]) => {
    const d = f.local(V128);
    f.get(x!).get(shift!).simd(Simd.f32x4Sub).set(d);
    emitExp(f, d);
  };
  const relu = (f: FunctionBuilder, x: number) => void f.get(x).f32x4(0).simd(Simd.f32x4Max);
  const kernels: RowKernel[] = [
    { name: 'sum_row', store: false, inputs: 1, scalars: 0, sum: true, map: identity },
    { name: 'sum_exp_shift_row', store: false, inputs: 1, scalars: 1, sum: true, map: expShifted },

    {
      name: 'scale_row',
      store: true,
      inputs: 1,
      scalars: 1,
      sum: false,
      map: (f, [x], [factor]) => void f.get(x!).get(factor!).simd(Simd.f32x4Mul),
    },
    {
      name: 'shift_row',
      store: true,
      inputs: 1,
      scalars: 1,
      sum: false,
      map: (f, [x], [shift]) => void f.get(x!).get(shift!).simd(Simd.f32x4Sub),
    },

    { name: 'relu_row', store: true, inputs: 1, scalars: 0, sum: true, map: (f, [x]) => relu(f, x!) },
    {
      name: 'relu_keep_row',
      store: true,
      inputs: 2,
      scalars: 0,
      sum: true,
      map: (f, [x, keep]) => {
        relu(f, x!);
        f.get(keep!).simd(Simd.f32x4Mul);
      },
    },
  ];
  return [maxRow(), accumulateRow(), copyRow(), softmaxRows(), layerNormRows(), ...kernels.map(rowKernel)];
}

/** The row kernels as JavaScript sees them (pointers are byte addresses). */
export interface RowKernels {
  max_row(x: number, n: number): number;
  accumulate_row(acc: number, x: number, n: number): void;
  copy_row(out: number, x: number, n: number): void;
  softmax_rows(out: number, x: number, rows: number, n: number): void;
  layer_norm_rows(out: number, x: number, rows: number, n: number, eps: number): void;
  sum_row(x: number, n: number): number;
  sum_exp_shift_row(x: number, n: number, shift: number): number;
  scale_row(out: number, x: number, n: number, factor: number): void;
  shift_row(out: number, x: number, n: number, shift: number): void;
  relu_row(out: number, x: number, n: number): number;
  relu_keep_row(out: number, x: number, keep: number, n: number): number;
}
