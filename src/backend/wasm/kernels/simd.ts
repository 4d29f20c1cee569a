// Small SIMD helpers shared by the kernels: the one place where the two builds differ.
// `madd` is a fused multiply-add in the relaxed-SIMD build and mul + add in the plain one;
// ASC_FEATURE_RELAXED_SIMD is a compile-time constant, so the other branch is not emitted.
// Also a vector exp (Cephes-style, ~2 ulp) that the softmax-like kernels use.

/** c + a * b, fused (one rounding) when the relaxed build is compiled. */
// @ts-expect-error: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the four lanes. */
// @ts-expect-error: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  const t = f32x4.add(s, i32x4.shuffle(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

/** Max of the four lanes (pmax: one maxps; wasm max would add NaN/-0 fix-ups). */
// @ts-expect-error: decorator
@inline export function hmax(v: v128): f32 {
  const s = f32x4.pmax(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  const t = f32x4.pmax(s, i32x4.shuffle(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

/**
 * exp(x) on four lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial,
 * 2^n by building the float exponent. Inputs below -87.3 give ~1e-38 rather than 0, which is
 * below every tolerance we test with.
 */
// @ts-expect-error: decorator
@inline export function exp4(x: v128): v128 {
  x = f32x4.pmin(x, f32x4.splat(88.3762626647949));
  x = f32x4.pmax(x, f32x4.splat(-87.3365447504));
  // n = round(x log2e) by the 1.5 * 2^23 trick: adding it leaves n in the low mantissa bits,
  // which also gives 2^n by integer ops (cheaper than nearest + trunc_sat in V8)
  const magic = f32x4.splat(12582912.0);
  const t = madd(x, f32x4.splat(1.44269504088896341), magic);
  const fx = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = madd(y, r, f32x4.splat(1.3981999507e-3));
  y = madd(y, r, f32x4.splat(8.3334519073e-3));
  y = madd(y, r, f32x4.splat(4.1665795894e-2));
  y = madd(y, r, f32x4.splat(1.6666665459e-1));
  y = madd(y, r, f32x4.splat(5.0000001201e-1));
  y = madd(y, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1.0)));
  // bits of t = bits of magic + n, and (magic bits << 23) wraps to 0: 2^n = (t + 127) << 23
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}
