import type { Module } from '@sibert/nn';
import { getRngState, mul, noGrad, RangeArgumentError, setRngState, Tensor } from '@sibert/tensor';
import { isHomogeneousModule, outputDegree } from './homogeneity.js';

export interface ScaleInvarianceOptions {
  /** The factors c. Default [1e-3, 1e-1, 10, 1e3]. */
  scales?: readonly number[];
  /** The parameters to scale (jointly). Default: all of the module's. */
  params?: readonly Tensor[];
  /**
   * Per input (same order as `inputs`): float32 tensor inputs are multiplied by c^degree, standing in
   * for a k-homogeneous upstream. Default: the module's declared input degree for its first input
   * ('x' counts as 0), 0 elsewhere and for modules that declare nothing.
   */
  inputDegrees?: readonly number[];
  /** The degree k the output should have: compared with c^k·y. Default: the declared one, or 0. */
  outputDegree?: number;
}

export interface ScaleInvarianceReport {
  /** max over c of ‖y(c) − c^k·y‖₂ / ‖c^k·y‖₂. */
  maxRelativeChange: number;
  byScale: { scale: number; relativeChange: number }[];
  outputDegree: number;
}

/**
 * Measures how far `module` is from being k-homogeneous (scale invariant for k = 0, the default) in the
 * chosen parameters: each parameter is multiplied by c, the module is run again, and its output is
 * compared with c^k times the original output. Runs without gradients; dropout masks repeat exactly
 * (the RNG stream is rewound before each run and left as after one run), so training mode is fine.
 * Parameters are restored, also on error. Reads values with `await`, so it runs on every backend.
 */
export async function checkScaleInvariance<A extends unknown[]>(
  module: Module<A, Tensor>,
  inputs: A,
  options: ScaleInvarianceOptions = {},
): Promise<ScaleInvarianceReport> {
  const op = 'checkScaleInvariance';
  const scales = options.scales ?? [1e-3, 1e-1, 10, 1e3];
  if (scales.some((c) => !(c > 0 && Number.isFinite(c)))) {
    throw new RangeArgumentError(`scales must be finite and positive, got [${scales.join(', ')}]`, op);
  }
  const params = options.params ?? module.parameters();
  const declared = isHomogeneousModule(module) ? module.homogeneity : null;
  const declaredInput = declared && typeof declared.input === 'number' ? declared.input : 0;
  const inputDegrees = options.inputDegrees ?? inputs.map((_, i) => (i === 0 ? declaredInput : 0));
  const degree = options.outputDegree ?? (declared ? outputDegree(declared, declaredInput) : 0);

  const rng = getRngState();
  const run = async (c: number): Promise<Float64Array> => {
    const scaled = inputs.map((input, i) =>
      input instanceof Tensor && input.dtype === 'float32' && (inputDegrees[i] ?? 0) !== 0
        ? mul(input, c ** inputDegrees[i]!)
        : input,
    ) as A;
    setRngState(rng);
    const y = noGrad(() => module.forward(...scaled));
    scaled.forEach((t, i) => {
      if (t !== inputs[i]) (t as Tensor).dispose();
    });
    const values = Float64Array.from(await y.data());
    y.dispose();
    return values;
  };

  const reference = await run(1);
  const after = getRngState();
  const originals = params.map((p) => p.detach());
  const byScale: ScaleInvarianceReport['byScale'] = [];
  try {
    for (const c of scales) {
      params.forEach((p, i) => {
        const scaledValue = mul(originals[i]!, c);
        p.assign(scaledValue);
        scaledValue.dispose();
      });
      const y = await run(c);
      const factor = c ** degree;
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < y.length; i++) {
        const expected = factor * reference[i]!;
        diff += (y[i]! - expected) ** 2;
        norm += expected ** 2;
      }
      byScale.push({ scale: c, relativeChange: norm > 0 ? Math.sqrt(diff / norm) : diff > 0 ? Infinity : 0 });
    }
  } finally {
    params.forEach((p, i) => {
      p.assign(originals[i]!);
    });
    for (const o of originals) o.dispose();
    setRngState(after);
  }
  return {
    maxRelativeChange: Math.max(0, ...byScale.map((s) => s.relativeChange)),
    byScale,
    outputDegree: degree,
  };
}

/**
 * |⟨∇L, θ⟩| / (‖∇L‖·‖θ‖) over the given parameters jointly: 0 when the gradient is orthogonal to the
 * parameters, as it is for a loss that is scale invariant in them (Euler's theorem). `loss` runs the
 * forward pass and returns a scalar; gradients are computed afresh and the parameters' previous `.grad`
 * values are put back afterwards. A zero gradient counts as orthogonal (0). Parameters the loss does
 * not reach have zero gradient. Other leaves the loss reaches (a head's parameters) accumulate
 * gradients as in any backward pass; clear them with their module's `zeroGrad()`.
 */
export async function gradientOrthogonality(loss: () => Tensor, params: readonly Tensor[]): Promise<number> {
  const previous = params.map((p) => p.grad);
  for (const p of params) p.grad = null;
  try {
    const value = loss();
    value.backward();
    value.dispose();
    let dot = 0;
    let gradNorm = 0;
    let paramNorm = 0;
    for (const p of params) {
      const theta = await p.data();
      const g = p.grad ? await p.grad.data() : null;
      for (let i = 0; i < theta.length; i++) {
        const gi = g ? g[i]! : 0;
        dot += gi * theta[i]!;
        gradNorm += gi * gi;
        paramNorm += theta[i]! * theta[i]!;
      }
    }
    return gradNorm === 0 ? 0 : Math.abs(dot) / Math.sqrt(gradNorm * paramNorm);
  } finally {
    params.forEach((p, i) => {
      p.grad?.dispose();
      p.grad = previous[i] ?? null;
    });
  }
}
