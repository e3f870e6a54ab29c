import { F64, FunctionBuilder, I32, I64, Op, type ValueType, type WasmFunction } from './wasm-asm.js';

/**
 * The engine's random stream (Philox4x32-10; see `rng.ts` in @sibert/tensor) in WebAssembly, for
 * the draws a training step makes: dropout masks (bernoulli) and uniform values. The 32×32→64-bit
 * products are one i64.mul each, so the words, and from them the values, are the same bits as
 * the JavaScript reference. Normal draws (initialisation only) stay in JavaScript.
 *
 * philox_bernoulli(out, n, c0, c1, k0, k1, threshold): out[i] = (w0 >>> 8) < threshold ? 1 : 0
 * philox_uniform(out, n, c0, c1, k0, k1, low, high): out[i] = low + (high − low)·(w0 >>> 8)·2⁻²⁴
 * where w0 is the first word of Philox(counter = (c0, c1) + i, key = (k0, k1)).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

function philox(kind: 'bernoulli' | 'uniform'): WasmFunction {
  const extra: ValueType[] = kind === 'bernoulli' ? [I32] : [F64, F64];
  const f = new FunctionBuilder(`philox_${kind}`, [I32, I32, I32, I32, I32, I32, ...extra]);
  const [out, n, c0, c1, k0, k1, threshold, low, high] = [0, 1, 2, 3, 4, 5, 6, 6, 7];
  const [x0, x1, x2, x3, key0, key1, next] = Array.from({ length: 7 }, () => f.local(I32)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [p0, p1] = [f.local(I64), f.local(I64)];
  const product = (x: number, m: number, p: number) =>
    f.get(x).emit(Op.i64ExtendI32U).i64(m).emit(Op.i64Mul).set(p);
  const high32 = (p: number) => f.get(p).i64(32).emit(Op.i64ShrU, Op.i32WrapI64);
  f.emit(Op.block, Op.emptyType, Op.loop, Op.emptyType);
  f.get(n).emit(Op.i32Eqz, Op.brIf, 1);
  f.get(c0).set(x0).get(c1).set(x1).i32(0).set(x2).i32(0).set(x3).get(k0).set(key0).get(k1).set(key1);
  for (let round = 0; round < 10; round++) {
    product(x0, M0, p0);
    product(x2, M1, p1);
    // x0 ← hi(p1) ⊕ x1 ⊕ key0, x1 ← lo(p1), x2 ← hi(p0) ⊕ x3 ⊕ key1, x3 ← lo(p0)
    high32(p1).get(x1).emit(Op.i32Xor).get(key0).emit(Op.i32Xor).set(next);
    f.get(p1).emit(Op.i32WrapI64).set(x1);
    high32(p0).get(x3).emit(Op.i32Xor).get(key1).emit(Op.i32Xor).set(x2);
    f.get(p0).emit(Op.i32WrapI64).set(x3);
    f.get(next).set(x0);
    f.get(key0)
      .i32(W0 | 0)
      .emit(Op.i32Add)
      .set(key0);
    f.get(key1)
      .i32(W1 | 0)
      .emit(Op.i32Add)
      .set(key1);
  }
  f.get(out);
  if (kind === 'bernoulli') {
    f.emit(Op.f32Const, ...f32Bytes(1), Op.f32Const, ...f32Bytes(0));
    f.get(x0).i32(8).emit(Op.i32ShrU).get(threshold).emit(Op.i32LtU, Op.select);
  } else {
    f.get(low).get(high).get(low).emit(Op.f64Sub);
    f.get(x0)
      .i32(8)
      .emit(Op.i32ShrU, Op.f64ConvertI32U)
      .f64(2 ** -24)
      .emit(Op.f64Mul);
    f.emit(Op.f64Mul, Op.f64Add, Op.f32DemoteF64);
  }
  f.emit(Op.f32Store, ...FunctionBuilder.memarg());
  f.get(out).i32(4).emit(Op.i32Add).set(out);
  f.get(n).i32(1).emit(Op.i32Sub).set(n);
  // The 64-bit counter: c0 + 1, carrying into c1.
  f.get(c0).i32(1).emit(Op.i32Add).set(c0);
  f.get(c1).get(c0).emit(Op.i32Eqz, Op.i32Add).set(c1);
  f.emit(Op.br, 0, Op.end, Op.end);
  return f.function();
}

function f32Bytes(value: number): number[] {
  return [...new Uint8Array(new Float32Array([value]).buffer)];
}

export function randomFunctions(): WasmFunction[] {
  return [philox('bernoulli'), philox('uniform')];
}
