import { FunctionBuilder, I32, Op, Simd, V128, type ValueType, type WasmFunction } from './wasm-asm.js';

/**
 * Elementwise WASM SIMD kernels over the heap. Every kernel takes (out, operand…, n): byte
 * addresses and an element count. An 'array' operand advances with the output; a 'scalar' operand
 * is one element read once and broadcast (a row broadcast against a single value). Four lanes at a
 * time, then the rest one by one through the same vector code (a splatted element, lane 0
 * stored), so the tail computes exactly what the body does.
 *
 * Arithmetic, comparisons, selects and int→float casts give the same bits as the JavaScript
 * kernels (IEEE float32 results equal JavaScript's double-then-round for + − × ÷ √). exp, erf and
 * GELU are float32 polynomial approximations accurate to a few ulp (tests state the bounds).
 */

type Operand = 'array' | 'scalar';
/** Emits the op on the inputs (v128 locals), leaving one v128 on the stack. */
type VectorOp = (f: FunctionBuilder, inputs: readonly number[]) => void;

const memarg = FunctionBuilder.memarg;

function elementwise(name: string, operands: readonly Operand[], op: VectorOp): WasmFunction {
  const f = new FunctionBuilder(name, [I32, ...operands.map((): ValueType => I32), I32]);
  const out = 0;
  const pointer = (i: number) => 1 + i;
  const n = operands.length + 1;
  const end4 = f.local(I32);
  const end = f.local(I32);
  const inputs = operands.map(() => f.local(V128));
  // end4 = out + 4·(n & ~3), end = out + 4·n
  f.get(out).get(n).i32(-4).emit(Op.i32And).i32(2).emit(Op.i32Shl, Op.i32Add).set(end4);
  f.get(out).get(n).i32(2).emit(Op.i32Shl, Op.i32Add).set(end);
  operands.forEach((kind, i) => {
    if (kind === 'scalar')
      f.get(pointer(i))
        .simd(Simd.load32Splat, ...memarg())
        .set(inputs[i]!);
  });
  for (const lanes of [4, 1]) {
    f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
    f.get(out)
      .get(lanes === 4 ? end4 : end)
      .emit(Op.i32GeU, Op.brIf, 1);
    operands.forEach((kind, i) => {
      if (kind === 'array') {
        f.get(pointer(i))
          .simd(lanes === 4 ? Simd.load : Simd.load32Splat, ...memarg())
          .set(inputs[i]!);
      }
    });
    f.get(out);
    op(f, inputs);
    if (lanes === 4) f.simd(Simd.store, ...memarg());
    else f.simd(Simd.store32Lane, ...memarg(), 0);
    for (const p of [out, ...operands.flatMap((kind, i) => (kind === 'array' ? [pointer(i)] : []))]) {
      f.get(p)
        .i32(4 * lanes)
        .emit(Op.i32Add)
        .set(p);
    }
    f.emit(Op.br, 0, Op.end, Op.end);
  }
  return f.function();
}

const lanewise =
  (opcode: number): VectorOp =>
  (f, [a, b]) => {
    f.get(a!);
    if (b !== undefined) f.get(b);
    f.simd(opcode);
  };

/** Leaves Σ coefficients[i]·x^(len−1−i) (Horner, highest power first) on the stack. */
function horner(f: FunctionBuilder, x: number, coefficients: readonly number[]): void {
  f.f32x4(coefficients[0]!);
  for (const c of coefficients.slice(1)) f.get(x).simd(Simd.f32x4Mul).f32x4(c).simd(Simd.f32x4Add);
}

/**
 * exp(x) (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so r is exact), a
 * degree-7 polynomial for e^r, then ·2^n as two factors 2^⌊n/2⌋·2^⌈n/2⌉ so that results in the
 * subnormal range and overflow to ∞ round as they should. x is clamped to [−104, 89], beyond
 * which float32 exp is 0 or ∞ anyway; NaN passes through.
 */
