// Row-wise transformer layers: LayerNorm, softmax, cross-entropy, embedding, and fused attention
// (scores, mask, softmax, weighted sum) per (batch, head): GPT's causal self-attention, and masked
// attention of one sequence's queries against another's keys and values (the encoder-decoder). Row ranges [r0, r1) and
// head indices let a job (job-table.mjs) split the work across threads; nothing here allocates.
// Not here: matmul (matmul.ts) or the elementwise ops (elementwise.ts).

import { gemm_block, pack_b, packed_width } from './matmul';
import { exp4, hmax, hsum, madd } from './simd';

// @ts-expect-error: decorator
@inline export function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = madd(v128.load(a + (<usize>j << 2)), v128.load(b + (<usize>j << 2)), acc);
  let s = hsum(acc);
  for (; j < n; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return s;
}

/** y[j] += alpha * x[j], j < n */
// @ts-expect-error: decorator
@inline function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, madd(av, v128.load(x + o), v128.load(y + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

function rowSum(x: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, v128.load(x + (<usize>j << 2)));
  let s = hsum(acc);
  for (; j < n; j++) s += load<f32>(x + (<usize>j << 2));
  return s;
}

export function rowMax(x: usize, n: i32): f32 {
  let m: f32 = -Infinity;
  let j = 0;
  if (n >= 4) {
    let acc = v128.load(x);
    for (j = 4; j + 4 <= n; j += 4) acc = f32x4.pmax(acc, v128.load(x + (<usize>j << 2)));
    m = hmax(acc);
  }
  for (; j < n; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
  return m;
}

/** y[j] = exp(x[j] - shift), returns the sum of y; y may alias x. */
export function rowExpShift(y: usize, x: usize, n: i32, shift: f32): f32 {
  const sv = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const e = exp4(f32x4.sub(v128.load(x + o), sv));
    v128.store(y + o, e);
    acc = f32x4.add(acc, e);
  }
  let s = hsum(acc);
  for (; j < n; j++) {
    const e = Mathf.exp(load<f32>(x + (<usize>j << 2)) - shift);
    store<f32>(y + (<usize>j << 2), e);
    s += e;
  }
  return s;
}

/** y[j] = x[j] * s */
export function rowScale(y: usize, x: usize, n: i32, s: f32): void {
  const sv = f32x4.splat(s);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), sv));
  }
  for (; j < n; j++) store<f32>(y + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) * s);
}

/**
 * out (N, C) = (x - mean) * rstd * w + b for rows [r0, r1); saves mean (N), rstd (N).
 * bias = 0: no bias.
 */
export function layernorm_fwd(out: usize, meanp: usize, rstdp: usize, x: usize, w: usize, bias: usize, c: i32, eps: f32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const xr = x + ((<usize>r * c) << 2);
    const or = out + ((<usize>r * c) << 2);
    const mean = rowSum(xr, c) / <f32>c;
    const mv = f32x4.splat(mean);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const d = f32x4.sub(v128.load(xr + (<usize>j << 2)), mv);
      acc = madd(d, d, acc);
    }
    let ss = hsum(acc);
    for (; j < c; j++) {
      const d = load<f32>(xr + (<usize>j << 2)) - mean;
      ss += d * d;
    }
    const rstd: f32 = 1 / Mathf.sqrt(ss / <f32>c + eps);
    store<f32>(meanp + (<usize>r << 2), mean);
    store<f32>(rstdp + (<usize>r << 2), rstd);
    const rv = f32x4.splat(rstd);
    for (j = 0; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const nrm = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), rv);
      const b = bias ? v128.load(bias + o) : f32x4.splat(0);
      v128.store(or + o, madd(nrm, v128.load(w + o), b));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const nrm = (load<f32>(xr + o) - mean) * rstd;
      store<f32>(or + o, nrm * load<f32>(w + o) + (bias ? load<f32>(bias + o) : 0));
    }
  }
}

/**
 * LayerNorm backward, dx part (llm.c's layernorm_backward), rows [r0, r1):
 * norm = (x - mean) rstd, dnorm = w dout,
 * dx += (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) * rstd.
 * dw and db are layernorm_bwd_dw's (by columns), so threads never write the same element.
 */
