import { fillRandom, type RandomDistribution } from '@sibert/tensor';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../cpu-backend.js';

// The WASM Philox draws against the engine's JavaScript reference, bit for bit: on one thread and
// split over two, at counters that carry into the high word, with keys above 2³².

const DISTRIBUTIONS: RandomDistribution[] = [
  { kind: 'bernoulli', p: 0.9 },
  { kind: 'bernoulli', p: 0 },
  { kind: 'bernoulli', p: 1 },
  { kind: 'uniform', low: -2, high: 3 },
];
const STREAMS = [
  { seed: 0, offset: 0 },
  { seed: 2 ** 40 + 7, offset: 2 ** 32 - 5_000 },
  { seed: 123, offset: 2 ** 52 },
];

describe('WASM random draws', () => {
  for (const threads of [1, 2]) {
    it(`equal fillRandom bit for bit (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      const cpu = new CpuBackend({ threads });
      for (const dist of DISTRIBUTIONS) {
        for (const stream of STREAMS) {
          for (const n of [0, 1, 7, 50_021]) {
            const got = cpu.kernels.random(dist, stream, { shape: [n], dtype: 'float32' }) as Float32Array;
            const want = new Float32Array(n);
            fillRandom(dist, stream, want);
            expect(Array.from(got), `${JSON.stringify(dist)} ${JSON.stringify(stream)} n=${n}`).toEqual(
              Array.from(want),
            );
          }
        }
      }
    });
  }
});