export function emitExp(f: FunctionBuilder, x: number): void {
  const [xc, k, r, ki, half] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(x).f32x4(89).simd(Simd.f32x4Min).f32x4(-104).simd(Simd.f32x4Max).set(xc);
  f.get(xc).f32x4(Math.LOG2E).simd(Simd.f32x4Mul).simd(Simd.f32x4Nearest).set(k);
  f.get(xc).get(k).f32x4(0.693359375).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub);
  f.get(k).f32x4(-2.1219444e-4).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).set(r);
  // p = poly(r)·r² + r + 1
  horner(
    f,
    r,
    [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
  );
  f.get(r).get(r).simd(Simd.f32x4Mul).simd(Simd.f32x4Mul);
  f.get(r).simd(Simd.f32x4Add).f32x4(1).simd(Simd.f32x4Add);
  // × 2^half × 2^(k − half), each built in the exponent bits
  f.get(k).simd(Simd.i32x4TruncSatF32x4S).set(ki);
  f.get(ki).i32(1).simd(Simd.i32x4ShrS).set(half);
  f.get(half).i32x4(127).simd(Simd.i32x4Add).i32(23).simd(Simd.i32x4ShlBy).simd(Simd.f32x4Mul);
  f.get(ki).get(half).simd(Simd.i32x4Sub).i32x4(127).simd(Simd.i32x4Add).i32(23).simd(Simd.i32x4ShlBy);
  f.simd(Simd.f32x4Mul);
}

/** Numerical Recipes' erfc polynomial (§6.2, fractional error < 1.2·10⁻⁷), highest power first. */
const ERFC_POLY = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
];

/**
 * erfc(z) for z = scale·w, w ≥ 0 (or NaN): t·exp(−z² + P(t)), t = 1/(1 + z/2). z is clamped to
 * 10.5, past which erfc underflows float32. −z² is split as −scale²·(h² − (h − w)(h + w)) with h =
 * w cut to 12 significant bits, so h² is exact and the large part of the exponent carries no
 * rounding error (scale² must be exact in float32: 1 for erf, ½ for GELU's x/√2).
 */
function emitErfc(f: FunctionBuilder, wIn: number, scale: number): void {
  const [w, z, t, h, e, small] = [
    f.local(V128),
    f.local(V128),
    f.local(V128),
    f.local(V128),
    f.local(V128),
    f.local(V128),
  ];
  const scaleSquared = Math.fround(scale * scale);
  f.get(wIn)
    .f32x4(10.5 / scale)
    .simd(Simd.f32x4Min)
    .set(w);
  f.get(w).f32x4(scale).simd(Simd.f32x4Mul).set(z);
  f.f32x4(1).f32x4(1).get(z).f32x4(0.5).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).simd(Simd.f32x4Div).set(t);
  f.get(w).i32x4(-4096).simd(Simd.and).set(h);
  // e = exp(−scale²·h²)
  f.get(h).get(h).simd(Simd.f32x4Mul).f32x4(-scaleSquared).simd(Simd.f32x4Mul).set(e);
  emitExp(f, e);
  f.set(e);
  // × exp(scale²·(h − w)(h + w) + P(t)), × t
  f.get(h).get(w).simd(Simd.f32x4Sub).get(h).get(w).simd(Simd.f32x4Add).simd(Simd.f32x4Mul);
  f.f32x4(scaleSquared).simd(Simd.f32x4Mul);
  horner(f, t, ERFC_POLY);
  f.simd(Simd.f32x4Add).set(small);
  emitExp(f, small);
  f.get(e).simd(Simd.f32x4Mul).get(t).simd(Simd.f32x4Mul);
}

const SIGN_BIT = -0x80000000;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
/** erf(x)/(x·2/√π) = Σ (−1)ⁿ x²ⁿ / (n!(2n+1)) in x², highest power first; enough terms for |x| < 0.5. */
const ERF_SERIES = [-1 / 75600, 1 / 9360, -1 / 1320, 1 / 216, -1 / 42, 1 / 10, -1 / 3, 1];

/** erf(x): the Maclaurin series for |x| < 0.5 (keeps relative precision near 0), ±(1 − erfc(|x|)) beyond. */
function emitErf(f: FunctionBuilder, x: number): void {
  const [z, x2, series, large] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(x).get(x).simd(Simd.f32x4Mul).set(x2);
  horner(f, x2, ERF_SERIES);
  f.get(x).simd(Simd.f32x4Mul).f32x4(TWO_OVER_SQRT_PI).simd(Simd.f32x4Mul).set(series);
  f.get(x).simd(Simd.f32x4Abs).set(z);
  f.f32x4(1);
  emitErfc(f, z, 1);
  f.simd(Simd.f32x4Sub).set(large);
  // bitselect(a, b, mask) takes a's bits where mask is set: copysign(large, x), then the branch.
  f.get(x).get(large).i32x4(SIGN_BIT).simd(Simd.bitselect).set(large);
  f.get(series).get(large).get(z).f32x4(0.5).simd(Simd.f32x4Lt).simd(Simd.bitselect);
}

