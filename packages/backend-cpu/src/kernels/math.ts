/** Scalar special functions that `Math` lacks, accurate to float32 (relative error ≲ 2·10⁻⁷). */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/**
 * erfc(x) with a small relative error everywhere (Chebyshev-fitted form of Press et al.,
 * Numerical Recipes §6.2, fractional error < 1.2·10⁻⁷), so that 1 − erf keeps its precision in the tails.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** erf(x): Maclaurin series near 0 (keeps relative precision for tiny x), 1 − erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  if (Math.abs(x) < 0.5) {
    // Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); |x| < 0.5 makes 8 terms exact to double rounding.
    const x2 = x * x;
    return (
      TWO_OVER_SQRT_PI *
      x *
      (1 -
        x2 *
          (1 / 3 -
            x2 *
              (1 / 10 -
                x2 *
                  (1 / 42 -
                    x2 * (1 / 216 - x2 * (1 / 1320 - x2 * (1 / 9360 - x2 * (1 / 75600 - x2 / 685440))))))))
    );
  }
  return 1 - erfc(x);
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_TWO_OVER_PI = Math.sqrt(2 / Math.PI);

/** 0.5·x·(1 + erf(x/√2)), written as 0.5·x·erfc(−x/√2) so the negative tail keeps its precision. */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * SQRT_HALF);
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_TWO_OVER_PI * (x + 0.044715 * x * x * x)));
}
