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
  type TypedArray,
} from '@sibert/tensor';
import { binary, cast, compare, fill, unary, where } from './kernels/elementwise.js';
import { crossEntropy, layerNormalize, logSoftmax, siNormalize, softmax } from './kernels/fused.js';
import { sizeOf } from './kernels/layout.js';
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
import { heapKernels, threadPool, wasmRuntime } from './kernels/runtime.js';
import { allocateUninitialized, pooledBytes, recycle, releasePooled } from './kernels/storage.js';
import { availableThreads, type ThreadPool } from './kernels/threads.js';

function random(
  dist: RandomDistribution,
  stream: RandomStream,
  out: OutSpec,
  pool: ThreadPool | undefined,
): TypedArray {
  const values = allocateUninitialized('float32', sizeOf(out.shape)) as Float32Array;
  // Dropout masks and uniform draws in WASM (the same values); normal draws in JavaScript.
  const drawnInWasm = dist.kind === 'bernoulli' || dist.kind === 'uniform' ? dist : null;
  const kernels = drawnInWasm ? heapKernels(values) : null;
  if (drawnInWasm && kernels) {
    const threshold = drawnInWasm.kind === 'bernoulli' ? bernoulliThreshold(drawnInWasm.p) : 0;
    runRandom(kernels, pool, drawnInWasm, stream, values.byteOffset, values.length, threshold);
  } else {
    fillRandom(dist, stream, values);
  }
  if (out.dtype === 'float32') return values;
  const ints = allocateUninitialized('int32', values.length);
  ints.set(values);
  recycle(values);
  return ints;
}

export interface CpuBackendOptions {
  /** Matmul implementation: 'wasm-simd' (default; falls back to 'js' where unsupported) or 'js'. */
  readonly matmul?: MatmulKind;
  /**
   * Threads large kernels are split over, the calling thread included. Default: every core in
   * Node (worker threads on shared WebAssembly memory); 1 where shared memory or worker threads
   * are unavailable (e.g. browsers).
   */
  readonly threads?: number;
}

/**
 * The CPU backend: handles are the typed arrays themselves (Float32Array / Int32Array of exactly
 * `size` elements), kernels run synchronously on the calling thread.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /** The matmul implementation in use (after any fallback). */
  readonly matmulKind: MatmulKind;
  /** Threads in use (after any fallback). */
  readonly threads: number;
  readonly kernels: Kernels;

  constructor(options: CpuBackendOptions = {}) {
    const threads = options.threads ?? availableThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`CpuBackend: threads must be a positive integer, got ${threads}`);
    }
    const matmul = createMatmul(options.matmul ?? 'wasm-simd', threads);
    this.matmulKind = matmul.kind;
    this.threads = matmul.threads;
    const rt = wasmRuntime();
    const pool = rt && this.threads > 1 ? threadPool(rt, this.threads) : undefined;
    this.kernels = this.#createKernels(matmul.matmul, pool);
  }

  /** The kernel table; large elementwise kernels split over `pool` (when there is one). */
  #createKernels(matmulKernel: Kernels['matmul'], pool: ThreadPool | undefined): Kernels {
    return {
      unary: (x, op, out) => unary(x, op, out, pool),
      binary: (a, b, op, out) => binary(a, b, op, out, pool),
      compare: (a, b, op, out) => compare(a, b, op, out, pool),
      where: (cond, a, b, out) => where(cond, a, b, out, pool),
      cast: (x, out) => cast(x, out, pool),
      reduce,
      matmul: matmulKernel,
      transpose,
      broadcastTo,
      slice,
      concat,
      pad,
      gather,
      scatterAdd,
      oneHot,
      fill,
      random: (dist, stream, out) => random(dist, stream, out, pool),
      softmax: (x, out) => softmax(x, out, pool),
      logSoftmax,
      layerNormalize: (x, eps, out) => layerNormalize(x, eps, out, pool),
      crossEntropy,
      siNormalize,
    };
  }

  write(values: TypedArray, dtype: DType): Handle {
    const copy = allocateUninitialized(dtype, values.length);
    copy.set(values);
    return copy;
  }

  read(handle: Handle, size: number, dtype: DType): Promise<TypedArray> {
    return Promise.resolve(this.readSync(handle, size, dtype));
  }

  /** Returns a plain copy the caller owns (never a view into the backend's storage). */
  readSync(handle: Handle, size: number, dtype: DType): TypedArray {
    const copy = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    copy.set((handle as TypedArray).subarray(0, size));
    return copy;
  }

  /** Freed arrays are kept for reuse (see `kernels/storage.ts`), within a budget. */
  free(handle: Handle): void {
    recycle(handle as TypedArray);
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** Drops the plain arrays kept for reuse (shared by every CpuBackend in the process). */
  dispose(): void {
    releasePooled();
  }

  describe(): Record<string, unknown> {
    return {
      threads: this.threads,
      matmul: this.matmulKind,
      storage: wasmRuntime()?.storesTensors ? 'wasm-shared-memory' : 'typed-arrays',
      pooledBytes: pooledBytes(),
    };
  }
}
