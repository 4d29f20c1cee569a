// Causal attention that keeps its probabilities in bfloat16 (mixed precision: 16-bit storage,
// f32 arithmetic): the forward computes P in f32 in this thread's scratch, uses it, and saves it
// rounded to bf16 (half the bytes of the biggest saved activation); the backward widens it back
// to f32 in scratch, and computes dS in scratch too (no (B, NH, T, T) buffer for it). Attention
// dropout as in attention-dropout.ts (thr 0: none). Not here: the f32 kernels (layers.ts).
//
// bf16 is the top half of an f32: the same 8-bit exponent (the same range), 8 bits of mantissa.
// Rounding to nearest even: (bits + 0x7fff + ((bits >> 16) & 1)) >> 16; widening: << 16.

import { dropRow } from './attention-dropout';
import { attention_scratch_floats, dot, rowExpShift, rowMax, rowScale } from './layers';
import { gemm_block, pack_b, packed_width } from './matmul';

/** f32 of scratch per thread: layers.ts's, plus P, dS and P * M of one head (3 x T x T). */
export function attention_bf16_scratch_floats(t: i32, hs: i32): i32 {
  return attention_scratch_floats(t, hs) + 3 * t * t;
}

/** dst (n bf16) = src (n f32) rounded to nearest even. */
function toBf16(dst: usize, src: usize, n: i32): void {
  let j = 0;
  const half = i32x4.splat(0x7fff);
  const one = i32x4.splat(1);
  for (; j + 8 <= n; j += 8) {
    const a = v128.load(src + (<usize>j << 2));
    const b = v128.load(src + (<usize>(j + 4) << 2));
    const ra = i32x4.shr_u(i32x4.add(a, i32x4.add(half, v128.and(i32x4.shr_u(a, 16), one))), 16);
    const rb = i32x4.shr_u(i32x4.add(b, i32x4.add(half, v128.and(i32x4.shr_u(b, 16), one))), 16);
    v128.store(dst + (<usize>j << 1), i16x8.narrow_i32x4_u(ra, rb));
  }
  for (; j < n; j++) {
    const u = load<u32>(src + (<usize>j << 2));
    store<u16>(dst + (<usize>j << 1), <u16>((u + 0x7fff + ((u >> 16) & 1)) >> 16));
  }
}

