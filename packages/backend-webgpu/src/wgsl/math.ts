import { IS_NAN } from './common.js';

/**
 * WGSL helpers for functions WGSL lacks or leaves undefined on part of their domain
 * (erf does not exist; pow is undefined for negative bases; tanh may overflow to NaN).
 */
export const MATH_HELPERS = `${IS_NAN}
// tanh saturates to ±1 in f32 beyond |x| = 9; clamping keeps exp-based implementations finite.
fn tanhSafe(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
// erf: Taylor series near 0 (relative accuracy), Abramowitz–Stegun 7.1.26 elsewhere (|error| < 1.5e-7).
fn erfApprox(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (0.1 + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0))))));
  }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-a * a);
  return select(y, -y, x < 0.0);
}
// pow with JavaScript's semantics for negative bases, zero exponents and NaN.
fn powF(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isNan(a) || isNan(b)) { return bitcast<f32>(NAN_BITS); }
  if (a == 0.0) { return select(0.0, bitcast<f32>(POSITIVE_INFINITY_BITS), b < 0.0); }
  let magnitude = pow(abs(a), b);
  if (a < 0.0) {
    if (fract(b) != 0.0) { return bitcast<f32>(NAN_BITS); }
    return select(magnitude, -magnitude, fract(b * 0.5) != 0.0);
  }
  return magnitude;
}
fn maxNan(a: f32, b: f32) -> f32 { return select(max(a, b), bitcast<f32>(NAN_BITS), isNan(a) || isNan(b)); }
fn minNan(a: f32, b: f32) -> f32 { return select(min(a, b), bitcast<f32>(NAN_BITS), isNan(a) || isNan(b)); }
// Float to int like JavaScript's Int32Array store for in-range values: truncate, NaN/±inf → 0.
fn toInt(x: f32) -> i32 { return select(i32(trunc(x)), 0, isNan(x) || abs(x) == bitcast<f32>(POSITIVE_INFINITY_BITS)); }
`;
