/**
 * Side by side in one process, on one Dawn instance and adapter: this backend's float32 matmul
 * against TensorFlow.js's `webgpu` backend, alternating runs so both see the same machine load.
 * Both timings include reading the product back. TensorFlow.js is not a dependency of this
 * package; it is installed at the repository root for apps/bench.
 * Run from this package: `npx tsx --conditions source bench/matmul-vs-tfjs.ts`.
 */
import { create, globals } from 'webgpu';
import { WebGpuBackend } from '../src/index.js';

const SHAPES: readonly [number, number, number][] = [
  [256, 256, 256],
  [1024, 1024, 1024],
  [4096, 256, 1024],
];
const TIMED_RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// TensorFlow.js finds WebGPU through navigator.gpu and the WebGPU globals.
const gpu = create([]);
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
await tf.setBackend('webgpu');
await tf.ready();
const ours = await WebGpuBackend.create({ gpu });
const adapter = ours.describe();
console.log(`adapter: ${adapter.description || adapter.device}; our matmul kernel: ${adapter.matmulKernel}`);
console.log('| M×K×N | ours: ms, GFLOP/s | TensorFlow.js webgpu: ms, GFLOP/s | speed-up |');
console.log('|---|---|---|---|');
for (const [M, K, N] of SHAPES) {
  const tfA = tf.randomUniform([M, K]);
  const tfB = tf.randomUniform([K, N]);
  const a = {
    handle: ours.write(new Float32Array(await tfA.data()), 'float32'),
    shape: [M, K],
    dtype: 'float32' as const,
  };
  const b = {
    handle: ours.write(new Float32Array(await tfB.data()), 'float32'),
    shape: [K, N],
    dtype: 'float32' as const,
  };
  const oursMs: number[] = [];
  const tfMs: number[] = [];
  for (let run = 0; run <= TIMED_RUNS; run++) {
    let start = performance.now();
    const product = tf.matMul(tfA, tfB);
    await product.data();
    product.dispose();
    if (run > 0) tfMs.push(performance.now() - start);
    start = performance.now();
    const handle = ours.kernels.matmul(a, b, false, false, { shape: [M, N], dtype: 'float32' });
    await ours.read(handle, M * N, 'float32');
    ours.free(handle);
    if (run > 0) oursMs.push(performance.now() - start);
  }
  const flops = 2 * M * K * N;
  const [o, t] = [median(oursMs), median(tfMs)];
  console.log(
    `| ${M}×${K}×${N} | ${o.toFixed(0)}, ${(flops / o / 1e6).toFixed(2)} | ${t.toFixed(0)}, ${(flops / t / 1e6).toFixed(2)} | ${(t / o).toFixed(2)}× |`,
  );
  tfA.dispose();
  tfB.dispose();
  ours.free(a.handle);
  ours.free(b.handle);
}
ours.dispose();
tf.engine().reset();
