import type { RandomDistribution, RandomStream } from '@sibert/tensor';
import type { TaskKernels, ThreadPool } from './threads.js';
import type { KernelModule } from './wasm-module.js';

/**
 * WASM kernels split over the thread pool: each task runs the same kernel on its own chunk of the
 * output (elementwise kernels: a run of elements; row kernels: a run of rows), so results are the
 * same bits for any thread count. Small calls stay on the calling thread: waking the workers
 * costs microseconds.
 *
 * Job parameters (Int32 slots from 8; the tasks use the literals):
 * elementwise: 8 kernel (index into the module's exports)  9 operands  10 n  11 chunk
 *              12 advancing (bit per operand)  13 out  14… operand byte addresses
 * rows:        8 kernel  9 rows  10 n  11 rows per task  12 out  13 x  14 a float32 argument (bits)
 * random:      8 kernel  9 n  10 chunk  11 out  12 c0  13 c1  14 k0  15 k1  16 threshold
 *              18–21 low and high (float64)
 */

/** Below this many elements a kernel runs on the calling thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Task: one chunk of an elementwise kernel (no inner functions: tasks are rebuilt from their text). */
export function elementwiseChunk(
  job: Int32Array,
  _f32: Float32Array,
  _i32: Int32Array,
  wasm: TaskKernels,
  index: number,
): void {
  const chunk = job[11]!;
  const start = index * chunk;
  const length = Math.min(chunk, job[10]! - start);
  const advancing = job[12]!;
  const kernel = wasm.list[job[8]!]!;
  const out = job[13]! + 4 * start;
  const x = job[14]! + (advancing & 1 ? 4 * start : 0);
  const y = job[15]! + (advancing & 2 ? 4 * start : 0);
  const z = job[16]! + (advancing & 4 ? 4 * start : 0);
  const operands = job[9]!;
  if (operands === 1) kernel(out, x, length);
  else if (operands === 2) kernel(out, x, y, length);
  else kernel(out, x, y, z, length);
}

/** Task: a run of rows of a row kernel (out, x, rows, n, argument). */
export function rowsChunk(
  job: Int32Array,
  _f32: Float32Array,
  _i32: Int32Array,
  wasm: TaskKernels,
  index: number,
): void {
  const first = index * job[11]!;
  const rows = Math.min(job[11]!, job[9]! - first);
  const rowBytes = 4 * job[10]!;
  const argument = new Float32Array(new Int32Array([job[14]!]).buffer)[0]!;
  wasm.list[job[8]!]!(job[12]! + first * rowBytes, job[13]! + first * rowBytes, rows, job[10]!, argument);
}

/** Task: a chunk of a Philox draw; the chunk's first counter is the stream's plus its start. */
export function randomChunk(
  job: Int32Array,
  _f32: Float32Array,
  _i32: Int32Array,
  wasm: TaskKernels,
  index: number,
): void {
  const start = index * job[10]!;
  const length = Math.min(job[10]!, job[9]! - start);
  const low = (job[12]! >>> 0) + start;
  const c0 = low % 4294967296;
  const c1 = (job[13]! + (low >= 4294967296 ? 1 : 0)) | 0;
  const bounds = new Float64Array(job.buffer, job.byteOffset + 72, 2);
  const kernel = wasm.list[job[8]!]!;
  const out = job[11]! + 4 * start;
  if (job[16]! >= 0) kernel(out, length, c0 | 0, c1, job[14]!, job[15]!, job[16]!);
  else kernel(out, length, c0 | 0, c1, job[14]!, job[15]!, bounds[0]!, bounds[1]!);
}

export const PARALLEL_TASKS = [elementwiseChunk, rowsChunk, randomChunk];

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
  const perTask = Math.ceil(rows / (4 * pool.threads));
  const bits = new Int32Array(new Float32Array([argument]).buffer)[0]!;
  pool.params.set([kernels.exportIndex(name), rows, n, perTask, out, x, bits]);
  pool.run(rowsChunk, Math.ceil(rows / perTask), true);
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
  pool.params.set([kernels.exportIndex(name), operands.length, n, chunk, mask, out, ...operands]);
  pool.run(elementwiseChunk, Math.ceil(n / chunk), true);
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
  const name = `philox_${dist.kind}`;
  const bounds = dist.kind === 'uniform' ? [dist.low, dist.high] : [threshold];
  if (!pool || pool.threads === 1 || n < PARALLEL_MIN_ELEMENTS / 4) {
    kernels.list[kernels.exportIndex(name)]!(out, n, c0 | 0, c1 | 0, k0 | 0, k1 | 0, ...bounds);
    return;
  }
  const chunk = Math.ceil(n / (4 * pool.threads) / 16) * 16;
  const params = pool.params;
  params.set([
    kernels.exportIndex(name),
    n,
    chunk,
    out,
    c0 | 0,
    c1 | 0,
    k0 | 0,
    k1 | 0,
    dist.kind === 'bernoulli' ? threshold : -1,
  ]);
  if (dist.kind === 'uniform')
    new Float64Array(params.buffer, params.byteOffset + 40, 2).set([dist.low, dist.high]);
  pool.run(randomChunk, Math.ceil(n / chunk), true);
}
