// Row-wise transformer layers: LayerNorm, softmax, cross-entropy, embedding, and fused causal
// attention (scores, mask, softmax, weighted sum) per (batch, head). Row ranges [r0, r1) and
// head indices let jobs.ts split the work across threads; nothing here allocates.
// Not here: matmul (matmul.ts) or the elementwise ops (elementwise.ts).

import { exp4, hmax, hsum, madd } from './simd';

// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) acc = madd(v128.load(a + (<usize>j << 2)), v128.load(b + (<usize>j << 2)), acc);
  let s = hsum(acc);
  for (; j < n; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return s;
}

/** y[j] += alpha * x[j], j < n */
// @ts-ignore: decorator
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

function rowMax(x: usize, n: i32): f32 {
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
function rowExpShift(y: usize, x: usize, n: i32, shift: f32): f32 {
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
function rowScale(y: usize, x: usize, n: i32, s: f32): void {
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

/**
 * dst[j] = scale * (q . k_j) for j < count, k_j = kbase + j * rowBytes, vectors of hs floats.
 * Four keys at a time: four independent FMA chains (one chain would wait on its own latency),
 * reduced into one vector of four scores by a transpose-add.
 */
function scores(dst: usize, q: usize, kbase: usize, rowBytes: usize, count: i32, hs: i32, scale: f32): void {
  const sv = f32x4.splat(scale);
  const hs4 = hs & ~3;
  let j = 0;
  for (; j + 4 <= count; j += 4) {
    const k0 = kbase + <usize>j * rowBytes;
    const k1 = k0 + rowBytes, k2 = k1 + rowBytes, k3 = k2 + rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let r = 0; r < hs4; r += 4) {
      const o = <usize>r << 2;
      const qv = v128.load(q + o);
      a0 = madd(qv, v128.load(k0 + o), a0);
      a1 = madd(qv, v128.load(k1 + o), a1);
      a2 = madd(qv, v128.load(k2 + o), a2);
      a3 = madd(qv, v128.load(k3 + o), a3);
    }
    const t0 = f32x4.add(i32x4.shuffle(a0, a1, 0, 1, 4, 5), i32x4.shuffle(a0, a1, 2, 3, 6, 7));
    const t1 = f32x4.add(i32x4.shuffle(a2, a3, 0, 1, 4, 5), i32x4.shuffle(a2, a3, 2, 3, 6, 7));
    let sum = f32x4.add(i32x4.shuffle(t0, t1, 0, 2, 4, 6), i32x4.shuffle(t0, t1, 1, 3, 5, 7));
    for (let r = hs4; r < hs; r++) {
      const o = <usize>r << 2;
      const qs = load<f32>(q + o);
      let tail = f32x4.splat(0);
      tail = f32x4.replace_lane(tail, 0, qs * load<f32>(k0 + o));
      tail = f32x4.replace_lane(tail, 1, qs * load<f32>(k1 + o));
      tail = f32x4.replace_lane(tail, 2, qs * load<f32>(k2 + o));
      tail = f32x4.replace_lane(tail, 3, qs * load<f32>(k3 + o));
      sum = f32x4.add(sum, tail);
    }
    v128.store(dst + (<usize>j << 2), f32x4.mul(sum, sv));
  }
  for (; j < count; j++) store<f32>(dst + (<usize>j << 2), dot(q, kbase + <usize>j * rowBytes, hs) * scale);
}

/**
 * dst (+)= scale * sum_j w_j v_j over j < count (w_j at w + j * wStride bytes, v_j = vbase +
 * j * rowBytes, hs floats), 16 columns at a time held in registers across j instead of
 * re-loading dst per j.
 */
function weightedSum(dst: usize, w: usize, wStride: usize, vbase: usize, rowBytes: usize, count: i32, hs: i32, scale: f32, accumulate: bool): void {
  let c = 0;
  for (; c + 16 <= hs; c += 16) {
    const co = <usize>c << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let v = vbase + co;
    for (let j = 0; j < count; j++) {
      const wj = v128.load32_splat(w + <usize>j * wStride);
      a0 = madd(wj, v128.load(v), a0);
      a1 = madd(wj, v128.load(v, 16), a1);
      a2 = madd(wj, v128.load(v, 32), a2);
      a3 = madd(wj, v128.load(v, 48), a3);
      v += rowBytes;
    }
    const sv = f32x4.splat(scale);
    const d = dst + co;
    if (accumulate) {
      v128.store(d, madd(a0, sv, v128.load(d)));
      v128.store(d, madd(a1, sv, v128.load(d, 16)), 16);
      v128.store(d, madd(a2, sv, v128.load(d, 32)), 32);
      v128.store(d, madd(a3, sv, v128.load(d, 48)), 48);
    } else {
      v128.store(d, f32x4.mul(a0, sv));
      v128.store(d, f32x4.mul(a1, sv), 16);
      v128.store(d, f32x4.mul(a2, sv), 32);
      v128.store(d, f32x4.mul(a3, sv), 48);
    }
  }
  for (; c + 4 <= hs; c += 4) {
    const co = <usize>c << 2;
    let a0 = f32x4.splat(0);
    let v = vbase + co;
    for (let j = 0; j < count; j++) {
      a0 = madd(v128.load32_splat(w + <usize>j * wStride), v128.load(v), a0);
      v += rowBytes;
    }
    const d = dst + co;
    const r = f32x4.mul(a0, f32x4.splat(scale));
    v128.store(d, accumulate ? f32x4.add(r, v128.load(d)) : r);
  }
  for (; c < hs; c++) {
    const co = <usize>c << 2;
    let a: f32 = 0;
    for (let j = 0; j < count; j++) a += load<f32>(w + <usize>j * wStride) * load<f32>(vbase + <usize>j * rowBytes + co);
    store<f32>(dst + co, a * scale + (accumulate ? load<f32>(dst + co) : 0));
  }
}

/**
 * Causal attention forward for one (batch, head) pair bh = b * NH + h.
 * qkv (B, T, 3C) = q | k | v; out (B, T, C) columns h*HS..; att (B, NH, T, T) the probabilities.
 */
export function attention_fwd(out: usize, att: usize, qkv: usize, t: i32, c: i32, nh: i32, scale: f32, bh: i32): void {
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c3 = <usize>c * 3;
  const base = qkv + ((<usize>b * t * c3 + <usize>h * hs) << 2);
  const kOff = <usize>c << 2, vOff = <usize>c << 3;
  const rowQKV = c3 << 2;
  for (let i = 0; i < t; i++) {
    const q = base + <usize>i * rowQKV;
    const arow = att + ((<usize>bh * t + i) * <usize>t << 2);
    // scores for keys 0..i (later keys are masked: the future is not visible)
    scores(arow, q, base + kOff, rowQKV, i + 1, hs, scale);
    const mx = rowMax(arow, i + 1);
    const sum = rowExpShift(arow, arow, i + 1, mx);
    rowScale(arow, arow, i + 1, 1 / sum);
    for (let j = i + 1; j < t; j++) store<f32>(arow + (<usize>j << 2), 0);
    // out_i = sum_j att_ij v_j
    weightedSum(out + (((<usize>b * t + i) * c + <usize>h * hs) << 2), arow, 4, base + vOff, rowQKV, i + 1, hs, 1, false);
  }
}

/**
 * Backward of attention_fwd for one (batch, head); accumulates into dqkv (B, T, 3C).
 * datt (B, NH, T, T) is scratch: it ends holding d(scores) before the scale.
 * Two passes so every gradient row is summed in registers: by query row (da, ds, dq), then by
 * key row (dk, dv: column j of att / ds weights rows i >= j).
 */
export function attention_bwd(dqkv: usize, datt: usize, dout: usize, qkv: usize, att: usize, t: i32, c: i32, nh: i32, scale: f32, bh: i32): void {
  const b = bh / nh, h = bh % nh;
  const hs = c / nh;
  const c3 = <usize>c * 3;
  const off = (<usize>b * t * c3 + <usize>h * hs) << 2;
  const base = qkv + off, dbase = dqkv + off;
  const kOff = <usize>c << 2, vOff = <usize>c << 3;
  const rowQKV = c3 << 2;
  const rowOut = <usize>c << 2;
  const dbaseOut = dout + (((<usize>b * t) * c + <usize>h * hs) << 2);
  const attBase = att + ((<usize>bh * t * <usize>t) << 2);
  const dattBase = datt + ((<usize>bh * t * <usize>t) << 2);
  const rowAtt = <usize>t << 2;
  for (let i = 0; i < t; i++) {
    const arow = attBase + <usize>i * rowAtt;
    const drow = dattBase + <usize>i * rowAtt;
    const d = dbaseOut + <usize>i * rowOut;
    // out_i = sum_j a_ij v_j  =>  da_ij = dout_i . v_j
    scores(drow, d, base + vOff, rowQKV, i + 1, hs, 1);
    // softmax backward: ds_ij = a_ij (da_ij - sum_k a_ik da_ik)
    const s = dot(arow, drow, i + 1);
    let j = 0;
    const sv = f32x4.splat(s);
    for (; j + 4 <= i + 1; j += 4) {
      const o = <usize>j << 2;
      v128.store(drow + o, f32x4.mul(v128.load(arow + o), f32x4.sub(v128.load(drow + o), sv)));
    }
    for (; j <= i; j++) {
      const o = <usize>j << 2;
      store<f32>(drow + o, load<f32>(arow + o) * (load<f32>(drow + o) - s));
    }
    for (j = i + 1; j < t; j++) store<f32>(drow + (<usize>j << 2), 0);
    // s_ij = scale q_i . k_j  =>  dq_i += scale sum_j ds_ij k_j
    weightedSum(dbase + <usize>i * rowQKV, drow, 4, base + kOff, rowQKV, i + 1, hs, scale, true);
  }
  for (let j = 0; j < t; j++) {
    const count = t - j;
    // dv_j += sum_{i >= j} a_ij dout_i;  dk_j += scale sum_{i >= j} ds_ij q_i
    const col = <usize>j * rowAtt + (<usize>j << 2);
    weightedSum(dbase + <usize>j * rowQKV + vOff, attBase + col, rowAtt, dbaseOut + <usize>j * rowOut, rowOut, count, hs, 1, true);
    weightedSum(dbase + <usize>j * rowQKV + kOff, dattBase + col, rowAtt, base + <usize>j * rowQKV, rowQKV, count, hs, scale, true);
  }
}
