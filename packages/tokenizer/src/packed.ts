import type { Encoding } from './postprocess';

/**
 * Encodings packed into a few flat typed arrays, so a worker can hand them over by transfer instead
 * of cloning one object per text. Record r is `counts[r]` tokens long; the records of input i are
 * its encoding followed by its `overflowCounts[i]` overflowing windows.
 */
export interface PackedEncodings {
  counts: Int32Array;
  overflowCounts: Int32Array;
  ids: Int32Array;
  typeIds: Int32Array;
  specialTokensMask: Uint8Array;
  offsets: Int32Array;
}

export function packEncodings(encodings: readonly Encoding[]): PackedEncodings {
  let records = 0;
  let tokens = 0;
  for (const e of encodings) {
    records += 1 + e.overflowing.length;
    tokens += e.ids.length;
    for (const o of e.overflowing) tokens += o.ids.length;
  }
  const packed: PackedEncodings = {
    counts: new Int32Array(records),
    overflowCounts: new Int32Array(encodings.length),
    ids: new Int32Array(tokens),
    typeIds: new Int32Array(tokens),
    specialTokensMask: new Uint8Array(tokens),
    offsets: new Int32Array(2 * tokens),
  };
  let r = 0;
  let t = 0;
  const put = (e: Encoding) => {
    packed.counts[r++] = e.ids.length;
    packed.ids.set(e.ids, t);
    packed.typeIds.set(e.typeIds, t);
    packed.specialTokensMask.set(e.specialTokensMask, t);
    packed.offsets.set(e.offsets, 2 * t);
    t += e.ids.length;
  };
  encodings.forEach((e, i) => {
    packed.overflowCounts[i] = e.overflowing.length;
    put(e);
    for (const o of e.overflowing) put(o);
  });
  return packed;
}

/** The encodings back, as views into the packed arrays (no copies). */
export function unpackEncodings(packed: PackedEncodings): Encoding[] {
  const out: Encoding[] = [];
  let r = 0;
  let t = 0;
  const take = (): Encoding => {
    const n = packed.counts[r++]!;
    const e: Encoding = {
      ids: packed.ids.subarray(t, t + n),
      typeIds: packed.typeIds.subarray(t, t + n),
      attentionMask: new Uint8Array(n).fill(1),
      specialTokensMask: packed.specialTokensMask.subarray(t, t + n),
      offsets: packed.offsets.subarray(2 * t, 2 * (t + n)),
      overflowing: [],
    };
    t += n;
    return e;
  };
  for (let i = 0; i < packed.overflowCounts.length; i++) {
    const e = take();
    for (let k = 0; k < packed.overflowCounts[i]!; k++) e.overflowing.push(take());
    out.push(e);
  }
  return out;
}

export function transferables(packed: PackedEncodings): ArrayBuffer[] {
  return [
    packed.counts,
    packed.overflowCounts,
    packed.ids,
    packed.typeIds,
    packed.specialTokensMask,
    packed.offsets,
  ].map((a) => a.buffer as ArrayBuffer);
}
