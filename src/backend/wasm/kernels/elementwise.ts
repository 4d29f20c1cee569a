// Elementwise kernels over [i0, i1) element ranges (so a job can split them across threads):
// fill, unary forward/backward, binary fast paths, scale, dropout, AdamW, bias add/backward,
// sum of squares. Each body is a 4-lane SIMD loop with a padded-vector tail.
// Not here: general broadcasting (the JS side handles strided shapes) or row-wise layers.

import { B_ADD, B_DIV, B_MUL, B_SUB, U_EXP, U_GELU, U_GELU_TANH, U_LOG, U_NEG, U_RELU, U_RELU2, U_SIGMOID, U_SQRT, U_TANH } from './abi';
import { exp4, madd } from './simd';

/** Loads cnt < 4 floats into lanes 0..cnt-1 (rest zero). */
// @ts-expect-error: decorator
@inline export function loadTail(p: usize, cnt: i32): v128 {
  let v = f32x4.splat(0);
  if (cnt > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores lanes 0..cnt-1 (cnt < 4). */
// @ts-expect-error: decorator
@inline export function storeTail(p: usize, v: v128, cnt: i32): void {
  if (cnt > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** out[i] = the 32-bit pattern `bits` (a float32 or an int32) for i in [i0, i1). */
export function fill_u32(out: usize, bits: u32, i0: i32, i1: i32): void {
  const v = i32x4.splat(bits);
  let i = i0;
  for (; i + 16 <= i1; i += 16) {
    const p = out + (<usize>i << 2);
    v128.store(p, v);
    v128.store(p, v, 16);
    v128.store(p, v, 32);
    v128.store(p, v, 48);
  }
  for (; i + 4 <= i1; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < i1; i++) store<u32>(out + (<usize>i << 2), bits);
}

export function copy_bytes(out: usize, x: usize, bytes: usize): void {
  memory.copy(out, x, bytes);
}

const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const GELU_K: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_C: f32 = 0.044715;

/**
 * erfc(u) to ~1.2e-7 relative (Numerical Recipes' erfcc: a Chebyshev fit of
 * erfc(z) exp(z^2) in t = 1/(1 + z/2)), then reflected for u < 0.
 */
// @ts-expect-error: decorator
@inline function erfc4(u: v128): v128 {
  const z = f32x4.abs(u);
  const t = f32x4.div(f32x4.splat(1), madd(z, f32x4.splat(0.5), f32x4.splat(1)));
  let p = f32x4.splat(0.17087277);
  p = madd(p, t, f32x4.splat(-0.82215223));
  p = madd(p, t, f32x4.splat(1.48851587));
  p = madd(p, t, f32x4.splat(-1.13520398));
  p = madd(p, t, f32x4.splat(0.27886807));
  p = madd(p, t, f32x4.splat(-0.18628806));
  p = madd(p, t, f32x4.splat(0.09678418));
  p = madd(p, t, f32x4.splat(0.37409196));
  p = madd(p, t, f32x4.splat(1.00002368));
  p = madd(p, t, f32x4.splat(-1.26551223));
  const ans = f32x4.mul(t, exp4(f32x4.sub(p, f32x4.mul(z, z))));
  const neg = f32x4.lt(u, f32x4.splat(0));
  return v128.bitselect(f32x4.sub(f32x4.splat(2), ans), ans, neg);
}

/**
 * erf(x) as a rational function x P(x^2) / Q(x^2) on [-4, 4] (Eigen's fast float erf; outside
 * that range erf is +-1 in float32). ~2e-7 absolute error, no exp: half the cost of erfc4,
 * so the GELU pair uses it; its relative accuracy fades only where GELU is ~1e-8 anyway.
 */
// @ts-expect-error: decorator
@inline function erf4(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(4)), f32x4.splat(-4));
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, f32x4.splat(-2.72614225801306e-10), f32x4.splat(2.77068142495902e-08));
  p = madd(x2, p, f32x4.splat(-2.10102402082508e-06));
  p = madd(x2, p, f32x4.splat(-5.69250639462346e-05));
  p = madd(x2, p, f32x4.splat(-7.34990630326855e-04));
  p = madd(x2, p, f32x4.splat(-2.95459980854025e-03));
  p = madd(x2, p, f32x4.splat(-1.60960333262415e-02));
  p = f32x4.mul(x, p);
  let q = madd(x2, f32x4.splat(-1.45660718464996e-05), f32x4.splat(-2.13374055278905e-04));
  q = madd(x2, q, f32x4.splat(-1.68282697438203e-03));
  q = madd(x2, q, f32x4.splat(-7.37332916720468e-03));
  q = madd(x2, q, f32x4.splat(-1.42647390514189e-02));
  return f32x4.div(p, q);
}

// @ts-expect-error: decorator
@inline function unaryVec(op: i32, x: v128): v128 {
  switch (op) {
    case U_GELU: {
      // x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
      const hx = f32x4.mul(f32x4.splat(0.5), x);
      return madd(hx, erf4(f32x4.mul(x, f32x4.splat(INV_SQRT2))), hx);
    }
    case U_GELU_TANH: {
      // 0.5 x (1 + tanh u) = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
      const u = f32x4.mul(f32x4.splat(GELU_K), madd(f32x4.mul(f32x4.splat(GELU_C), x), f32x4.mul(x, x), x));
      const e = exp4(f32x4.mul(u, f32x4.splat(-2)));
      return f32x4.div(x, f32x4.add(f32x4.splat(1), e));
    }
    case U_RELU:
      return f32x4.pmax(x, f32x4.splat(0));
    case U_RELU2: {
      const r = f32x4.pmax(x, f32x4.splat(0));
      return f32x4.mul(r, r);
    }
    case U_EXP:
      return exp4(x);
    case U_NEG:
      return f32x4.neg(x);
    case U_SQRT:
      return f32x4.sqrt(x);
    case U_SIGMOID:
      return sigmoid4(x);
    case U_LOG: {
      const r = f32x4.splat(Mathf.log(f32x4.extract_lane(x, 0)));
      return f32x4.replace_lane(
        f32x4.replace_lane(f32x4.replace_lane(r, 1, Mathf.log(f32x4.extract_lane(x, 1))), 2, Mathf.log(f32x4.extract_lane(x, 2))),
        3,
        Mathf.log(f32x4.extract_lane(x, 3)),
      );
    }
    default:
      return tanh4(x);
  }
}

/**
 * tanh on four lanes (Cephes tanhf): an odd polynomial below |x| = 0.625, where 1 - 2/(e^2x + 1)
 * would cancel, and that formula (with the sign put back) above.
 */
// @ts-expect-error: decorator
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = exp4(f32x4.add(ax, ax));
  let big = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  big = v128.or(big, v128.and(x, f32x4.splat(-0.0))); // copy the sign of x
  const s = f32x4.mul(x, x);
  let p = madd(f32x4.splat(-5.70498872745e-3), s, f32x4.splat(2.06390887954e-2));
  p = madd(p, s, f32x4.splat(-5.37397155531e-2));
  p = madd(p, s, f32x4.splat(1.33314422036e-1));
  p = madd(p, s, f32x4.splat(-3.33332819422e-1));
  const small = madd(f32x4.mul(p, s), x, x);
  return v128.bitselect(big, small, f32x4.gt(ax, f32x4.splat(0.625)));
}

