import type { DType, TypedArray } from './dtype.js';

/**
 * The narrow seam between the engine and a device. A backend owns storage (opaque handles),
 * runs kernels over contiguous row-major views, and declares which kernels it supports.
 *
 * Contract for every kernel:
 * - inputs are contiguous row-major; `shape`/`dtype` describe them; handles are never mutated
 *   (kernels are pure: they return a fresh handle for `out`), with one exception: the in-place
 *   update kernels (`UPDATE_KERNELS`) write the storage of the views they name as targets. The
 *   engine calls them only on tensors that own their storage alone (no view shares it, no live
 *   autograd graph saved it), with targets distinct from each other and from the inputs;
 * - the engine has already validated shapes, dtypes and attributes and computed `out`;
 * - a size-0 output still returns a (possibly empty) handle.
 *
 * Index validation is the kernels' own, with one timing on every backend. `gather` and
 * `scatterAdd` check their indices against the axis extent, `crossEntropy` its labels against the
 * class count (`ignoreIndex` allowed). A kernel never reads or writes out of bounds: an
 * out-of-range gather index yields zeros, a scatterAdd update at one is dropped, a crossEntropy row
 * with one has loss 0. The first out-of-range index is reported by the backend's next `read`,
 * `readSync` or `sync`, which throws (or rejects with) a `RangeArgumentError` whose message contains
 * `<kernel>: index <i> is out of range [0, <bound>)`; the report clears it. Checking there, not
 * at the op, keeps indices on the device mid-forward (no host copy on CPU, no host sync on a GPU).
 */
export type Handle = unknown;

export interface View {
  readonly handle: Handle;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface OutSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sign'
  | 'square'
  | 'reciprocal'
  | 'relu'
  | 'tanh'
  | 'sigmoid'
  | 'erf'
  | 'gelu' // 0.5·x·(1 + erf(x/√2))
  | 'geluTanh'; // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))

/** Binary ops broadcast NumPy-style: `out.shape` is the broadcast shape. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';

/** Comparisons broadcast like binary ops and produce int32 0/1. */
export type CompareOp = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

/** `argmax`/`argmin` take exactly one axis and produce int32 (first index on ties; NaN wins). */
export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

export type RandomDistribution =
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'normal'; mean: number; std: number }
  /** Normal truncated to mean ± 2·std (BERT's init). */
  | { kind: 'truncatedNormal'; mean: number; std: number }
  /** 1 with probability p, else 0 (float32). */
  | { kind: 'bernoulli'; p: number };

/** The counter-based stream: element i of the output uses Philox counter `offset + i` under key `seed`. */
export interface RandomStream {
  readonly seed: number;
  readonly offset: number;
}

export interface Kernels {
  // --- elementwise -------------------------------------------------------------------------
  unary(x: View, op: UnaryOp, out: OutSpec): Handle;
  binary(a: View, b: View, op: BinaryOp, out: OutSpec): Handle;
  compare(a: View, b: View, op: CompareOp, out: OutSpec): Handle;
  /** out = cond != 0 ? a : b, all three broadcast to out.shape; a and b share out.dtype. */
  where(cond: View, a: View, b: View, out: OutSpec): Handle;
  cast(x: View, out: OutSpec): Handle;

  // --- reductions --------------------------------------------------------------------------
  /** Reduces over `axes` (sorted, unique, non-empty); `out.shape` has those axes removed. */
  reduce(x: View, op: ReduceOp, axes: readonly number[], out: OutSpec): Handle;

  // --- linear algebra ----------------------------------------------------------------------
  /**
   * Batched matmul. a: [...batchA, M, K] ([..., K, M] when transposeA), b: [...batchB, K, N]
   * ([..., N, K] when transposeB); both rank ≥ 2. Batch dims broadcast; out: [...batch, M, N].
   * Transposes are read in place, never materialised.
   */
  matmul(a: View, b: View, transposeA: boolean, transposeB: boolean, out: OutSpec): Handle;

  // --- movement ----------------------------------------------------------------------------
  /** out.shape[i] = x.shape[perm[i]]. */
  transpose(x: View, perm: readonly number[], out: OutSpec): Handle;
  /** Materialises a broadcast (x.rank ≤ out.rank, NumPy rules). */
  broadcastTo(x: View, out: OutSpec): Handle;
  /** out = x[begin[i] : begin[i] + out.shape[i]] per axis. */
  slice(x: View, begin: readonly number[], out: OutSpec): Handle;
  /** Concatenates along `axis`; every input has out's rank and dtype. */
  concat(xs: readonly View[], axis: number, out: OutSpec): Handle;
  /** paddings[i] = [before, after] (non-negative); new cells hold `value`. */
  pad(x: View, paddings: readonly (readonly [number, number])[], value: number, out: OutSpec): Handle;
  /**
   * Gathers along `axis` with int32 `indices` (validated by the kernel, see the contract above):
   * out.shape = x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:].
   */
  gather(x: View, indices: View, axis: number, out: OutSpec): Handle;
  /**
   * The adjoint of gather: out = zeros(out.shape); for every position of `updates`
   * (shape out.shape[:axis] ++ indices.shape ++ out.shape[axis+1:]) adds it at index indices[j] along `axis`.
   */
  scatterAdd(updates: View, indices: View, axis: number, out: OutSpec): Handle;
  /** out[..., j] = indices[...] == j ? 1 : 0 (float32; out-of-range indices give a zero row). */
  oneHot(indices: View, depth: number, out: OutSpec): Handle;

