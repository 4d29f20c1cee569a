// Dropout without a stored mask: the mask is the shared counter-based draw (dropoutUniform in
// backend.ts: lowbias32 of seed * 0x9e3779b9 + i), so the backward draws it again from the seed
// instead of keeping a float per element, and accumulates into dx directly (no scratch). The
// numbers are dropout_fwd's and its mask-times-gradient's, bit for bit. Also the hash itself,
// for the attention kernels (attention-dropout.ts). Not here: dropout_fwd (elementwise.ts).

/** Keep-lanes of four consecutive flat indices idx.. : all ones iff (hash >>> 8) >= thr. */
// @ts-expect-error: decorator
@inline export function keep4(s: v128, idx: v128, thr: v128): v128 {
  let h = i32x4.add(s, idx);
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x7feb352d));
  h = v128.xor(h, i32x4.shr_u(h, 15));
  h = i32x4.mul(h, i32x4.splat(<i32>0x846ca68b));
  h = v128.xor(h, i32x4.shr_u(h, 16));
  return i32x4.ge_s(i32x4.shr_u(h, 8), thr); // both in [0, 2^24]: a signed compare is exact
}

/** The scalar twin of keep4. */
// @ts-expect-error: decorator
@inline export function keep1(s: i32, idx: i32, thr: u32): bool {
  let h = s + idx;
  h ^= <i32>(<u32>h >>> 16);
  h = h * 0x7feb352d;
  h ^= <i32>(<u32>h >>> 15);
  h = h * <i32>0x846ca68b;
  h ^= <i32>(<u32>h >>> 16);
  return <u32>h >>> 8 >= thr;
}

/**
 * out[i] = x[i] * m[i] for i in [i0, i1), m[i] = keepScale (a float64, as dropout_fwd) where
 * kept ((hash >>> 8) >= thr), else 0.
 */
export function dropout_apply(out: usize, x: usize, seed: i32, thr: u32, keepScale: f64, i0: i32, i1: i32): void {
  const s = seed * <i32>0x9e3779b9;
  for (let i = i0; i < i1; i++) {
    const m: f64 = keep1(s, i, thr) ? keepScale : 0;
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * m));
  }
}

/**
 * dx[i] += dout[i] * m[i] for i in [i0, i1), m[i] the f32 of keepScale where kept, else 0: the
 * product rounded to f32, then the sum (what a stored f32 mask, a multiply and an accumulate give).
 */
export function dropout_bwd(dx: usize, dout: usize, seed: i32, thr: u32, keepScale: f32, i0: i32, i1: i32): void {
  const s = seed * <i32>0x9e3779b9;
  const sv = i32x4.splat(s);
  const tv = i32x4.splat(<i32>thr);
  const ks = f32x4.splat(keepScale);
  const lanes = i32x4(0, 1, 2, 3);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const m = v128.and(ks, keep4(sv, i32x4.add(i32x4.splat(i), lanes), tv));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dout + o), m)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const m: f32 = keep1(s, i, thr) ? keepScale : 0;
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dout + o) * m);
  }
}
