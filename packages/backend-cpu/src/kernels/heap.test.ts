import { describe, expect, it } from 'vitest';
import { classBytes, PAGE_BYTES, WasmHeap } from './heap.js';
import { MAX_PAGES, webAssembly } from './wasm-module.js';

function heap(pages = 1): WasmHeap {
  const memory = new (webAssembly()!.Memory)({ initial: pages, maximum: MAX_PAGES, shared: true });
  return new WasmHeap(memory, true);
}

describe('WasmHeap', () => {
  it('rounds blocks up to four classes per power of two, 64 bytes at least', () => {
    expect([1, 64, 65, 80, 81, 96, 128, 129, 4096, 4097].map(classBytes)).toEqual([
      64, 64, 80, 80, 96, 96, 128, 160, 4096, 5120,
    ]);
    for (let bytes = 1; bytes < 100000; bytes += 37) {
      const size = classBytes(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes);
      expect(size).toBeLessThanOrEqual(Math.max(64, bytes * 1.25 + 16));
      expect(size % 16).toBe(0);
    }
  });

  it('hands out disjoint, aligned views of exactly the requested length', () => {
    const h = heap();
    const blocks = [3, 1000, 17, 0, 4096].map((size, i) => h.allocate(i % 2 ? 'int32' : 'float32', size)!);
    expect(blocks.map((b) => b.length)).toEqual([3, 1000, 17, 0, 4096]);
    expect(blocks[1]).toBeInstanceOf(Int32Array);
    const spans = blocks.map((b) => [b.byteOffset, b.byteOffset + classBytes(b.byteLength)] as const);
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    for (const b of blocks) {
      expect(b.byteOffset % 16).toBe(0);
      expect(h.owns(b)).toBe(true);
    }
    expect(h.owns(new Float32Array(4))).toBe(false);
  });

  it('reuses released blocks of the same class', () => {
    const h = heap();
    const first = h.allocate('float32', 1000)!;
    const top = h.usedBytes;
    h.release(first);
    expect(h.idleBytes).toBe(classBytes(4000));
    const again = h.allocate('float32', 990)!; // same class as 1000 floats
    expect(again.byteOffset).toBe(first.byteOffset);
    expect(h.usedBytes).toBe(top);
    expect(h.idleBytes).toBe(0);
  });

  it('grows the memory, and views made before stay valid and owned', () => {
    const h = heap(1);
    const early = h.allocate('float32', 100)!;
    early.fill(7);
    const big = h.allocate('float32', 3 * PAGE_BYTES)!; // 12 pages: forces growth
    big.fill(1);
    expect(h.memory.buffer.byteLength).toBeGreaterThanOrEqual(12 * PAGE_BYTES);
    expect(Array.from(early.subarray(0, 3))).toEqual([7, 7, 7]);
    expect(h.owns(early)).toBe(true);
    expect(h.owns(big)).toBe(true);
    expect(h.f32.length * 4).toBe(h.memory.buffer.byteLength);
  });

  it('returns null when the memory cannot grow enough', () => {
    const memory = new (webAssembly()!.Memory)({ initial: 1, maximum: 2, shared: true });
    const h = new WasmHeap(memory, true);
    expect(h.allocate('float32', PAGE_BYTES)).toBeNull(); // 4 pages
    expect(h.allocate('float32', 100)).not.toBeNull();
  });
});