/** GELU(x) = ½·x·erfc(−x/√2), with erfc(−y) = 2 − erfc(y) for x ≥ 0 so each side keeps its precision. */
function emitGelu(f: FunctionBuilder, x: number): void {
  const [w, e] = [f.local(V128), f.local(V128)];
  f.get(x).simd(Simd.f32x4Abs).set(w);
  emitErfc(f, w, Math.SQRT1_2);
  f.set(e);
  f.f32x4(2).get(e).simd(Simd.f32x4Sub).get(e).get(x).f32x4(0).simd(Simd.f32x4Ge).simd(Simd.bitselect);
  f.get(x).simd(Simd.f32x4Mul).f32x4(0.5).simd(Simd.f32x4Mul);
}

/** Float32 binary ops with a kernel per broadcast pattern: `${op}_vv`, `${op}_vs`, `${op}_sv`. */
export const WASM_BINARY = {
  add: Simd.f32x4Add,
  sub: Simd.f32x4Sub,
  mul: Simd.f32x4Mul,
  div: Simd.f32x4Div,
} as const;

/** Float32 comparisons giving int32 0/1, per broadcast pattern like the binary ops. */
export const WASM_COMPARE = {
  gt: Simd.f32x4Gt,
  ge: Simd.f32x4Ge,
  lt: Simd.f32x4Lt,
  le: Simd.f32x4Le,
  eq: Simd.f32x4Eq,
  ne: Simd.f32x4Ne,
} as const;

/** Float32 unary ops, each a kernel of its own name. */
export const WASM_UNARY: Record<string, VectorOp> = {
  neg: lanewise(Simd.f32x4Neg),
  abs: lanewise(Simd.f32x4Abs),
  sqrt: lanewise(Simd.f32x4Sqrt),
  square: (f, [x]) => void f.get(x!).get(x!).simd(Simd.f32x4Mul),
  reciprocal: (f, [x]) => void f.f32x4(1).get(x!).simd(Simd.f32x4Div),
  // IEEE max: NaN stays NaN and −0 becomes +0, as Math.max(x, 0).
  relu: (f, [x]) => void f.get(x!).f32x4(0).simd(Simd.f32x4Max),
  exp: (f, [x]) => emitExp(f, x!),
  erf: (f, [x]) => emitErf(f, x!),
  gelu: (f, [x]) => emitGelu(f, x!),
};

const PATTERNS: Record<string, Operand[]> = {
  vv: ['array', 'array'],
  vs: ['array', 'scalar'],
  sv: ['scalar', 'array'],
};

export function elementwiseFunctions(): WasmFunction[] {
  const functions: WasmFunction[] = [];
  for (const [op, opcode] of [...Object.entries(WASM_BINARY), ...Object.entries(WASM_COMPARE)]) {
    const isCompare = op in WASM_COMPARE;
    for (const [suffix, operands] of Object.entries(PATTERNS)) {
      functions.push(
        elementwise(`${op}_${suffix}`, operands, (f, [a, b]) => {
          f.get(a!).get(b!).simd(opcode);
          if (isCompare) f.i32x4(1).simd(Simd.and); // all-ones lanes → 1
        }),
      );
    }
  }
  for (const [op, emit] of Object.entries(WASM_UNARY)) functions.push(elementwise(op, ['array'], emit));
  functions.push(elementwise('cast_i32_f32', ['array'], lanewise(Simd.f32x4ConvertI32x4S)));
  // where(cond, a, b), cond int32, for every broadcast pattern of the operands: `where_vvv` … `where_sss`.
  for (const c of ['v', 's'])
    for (const a of ['v', 's'])
      for (const b of ['v', 's']) {
        const kinds = [c, a, b].map((k) => (k === 'v' ? 'array' : 'scalar') as Operand);
        functions.push(
          elementwise(`where_${c}${a}${b}`, kinds, (f, [cond, x, y]) => {
            f.get(x!).get(y!).get(cond!).i32x4(0).simd(Simd.i32x4Ne).simd(Simd.bitselect);
          }),
        );
      }
  return functions;
}
