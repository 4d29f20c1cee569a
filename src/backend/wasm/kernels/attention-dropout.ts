// Causal attention with attention-probability dropout (nanoGPT's attn_dropout, training only):
// layers.ts's fused kernels plus one step each way. Forward: O = (P * M) V, where P = softmax
// stays in att and M is the inverted-dropout mask; backward: dP = (dO V^T) * M before the
// softmax backward, and dV += (P * M)^T dO. M is redrawn in the backward from the seed by the
// shared lowbias32 hash (dropoutUniform in backend.ts) at att's flat index, so nothing is stored.
// Not here: the kernels without dropout (layers.ts), which stay exactly as they were.

import { keep1, keep4 } from './dropout';
import { attention_scratch_floats, dot, rowExpShift, rowMax, rowScale } from './layers';
import { gemm_block, pack_b, packed_width } from './matmul';

/** f32 of scratch per thread: layers.ts's, plus the dropped-out probabilities P * M (T x T). */
export function attention_drop_scratch_floats(t: i32, hs: i32): i32 {
  return attention_scratch_floats(t, hs) + t * t;
}

/**
 * dst[j] = src[j] * keepScale where kept, else 0, for j < n; the mask of element j is drawn at
 * flat index idx0 + j. dst may alias src.
 */
export function dropRow(dst: usize, src: usize, n: i32, s: i32, idx0: i32, thr: u32, keepScale: f32): void {
  const sv = i32x4.splat(s);
  const tv = i32x4.splat(<i32>thr);
  const ks = f32x4.splat(keepScale);
  const lanes = i32x4(0, 1, 2, 3);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const keep = keep4(sv, i32x4.add(i32x4.splat(idx0 + j), lanes), tv);
    v128.store(dst + o, v128.and(f32x4.mul(v128.load(src + o), ks), keep));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, keep1(s, idx0 + j, thr) ? load<f32>(src + o) * keepScale : 0);
  }
}

/**
 * Forward for one (batch, head) chunk ch = b * NH + h, as attention_fwd, with
 * O = (P * M) V. att (B, NH, T, T) keeps P. The mask of att's element e is kept iff
 * (lowbias32(seed * 0x9e3779b9 + e) >>> 8) >= thr, thr = ceil(p * 2^24); kept probabilities are
 * scaled by keepScale = 1 / (1 - p) in f32 (as PyTorch's dropout does).
 */
export function attention_drop_fwd_chunk(ch: i32, me: i32, out: usize, att: usize, qkv: usize, t: i32, c: i32, nh: i32, scale: f32, seed: i32, thr: u32, keepScale: f32, scratch: usize, scratchBytes: usize): void {
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
  const a0 = att + <usize>bh * <usize>t * rowAtt;
  const kT = sc;
  const vP = kT + ((<usize>hs * <usize>packed_width(t)) << 2);
  const pd = sc + (<usize>attention_scratch_floats(t, hs) << 2); // 4 rows of P * M
  pack_b(kT, k, hs, t, 1, c3);
  pack_b(vP, v, t, hs, c3, 1);
  const hsPanels = (hs + 7) >> 3;
  const ldo = <usize>c << 2;
  const o = out + ((<usize>b * t * c + <usize>h * hs) << 2);
  const s = seed * <i32>0x9e3779b9;
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    gemm_block(a0, rowAtt, q, rowQKV, 4, kT, hs, 0, hs, t, i0, i1, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      rowScale(arow, arow, i + 1, scale);
      const mx = rowMax(arow, i + 1);
      const sum = rowExpShift(arow, arow, i + 1, mx);
      rowScale(arow, arow, i + 1, 1 / sum);
      memory.fill(arow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
      // P * M over the keys the product reads (P is 0 past the diagonal, so is P * M)
      dropRow(pd + <usize>(i - i0) * rowAtt, arow, i1, s, (bh * t + i) * t, thr, keepScale);
    }
    gemm_block(o + <usize>i0 * ldo, ldo, pd, rowAtt, 4, vP, t, 0, i1, hs, 0, i1 - i0, 0, hsPanels, false);
  }
}

/**
 * Backward of attention_drop_fwd_chunk for one (batch, head); accumulates into dqkv (B, T, 3C).
 * datt is scratch (it ends holding scale * d(scores)); this thread's scratch holds P * M (T x T).
 */
export function attention_drop_bwd_chunk(ch: i32, me: i32, dqkv: usize, datt: usize, dout: usize, qkv: usize, att: usize, t: i32, c: i32, nh: i32, scale: f32, seed: i32, thr: u32, keepScale: f32, scratch: usize, scratchBytes: usize): void {
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
  const a0 = att + <usize>bh * <usize>t * rowAtt;
  const d0 = datt + <usize>bh * <usize>t * rowAtt;
  const vT = sc;
  const kP = vT + ((<usize>hs * <usize>packed_width(t)) << 2);
  const panel = (<usize>t * <usize>packed_width(hs)) << 2;
  const qP = kP + panel;
  const oP = qP + panel;
  const pd = sc + (<usize>attention_scratch_floats(t, hs) << 2); // P * M, T x T
  pack_b(vT, v, hs, t, 1, c3);
  pack_b(kP, k, t, hs, c3, 1);
  pack_b(qP, q, t, hs, c3, 1);
  pack_b(oP, dO, t, hs, c, 1);
  const hsPanels = (hs + 7) >> 3;
  const sv = f32x4.splat(scale);
  const s = seed * <i32>0x9e3779b9;
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    // d(P * M) rows i0..i1-1 = dO V^T
    gemm_block(d0, rowAtt, dO, rowOut, 4, vT, hs, 0, hs, t, i0, i1, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      const drow = d0 + <usize>i * rowAtt;
      const prow = pd + <usize>i * rowAtt;
      const idx0 = (bh * t + i) * t;
      // dP = d(P * M) * M, and P * M for dV below: the same mask, redrawn
      dropRow(drow, drow, i + 1, s, idx0, thr, keepScale);
      dropRow(prow, arow, i + 1, s, idx0, thr, keepScale);
      memory.fill(prow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
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
  for (let j0 = 0; j0 < t; j0 += 4) {
    const j1 = j0 + 4 < t ? j0 + 4 : t;
    // dk_j += sum_{i >= j} ds_ij q_i;  dv_j += sum_{i >= j} (P * M)_ij dout_i
    gemm_block(dk, rowQKV, d0, 4, rowAtt, qP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
    gemm_block(dv, rowQKV, pd, 4, rowAtt, oP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
  }
}