/** dst (n f32) = src (n bf16) widened. */
function fromBf16(dst: usize, src: usize, n: i32): void {
  let j = 0;
  for (; j + 8 <= n; j += 8) {
    const h = v128.load(src + (<usize>j << 1));
    v128.store(dst + (<usize>j << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(dst + (<usize>(j + 4) << 2), i32x4.shl(i32x4.extend_high_i16x8_u(h), 16));
  }
  for (; j < n; j++) store<u32>(dst + (<usize>j << 2), (<u32>load<u16>(src + (<usize>j << 1))) << 16);
}

/**
 * Forward for one (batch, head) chunk ch = b * NH + h: out as attention_fwd's (dropout on the
 * probabilities when thr > 0, as attention_drop_fwd_chunk's); att16 (B, NH, T, T) bf16 gets P.
 */
export function attention_bf16_fwd_chunk(ch: i32, me: i32, out: usize, att16: usize, qkv: usize, t: i32, c: i32, nh: i32, scale: f32, seed: i32, thr: u32, keepScale: f32, scratch: usize, scratchBytes: usize): void {
  const sc = scratch + <usize>me * scratchBytes;
  const bh = ch;
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c3 = c * 3;
  const q = qkv + ((<usize>b * t * c3 + <usize>h * hs) << 2);
  const k = q + (<usize>c << 2);
  const v = q + (<usize>c << 3);
  const rowQKV = <usize>c3 << 2;
  const rowAtt = <usize>t << 2;
  const kT = sc;
  const vP = kT + ((<usize>hs * <usize>packed_width(t)) << 2);
  const pf = sc + (<usize>attention_scratch_floats(t, hs) << 2); // 4 rows of P
  const pd = pf + (<usize>t * <usize>t << 2); // 4 rows of P * M
  pack_b(kT, k, hs, t, 1, c3);
  pack_b(vP, v, t, hs, c3, 1);
  const hsPanels = (hs + 7) >> 3;
  const ldo = <usize>c << 2;
  const o = out + ((<usize>b * t * c + <usize>h * hs) << 2);
  const a16 = att16 + ((<usize>bh * <usize>t * <usize>t) << 1);
  const s = seed * <i32>0x9e3779b9;
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    // S rows i0..i1-1 into scratch rows 0..
    gemm_block(pf, rowAtt, q + <usize>i0 * rowQKV, rowQKV, 4, kT, hs, 0, hs, t, 0, i1 - i0, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const prow = pf + <usize>(i - i0) * rowAtt;
      rowScale(prow, prow, i + 1, scale);
      const mx = rowMax(prow, i + 1);
      const sum = rowExpShift(prow, prow, i + 1, mx);
      rowScale(prow, prow, i + 1, 1 / sum);
      memory.fill(prow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
      toBf16(a16 + ((<usize>i * <usize>t) << 1), prow, t);
      if (thr > 0) dropRow(pd + <usize>(i - i0) * rowAtt, prow, i1, s, (bh * t + i) * t, thr, keepScale);
    }
    gemm_block(o + <usize>i0 * ldo, ldo, thr > 0 ? pd : pf, rowAtt, 4, vP, t, 0, i1, hs, 0, i1 - i0, 0, hsPanels, false);
  }
}

/**
 * Backward of attention_bf16_fwd_chunk for one (batch, head); accumulates into dqkv (B, T, 3C).
 * P comes from att16, widened; dS, and P * M with dropout, live in this thread's scratch.
 */
export function attention_bf16_bwd_chunk(ch: i32, me: i32, dqkv: usize, dout: usize, qkv: usize, att16: usize, t: i32, c: i32, nh: i32, scale: f32, seed: i32, thr: u32, keepScale: f32, scratch: usize, scratchBytes: usize): void {
  const sc = scratch + <usize>me * scratchBytes;
  const bh = ch;
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c3 = c * 3;
  const off = (<usize>b * t * c3 + <usize>h * hs) << 2;
  const q = qkv + off, k = q + (<usize>c << 2), v = q + (<usize>c << 3);
  const dq = dqkv + off, dk = dq + (<usize>c << 2), dv = dq + (<usize>c << 3);
  const rowQKV = <usize>c3 << 2;
  const rowOut = <usize>c << 2;
  const dO = dout + ((<usize>b * t * c + <usize>h * hs) << 2);
  const rowAtt = <usize>t << 2;
  const vT = sc;
  const kP = vT + ((<usize>hs * <usize>packed_width(t)) << 2);
  const panel = (<usize>t * <usize>packed_width(hs)) << 2;
  const qP = kP + panel;
  const oP = qP + panel;
  const tt = (<usize>t * <usize>t) << 2;
  const pf = sc + (<usize>attention_scratch_floats(t, hs) << 2); // P, T x T
  const d0 = pf + tt; // dS, T x T
  const pd = d0 + tt; // P * M, T x T (dropout)
  fromBf16(pf, att16 + ((<usize>bh * <usize>t * <usize>t) << 1), t * t);
  pack_b(vT, v, hs, t, 1, c3);
  pack_b(kP, k, t, hs, c3, 1);
  pack_b(qP, q, t, hs, c3, 1);
  pack_b(oP, dO, t, hs, c, 1);
  const hsPanels = (hs + 7) >> 3;
  const sv = f32x4.splat(scale);
  const s = seed * <i32>0x9e3779b9;
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    // dP rows i0..i1-1 = dO V^T (times M with dropout)
    gemm_block(d0, rowAtt, dO, rowOut, 4, vT, hs, 0, hs, t, i0, i1, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = pf + <usize>i * rowAtt;
      const drow = d0 + <usize>i * rowAtt;
      if (thr > 0) {
        const prow = pd + <usize>i * rowAtt;
        dropRow(drow, drow, i + 1, s, (bh * t + i) * t, thr, keepScale);
        dropRow(prow, arow, i + 1, s, (bh * t + i) * t, thr, keepScale);
        memory.fill(prow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
      }
      // softmax backward: ds_ij = a_ij (dp_ij - sum_k a_ik dp_ik), times the scores' scale
      const sd = f32x4.splat(dot(arow, drow, i + 1));
      let j = 0;
      for (; j + 4 <= i + 1; j += 4) {
        const jo = <usize>j << 2;
        v128.store(drow + jo, f32x4.mul(sv, f32x4.mul(v128.load(arow + jo), f32x4.sub(v128.load(drow + jo), sd))));
      }
      const ss = f32x4.extract_lane(sd, 0);
      for (; j <= i; j++) {
        const jo = <usize>j << 2;
        store<f32>(drow + jo, scale * load<f32>(arow + jo) * (load<f32>(drow + jo) - ss));
      }
      memory.fill(drow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
    }
    gemm_block(dq, rowQKV, d0, rowAtt, 4, kP, t, 0, i1, hs, i0, i1, 0, hsPanels, true);
  }
  const pv = thr > 0 ? pd : pf;
  for (let j0 = 0; j0 < t; j0 += 4) {
    const j1 = j0 + 4 < t ? j0 + 4 : t;
    gemm_block(dk, rowQKV, d0, 4, rowAtt, qP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
    gemm_block(dv, rowQKV, pv, 4, rowAtt, oP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
  }
}