/**
 * The logistic function 1 / (1 + e^-x) on four lanes. exp4 clamps its argument, so a very
 * negative x gives ~6e-39 rather than 0, and a very positive one exactly 1.
 */
// @ts-expect-error: decorator
@inline export function sigmoid4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/** f'(x) (y = f(x) given for exp, tanh, sqrt, sigmoid). */
// @ts-expect-error: decorator
@inline function unaryGrad(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case U_GELU: {
      // Phi(x) + x phi(x)
      const half = f32x4.splat(0.5);
      const cdf = madd(half, erf4(f32x4.mul(x, f32x4.splat(INV_SQRT2))), half);
      const pdf = f32x4.mul(f32x4.splat(INV_SQRT_2PI), exp4(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5))));
      return madd(x, pdf, cdf);
    }
    case U_GELU_TANH: {
      // d/dx [x s(2u)] = s + x * 2 s (1 - s) * u', u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
      const x2 = f32x4.mul(x, x);
      const u = f32x4.mul(f32x4.splat(GELU_K), madd(f32x4.mul(f32x4.splat(GELU_C), x), x2, x));
      const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.mul(u, f32x4.splat(-2)))));
      const du = f32x4.mul(f32x4.splat(GELU_K), madd(f32x4.splat(3 * GELU_C), x2, f32x4.splat(1)));
      const ds = f32x4.mul(f32x4.mul(f32x4.splat(2), s), f32x4.sub(f32x4.splat(1), s));
      return madd(f32x4.mul(x, ds), du, s);
    }
    case U_RELU:
      return v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.splat(1));
    case U_RELU2: // 2 max(x, 0)
      return f32x4.mul(f32x4.pmax(x, f32x4.splat(0)), f32x4.splat(2));
    case U_EXP:
      return y;
    case U_LOG:
      return f32x4.div(f32x4.splat(1), x);
    case U_NEG:
      return f32x4.splat(-1);
    case U_SQRT:
      return f32x4.div(f32x4.splat(0.5), y);
    case U_SIGMOID:
      return f32x4.mul(y, f32x4.sub(f32x4.splat(1), y));
    default: // U_TANH
      return f32x4.sub(f32x4.splat(1), f32x4.mul(y, y));
  }
}

