import { SibertError, type TypedArray } from '@sibert/tensor';

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }),
 * padded with spaces so the data starts 8-byte aligned, then the tensors' bytes back to back
 * (little-endian, row-major), offsets relative to the start of the data.
 */

export class CheckpointError extends SibertError {}

export interface TensorData {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: TypedArray;
}

const TO_FORMAT = { float32: 'F32', int32: 'I32' } as const;
/**
 * What each stored dtype is read as: F16 and BF16 (HuggingFace's half-precision checkpoints)
 * widen to float32, I64 (HF's id buffers) narrows to int32 when every value fits.
 */
const FROM_FORMAT: Record<string, { dtype: TensorData['dtype']; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F16: { dtype: 'float32', bytes: 2 },
  BF16: { dtype: 'float32', bytes: 2 },
  I32: { dtype: 'int32', bytes: 4 },
  I64: { dtype: 'int32', bytes: 8 },
};

/** IEEE half precision to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 is float32's top half. */
function bfloat16ToFloat(b: number): number {
  bf16Scratch.setUint32(0, b << 16);
  return bf16Scratch.getFloat32(0);
}

function readElements(
  raw: DataView,
  format: string,
  size: number,
  name: string,
  fail: (why: string) => never,
) {
  if (format === 'I32' || format === 'I64') {
    const data = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (format === 'I32') data[i] = raw.getInt32(i * 4, true);
      else {
        const v = raw.getBigInt64(i * 8, true);
        if (v < -2147483648n || v > 2147483647n) fail(`tensor '${name}' (I64) holds ${v}, beyond int32`);
        data[i] = Number(v);
      }
    }
    return data;
  }
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    data[i] =
      format === 'F32'
        ? raw.getFloat32(i * 4, true)
        : format === 'F16'
          ? halfToFloat(raw.getUint16(i * 2, true))
          : bfloat16ToFloat(raw.getUint16(i * 2, true));
  }
  return data;
}
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Serialises tensors (in the map's order) and string metadata. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorData>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__')
      throw new CheckpointError(`'__metadata__' cannot name a tensor`, 'encodeSafetensors');
    const bytes = t.data.length * 4;
    header[name] = { dtype: TO_FORMAT[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  json += ' '.repeat(padded - headerBytes.length);
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(new TextEncoder().encode(json), 8);
  let position = 8 + padded;
  for (const t of tensors.values()) {
    const bytes = t.data.length * 4;
    const target = new DataView(out.buffer, position, bytes);
    if (t.data instanceof Float32Array)
      for (let i = 0; i < t.data.length; i++) target.setFloat32(i * 4, t.data[i]!, true);
    else for (let i = 0; i < t.data.length; i++) target.setInt32(i * 4, t.data[i]!, true);
    position += bytes;
  }
  return out;
}

/** Parses and fully validates a safetensors buffer; any inconsistency is a CheckpointError. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'buffer',
): { tensors: Map<string, TensorData>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new CheckpointError(`${source} is not a valid safetensors file: ${why}`, 'decodeSafetensors');
  };
  const { header, headerLength } = readHeader(bytes, fail);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, TensorData>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        typeof entry !== 'object' ||
        entry === null ||
        Object.values(entry).some((v) => typeof v !== 'string')
      ) {
        fail('__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const format = FROM_FORMAT[String(e.dtype)];
    if (!format)
      fail(
        `tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; supported: ${Object.keys(FROM_FORMAT).join(', ')}`,
      );
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (e.shape as number[]).reduce((n, d) => n * d, 1);
    if (end - begin !== size * format!.bytes)
      fail(
        `tensor '${name}' spans ${end - begin} bytes but shape ${JSON.stringify(e.shape)} of ${String(e.dtype)} needs ${size * format!.bytes}`,
      );
    if (end > dataLength)
      fail(`tensor '${name}' ends at byte ${end} but the data has ${dataLength} bytes (truncated?)`);
    ranges.push([begin, end, name]);
    const raw = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    const data = readElements(raw, String(e.dtype), size, name, fail);
    tensors.set(name, { dtype: format!.dtype, shape: e.shape as number[], data });
  }
  checkTiling(ranges, dataLength, fail);
  return { tensors, metadata };
}

/** The 8-byte length and the JSON header after it. */
function readHeader(
  bytes: Uint8Array,
  fail: (why: string) => never,
): { header: object; headerLength: number } {
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    fail(
      `the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length (truncated?)`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    fail(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('the header is not a JSON object');
  return { header: header as object, headerLength };
}

/** The format requires the tensors to tile the data section exactly: no holes, no overlaps. */
function checkTiling(
  ranges: [number, number, string][],
  dataLength: number,
  fail: (why: string) => never,
): void {
  ranges.sort((a, b) => a[0] - b[0]);
  let expected = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== expected)
      fail(`tensor '${name}' starts at byte ${begin}, expected ${expected} (hole or overlap)`);
    expected = end;
  }
  if (expected !== dataLength)
    fail(`the data section has ${dataLength} bytes but the tensors cover ${expected}`);
}
