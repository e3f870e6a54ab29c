import { noGrad, tidy } from './engine.js';
import { GradientError } from './errors.js';
import { mul } from './ops/elementwise.js';
import { sum } from './ops/reduce.js';
import { formatShape } from './shape.js';
import { fromValues, type Tensor } from './tensor.js';

export interface GradcheckOptions {
  /** Finite-difference step. Default 1e-2 (float32 forward passes need a large step). */
  eps?: number;
  /** Absolute tolerance. Default 2e-3. */
  atol?: number;
  /** Relative tolerance (of the numeric gradient). Default 1e-2. */
  rtol?: number;
  /** At most this many elements per input are perturbed (an even spread). Default 48. */
  maxElementsPerInput?: number;
  /** Indices of the inputs to check; default: every float32 input. */
  check?: readonly number[];
}

export interface GradcheckResult {
  /** Elements compared. */
  checked: number;
  maxAbsError: number;
}

/**
 * Compares autograd gradients of `fn` with central finite differences. A non-scalar output is
 * reduced to Σ wᵢ·yᵢ with fixed pseudo-random weights, so every output element is exercised.
 * Losses are accumulated on the host in float64. Throws a GradientError naming the input and
 * element of the worst mismatch; returns a summary when everything agrees.
 */
export async function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const eps = options.eps ?? 1e-2;
  const atol = options.atol ?? 2e-3;
  const rtol = options.rtol ?? 1e-2;
  const maxElements = options.maxElementsPerInput ?? 48;
  const checked = new Set(options.check ?? inputs.flatMap((t, i) => (t.dtype === 'float32' ? [i] : [])));

  const hostValues = await Promise.all(inputs.map((t) => t.data()));
  const backendOf = (t: Tensor) => t.storage('gradcheck').backend;
  const leaves = inputs.map((t, i) => {
    const copy = fromValues(hostValues[i]!.slice(), t.shape, t.dtype, backendOf(t));
    if (checked.has(i)) copy.requiresGrad = true;
    return copy;
  });

  let weights: Float64Array | null = null;
  const projectedLoss = async (args: Tensor[]): Promise<number> => {
    const y = tidy(() => noGrad(() => fn(...args)));
    const values = await y.data();
    y.dispose();
    weights ??= projectionWeights(values.length);
    let total = 0;
    for (let i = 0; i < values.length; i++) total += weights[i]! * values[i]!;
    return total;
  };

  try {
    await projectedLoss(leaves);
    tidy(() => {
      const y = fn(...leaves);
      const w = fromValues(Float32Array.from(weights!), y.shape, 'float32', backendOf(y));
      sum(mul(y, w)).backward();
    });

    let count = 0;
    let maxAbsError = 0;
    for (const i of checked) {
      const leaf = leaves[i]!;
      const analytic = leaf.grad ? await leaf.grad.data() : new Float32Array(leaf.size);
      const base = hostValues[i]!;
      const stride = Math.max(1, Math.ceil(base.length / maxElements));
      for (let j = 0; j < base.length; j += stride) {
        const perturbed = async (delta: number) => {
          const values = base.slice();
          values[j] = base[j]! + delta;
          const args = leaves.map((l, k) =>
            k === i ? fromValues(values, l.shape, l.dtype, backendOf(l)) : l,
          );
          const value = await projectedLoss(args);
          args[i]!.dispose();
          return value;
        };
        const numeric = ((await perturbed(eps)) - (await perturbed(-eps))) / (2 * eps);
        const error = Math.abs(analytic[j]! - numeric);
        count++;
        maxAbsError = Math.max(maxAbsError, error);
        if (!(error <= atol + rtol * Math.abs(numeric))) {
          throw new GradientError(
            `input ${i} ${formatShape(leaf.shape)}, flat element ${j}: autograd gives ${analytic[j]}, ` +
              `finite differences give ${numeric} (|difference| ${error.toExponential(3)} > atol ${atol} + rtol ${rtol}·|numeric|)`,
            'gradcheck',
          );
        }
      }
    }
    return { checked: count, maxAbsError };
  } finally {
    for (const leaf of leaves) {
      leaf.grad?.dispose();
      leaf.dispose();
    }
  }
}

/** Fixed weights in [0.5, 1.5) with alternating sign, so errors cannot cancel by symmetry. */
function projectionWeights(size: number): Float64Array {
  const weights = new Float64Array(size);
  let state = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    weights[i] = Math.fround((0.5 + state / 4294967296) * (i % 2 === 0 ? 1 : -1));
  }
  return weights;
}