export function layernorm_bwd_dx(dx: usize, dout: usize, x: usize, w: usize, meanp: usize, rstdp: usize, c: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * c) << 2;
    const mean = load<f32>(meanp + (<usize>r << 2));
    const rstd = load<f32>(rstdp + (<usize>r << 2));
    const mv = f32x4.splat(mean), rv = f32x4.splat(rstd);
    // pass 1: the two means
    let a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const nrm = f32x4.mul(f32x4.sub(v128.load(x + ro + o), mv), rv);
      const dn = f32x4.mul(v128.load(w + o), v128.load(dout + ro + o));
      a1 = f32x4.add(a1, dn);
      a2 = madd(dn, nrm, a2);
    }
    let s1 = hsum(a1), s2 = hsum(a2);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const nrm = (load<f32>(x + ro + o) - mean) * rstd;
      const dn = load<f32>(w + o) * load<f32>(dout + ro + o);
      s1 += dn;
      s2 += dn * nrm;
    }
    const m1 = s1 / <f32>c, m2 = s2 / <f32>c;
    const m1v = f32x4.splat(m1), m2v = f32x4.splat(m2);
    // pass 2: accumulate
    for (j = 0; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const d = v128.load(dout + ro + o);
      const nrm = f32x4.mul(f32x4.sub(v128.load(x + ro + o), mv), rv);
      const dn = f32x4.mul(v128.load(w + o), d);
      const t = f32x4.sub(f32x4.sub(dn, m1v), f32x4.mul(nrm, m2v));
      v128.store(dx + ro + o, madd(t, rv, v128.load(dx + ro + o)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const d = load<f32>(dout + ro + o);
      const nrm = (load<f32>(x + ro + o) - mean) * rstd;
      const dn = load<f32>(w + o) * d;
      store<f32>(dx + ro + o, load<f32>(dx + ro + o) + (dn - m1 - nrm * m2) * rstd);
    }
  }
}

/**
 * LayerNorm backward, weight part: dw[j] += sum_r norm[r, j] dout[r, j], db[j] += sum_r dout[r, j]
 * (db = 0: none) for columns [j0, j1) (j0 a multiple of 4) over all n rows, rows in order: the
 * same operations per element as a row-by-row loop, however the columns are split.
 */
export function layernorm_bwd_dw(dw: usize, db: usize, dout: usize, x: usize, meanp: usize, rstdp: usize, c: i32, n: i32, j0: i32, j1: i32): void {
  const rowBytes = <usize>c << 2;
  const c4 = c & ~3;
  const v1 = j1 < c4 ? j1 : c4;
  let j = j0;
  // 8 columns at a time: dw and db sums stay in registers across the rows
  for (; j + 8 <= v1; j += 8) {
    const jo = <usize>j << 2;
    let w0 = v128.load(dw + jo), w1 = v128.load(dw + jo, 16);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0);
    if (db) {
      b0 = v128.load(db + jo);
      b1 = v128.load(db + jo, 16);
    }
    let px = x + jo, pd = dout + jo;
    for (let r = 0; r < n; r++) {
      const mv = v128.load32_splat(meanp + (<usize>r << 2));
      const rv = v128.load32_splat(rstdp + (<usize>r << 2));
      const d0 = v128.load(pd), d1 = v128.load(pd, 16);
      w0 = madd(f32x4.mul(f32x4.sub(v128.load(px), mv), rv), d0, w0);
      w1 = madd(f32x4.mul(f32x4.sub(v128.load(px, 16), mv), rv), d1, w1);
      b0 = f32x4.add(b0, d0);
      b1 = f32x4.add(b1, d1);
      px += rowBytes;
      pd += rowBytes;
    }
    v128.store(dw + jo, w0);
    v128.store(dw + jo, w1, 16);
    if (db) {
      v128.store(db + jo, b0);
      v128.store(db + jo, b1, 16);
    }
  }
  for (; j + 4 <= v1; j += 4) {
    const jo = <usize>j << 2;
    let w0 = v128.load(dw + jo);
    let b0 = db ? v128.load(db + jo) : f32x4.splat(0);
    let px = x + jo, pd = dout + jo;
    for (let r = 0; r < n; r++) {
      const mv = v128.load32_splat(meanp + (<usize>r << 2));
      const rv = v128.load32_splat(rstdp + (<usize>r << 2));
      const d0 = v128.load(pd);
      w0 = madd(f32x4.mul(f32x4.sub(v128.load(px), mv), rv), d0, w0);
      b0 = f32x4.add(b0, d0);
      px += rowBytes;
      pd += rowBytes;
    }
    v128.store(dw + jo, w0);
    if (db) v128.store(db + jo, b0);
  }
  // the last c % 4 columns, in scalar arithmetic
  for (; j < j1; j++) {
    const jo = <usize>j << 2;
    let sw = load<f32>(dw + jo);
    let sb: f32 = db ? load<f32>(db + jo) : 0;
    for (let r = 0; r < n; r++) {
      const ro = <usize>r * rowBytes + jo;
      const d = load<f32>(dout + ro);
      const nrm = (load<f32>(x + ro) - load<f32>(meanp + (<usize>r << 2))) * load<f32>(rstdp + (<usize>r << 2));
      sb += d;
      sw += nrm * d;
    }
    store<f32>(dw + jo, sw);
    if (db) store<f32>(db + jo, sb);
  }
}

