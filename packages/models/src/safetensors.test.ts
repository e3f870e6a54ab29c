import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors, saveSafetensors } from './node/files.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors, type TensorData } from './safetensors.js';

const sample = (): Map<string, TensorData> =>
  new Map<string, TensorData>([
    [
      'a.weight',
      { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3e-8, Number.NaN, Infinity, -0) },
    ],
    ['b.ids', { dtype: 'int32', shape: [3], data: Int32Array.of(-1, 0, 2147483647) }],
    ['empty', { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }],
    ['scalar', { dtype: 'float32', shape: [], data: Float32Array.of(7) }],
  ]);

/** An independent reader written from the format's specification, sharing no code with ours. */
function specReader(bytes: Uint8Array) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  const data = bytes.subarray(8 + n);
  const out: Record<string, { shape: number[]; values: number[] }> = {};
  for (const [name, entry] of Object.entries<{
    dtype: string;
    shape: number[];
    data_offsets: [number, number];
  }>(header)) {
    if (name === '__metadata__') continue;
    const buf = Buffer.from(data.subarray(entry.data_offsets[0], entry.data_offsets[1]));
    const values: number[] = [];
    for (let i = 0; i < buf.length; i += 4)
      values.push(entry.dtype === 'F32' ? buf.readFloatLE(i) : buf.readInt32LE(i));
    out[name] = { shape: entry.shape, values };
  }
  return { headerLength: n, header, out };
}

describe('safetensors', () => {
  it('round-trips bit-exactly, NaN, infinities and −0 included', () => {
    const bytes = encodeSafetensors(sample(), { config: '{"x":1}' });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ config: '{"x":1}' });
    for (const [name, t] of sample()) {
      const back = tensors.get(name)!;
      expect(back.shape).toEqual(t.shape);
      expect(back.dtype).toBe(t.dtype);
      expect(new Uint8Array(back.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
    }
  });

  it('writes what an independent reader of the specification parses, 8-byte aligned', () => {
    const bytes = encodeSafetensors(sample(), { note: 'hi' });
    const { headerLength, header, out } = specReader(bytes);
    expect(headerLength % 8).toBe(0);
    expect(header.__metadata__).toEqual({ note: 'hi' });
    expect(header['a.weight'].dtype).toBe('F32');
    expect(header['b.ids'].dtype).toBe('I32');
    expect(out['b.ids']).toEqual({ shape: [3], values: [-1, 0, 2147483647] });
    expect(out['a.weight']!.values[1]).toBe(-2.5);
    expect(out.scalar).toEqual({ shape: [], values: [7] });
  });

  it('rejects corrupted headers, truncated data and inconsistent entries with clear errors', () => {
    const good = encodeSafetensors(sample());
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/fewer than the 8-byte header length/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4))).toThrow(CheckpointError);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4))).toThrow(/truncated|cover/);
    const badJson = good.slice();
    badJson[9] = 0x7b; // '{' inside the header breaks the JSON
    badJson[10] = 0x7b;
    expect(() => decodeSafetensors(badJson)).toThrow(/header is not valid JSON/);
    const hugeLength = good.slice();
    new DataView(hugeLength.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(hugeLength)).toThrow(/truncated/);
    const rewrite = (mutate: (h: Record<string, { shape: number[]; dtype: string }>) => void) => {
      const { headerLength, header } = specReader(good);
      mutate(header);
      const json = Buffer.from(JSON.stringify(header).padEnd(headerLength, ' '));
      const out = good.slice();
      out.set(json.subarray(0, headerLength), 8);
      return out;
    };
    expect(() => decodeSafetensors(rewrite((h) => (h['a.weight']!.shape = [3, 3])))).toThrow(
      /spans 24 bytes but shape \[3,3\] of F32 needs 36/,
    );
    expect(() => decodeSafetensors(rewrite((h) => (h['a.weight']!.dtype = 'F64')))).toThrow(
      /supported: F32, F16, BF16, I32, I64/,
    );
  });

  it('saves atomically (no temporary file left) and names the file on load errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sibert-st-'));
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, sample());
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    expect((await loadSafetensors(path)).tensors.size).toBe(4);
    await writeFile(path, (await readFile(path)).subarray(0, 40));
    await expect(loadSafetensors(path)).rejects.toThrow(path);
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(/cannot read/);
  });

  it('widens F16 and BF16 to float32 and narrows I64 to int32 (HuggingFace checkpoints)', () => {
    const header = {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      i: { dtype: 'I64', shape: [2], data_offsets: [10, 26] },
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + 26);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    const at = 8 + json.length;
    // 1.0, -2.5, 2^-24 (the smallest subnormal) in half precision.
    [0x3c00, 0xc100, 0x0001].forEach((h, k) => {
      view.setUint16(at + 2 * k, h, true);
    });
    // 1.0 and -0.15625 in bfloat16.
    [0x3f80, 0xbe20].forEach((b, k) => {
      view.setUint16(at + 6 + 2 * k, b, true);
    });
    [7n, -3n].forEach((v, k) => {
      view.setBigInt64(at + 10 + 8 * k, v, true);
    });
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2.5, 2 ** -24]);
    expect(tensors.get('h')!.dtype).toBe('float32');
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -0.15625]);
    expect(tensors.get('i')).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.from([7, -3]) });
  });
});
