// int8 inference: the linear layer with int8 weights (one scale per output row) and activations
// quantized per row to 7 bits on the fly, as integer dot products: relaxed SIMD's integer dot
// product (i16x8.relaxed_dot_i8x16_i7x16_s, 16 multiplies and 8 adds an instruction) in the relaxed
// build, and sign-extending multiplies in the plain SIMD build, which give the same integers. Every float
// step is a plain f32 operation in a fixed order, so ref (src/backend/int8.ts, the definition)
// and both builds give the same bits. Not here: training (no backward), choosing the scales of
// the weights (the host quantizes them once: src/backend/int8.ts quantizeInt8).
//
// Why 7-bit activations: relaxed_dot's second operand is defined only for lanes without the top
// bit (a lane >= 128 may be read as signed or unsigned, by the hardware's choice). Activations go
// there as q + 64 with q in [-63, 63] (so in [1, 127]); the +64 comes off with the weight row's
// sum: w . (q + 64) = w . q + 64 * sum(w).

/**
 * Quantizes rows [r0, r1) of x (N, C) f32 to 7 bits: xs[r] = amax / 63 (0 for a zero row),
 * xq[r, j] = nearest(x[r, j] * (63 / amax)) + 64 as bytes, in [1, 127].
 */
export function quantize_rows(xq: usize, xs: usize, x: usize, c: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const row = x + ((<usize>r * <usize>c) << 2);
    const qrow = xq + <usize>r * <usize>c;
    let m = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) m = f32x4.max(m, f32x4.abs(v128.load(row + (<usize>j << 2))));
    let amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    for (; j < c; j++) amax = max(amax, abs(load<f32>(row + (<usize>j << 2))));
    const inv: f32 = amax > 0 ? <f32>63 / amax : 0;
    store<f32>(xs + (<usize>r << 2), amax > 0 ? amax / <f32>63 : 0);
    for (j = 0; j < c; j++) {
      const q = <i32>nearest(load<f32>(row + (<usize>j << 2)) * inv);
      store<u8>(qrow + j, <u8>(q + 64));
    }
  }
}

/** Sum of the i32 lanes. */
// @ts-expect-error: decorator
@inline function hsum_i32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/**
 * acc + the dot products of 16 int8 weights w with 16 offset activations x (4 lanes of 4).
 * Relaxed build: the relaxed integer dot product into 8 i16 pair sums (exact: |pair| <= 2 * 127 *
 * 127 < 2^15), widened pairwise to i32. Not i32x4.relaxed_dot_i8x16_i7x16_add_s, which would do
 * both in one instruction: on Node 20 (V8 11.3) on an AVX-512 x86 it returned twice the dot
 * product and dropped the accumulator (test/int8.test.ts compares every build with the reference,
 * bit for bit).
 */
// @ts-expect-error: decorator
@inline function dot16(w: v128, x: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD)
    return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, x)));
  // the same integers without relaxed SIMD: i8 x i8 -> i16 (exact: |w x| <= 127 * 127), pairs -> i32
  const lo = i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_low_i8x16_s(w, x));
  const hi = i32x4.extadd_pairwise_i16x8_s(i16x8.extmul_high_i8x16_s(w, x));
  return i32x4.add(acc, i32x4.add(lo, hi));
}

/** w . x over c bytes (w int8, x the offset activations), the tail beyond 16s scalar. */
// @ts-expect-error: decorator
@inline function dot_bytes(w: usize, x: usize, c: i32): i32 {
  let acc = i32x4.splat(0);
  let j = 0;
  for (; j + 16 <= c; j += 16) acc = dot16(v128.load(w + j), v128.load(x + j), acc);
  let s = hsum_i32(acc);
  for (; j < c; j++) s += <i32>load<i8>(w + j) * <i32>load<u8>(x + j);
  return s;
}

/**
 * out (N, OC) columns [o0, o1) = x (N, C) @ W^T + bias, with W (OC, C) int8 (row o scaled by
 * ws[o], its sum wsum[o]) and x given as quantize_rows' xq, xs:
 *   out[r, o] = f32(w_o . xq_r - 64 * wsum[o]) * (ws[o] * xs[r]) + bias[o]
 * bias 0 = none. Four weight rows at a time keep four integer chains in flight while each weight
 * row is read once per row of x (one row when sampling: the weights stream through once).
 */
export function linear_int8(out: usize, xq: usize, xs: usize, wq: usize, ws: usize, wsum: usize, bias: usize, n: i32, c: i32, oc: i32, o0: i32, o1: i32): void {
  const cc = <usize>c;
  let o = o0;
  for (; o + 4 <= o1; o += 4) {
    const w0 = wq + <usize>o * cc, w1 = w0 + cc, w2 = w1 + cc, w3 = w2 + cc;
    for (let r = 0; r < n; r++) {
      const xr = xq + <usize>r * cc;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      let j = 0;
      for (; j + 16 <= c; j += 16) {
        const xv = v128.load(xr + j);
        a0 = dot16(v128.load(w0 + j), xv, a0);
        a1 = dot16(v128.load(w1 + j), xv, a1);
        a2 = dot16(v128.load(w2 + j), xv, a2);
        a3 = dot16(v128.load(w3 + j), xv, a3);
      }
      let s0 = hsum_i32(a0), s1 = hsum_i32(a1), s2 = hsum_i32(a2), s3 = hsum_i32(a3);
      for (; j < c; j++) {
        const xj = <i32>load<u8>(xr + j);
        s0 += <i32>load<i8>(w0 + j) * xj;
        s1 += <i32>load<i8>(w1 + j) * xj;
        s2 += <i32>load<i8>(w2 + j) * xj;
        s3 += <i32>load<i8>(w3 + j) * xj;
      }
      const sx = load<f32>(xs + (<usize>r << 2));
      const orow = out + ((<usize>r * <usize>oc) << 2);
      finish(orow, o, s0, sx, ws, wsum, bias);
      finish(orow, o + 1, s1, sx, ws, wsum, bias);
      finish(orow, o + 2, s2, sx, ws, wsum, bias);
      finish(orow, o + 3, s3, sx, ws, wsum, bias);
    }
  }
  for (; o < o1; o++) {
    const w0 = wq + <usize>o * cc;
    for (let r = 0; r < n; r++) {
      const s = dot_bytes(w0, xq + <usize>r * cc, c);
      finish(out + ((<usize>r * <usize>oc) << 2), o, s, load<f32>(xs + (<usize>r << 2)), ws, wsum, bias);
    }
  }
}

/** out row's column o = f32(s - 64 wsum[o]) * (ws[o] * sx) (+ bias[o]). */
// @ts-expect-error: decorator
@inline function finish(orow: usize, o: i32, s: i32, sx: f32, ws: usize, wsum: usize, bias: usize): void {
  const oo = <usize>o << 2;
  const d = <f32>(s - 64 * load<i32>(wsum + oo));
  let y = d * (load<f32>(ws + oo) * sx);
  if (bias != 0) y = y + load<f32>(bias + oo);
  store<f32>(orow + oo, y);
}
