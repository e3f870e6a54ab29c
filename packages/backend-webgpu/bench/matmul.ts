/**
 * float32 matmul throughput of the WebGPU backend: median GFLOP/s over timed runs after warm-up,
 * each run synchronised. Run from this package: `npx tsx --conditions source bench/matmul.ts`.
 * BENCH_KERNELS=register,workgroup compares both matmul kernels (default: the adapter's own);
 * BENCH_RUNS sets the timed runs (default 5).
 */
import { WebGpuBackend } from '../src/index.js';

const SHAPES: readonly [number, number, number][] = [
  [256, 256, 256],
  [1024, 1024, 1024],
  [4096, 256, 1024],
];
const WARMUP_RUNS = 1;
const TIMED_RUNS = Number(process.env.BENCH_RUNS ?? 5);
const KERNELS = (process.env.BENCH_KERNELS?.split(',') ?? [undefined]) as (
  | 'register'
  | 'workgroup'
  | undefined
)[];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function filled(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.sin(seed + i) * 0.5;
  return values;
}

for (const matmulKernel of KERNELS) {
  const backend = await WebGpuBackend.create({
    powerPreference: 'high-performance',
    ...(matmulKernel ? { matmulKernel } : {}),
  });
  const adapter = backend.describe();
  console.log(
    `adapter: ${adapter.description || adapter.device} (${adapter.vendor}, ${adapter.architecture})`,
  );
  console.log(`matmul kernel: ${adapter.matmulKernel}`);
  console.log('| M×K×N | median ms | GFLOP/s | process CPU ms |');
  console.log('|---|---|---|---|');
  for (const [M, K, N] of SHAPES) {
    const a = {
      handle: backend.write(filled(M * K, 1), 'float32'),
      shape: [M, K],
      dtype: 'float32' as const,
    };
    const b = {
      handle: backend.write(filled(K * N, 2), 'float32'),
      shape: [K, N],
      dtype: 'float32' as const,
    };
    const out = { shape: [M, N], dtype: 'float32' as const };
    const times: number[] = [];
    const cpuTimes: number[] = [];
    for (let run = 0; run < WARMUP_RUNS + TIMED_RUNS; run++) {
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      const c = backend.kernels.matmul(a, b, false, false, out);
      await backend.sync();
      const elapsed = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      if (run >= WARMUP_RUNS) {
        times.push(elapsed);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
      }
      backend.free(c);
    }
    const ms = median(times);
    const gflops = (2 * M * K * N) / (ms * 1e6);
    console.log(
      `| ${M}×${K}×${N} | ${ms.toFixed(1)} | ${gflops.toFixed(2)} | ${median(cpuTimes).toFixed(0)} |`,
    );
    backend.free(a.handle);
    backend.free(b.handle);
  }
  backend.dispose();
}
