/**
 * A small WebAssembly assembler: value types, the opcodes the kernels use, LEB128, a function
 * builder with numbered locals, and the module layout (one imported memory, exported functions).
 * Enough to write SIMD kernels legibly in TypeScript with no toolchain and no .wasm file to ship.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const I64 = 0x7e;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

export function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer (for i32.const). */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** Signed LEB128 of a non-negative integer below 2⁵³ (for i64.const). */
function sleb64(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value % 128;
    value = Math.floor(value / 128);
    const done = value === 0 && (byte & 0x40) === 0;
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** Core opcodes. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  emptyType: 0x40,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  f32Max: 0x97,
  f64Add: 0xa0,
  f64Div: 0xa3,
  f64Sqrt: 0x9f,
  f64Const: 0x44,
  f32DemoteF64: 0xb6,
  f64ConvertI32U: 0xb8,
  f64PromoteF32: 0xbb,
  f32Load: 0x2a,
  f64Load: 0x2b,
  f64Store: 0x39,
  /** memory.copy (bulk memory: prefix 0xfc, opcode 10, source and destination memory 0). */
  memoryCopy: [0xfc, 0x0a, 0x00, 0x00],
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  i32Xor: 0x73,
  i32Ne: 0x47,
  i32WrapI64: 0xa7,
  i64Const: 0x42,
  i64Mul: 0x7e,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
  f32Const: 0x43,
  f32Store: 0x38,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  select: 0x1b,
} as const;

/** SIMD opcodes (each emitted after the 0xfd prefix, LEB128-encoded). */
export const Simd = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f64x2ExtractLane: 0x21,
  i32x4Eq: 0x37,
  i32x4Ne: 0x38,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  store32Lane: 0x5a,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Nearest: 0x6a,
  i32x4ShlBy: 0xab,
  i32x4ShrS: 0xac,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f64x2Add: 0xf0,
  i32x4TruncSatF32x4S: 0xf8,
  f32x4ConvertI32x4S: 0xfa,
} as const;

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValueType[];
  readonly results?: readonly ValueType[];
  /** The encoded body (locals and code, size-prefixed). */
  readonly body: readonly number[];
}

/**
 * Builds one function: parameters are locals 0…, `local()` adds more; emitters append code and
 * return the builder so short sequences read left to right.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  readonly #locals: ValueType[] = [];
  /** v128 constants, each set once into a local at entry rather than rebuilt wherever used (in loops). */
  readonly #constants = new Map<string, number>();
  readonly #prologue: number[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValueType[],
    readonly results: readonly ValueType[] = [],
  ) {}

  local(type: ValueType): number {
    this.#locals.push(type);
    return this.params.length + this.#locals.length - 1;
  }

  emit(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  get(index: number): this {
    return this.emit(Op.localGet, ...uleb(index));
  }

  set(index: number): this {
    return this.emit(Op.localSet, ...uleb(index));
  }

  i32(value: number): this {
    return this.emit(Op.i32Const, ...sleb(value));
  }

  /** i64.const of a non-negative integer below 2⁵³. */
  i64(value: number): this {
    return this.emit(Op.i64Const, ...sleb64(value));
  }

  f64(value: number): this {
    return this.emit(Op.f64Const, ...new Uint8Array(new Float64Array([value]).buffer));
  }

  simd(opcode: number, ...immediates: number[]): this {
    return this.emit(0xfd, ...uleb(opcode), ...immediates);
  }

  /** Pushes a v128 constant (16 bytes), read from the local that holds it. */
  v128(bytes: Uint8Array): this {
    const key = bytes.join(',');
    let local = this.#constants.get(key);
    if (local === undefined) {
      local = this.local(V128);
      this.#constants.set(key, local);
      this.#prologue.push(0xfd, ...uleb(Simd.const), ...bytes, Op.localSet, ...uleb(local));
    }
    return this.get(local);
  }

  /** The same float32 in every lane. */
  f32x4(value: number): this {
    return this.v128(new Uint8Array(new Float32Array([value, value, value, value]).buffer));
  }

  /** The same int32 in every lane. */
  i32x4(value: number): this {
    return this.i32x4Lanes([value, value, value, value]);
  }

  /** Four int32 lanes. */
  i32x4Lanes(lanes: readonly [number, number, number, number]): this {
    return this.v128(new Uint8Array(new Int32Array(lanes).buffer));
  }

  /** The memory immediate: alignment hint 0 (any address is fine), then the byte offset. */
  static memarg(offset = 0): number[] {
    return [0, ...uleb(offset)];
  }

  function(): WasmFunction {
    const groups: number[] = [];
    for (let i = 0; i < this.#locals.length; ) {
      let j = i;
      while (j < this.#locals.length && this.#locals[j] === this.#locals[i]) j++;
      groups.push(...uleb(j - i), this.#locals[i]!);
      i = j;
    }
    const runs = groups.length / 2;
    const body = [...uleb(runs), ...groups, ...this.#prologue, ...this.code, Op.end];
    return {
      name: this.name,
      params: this.params,
      results: this.results,
      body: [...uleb(body.length), ...body],
    };
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
}

/** A module importing `env.memory` (shared or not, up to `maxPages`) and exporting `functions` by name. */
export function assembleModule(
  functions: readonly WasmFunction[],
  sharedMemory: boolean,
  maxPages: number,
): Uint8Array {
  const signatures: string[] = [];
  const typeIndex = functions.map((f) => {
    const key = `${f.params.join(',')}:${(f.results ?? []).join(',')}`;
    if (!signatures.includes(key)) signatures.push(key);
    return signatures.indexOf(key);
  });
  const types = signatures.flatMap((key) => {
    const [params, results] = key.split(':').map((list) => (list ? list.split(',').map(Number) : []));
    return [0x60, ...uleb(params!.length), ...params!, ...uleb(results!.length), ...results!];
  });
  const memoryLimits = [sharedMemory ? 0x03 : 0x01, ...uleb(1), ...uleb(maxPages)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [...uleb(signatures.length), ...types]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...memoryLimits]),
    ...section(3, [...uleb(functions.length), ...typeIndex.flatMap((t) => uleb(t))]),
    ...section(7, [
      ...uleb(functions.length),
      ...functions.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
    ]),
    ...section(10, [...uleb(functions.length), ...functions.flatMap((f) => f.body)]),
  ]);
}