/** out (N, C) = softmax of each row of x, rows [r0, r1); out may alias x. */
export function softmax_fwd(out: usize, x: usize, c: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * c) << 2;
    const s = rowExpShift(out + ro, x + ro, c, rowMax(x + ro, c));
    rowScale(out + ro, out + ro, c, 1 / s);
  }
}

/** dx += y * (dout - sum(y * dout)), rows [r0, r1). */
export function softmax_bwd(dx: usize, dout: usize, y: usize, c: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * c) << 2;
    const s = dot(y + ro, dout + ro, c);
    const sv = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = ro + (<usize>j << 2);
      v128.store(dx + o, madd(v128.load(y + o), f32x4.sub(v128.load(dout + o), sv), v128.load(dx + o)));
    }
    for (; j < c; j++) {
      const o = ro + (<usize>j << 2);
      store<f32>(dx + o, load<f32>(dx + o) + load<f32>(y + o) * (load<f32>(dout + o) - s));
    }
  }
}

/** log(sum(exp(row))) computed stably; reads the row twice, writes nothing. */
function rowLogSumExp(x: usize, v: i32): f32 {
  const mx = rowMax(x, v);
  const sv = f32x4.splat(mx);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= v; j += 4) acc = f32x4.add(acc, exp4(f32x4.sub(v128.load(x + (<usize>j << 2)), sv)));
  let s = hsum(acc);
  for (; j < v; j++) s += Mathf.exp(load<f32>(x + (<usize>j << 2)) - mx);
  return mx + Mathf.log(s);
}

/** losses (N) = logsumexp(logits row) - logits[target], rows [r0, r1); target -1 gives 0. */
export function crossentropy_fwd(losses: usize, logits: usize, targets: usize, v: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    const row = logits + ((<usize>r * v) << 2);
    store<f32>(losses + (<usize>r << 2), t < 0 ? 0 : rowLogSumExp(row, v) - load<f32>(row + (<usize>t << 2)));
  }
}

/** dlogits += (softmax(logits) - onehot(target)) * dlosses[row], rows [r0, r1); target -1 adds 0. */
export function crossentropy_bwd(dlogits: usize, logits: usize, targets: usize, dlosses: usize, v: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t < 0) continue;
    const ro = (<usize>r * v) << 2;
    const row = logits + ro;
    const drow = dlogits + ro;
    const dl = load<f32>(dlosses + (<usize>r << 2));
    const lse = f32x4.splat(rowLogSumExp(row, v));
    const dlv = f32x4.splat(dl);
    let j = 0;
    for (; j + 4 <= v; j += 4) {
      const o = <usize>j << 2;
      const p = exp4(f32x4.sub(v128.load(row + o), lse));
      v128.store(drow + o, madd(p, dlv, v128.load(drow + o)));
    }
    if (j < v) {
      const l = f32x4.extract_lane(lse, 0);
      for (; j < v; j++) {
        const o = <usize>j << 2;
        store<f32>(drow + o, load<f32>(drow + o) + Mathf.exp(load<f32>(row + o) - l) * dl);
      }
    }
    const to = drow + (<usize>t << 2);
    store<f32>(to, load<f32>(to) - dl);
  }
}

