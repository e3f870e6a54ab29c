/**
 * Matmul throughput of the CPU backend: GFLOP/s, median of several runs after a warm-up, for each
 * matmul implementation: WASM SIMD on every core, WASM SIMD on one thread, plain JavaScript.
 * Run: cd packages/backend-cpu && npm run bench
 * (= npx tsx --conditions=source bench/matmul.ts; RUNS=n sets the number of timed runs).
 * Operands are plain arrays here, so the WASM runs include copying them into the heap.
 */
import type { Kernels, View } from '@sibert/tensor';
import { CpuBackend } from '../src/index.js';

function randomMatrix(rows: number, cols: number): View {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = Math.random() * 2 - 1;
  return { handle: values, shape: [rows, cols], dtype: 'float32' };
}

function measure(
  matmul: Kernels['matmul'],
  [m, n, k]: [number, number, number],
  transposeA: boolean,
  transposeB: boolean,
  runs: number,
): number {
  const a = transposeA ? randomMatrix(k, m) : randomMatrix(m, k);
  const b = transposeB ? randomMatrix(n, k) : randomMatrix(k, n);
  const out = { shape: [m, n], dtype: 'float32' as const };
  matmul(a, b, transposeA, transposeB, out); // warm-up (JIT, WASM tier-up, heap growth)
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
// [M, N, K]: the square case, then BERT-mini's feed-forward shapes (4096 tokens, hidden 256, FF 1024).
const cases: [number, number, number][] = [
  [1024, 1024, 1024],
  [4096, 1024, 256],
  [4096, 256, 1024],
];
const configurations = [
  { matmul: 'wasm-simd' as const },
  { matmul: 'wasm-simd' as const, threads: 1 },
  { matmul: 'js' as const },
];
for (const options of configurations) {
  const backend = new CpuBackend(options);
  console.log(
    `matmul: ${backend.matmulKind}, ${backend.threads} thread(s) (median of ${runs} runs after a warm-up)`,
  );
  for (const shape of cases) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const gflops = measure(backend.kernels.matmul, shape, transposeA, transposeB, runs);
        const [m, n, k] = shape;
        const label = `  M=${m} N=${n} K=${k} transposeA=${transposeA ? 1 : 0} transposeB=${transposeB ? 1 : 0}`;
        console.log(`${label.padEnd(52)} ${gflops.toFixed(2)} GFLOP/s`);
      }
    }
  }
}
