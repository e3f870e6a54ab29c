/**
 * Matmul throughput of the CPU backend (single thread): GFLOP/s, median of several runs after warm-up.
 * Run: cd packages/backend-cpu && npx tsx --conditions=source bench/matmul.ts (or npm run bench)
 */
import type { View } from '@sibert/tensor';
import { CpuBackend } from '../src/index.js';

const backend = new CpuBackend();
const matmul = backend.kernels.matmul;

function randomMatrix(rows: number, cols: number): View {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.random() * 2 - 1;
  return { handle: values, shape: [rows, cols], dtype: 'float32' };
}

function measure(
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  runs: number,
): number {
  const a = transposeA ? randomMatrix(k, m) : randomMatrix(m, k);
  const b = transposeB ? randomMatrix(n, k) : randomMatrix(k, n);
  const out = { shape: [m, n], dtype: 'float32' as const };
  matmul(a, b, transposeA, transposeB, out); // warm-up (JIT)
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    matmul(a, b, transposeA, transposeB, out);
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const median = times[Math.floor(times.length / 2)]!;
  return (2 * m * n * k) / (median * 1e6);
}

const runs = Number(process.env['RUNS'] ?? 5);
const cases: [number, number, number][] = [
  [1024, 1024, 1024],
  [4096, 256, 1024],
];
for (const [m, n, k] of cases) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const gflops = measure(m, n, k, transposeA, transposeB, runs);
      const label = `${m}x${n}x${k} (M×N×K) transposeA=${transposeA ? 1 : 0} transposeB=${transposeB ? 1 : 0}`;
      console.log(`${label.padEnd(52)} ${gflops.toFixed(2)} GFLOP/s`);
    }
  }
}