/** out (N, C) rows [r0, r1) = table[ids[row]] */
export function embedding_fwd(out: usize, table: usize, ids: usize, c: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>c << 2;
  for (let r = r0; r < r1; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    memory.copy(out + <usize>r * rowBytes, table + <usize>id * rowBytes, rowBytes);
  }
}

/**
 * dtable[ids[i], j0:j1] += dout[i, j0:j1] for i < n in order: two rows may share an id, so
 * threads split the columns, never the rows.
 */
export function embedding_bwd(dtable: usize, dout: usize, ids: usize, n: i32, c: i32, j0: i32, j1: i32): void {
  const rowBytes = <usize>c << 2;
  const off = <usize>j0 << 2;
  for (let r = 0; r < n; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    axpy(dtable + <usize>id * rowBytes + off, 1, dout + <usize>r * rowBytes + off, j1 - j0);
  }
}

// ---- causal attention, one (batch, head) per call, as small register-tiled products ----
// Per head: S = Q K^T, P = softmax(scale S) under the causal mask, O = P V; backward
// dP = dO V^T, dS = scale P (dP - rowsum(P dP)), dQ += dS K, dK += dS^T Q, dV += P^T dO.
// Each product runs on matmul.ts's 4x8 tile (gemm_block) over operands packed once per head into
// the calling thread's scratch; the causal mask skips every tile above the diagonal.

/** f32 of scratch the attention kernels need per thread (hs = head size, t = sequence length). */
export function attention_scratch_floats(t: i32, hs: i32): i32 {
  return hs * packed_width(t) + 3 * t * packed_width(hs);
}

/**
 * Causal attention forward for one (batch, head) pair bh = b * NH + h.
 * qkv (B, T, 3C) = q | k | v; out (B, T, C) columns h*HS..; att (B, NH, T, T) the probabilities.
 * scratch: attention_scratch_floats(t, hs) floats of this thread's own.
 */
export function attention_fwd(out: usize, att: usize, qkv: usize, t: i32, c: i32, nh: i32, scale: f32, bh: i32, scratch: usize): void {
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c3 = c * 3;
  const q = qkv + ((<usize>b * t * c3 + <usize>h * hs) << 2); // row i of this head's q at q + i*rowQKV
  const k = q + (<usize>c << 2);
  const v = q + (<usize>c << 3);
  const rowQKV = <usize>c3 << 2;
  const rowAtt = <usize>t << 2;
  const a0 = att + <usize>bh * <usize>t * rowAtt;
  // K^T (hs x T): (d, j) = k[j][d]; V (T x hs)
  const kT = scratch;
  const vP = kT + ((<usize>hs * <usize>packed_width(t)) << 2);
  pack_b(kT, k, hs, t, 1, c3);
  pack_b(vP, v, t, hs, c3, 1);
  const hsPanels = (hs + 7) >> 3;
  const o = out + ((<usize>b * t * c + <usize>h * hs) << 2);
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    // S rows i0..i1-1 for keys up to the tile's last row: panels left of the diagonal
    gemm_block(a0, rowAtt, q, rowQKV, 4, kT, hs, 0, hs, t, i0, i1, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      rowScale(arow, arow, i + 1, scale);
      const mx = rowMax(arow, i + 1);
      const sum = rowExpShift(arow, arow, i + 1, mx);
      rowScale(arow, arow, i + 1, 1 / sum);
      // the future is not visible: zero (the tile may have written scores there)
      memory.fill(arow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
    }
    // O rows i0..i1-1 = P V over keys < i1 (P is zero past the diagonal)
    gemm_block(o, <usize>c << 2, a0, rowAtt, 4, vP, t, 0, i1, hs, i0, i1, 0, hsPanels, false);
  }
}

/**
 * Backward of attention_fwd for one (batch, head); accumulates into dqkv (B, T, 3C).
 * datt (B, NH, T, T) is scratch: it ends holding scale * d(scores). scratch as for attention_fwd.
 */