  // --- creation ----------------------------------------------------------------------------
  fill(value: number, out: OutSpec): Handle;
  /** See rng.ts for the exact stream every backend must reproduce. */
  random(dist: RandomDistribution, stream: RandomStream, out: OutSpec): Handle;

  // --- fused (optional; each must match its composed definition in the conformance suite) ---
  /** Softmax over the last axis. */
  softmax?(x: View, out: OutSpec): Handle;
  /** log-softmax over the last axis. */
  logSoftmax?(x: View, out: OutSpec): Handle;
  /** (x − mean) / sqrt(var + eps) over the last axis, biased variance. */
  layerNormalize?(x: View, eps: number, out: OutSpec): Handle;
  /**
   * Per-row cross-entropy: logits [N, C], labels int32 [N]; out [N] float32,
   * 0 where labels == ignoreIndex (out-of-range labels: 0, reported as the contract above says).
   */
  crossEntropy?(logits: View, labels: View, ignoreIndex: number, out: OutSpec): Handle;
  /**
   * Scale-invariant attention normalisation over the last axis: a = relu(x) · keep,
   * out = a / (Σ a + eps). `keep` (optional) broadcasts to x and is 1 for kept keys, 0 for masked.
   */
  siNormalize?(x: View, keep: View | null, eps: number, out: OutSpec): Handle;
  /** Σ x² over every element of float32 `x`; out is a one-element float32 (shape []). */
  sumOfSquares?(x: View, out: OutSpec): Handle;

  // --- in-place optimizer updates (optional; each must match its composed definition) --------
  /**
   * target ← target − decay·target − step·s·source, with s = scale's one element (float32) or 1;
   * computed in that form (not (1 − decay)·target), because 1 − decay rounds badly in float32
   * when decay is ~1e-5. Writes `target`; returns nothing.
   */
  axpyInPlace?(target: View, source: View, decay: number, step: number, scale: View | null): void;
  /**
   * Adam's update in one pass. With d = s·grad + l2·param (s = `gradScale`'s one element or 1):
   * expAvg ← β₁·expAvg + (1 − β₁)·d, expAvgSq ← β₂·expAvgSq + (1 − β₂)·d², then
   * param ← param − decay·param − step·expAvg / (√expAvgSq / sqrtCorrection2 + eps), using the new
   * moments; param is left as it is when decay and step are both 0. Writes param, expAvg and expAvgSq.
   */
  adamInPlace?(param: View, expAvg: View, expAvgSq: View, grad: View, update: AdamUpdate): void;
}

/** The scalars of an `adamInPlace` update. */
export interface AdamUpdate {
  readonly gradScale: View | null;
  /** Coupled L2 decay (Adam): added to the scaled gradient before the moments. */
  readonly l2: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Decoupled decay (AdamW): taken off the parameter before the step. */
  readonly decay: number;
  /** η / (1 − β₁ᵗ). */
  readonly step: number;
  /** √(1 − β₂ᵗ). */
  readonly sqrtCorrection2: number;
  readonly eps: number;
}

export type KernelName = keyof Kernels;
export const REQUIRED_KERNELS: readonly KernelName[] = [
  'unary',
  'binary',
  'compare',
  'where',
  'cast',
  'reduce',
  'matmul',
  'transpose',
  'broadcastTo',
  'slice',
  'concat',
  'pad',
  'gather',
  'scatterAdd',
  'oneHot',
  'fill',
  'random',
];
export const FUSED_KERNELS: readonly KernelName[] = [
  'softmax',
  'logSoftmax',
  'layerNormalize',
  'crossEntropy',
  'siNormalize',
  'sumOfSquares',
];
/** Kernels that write their targets' storage (see the contract above); optional, like the fused ones. */
export const UPDATE_KERNELS: readonly KernelName[] = ['axpyInPlace', 'adamInPlace'];

export interface Backend {
  readonly name: string;
  /** The kernels this backend implements (its declared support table). */
  readonly kernels: Partial<Kernels>;
  /** Uploads values into new storage. */
  write(values: TypedArray, dtype: DType): Handle;
  /** Reads `size` elements back (rejecting with a pending index error first, see the contract). */
  read(handle: Handle, size: number, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, only where the device allows it (CPU); throws a pending index error. */
  readSync?(handle: Handle, size: number, dtype: DType): TypedArray;
  /** Returns storage to the backend (it may pool it). */
  free(handle: Handle): void;
  /** Resolves when all submitted work has finished (rejects with a pending index error). */
  sync(): Promise<void>;
  /** Releases the device; the backend is unusable afterwards. */
  dispose(): void;
  /** Optional description for reports (adapter name, threads, …). */
  describe?(): Record<string, unknown>;
}
