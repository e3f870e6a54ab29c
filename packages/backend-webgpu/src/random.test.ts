import { fillRandom, type RandomDistribution } from '@sibert/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { download, expectClose } from './test-support.js';
import { openTestBackend } from './testing.js';
import { TOLERANCE } from './tolerances.js';

const backend = await openTestBackend();
afterAll(() => backend?.dispose());

const COUNT = 4096;
// Streams that cross the 32-bit counter boundary and use a seed above 2³².
const STREAMS = [
  { seed: 1234, offset: 0 },
  { seed: 2 ** 40 + 7, offset: 2 ** 32 - 1000 },
];

describe.skipIf(!backend)('webgpu random kernel', () => {
  const b = backend!;

  for (const stream of STREAMS) {
    it(`bernoulli is bit-exact with fillRandom (seed ${stream.seed}, offset ${stream.offset})`, async () => {
      for (const p of [0, 0.1, 0.5, 0.9, 1]) {
        const dist: RandomDistribution = { kind: 'bernoulli', p };
        const want = new Float32Array(COUNT);
        fillRandom(dist, stream, want);
        const got = await download(b, b.kernels.random!(dist, stream, { shape: [COUNT], dtype: 'float32' }), [
          COUNT,
        ]);
        expect(got).toEqual(want);
      }
    });

    it(`uniform, normal and truncatedNormal match fillRandom (seed ${stream.seed})`, async () => {
      const cases: [RandomDistribution, { rtol: number; atol: number }][] = [
        [{ kind: 'uniform', low: -0.5, high: 2 }, TOLERANCE.randomUniform],
        [{ kind: 'normal', mean: 1, std: 0.5 }, TOLERANCE.randomNormal],
        [{ kind: 'truncatedNormal', mean: 0, std: 0.02 }, TOLERANCE.randomNormal],
      ];
      for (const [dist, tolerance] of cases) {
        const want = new Float32Array(COUNT);
        fillRandom(dist, stream, want);
        const got = await download(
          b,
          b.kernels.random!(dist, stream, { shape: [8, COUNT / 8], dtype: 'float32' }),
          [COUNT],
        );
        expectClose(got, want, tolerance, dist.kind);
      }
    });
  }

  it('truncatedNormal stays within mean ± 2·std', async () => {
    const got = await download(
      b,
      b.kernels.random!(
        { kind: 'truncatedNormal', mean: 0, std: 1 },
        { seed: 5, offset: 0 },
        { shape: [COUNT], dtype: 'float32' },
      ),
      [COUNT],
    );
    expect(Math.max(...got.map(Math.abs))).toBeLessThanOrEqual(2);
  });
});
