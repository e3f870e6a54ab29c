import type { BinaryOp, UnaryOp } from '@sibert/tensor';

/**
 * How far WebGPU results may sit from a float64 reference: |got − want| ≤ atol + rtol·|want|.
 * Kernels compute in f32; WGSL pins only loose error bounds for transcendentals (exp/log within
 * a few ULP, sin/cos only absolutely), so those get more room than exactly rounded arithmetic.
 */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** One f32 rounding per step (add, mul, copies, compare): a few ULP of relative error. */
const EXACTLY_ROUNDED: Tolerance = { rtol: 2e-7, atol: 0 };
/** exp/log/sqrt/rsqrt and compositions: WGSL allows ~3 ULP plus argument rounding. */
const TRANSCENDENTAL: Tolerance = { rtol: 2e-6, atol: 1e-7 };

export const UNARY_TOLERANCE: Record<UnaryOp, Tolerance> = {
  neg: EXACTLY_ROUNDED,
  abs: EXACTLY_ROUNDED,
  sign: EXACTLY_ROUNDED,
  square: EXACTLY_ROUNDED,
  relu: EXACTLY_ROUNDED,
  reciprocal: { rtol: 3e-7, atol: 0 }, // WGSL division is 2.5 ULP
  exp: TRANSCENDENTAL,
  log: TRANSCENDENTAL,
  sqrt: TRANSCENDENTAL,
  rsqrt: TRANSCENDENTAL, // inverseSqrt: 2 ULP
  tanh: { rtol: 1e-5, atol: 1e-6 }, // WGSL inherits tanh's precision from its exp-based formula
  sigmoid: TRANSCENDENTAL,
  erf: { rtol: 1e-6, atol: 2e-7 }, // our polynomial: |error| < 1.5e-7 (Abramowitz–Stegun 7.1.26)
  gelu: { rtol: 1e-6, atol: 4e-7 }, // erf's absolute error times |x|/2
  geluTanh: { rtol: 1e-5, atol: 1e-6 }, // tanh as above
};

export const BINARY_TOLERANCE: Record<BinaryOp, Tolerance> = {
  add: EXACTLY_ROUNDED,
  sub: EXACTLY_ROUNDED,
  mul: EXACTLY_ROUNDED,
  div: { rtol: 3e-7, atol: 0 }, // WGSL division is 2.5 ULP
  pow: { rtol: 1e-5, atol: 1e-7 }, // pow = exp2(y·log2(x)): error grows with |y·log2 x|
  maximum: EXACTLY_ROUNDED,
  minimum: EXACTLY_ROUNDED,
};

export const TOLERANCE = {
  /** Float sums: f32 accumulation in a different order than the reference; scales with √n·ε·Σ|x|. */
  reduceSum: { rtol: 1e-5, atol: 1e-5 },
  /** matmul: K products accumulated in f32 (fma), compared against float64; short K (see matmulTolerance). */
  matmul: { rtol: 1e-5, atol: 1e-5 },
  /** softmax/logSoftmax/crossEntropy: exp and log of shifted values plus an f32 row sum. */
  softmax: { rtol: 1e-5, atol: 1e-6 },
  /** layerNormalize: two f32 row reductions and a square root. */
  layerNormalize: { rtol: 1e-5, atol: 1e-5 },
  /** siNormalize: one f32 row sum and a division. */
  siNormalize: { rtol: 1e-6, atol: 1e-7 },
  /** uniform: low + (high − low)·u rounded in f32 instead of float64. */
  randomUniform: { rtol: 1e-6, atol: 1e-7 },
  /** normal draws: f32 log/sqrt/cos (WGSL bounds cos only absolutely) against float64 Box–Muller. */
  randomNormal: { rtol: 1e-5, atol: 1e-5 },
} as const satisfies Record<string, Tolerance>;

export function withinTolerance(got: number, want: number, tolerance: Tolerance): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= tolerance.atol + tolerance.rtol * Math.abs(want);
}

/**
 * matmul over K products of inputs in [-3, 3]: the f32 partial sums grow like 3·√k and each
 * addition rounds by ε of it, so the drift from float64 grows about linearly in K (~7e-5 seen at
 * K = 516, two orders of magnitude below the sums themselves); the default holds up to K ≈ 50.
 */
export function matmulTolerance(K: number): Tolerance {
  return { rtol: 1e-5, atol: Math.max(TOLERANCE.matmul.atol, 4e-7 * K) };
}
