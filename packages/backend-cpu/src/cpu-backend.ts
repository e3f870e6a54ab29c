import {
  type Backend,
  type DType,
  fillRandom,
  type Handle,
  type Kernels,
  type OutSpec,
  type RandomDistribution,
  type RandomStream,
  type TypedArray,
} from '@sibert/tensor';
import { allocate, binary, cast, compare, fill, unary, where } from './kernels/elementwise.js';
import { crossEntropy, layerNormalize, logSoftmax, siNormalize, softmax } from './kernels/fused.js';
import { sizeOf } from './kernels/layout.js';
import { type GemmKind, matmul, selectGemm } from './kernels/matmul.js';
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
import { reduce } from './kernels/reduce.js';

function random(dist: RandomDistribution, stream: RandomStream, out: OutSpec): TypedArray {
  const values = new Float32Array(sizeOf(out.shape));
  fillRandom(dist, stream, values);
  return out.dtype === 'float32' ? values : new Int32Array(values);
}

export interface CpuBackendOptions {
  /** Matmul implementation: 'wasm-simd' (default; falls back to 'js' where unsupported) or 'js'. */
  readonly matmul?: GemmKind;
}

/**
 * The CPU backend: handles are the typed arrays themselves (Float32Array / Int32Array of exactly
 * `size` elements), kernels run synchronously on the calling thread.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  /** The matmul implementation in use (after any fallback). */
  readonly matmulKind: GemmKind;
  readonly kernels: Kernels;

  constructor(options: CpuBackendOptions = {}) {
    const { kind, gemm } = selectGemm(options.matmul ?? 'wasm-simd');
    this.matmulKind = kind;
    this.kernels = this.#createKernels((a, b, transposeA, transposeB, out) =>
      matmul(a, b, transposeA, transposeB, out, gemm),
    );
  }

  #createKernels(matmulKernel: Kernels['matmul']): Kernels {
    return {
      unary,
      binary,
      compare,
      where,
      cast,
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
      random,
      softmax,
      logSoftmax,
      layerNormalize,
      crossEntropy,
      siNormalize,
    };
  }

  write(values: TypedArray, dtype: DType): Handle {
    const copy = allocate(dtype, values.length);
    copy.set(values);
    return copy;
  }

  read(handle: Handle, size: number, dtype: DType): Promise<TypedArray> {
    return Promise.resolve(this.readSync(handle, size, dtype));
  }

  readSync(handle: Handle, size: number, dtype: DType): TypedArray {
    const copy = allocate(dtype, size);
    copy.set((handle as TypedArray).subarray(0, size));
    return copy;
  }

  /** Storage is garbage-collected typed arrays; dropping the handle is enough. */
  free(_handle: Handle): void {}

  sync(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {}

  describe(): Record<string, unknown> {
    return { threads: 1, matmul: this.matmulKind };
  }
}