export function attention_bwd(dqkv: usize, datt: usize, dout: usize, qkv: usize, att: usize, t: i32, c: i32, nh: i32, scale: f32, bh: i32, scratch: usize): void {
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
  // V^T (hs x T) for dP; K, Q and dO (T x hs) as the right-hand sides of dQ, dK, dV
  const vT = scratch;
  const kP = vT + ((<usize>hs * <usize>packed_width(t)) << 2);
  const panel = (<usize>t * <usize>packed_width(hs)) << 2;
  const qP = kP + panel;
  const oP = qP + panel;
  pack_b(vT, v, hs, t, 1, c3);
  pack_b(kP, k, t, hs, c3, 1);
  pack_b(qP, q, t, hs, c3, 1);
  pack_b(oP, dO, t, hs, c, 1);
  const hsPanels = (hs + 7) >> 3;
  const sv = f32x4.splat(scale);
  for (let i0 = 0; i0 < t; i0 += 4) {
    const i1 = i0 + 4 < t ? i0 + 4 : t;
    // dP rows i0..i1-1 = dO V^T (out_i = sum_j a_ij v_j  =>  da_ij = dout_i . v_j)
    gemm_block(d0, rowAtt, dO, rowOut, 4, vT, hs, 0, hs, t, i0, i1, 0, ((i1 - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      const drow = d0 + <usize>i * rowAtt;
      // softmax backward: ds_ij = a_ij (da_ij - sum_k a_ik da_ik), times the scores' scale
      const s = f32x4.splat(dot(arow, drow, i + 1));
      let j = 0;
      for (; j + 4 <= i + 1; j += 4) {
        const jo = <usize>j << 2;
        v128.store(drow + jo, f32x4.mul(sv, f32x4.mul(v128.load(arow + jo), f32x4.sub(v128.load(drow + jo), s))));
      }
      const ss = f32x4.extract_lane(s, 0);
      for (; j <= i; j++) {
        const jo = <usize>j << 2;
        store<f32>(drow + jo, scale * load<f32>(arow + jo) * (load<f32>(drow + jo) - ss));
      }
      memory.fill(drow + (<usize>(i + 1) << 2), 0, <usize>(t - i - 1) << 2);
    }
    // s_ij = scale q_i . k_j  =>  dq_i += sum_j ds_ij k_j (dS holds the scale), keys < i1
    gemm_block(dq, rowQKV, d0, rowAtt, 4, kP, t, 0, i1, hs, i0, i1, 0, hsPanels, true);
  }
  // by key rows j (transposed A: element (j, i) of dS^T at d0 + i*rowAtt + j*4), queries i >= j0
  for (let j0 = 0; j0 < t; j0 += 4) {
    const j1 = j0 + 4 < t ? j0 + 4 : t;
    // dk_j += sum_{i >= j} ds_ij q_i;  dv_j += sum_{i >= j} a_ij dout_i
    gemm_block(dk, rowQKV, d0, 4, rowAtt, qP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
    gemm_block(dv, rowQKV, a0, 4, rowAtt, oP, t, j0, t - j0, hs, j0, j1, 0, hsPanels, true);
  }
}

// ---- masked attention (cross- or self-), one (batch, head) per call ----
// The same products as the causal kernel above, for queries q (B, Tq, C) against keys and values
// kv (B, Tk, 2C) = k | v, under a key padding mask (B, Tk) int32 (0 = none) and an optional
// causal mask (key j visible to query i iff j <= i + Tk - Tq). Masked scores are -inf before the
// softmax and exactly 0 after it; a row with every key masked is all zeros (see
// Backend.maskedAttentionForward). Tiles wholly past the causal diagonal are skipped.

/** f32 of scratch the masked attention kernels need per thread. */
export function masked_attention_scratch_floats(tq: i32, tk: i32, hs: i32): i32 {
  return hs * packed_width(tk) + (tk + 2 * tq) * packed_width(hs);
}

/** Keys visible to query i: [0, visible) before the padding mask. */
// @ts-expect-error: decorator
@inline function visibleKeys(i: i32, tq: i32, tk: i32, causal: bool): i32 {
  if (!causal) return tk;
  const v = i + 1 + tk - tq;
  return v < 0 ? 0 : v > tk ? tk : v;
}

/**
 * Masked attention forward for one (batch, head) pair bh = b * NH + h.
 * out (B, Tq, C) columns h*HS..; att (B, NH, Tq, Tk) the probabilities; mask (B, Tk) or 0.
 * scratch: masked_attention_scratch_floats(tq, tk, hs) floats of this thread's own.
 */
export function masked_attention_fwd(out: usize, att: usize, q: usize, kv: usize, mask: usize, tq: i32, tk: i32, c: i32, nh: i32, scale: f32, causal: bool, bh: i32, scratch: usize): void {
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c2 = c * 2;
  const qh = q + ((<usize>b * tq * c + <usize>h * hs) << 2); // row i of this head's q at qh + i*rowQ
  const k = kv + ((<usize>b * tk * c2 + <usize>h * hs) << 2);
  const v = k + (<usize>c << 2);
  const rowQ = <usize>c << 2;
  const rowAtt = <usize>tk << 2;
  const a0 = att + <usize>bh * <usize>tq * rowAtt;
  const m0 = mask ? mask + ((<usize>b * tk) << 2) : 0;
  // K^T (hs x Tk): (d, j) = k[j][d]; V (Tk x hs)
  const kT = scratch;
  const vP = kT + ((<usize>hs * <usize>packed_width(tk)) << 2);
  pack_b(kT, k, hs, tk, 1, c2);
  pack_b(vP, v, tk, hs, c2, 1);
  const hsPanels = (hs + 7) >> 3;
  const o = out + ((<usize>b * tq * c + <usize>h * hs) << 2);
  for (let i0 = 0; i0 < tq; i0 += 4) {
    const i1 = i0 + 4 < tq ? i0 + 4 : tq;
    // keys any row of this tile may see: [0, lim)
    const lim = visibleKeys(i1 - 1, tq, tk, causal);
    if (lim > 0) gemm_block(a0, rowAtt, qh, rowQ, 4, kT, hs, 0, hs, tk, i0, i1, 0, ((lim - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      const n = visibleKeys(i, tq, tk, causal);
      rowScale(arow, arow, n, scale);
      if (m0) for (let j = 0; j < n; j++) if (load<i32>(m0 + (<usize>j << 2)) != 0) store<f32>(arow + (<usize>j << 2), -Infinity);
      const mx = n > 0 ? rowMax(arow, n) : -Infinity;
      if (mx == -Infinity) {
        memory.fill(arow, 0, rowAtt); // nothing to see: zeros, not NaN
        continue;
      }
      const sum = rowExpShift(arow, arow, n, mx);
      rowScale(arow, arow, n, 1 / sum);
      // exp4 of -inf is ~1e-38, not 0: masked keys are exactly 0
      if (m0) for (let j = 0; j < n; j++) if (load<i32>(m0 + (<usize>j << 2)) != 0) store<f32>(arow + (<usize>j << 2), 0);
      // the keys past the causal limit (the tile may have written scores there)
      memory.fill(arow + (<usize>n << 2), 0, <usize>(tk - n) << 2);
    }
    // O rows i0..i1-1 = P V over keys < lim (P is zero past each row's limit)
    if (lim > 0) gemm_block(o, rowQ, a0, rowAtt, 4, vP, tk, 0, lim, hs, i0, i1, 0, hsPanels, false);
    else for (let i = i0; i < i1; i++) memory.fill(o + <usize>i * rowQ, 0, <usize>hs << 2);
  }
}

/**
 * Backward of masked_attention_fwd for one (batch, head); accumulates into dq (B, Tq, C) and
 * dkv (B, Tk, 2C) (0: not wanted). datt (B, NH, Tq, Tk) is scratch: it ends holding
 * scale * d(scores). scratch as for masked_attention_fwd.
 */
export function masked_attention_bwd(dq: usize, dkv: usize, datt: usize, dout: usize, q: usize, kv: usize, att: usize, tq: i32, tk: i32, c: i32, nh: i32, scale: f32, causal: bool, bh: i32, scratch: usize): void {
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c2 = c * 2;
  const qOff = (<usize>b * tq * c + <usize>h * hs) << 2;
  const kOff = (<usize>b * tk * c2 + <usize>h * hs) << 2;
  const qh = q + qOff, k = kv + kOff, v = k + (<usize>c << 2);
  const rowQ = <usize>c << 2;
  const rowKV = <usize>c2 << 2;
  const dO = dout + qOff;
  const rowAtt = <usize>tk << 2;
  const a0 = att + <usize>bh * <usize>tq * rowAtt;
  const d0 = datt + <usize>bh * <usize>tq * rowAtt;
  // V^T (hs x Tk) for dP; K (Tk x hs), Q and dO (Tq x hs) as the right-hand sides of dQ, dK, dV
  const vT = scratch;
  const kP = vT + ((<usize>hs * <usize>packed_width(tk)) << 2);
  const qP = kP + ((<usize>tk * <usize>packed_width(hs)) << 2);
  const oP = qP + ((<usize>tq * <usize>packed_width(hs)) << 2);
  pack_b(vT, v, hs, tk, 1, c2);
  if (dq) pack_b(kP, k, tk, hs, c2, 1);
  if (dkv) {
    pack_b(qP, qh, tq, hs, c, 1);
    pack_b(oP, dO, tq, hs, c, 1);
  }
  const hsPanels = (hs + 7) >> 3;
  const sv = f32x4.splat(scale);
  for (let i0 = 0; i0 < tq; i0 += 4) {
    const i1 = i0 + 4 < tq ? i0 + 4 : tq;
    const lim = visibleKeys(i1 - 1, tq, tk, causal);
    // dP rows i0..i1-1 = dO V^T (out_i = sum_j a_ij v_j  =>  da_ij = dout_i . v_j)
    if (lim > 0) gemm_block(d0, rowAtt, dO, rowQ, 4, vT, hs, 0, hs, tk, i0, i1, 0, ((lim - 1) >> 3) + 1, false);
    for (let i = i0; i < i1; i++) {
      const arow = a0 + <usize>i * rowAtt;
      const drow = d0 + <usize>i * rowAtt;
      const n = visibleKeys(i, tq, tk, causal);
      // softmax backward: ds_ij = a_ij (da_ij - sum_k a_ik da_ik), times the scores' scale;
      // masked keys have a_ij = 0, so they get none
      const s = f32x4.splat(n > 0 ? dot(arow, drow, n) : 0);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const jo = <usize>j << 2;
        v128.store(drow + jo, f32x4.mul(sv, f32x4.mul(v128.load(arow + jo), f32x4.sub(v128.load(drow + jo), s))));
      }
      const ss = f32x4.extract_lane(s, 0);
      for (; j < n; j++) {
        const jo = <usize>j << 2;
        store<f32>(drow + jo, scale * load<f32>(arow + jo) * (load<f32>(drow + jo) - ss));
      }
      memory.fill(drow + (<usize>n << 2), 0, <usize>(tk - n) << 2);
    }
    // s_ij = scale q_i . k_j  =>  dq_i += sum_j ds_ij k_j (dS holds the scale), keys < lim
    if (dq && lim > 0) gemm_block(dq + qOff, rowQ, d0, rowAtt, 4, kP, tk, 0, lim, hs, i0, i1, 0, hsPanels, true);
  }
  if (!dkv) return;
  const dk = dkv + kOff, dv = dk + (<usize>c << 2);
  // by key rows j (transposed A: element (j, i) of dS^T at d0 + i*rowAtt + j*4), over the
  // queries that see key j: i >= j - (Tk - Tq) when causal, all of them otherwise
  for (let j0 = 0; j0 < tk; j0 += 4) {
    const j1 = j0 + 4 < tk ? j0 + 4 : tk;
    let i0 = causal ? j0 - (tk - tq) : 0;
    if (i0 < 0) i0 = 0;
    if (i0 >= tq) continue;
    // dk_j += sum_i ds_ij q_i;  dv_j += sum_i a_ij dout_i
    gemm_block(dk, rowKV, d0, 4, rowAtt, qP, tq, i0, tq - i0, hs, j0, j1, 0, hsPanels, true);
    gemm_block(dv, rowKV, a0, 4, rowAtt, oP, tq, i0, tq - i0, hs, j0, j1, 0, hsPanels, true);
  }
}