// The loops below are inlined once per op code with `op` a constant, so the optimiser folds
// the switch in unaryVec / unaryGrad away: each op gets its own straight-line loop body.

// @ts-expect-error: decorator
@inline function fwdLoop(op: i32, out: usize, x: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unaryVec(op, v128.load(x + o)));
  }
  if (i < i1) {
    const o = <usize>i << 2;
    storeTail(out + o, unaryVec(op, loadTail(x + o, i1 - i)), i1 - i);
  }
}

/** out[i] = f(x[i]) for i in [i0, i1); out may alias x. */
export function unary_fwd(op: i32, out: usize, x: usize, i0: i32, i1: i32): void {
  switch (op) {
    case U_GELU: fwdLoop(U_GELU, out, x, i0, i1); break;
    case U_GELU_TANH: fwdLoop(U_GELU_TANH, out, x, i0, i1); break;
    case U_RELU: fwdLoop(U_RELU, out, x, i0, i1); break;
    case U_EXP: fwdLoop(U_EXP, out, x, i0, i1); break;
    case U_LOG: fwdLoop(U_LOG, out, x, i0, i1); break;
    case U_NEG: fwdLoop(U_NEG, out, x, i0, i1); break;
    case U_TANH: fwdLoop(U_TANH, out, x, i0, i1); break;
    case U_SQRT: fwdLoop(U_SQRT, out, x, i0, i1); break;
    case U_SIGMOID: fwdLoop(U_SIGMOID, out, x, i0, i1); break;
    case U_RELU2: fwdLoop(U_RELU2, out, x, i0, i1); break;
    default: unreachable(); // not a unary op code
  }
}

// @ts-expect-error: decorator
@inline function bwdLoop(op: i32, dx: usize, x: usize, y: usize, dout: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const g = unaryGrad(op, v128.load(x + o), v128.load(y + o));
    v128.store(dx + o, madd(g, v128.load(dout + o), v128.load(dx + o)));
  }
  if (i < i1) {
    const o = <usize>i << 2;
    const cnt = i1 - i;
    // tail lanes past cnt are zero: y = 0 there makes sqrt's 0.5/y infinite, but those lanes are dropped
    const g = unaryGrad(op, loadTail(x + o, cnt), loadTail(y + o, cnt));
    storeTail(dx + o, madd(g, loadTail(dout + o, cnt), loadTail(dx + o, cnt)), cnt);
  }
}

/** dx[i] += f'(x[i]) * dout[i]. */
export function unary_bwd(op: i32, dx: usize, x: usize, y: usize, dout: usize, i0: i32, i1: i32): void {
  switch (op) {
    case U_GELU: bwdLoop(U_GELU, dx, x, y, dout, i0, i1); break;
    case U_GELU_TANH: bwdLoop(U_GELU_TANH, dx, x, y, dout, i0, i1); break;
    case U_RELU: bwdLoop(U_RELU, dx, x, y, dout, i0, i1); break;
    case U_EXP: bwdLoop(U_EXP, dx, x, y, dout, i0, i1); break;
    case U_LOG: bwdLoop(U_LOG, dx, x, y, dout, i0, i1); break;
    case U_NEG: bwdLoop(U_NEG, dx, x, y, dout, i0, i1); break;
    case U_TANH: bwdLoop(U_TANH, dx, x, y, dout, i0, i1); break;
    case U_SQRT: bwdLoop(U_SQRT, dx, x, y, dout, i0, i1); break;
    case U_SIGMOID: bwdLoop(U_SIGMOID, dx, x, y, dout, i0, i1); break;
    case U_RELU2: bwdLoop(U_RELU2, dx, x, y, dout, i0, i1); break;
    default: unreachable(); // not a unary op code
  }
}

