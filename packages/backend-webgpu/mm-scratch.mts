import { WebGpuBackend } from './src/index.ts';

const b = await WebGpuBackend.create();
const a = b.write(new Float32Array(64 * 64).fill(1), 'float32');
const v = { handle: a, shape: [64, 64], dtype: 'float32' as const };
for (const [ta, tb] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
  [false, false],
] as const) {
  const t0 = performance.now();
  const h = b.kernels.matmul!(v, v, ta, tb, { shape: [64, 64], dtype: 'float32' });
  const t1 = performance.now();
  await b.read(h, 1, 'float32');
  console.log(ta, tb, 'record', (t1 - t0).toFixed(1), 'ms, total', (performance.now() - t0).toFixed(1), 'ms');
}
b.dispose();
