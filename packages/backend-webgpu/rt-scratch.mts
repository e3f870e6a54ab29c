import { WebGpuBackend } from './src/index.ts';

const b = await WebGpuBackend.create();
const a = b.write(new Float32Array(16).fill(1), 'float32');
const v = { handle: a, shape: [16], dtype: 'float32' as const };
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    const h = b.kernels.unary!(v, 'exp', { shape: [16], dtype: 'float32' });
    await b.read(h, 16, 'float32');
    b.free(h);
  }
  console.log('read round trip', ((performance.now() - t0) / 20).toFixed(2), 'ms');
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) {
    const h = b.kernels.unary!(v, 'exp', { shape: [16], dtype: 'float32' });
    b.free(h);
  }
  await b.sync();
  console.log('dispatch', ((performance.now() - t1) / 200).toFixed(3), 'ms');
}
b.dispose();
