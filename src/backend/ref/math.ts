// Scalar special functions for the ref backend: erf / erfc to ~1e-15 absolute error (the exact
// GELU needs them, and float64 gradient checks need them accurate), plus the GELU pair.
// Plain and readable; not vectorised, not a general-purpose math library.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** sqrt(2/pi), the constant in GPT-2's tanh GELU */
const GELU_TANH_K = Math.sqrt(2 / Math.PI);
const GELU_TANH_C = 0.044715;

/** Below this |x| the power series is used; above it the continued fraction for erfc. */
const SERIES_LIMIT = 2.5;
/** Continued-fraction depth: at x = 2.5, 40 terms already give full double precision. */
const CF_TERMS = 50;

/**
 * erf(x) for 0 <= x < 2.5 by the all-positive series
 *   erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*5*...*(2n+1)),
 * which (unlike the alternating Taylor series) has no cancellation: ~1e-16 relative.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x >= 2.5 by the continued fraction
 *   erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
 * evaluated bottom-up with a fixed depth. Keeps full relative accuracy in the far tail.
 */
function erfcContinuedFraction(x: number): number {
  let f = x;
  for (let k = CF_TERMS; k >= 1; k--) f = x + k / 2 / f;
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** The error function, |error| <~ 1e-15. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  const r = ax < SERIES_LIMIT ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate in relative terms for large x. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  return x < SERIES_LIMIT ? 1 - erfSeries(x) : erfcContinuedFraction(x);
}

/**
 * Exact GELU: x * Phi(x), Phi the standard normal CDF = 0.5 * erfc(-x / sqrt(2)).
 * Written with erfc so that gelu(-10) ~ -7.6e-23 keeps its relative accuracy.
 */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * INV_SQRT_2);
}

/** d/dx [x Phi(x)] = Phi(x) + x phi(x), phi the standard normal density. */
export function geluGrad(x: number): number {
  return 0.5 * erfc(-x * INV_SQRT_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** GPT-2's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_TANH_K * (x + GELU_TANH_C * x * x * x)));
}

/** d/dx of geluTanh: 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2). */
export function geluTanhGrad(x: number): number {
  const th = Math.tanh(GELU_TANH_K * (x + GELU_TANH_C * x * x * x));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_TANH_K * (1 + 3 * GELU_TANH_C * x * x);
}
