import {
  FUSED_KERNELS,
  fillRandom,
  type RandomDistribution,
  REQUIRED_KERNELS,
  UPDATE_KERNELS,
} from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from './cpu-backend.js';

describe('CpuBackend', () => {
  const backend = new CpuBackend();

  it('implements every required, fused and update kernel', () => {
    for (const name of [...REQUIRED_KERNELS, ...FUSED_KERNELS, ...UPDATE_KERNELS])
      expect(typeof backend.kernels[name]).toBe('function');
    expect(backend.name).toBe('cpu');
    expect(backend.describe()).toMatchObject({ threads: backend.threads, matmul: backend.matmulKind });
  });

  it('copies on write and on read', async () => {
    const source = Float32Array.of(1, 2, 3);
    const handle = backend.write(source, 'float32');
    source[0] = 99;
    const read = backend.readSync(handle, 3, 'float32');
    expect(Array.from(read)).toEqual([1, 2, 3]);
    read[1] = 99;
    expect(Array.from(await backend.read(handle, 3, 'float32'))).toEqual([1, 2, 3]);
    const ints = backend.write(Int32Array.of(-1, 5), 'int32');
    expect(backend.readSync(ints, 2, 'int32')).toBeInstanceOf(Int32Array);
    backend.free(handle);
    await backend.sync();
  });

  it('falls back to or selects the JavaScript matmul on request', () => {
    expect(new CpuBackend({ matmul: 'js' }).matmulKind).toBe('js');
    expect(['wasm-simd', 'js']).toContain(backend.matmulKind);
  });

  it('reports an out-of-range index at the next read or sync, dropping the update meanwhile', async () => {
    const updates = {
      handle: backend.write(Float32Array.of(1, 2, 3), 'float32'),
      shape: [3],
      dtype: 'float32' as const,
    };
    const indices = {
      handle: backend.write(Int32Array.of(0, 4, 0), 'int32'),
      shape: [3],
      dtype: 'int32' as const,
    };
    const sums = backend.kernels.scatterAdd(updates, indices, 0, { shape: [2], dtype: 'float32' });
    await expect(backend.sync()).rejects.toThrow(/scatterAdd: index 4 is out of range \[0, 2\)/);
    expect(Array.from(backend.readSync(sums, 2, 'float32'))).toEqual([4, 0]);
  });

  describe('random', () => {
    const distributions: RandomDistribution[] = [
      { kind: 'uniform', low: -2, high: 3 },
      { kind: 'normal', mean: 1, std: 0.5 },
      { kind: 'truncatedNormal', mean: 0, std: 0.02 },
      { kind: 'bernoulli', p: 0.3 },
    ];
    for (const dist of distributions) {
      it(`reproduces fillRandom for ${dist.kind}`, () => {
        const stream = { seed: 2 ** 40 + 7, offset: 2 ** 32 - 3 }; // offsets crossing 2³² exercise the high word
        const out = backend.kernels.random(dist, stream, {
          shape: [5, 13],
          dtype: 'float32',
        }) as Float32Array;
        const expected = new Float32Array(65);
        fillRandom(dist, stream, expected);
        expect(Array.from(out)).toEqual(Array.from(expected));
      });
    }

    it('continues a stream: the tail of one draw equals a draw at a later offset', () => {
      const dist: RandomDistribution = { kind: 'uniform', low: 0, high: 1 };
      const whole = backend.kernels.random(dist, { seed: 3, offset: 10 }, { shape: [20], dtype: 'float32' });
      const tail = backend.kernels.random(dist, { seed: 3, offset: 15 }, { shape: [15], dtype: 'float32' });
      expect(Array.from((whole as Float32Array).subarray(5))).toEqual(Array.from(tail as Float32Array));
    });
  });
});
