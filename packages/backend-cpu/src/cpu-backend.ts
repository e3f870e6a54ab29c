import {
  type Backend,
  bernoulliThreshold,
  type DType,
  fillRandom,
  type Handle,
  type Kernels,
  type OutSpec,
  type RandomDistribution,
  type RandomStream,
  RangeArgumentError,
  sizeOf,
  type TypedArray,
} from '@sibert/tensor';
import { binary, cast, compare, fill, unary, where } from './kernels/elementwise.js';
import { crossEntropy, layerNormalize, logSoftmax, siNormalize, softmax } from './kernels/fused.js';
import { createMatmul, type MatmulKind } from './kernels/matmul.js';
import {
  broadcastTo,
  concat,
  gather,
  oneHot,
  pad,
  scatterAdd,
  slice,
  transpose,
} from './kernels/movement.js';
import { runRandom } from './kernels/parallel.js';
import { reduce } from './kernels/reduce.js';
import { CpuRuntime } from './kernels/runtime.js';
import { availableThreads } from './kernels/threads.js';
import { adamInPlace, axpyInPlace, sumOfSquares } from './kernels/update.js';

function random(rt: CpuRuntime, dist: RandomDistribution, stream: RandomStream, out: OutSpec): TypedArray {
  const values = rt.allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  // Dropout masks and uniform draws in WASM (the same values); normal draws in JavaScript.
  const drawnInWasm = dist.kind === 'bernoulli' || dist.kind === 'uniform' ? dist : null;
  const kernels = drawnInWasm ? rt.heapKernels(values) : null;
  if (drawnInWasm && kernels) {
    const threshold = drawnInWasm.kind === 'bernoulli' ? bernoulliThreshold(drawnInWasm.p) : 0;
    runRandom(kernels, rt.pool, drawnInWasm, stream, values.byteOffset, values.length, threshold);
  } else {
    fillRandom(dist, stream, values);
  }
  if (out.dtype === 'float32') return values;
  const ints = rt.allocateUninitialized('int32', values.length);
  ints.set(values);
  rt.recycle(values);
  return ints;
}

/** The kernel table of a backend on `rt`. */
function createKernels(rt: CpuRuntime, matmul: Kernels['matmul']): Kernels {
  return {
    unary: (x, op, out) => unary(rt, x, op, out),
    binary: (a, b, op, out) => binary(rt, a, b, op, out),
    compare: (a, b, op, out) => compare(rt, a, b, op, out),
    where: (cond, a, b, out) => where(rt, cond, a, b, out),
    cast: (x, out) => cast(rt, x, out),
    reduce: (x, op, axes, out) => reduce(rt, x, op, axes, out),
    matmul,
    transpose: (x, perm, out) => transpose(rt, x, perm, out),
    broadcastTo: (x, out) => broadcastTo(rt, x, out),
    slice: (x, begin, out) => slice(rt, x, begin, out),
    concat: (xs, axis, out) => concat(rt, xs, axis, out),
    pad: (x, paddings, value, out) => pad(rt, x, paddings, value, out),
    gather: (x, indices, axis, out) => gather(rt, x, indices, axis, out),
    scatterAdd: (updates, indices, axis, out) => scatterAdd(rt, updates, indices, axis, out),
    oneHot: (indices, depth, out) => oneHot(rt, indices, depth, out),
    fill: (value, out) => fill(rt, value, out),
    random: (dist, stream, out) => random(rt, dist, stream, out),
    softmax: (x, out) => softmax(rt, x, out),
    logSoftmax: (x, out) => logSoftmax(rt, x, out),
    layerNormalize: (x, eps, out) => layerNormalize(rt, x, eps, out),
    crossEntropy: (logits, labels, ignoreIndex, out) => crossEntropy(rt, logits, labels, ignoreIndex, out),
    siNormalize: (x, keep, eps, out) => siNormalize(rt, x, keep, eps, out),
    sumOfSquares: (x, out) => sumOfSquares(rt, x, out),
    axpyInPlace,
    adamInPlace,
  };
}

export interface CpuBackendOptions {
  /** Matmul implementation: 'wasm-simd' (default; falls back to 'js' where unsupported) or 'js'. */
  readonly matmul?: MatmulKind;
  /**
   * Threads large kernels are split over, the calling thread included. Default: every core in
   * Node (worker threads on shared WebAssembly memory) and in a dedicated Web Worker of a
   * cross-origin isolated page (Web Workers on the same memory); 1 where shared memory or workers
   * are unavailable, and on a page's main thread, which may not block in `Atomics.wait` (run the
   * backend in a dedicated worker to use more).
   */
  readonly threads?: number;
}

/**
 * The CPU backend: handles are the typed arrays themselves (Float32Array / Int32Array of exactly
 * `size` elements), kernels run synchronously on the calling thread (large ones also on this
 * backend's worker threads). Each instance owns its runtime (`kernels/runtime.ts`): storage,
 * WASM heap and thread pool are never shared with another instance.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /** The matmul implementation in use (after any fallback). */
  readonly matmulKind: MatmulKind;
  /** Threads in use (after any fallback). */
  readonly threads: number;
  readonly kernels: Kernels;
  // A TypeScript-private field, not #rt: tests derive backends from an instance with Object.create.
  private readonly rt: CpuRuntime;

  constructor(options: CpuBackendOptions = {}) {
    const threads = options.threads ?? availableThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeArgumentError(`threads must be a positive integer, got ${threads}`, 'CpuBackend');
    }
    const kind = options.matmul ?? 'wasm-simd';
    // The JavaScript matmul runs on one thread, and so does everything else then.
    this.rt = new CpuRuntime(kind === 'js' ? 1 : threads);
    const matmul = createMatmul(this.rt, kind);
    this.matmulKind = matmul.kind;
    this.threads = matmul.threads;
    this.kernels = createKernels(this.rt, matmul.matmul);
  }

  write(values: TypedArray, dtype: DType): Handle {
    const copy = this.rt.allocateUninitialized(dtype, values.length);
    copy.set(values);
    return copy;
  }

  async read(handle: Handle, size: number, dtype: DType): Promise<TypedArray> {
    return this.readSync(handle, size, dtype);
  }

  /**
   * Returns a plain copy the caller owns (never a view into the backend's storage). Throws the
   * first out-of-range index a kernel met since the last read, as the backend contract says.
   */
  readSync(handle: Handle, size: number, dtype: DType): TypedArray {
    this.rt.throwPendingIndexError();
    const copy = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    copy.set((handle as TypedArray).subarray(0, size));
    return copy;
  }

  /** Freed arrays are kept for reuse (see `kernels/storage.ts`), within a budget. */
  free(handle: Handle): void {
    this.rt.recycle(handle as TypedArray);
  }

  /** Kernels run synchronously: nothing to wait for but a pending index error to report. */
  async sync(): Promise<void> {
    this.rt.throwPendingIndexError();
  }

  /** Stops this backend's worker threads and drops the arrays it kept for reuse. */
  dispose(): void {
    this.rt.dispose();
  }

  describe(): Record<string, unknown> {
    return {
      threads: this.threads,
      matmul: this.matmulKind,
      storage: this.rt.wasm?.storesTensors ? 'wasm-shared-memory' : 'typed-arrays',
      pooledBytes: this.rt.pooledBytes(),
    };
  }
}