/** op: a binary op code (abi.ts B_*), checked by the callers */
// @ts-expect-error: decorator
@inline function binVec(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD:
      return f32x4.add(a, b);
    case B_SUB:
      return f32x4.sub(a, b);
    case B_MUL:
      return f32x4.mul(a, b);
    default:
      return f32x4.div(a, b);
  }
}

/** out[i] = a[i] op b[i] (same shape). */
export function binary_same(op: i32, out: usize, a: usize, b: usize, i0: i32, i1: i32): void {
  if (<u32>op > <u32>B_DIV) unreachable(); // not a binary op code
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, binVec(op, v128.load(a + o), v128.load(b + o)));
  }
  if (i < i1) {
    const o = <usize>i << 2;
    const cnt = i1 - i;
    // pad b with ones so a tail 'div' does not divide by zero (the lanes are dropped anyway)
    const bt = v128.bitselect(loadTail(b + o, cnt), f32x4.splat(1), tailMask(cnt));
    storeTail(out + o, binVec(op, loadTail(a + o, cnt), bt), cnt);
  }
}

// @ts-expect-error: decorator
@inline function tailMask(cnt: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
}

/**
 * Row broadcast: rows [r0, r1) of an (N, C) array against one C-vector. bIsRow: b is the
 * vector (out = a op row), else a is (out = row op b).
 */
export function binary_row(op: i32, out: usize, a: usize, b: usize, c: i32, bIsRow: bool, r0: i32, r1: i32): void {
  if (<u32>op > <u32>B_DIV) unreachable(); // not a binary op code
  const rowBytes = <usize>c << 2;
  for (let r = r0; r < r1; r++) {
    const base = <usize>r * rowBytes;
    const o = out + base;
    const full = bIsRow ? a + base : b + base;
    const vec = bIsRow ? b : a;
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const jo = <usize>j << 2;
      const f = v128.load(full + jo);
      const v = v128.load(vec + jo);
      v128.store(o + jo, bIsRow ? binVec(op, f, v) : binVec(op, v, f));
    }
    for (; j < c; j++) {
      const jo = <usize>j << 2;
      const f = load<f32>(full + jo);
      const v = load<f32>(vec + jo);
      const x = bIsRow ? f : v;
      const y = bIsRow ? v : f;
      store<f32>(o + jo, op == B_ADD ? x + y : op == B_SUB ? x - y : op == B_MUL ? x * y : x / y);
    }
  }
}

/** out[i] = x[i] * s (+ out[i]). */
export function scale_f32(out: usize, x: usize, s: f32, accumulate: bool, i0: i32, i1: i32): void {
  const sv = f32x4.splat(s);
  let i = i0;
  if (accumulate) {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, madd(v128.load(x + o), sv, v128.load(out + o)));
    }
    for (; i < i1; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, load<f32>(x + o) * s + load<f32>(out + o));
    }
  } else {
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.mul(v128.load(x + o), sv));
    }
    for (; i < i1; i++) {
      const o = <usize>i << 2;
      store<f32>(out + o, load<f32>(x + o) * s);
    }
  }
}

/** sum of x[i]^2 over [i0, i1), squares summed in f32 lanes per block of 64, blocks in f64. */
export function sum_squares(x: usize, i0: i32, i1: i32): f64 {
  let total: f64 = 0;
  let i = i0;
  while (i + 4 <= i1) {
    let acc = f32x4.splat(0);
    for (let cnt = 0; cnt < 16 && i + 4 <= i1; cnt++, i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      acc = madd(v, v, acc);
    }
    const lo = f64x2.promote_low_f32x4(acc);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(acc, acc, 2, 3, 0, 1));
    const s = f64x2.add(lo, hi);
    total += f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  }
  for (; i < i1; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** out (N, OC) rows [r0, r1) += bias (OC). */
export function add_bias(out: usize, bias: usize, oc: i32, r0: i32, r1: i32): void {
  binary_row(B_ADD, out, out, bias, oc, true, r0, r1);
}

/**
 * dbias (OC) += column sums of dout (N, OC), columns [j0, j1) (j0 a multiple of 4, so threads
 * can split the columns). Each column is summed over the rows in order from 0, then added to
 * dbias: the result does not depend on how the columns are split.
 */
export function bias_backward(dbias: usize, dout: usize, n: i32, oc: i32, j0: i32, j1: i32): void {
  const step = <usize>oc << 2;
  let j = j0;
  for (; j + 16 <= j1; j += 16) {
    const jo = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = dout + jo;
    for (let r = 0; r < n; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += step;
    }
    v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo), s0));
    v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo, 16), s1), 16);
    v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo, 32), s2), 32);
    v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo, 48), s3), 48);
  }
  for (; j + 4 <= j1; j += 4) {
    const jo = <usize>j << 2;
    let s0 = f32x4.splat(0);
    let p = dout + jo;
    for (let r = 0; r < n; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      p += step;
    }
    v128.store(dbias + jo, f32x4.add(v128.load(dbias + jo), s0));
  }
  for (; j < j1; j++) {
    let s: f32 = 0;
    for (let r = 0; r < n; r++) s += load<f32>(dout + ((<usize>r * oc + j) << 2));
    store<f32>(dbias + (<usize>j << 2), load<f32>(dbias + (<usize>j << 2)) + s);
  }
}

