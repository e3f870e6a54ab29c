import type { RandomDistribution, RandomStream } from '@sibert/tensor';
import type { Task, ThreadPool } from './threads.js';
import type { KernelModule } from './wasm-module.js';

/**
 * WASM kernels split over the thread pool: each task runs the same kernel on its own chunk of the
 * output (elementwise kernels: a run of elements; row kernels: a run of rows), so results are the
 * same bits for any thread count. Small calls stay on the calling thread: waking the workers
 * costs microseconds. Kernels are named in jobs by their index in the module's exports; operands
 * by their byte addresses.
 */

/** Below this many elements a kernel runs on the calling thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 15;

/**
 * One chunk of an elementwise kernel over n elements: operands 1–3 (x, y, z) advance with the
 * element unless their bit of `advancing` is clear (a broadcast scalar).
 */
export const elementwiseChunk: Task<
  'kernel' | 'operands' | 'n' | 'chunk' | 'advancing' | 'out' | 'x' | 'y' | 'z'
> = {
  params: ['kernel', 'operands', 'n', 'chunk', 'advancing', 'out', 'x', 'y', 'z'],
  run: function elementwiseChunk(job, _f32, _i32, wasm, index) {
    const start = index * job.chunk;
    const length = Math.min(job.chunk, job.n - start);
    const kernel = wasm.list[job.kernel]!;
    const out = job.out + 4 * start;
    const x = job.x + (job.advancing & 1 ? 4 * start : 0);
    const y = job.y + (job.advancing & 2 ? 4 * start : 0);
    const z = job.z + (job.advancing & 4 ? 4 * start : 0);
    if (job.operands === 1) kernel(out, x, length);
    else if (job.operands === 2) kernel(out, x, y, length);
    else kernel(out, x, y, z, length);
  },
};

/** A run of rows of a row kernel (out, x, rows, n, argument), `rowsPerTask` rows a task. */
export const rowsChunk: Task<'kernel' | 'rows' | 'n' | 'rowsPerTask' | 'out' | 'x' | 'argument'> = {
  params: ['kernel', 'rows', 'n', 'rowsPerTask', 'out', 'x', 'argument'],
  run: function rowsChunk(job, _f32, _i32, wasm, index) {
    const first = index * job.rowsPerTask;
    const rows = Math.min(job.rowsPerTask, job.rows - first);
    const rowBytes = 4 * job.n;
    wasm.list[job.kernel]!(job.out + first * rowBytes, job.x + first * rowBytes, rows, job.n, job.argument);
  },
};

/**
 * A chunk of a Philox draw of n values into `out`: the chunk's first counter is the stream's
 * (c0 low word, c1 high word) plus its start; key k0, k1. Bernoulli draws compare with
 * `threshold`; uniform ones (threshold −1) scale to [low, high).
 */
export const randomChunk: Task<
  'kernel' | 'n' | 'chunk' | 'out' | 'c0' | 'c1' | 'k0' | 'k1' | 'threshold' | 'low' | 'high'
> = {
  params: ['kernel', 'n', 'chunk', 'out', 'c0', 'c1', 'k0', 'k1', 'threshold', 'low', 'high'],
  run: function randomChunk(job, _f32, _i32, wasm, index) {
    const start = index * job.chunk;
    const length = Math.min(job.chunk, job.n - start);
    const low = job.c0 + start;
    const c0 = low % 4294967296;
    const c1 = (job.c1 + (low >= 4294967296 ? 1 : 0)) | 0;
    const kernel = wasm.list[job.kernel]!;
    const out = job.out + 4 * start;
    if (job.threshold >= 0) kernel(out, length, c0 | 0, c1, job.k0, job.k1, job.threshold);
    else kernel(out, length, c0 | 0, c1, job.k0, job.k1, job.low, job.high);
  },
};

export const PARALLEL_TASKS: readonly Task[] = [elementwiseChunk, rowsChunk, randomChunk];

/** Runs row kernel `name` (out, x, rows, n, argument?) over every row, split over `pool` when large. */
export function runRows(
  kernels: KernelModule,
  pool: ThreadPool | undefined,
  name: string,
  out: number,
  x: number,
  rows: number,
  n: number,
  argument = 0,
): void {
  if (!pool || pool.threads === 1 || rows < 2 || rows * n < PARALLEL_MIN_ELEMENTS) {
    kernels.list[kernels.exportIndex(name)]!(out, x, rows, n, argument);
    return;
  }
  const rowsPerTask = Math.ceil(rows / (4 * pool.threads));
  const job = { kernel: kernels.exportIndex(name), rows, n, rowsPerTask, out, x, argument };
  pool.run(rowsChunk, job, Math.ceil(rows / rowsPerTask), true);
}

/**
 * Runs elementwise kernel `name` of `kernels` over n elements: `operands` are byte addresses,
 * `advancing[i]` false for an operand read as one broadcast value.
 */
export function runElementwise(
  kernels: KernelModule,
  pool: ThreadPool | undefined,
  name: string,
  out: number,
  operands: readonly number[],
  advancing: readonly boolean[],
  n: number,
): void {
  if (!pool || pool.threads === 1 || n < PARALLEL_MIN_ELEMENTS) {
    kernels.elementwise[name]!(out, ...operands, n);
    return;
  }
  // A few chunks per thread (they finish unevenly), each a whole number of 64-byte lines.
  const chunk = Math.ceil(n / (4 * pool.threads) / 16) * 16;
  let mask = 0;
  advancing.forEach((advances, i) => {
    if (advances) mask |= 1 << i;
  });
  const [x = 0, y = 0, z = 0] = operands;
  const job = {
    kernel: kernels.exportIndex(name),
    operands: operands.length,
    n,
    chunk,
    advancing: mask,
    out,
    x,
    y,
    z,
  };
  pool.run(elementwiseChunk, job, Math.ceil(n / chunk), true);
}

/**
 * Fills `out` (n float32s at a byte address) with a bernoulli or uniform draw of `stream`, the
 * same values as `fillRandom`, split over `pool` when large.
 */
export function runRandom(
  kernels: KernelModule,
  pool: ThreadPool | undefined,
  dist: Extract<RandomDistribution, { kind: 'bernoulli' | 'uniform' }>,
  stream: RandomStream,
  out: number,
  n: number,
  threshold: number,
): void {
  const [k0, k1] = [stream.seed % 4294967296, Math.floor(stream.seed / 4294967296)];
  const [c0, c1] = [stream.offset % 4294967296, Math.floor(stream.offset / 4294967296)];
  const kernel = kernels.exportIndex(`philox_${dist.kind}`);
  const bounds = dist.kind === 'uniform' ? [dist.low, dist.high] : [threshold];
  if (!pool || pool.threads === 1 || n < PARALLEL_MIN_ELEMENTS / 4) {
    kernels.list[kernel]!(out, n, c0 | 0, c1 | 0, k0 | 0, k1 | 0, ...bounds);
    return;
  }
  const chunk = Math.ceil(n / (4 * pool.threads) / 16) * 16;
  const uniform = dist.kind === 'uniform';
  const job = {
    kernel,
    n,
    chunk,
    out,
    c0,
    c1: c1 | 0,
    k0: k0 | 0,
    k1: k1 | 0,
    threshold: uniform ? -1 : threshold,
    low: uniform ? dist.low : 0,
    high: uniform ? dist.high : 0,
  };
  pool.run(randomChunk, job, Math.ceil(n / chunk), true);
}