/**
 * Inverted dropout with the shared lowbias32 hash (dropoutUniform in backend.ts): element i is
 * kept iff (hash(seed, i) >>> 8) >= thr, where thr = ceil(p * 2^24) (computed on the JS side,
 * equivalent to u >= p exactly); kept elements are scaled by keepScale = 1 / (1 - p) (a float64, as in ref).
 */
export function dropout_fwd(out: usize, mask: usize, x: usize, seed: i32, thr: u32, keepScale: f64, i0: i32, i1: i32): void {
  const s = seed * <i32>0x9e3779b9;
  for (let i = i0; i < i1; i++) {
    let h = s + i;
    h ^= <i32>(<u32>h >>> 16);
    h = h * 0x7feb352d;
    h ^= <i32>(<u32>h >>> 15);
    h = h * <i32>0x846ca68b;
    h ^= <i32>(<u32>h >>> 16);
    const m: f64 = <u32>h >>> 8 >= thr ? keepScale : 0;
    const o = <usize>i << 2;
    // in f64 like the ref backend, so out matches bit for bit (1/(1-p) is not a float32)
    store<f32>(mask + o, <f32>m);
    store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * m));
  }
}

/**
 * AdamW over [i0, i1): g = grad * gradScale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p = p (1 - lr wd) - lr / bc1 * m / (sqrt(v / bc2) + eps); bc1 = 1 - b1^step, bc2 = 1 - b2^step.
 */
export function adamw_f32(
  param: usize, grad: usize, mp: usize, vp: usize,
  lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, gradScale: f32,
  i0: i32, i1: i32,
): void {
  // same order as ref (torch.optim.AdamW): p = p (1 - lr wd) - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
  const decay = f32x4.splat(1 - lr * wd);
  const stepSize = f32x4.splat(lr / bc1);
  const invBc2Sqrt = f32x4.splat(1 / Mathf.sqrt(bc2));
  const gs = f32x4.splat(gradScale);
  const b1v = f32x4.splat(b1), b2v = f32x4.splat(b2);
  const c1 = f32x4.splat(1 - b1), c2 = f32x4.splat(1 - b2);
  const epsv = f32x4.splat(eps);
  let i = i0;
  for (; i < i1; i += 4) {
    const o = <usize>i << 2;
    const cnt = i1 - i;
    const full = cnt >= 4;
    const g = f32x4.mul(full ? v128.load(grad + o) : loadTail(grad + o, cnt), gs);
    const m = madd(b1v, full ? v128.load(mp + o) : loadTail(mp + o, cnt), f32x4.mul(c1, g));
    const v = madd(b2v, full ? v128.load(vp + o) : loadTail(vp + o, cnt), f32x4.mul(c2, f32x4.mul(g, g)));
    const p = full ? v128.load(param + o) : loadTail(param + o, cnt);
    const denom = madd(f32x4.sqrt(v), invBc2Sqrt, epsv);
    const np = f32x4.sub(f32x4.mul(p, decay), f32x4.div(f32x4.mul(stepSize, m), denom));
    if (full) {
      v128.store(mp + o, m);
      v128.store(vp + o, v);
      v128.store(param + o, np);
    } else {
      storeTail(mp + o, m, cnt);
      storeTail(vp + o, v, cnt);
      storeTail(param + o, np, cnt);
    }
  }
}
