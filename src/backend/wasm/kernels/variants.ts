// The kernels of the architecture variants (GPTConfig's speedrun options): RMSNorm, QK-norm and
// rotary position embeddings on packed q|k|v rows, SwiGLU. Row ranges [r0, r1) (and column
// ranges for RMSNorm's weight gradient) let a job (job-table.mjs) split the work across
// threads; nothing here allocates. The ref backend (ref-backend.ts) is their definition.
// Not here: LayerNorm, attention (layers.ts) or the plain elementwise ops (elementwise.ts).

import { loadTail, storeTail } from './elementwise';
import { exp4, hsum, madd } from './simd';

/** sum of x[j]^2, j < n */
// @ts-expect-error: decorator
@inline function sumSq(x: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    acc = madd(v, v, acc);
  }
  let s = hsum(acc);
  for (; j < n; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    s += v * v;
  }
  return s;
}

/** y[j] = x[j] * s * (w ? w[j] : 1), j < n */
// @ts-expect-error: decorator
@inline function scaleRow(y: usize, x: usize, w: usize, s: f32, n: i32): void {
  const sv = f32x4.splat(s);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const v = f32x4.mul(v128.load(x + o), sv);
    v128.store(y + o, w ? f32x4.mul(v, v128.load(w + o)) : v);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(x + o) * s * (w ? load<f32>(w + o) : 1));
  }
}

/** y[j] += x[j], j < n */
// @ts-expect-error: decorator
@inline function addRow(y: usize, x: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(x + o)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o));
  }
}

// ---- RMSNorm ----

/** out (N, C) = x * rstd * w for rows [r0, r1), rstd = 1 / sqrt(mean(x^2) + eps) saved (N). */
export function rmsnorm_fwd(out: usize, rstdp: usize, x: usize, w: usize, c: i32, eps: f32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * c) << 2;
    const rstd: f32 = 1 / Mathf.sqrt(sumSq(x + ro, c) / <f32>c + eps);
    store<f32>(rstdp + (<usize>r << 2), rstd);
    scaleRow(out + ro, x + ro, w, rstd, c);
  }
}

/**
 * RMSNorm backward, dx part, rows [r0, r1): norm = x rstd, dnorm = w dout,
 * dx += rstd (dnorm - norm * mean(dnorm * norm)). dw is rmsnorm_bwd_dw's (by columns).
 */
export function rmsnorm_bwd_dx(dx: usize, dout: usize, x: usize, w: usize, rstdp: usize, c: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * c) << 2;
    const rstd = load<f32>(rstdp + (<usize>r << 2));
    const rv = f32x4.splat(rstd);
    // pass 1: mean(dnorm * norm)
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const dn = f32x4.mul(v128.load(w + o), v128.load(dout + ro + o));
      acc = madd(dn, f32x4.mul(v128.load(x + ro + o), rv), acc);
    }
    let s = hsum(acc);
    for (; j < c; j++) {
      const o = <usize>j << 2;
      s += load<f32>(w + o) * load<f32>(dout + ro + o) * load<f32>(x + ro + o) * rstd;
    }
    const m = s / <f32>c;
    const mv = f32x4.splat(m);
    // pass 2: accumulate
    for (j = 0; j + 4 <= c; j += 4) {
      const o = <usize>j << 2;
      const dn = f32x4.mul(v128.load(w + o), v128.load(dout + ro + o));
      const t = f32x4.sub(dn, f32x4.mul(f32x4.mul(v128.load(x + ro + o), rv), mv));
      v128.store(dx + ro + o, madd(t, rv, v128.load(dx + ro + o)));
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      const dn = load<f32>(w + o) * load<f32>(dout + ro + o);
      store<f32>(dx + ro + o, load<f32>(dx + ro + o) + (dn - load<f32>(x + ro + o) * rstd * m) * rstd);
    }
  }
}

/**
 * RMSNorm backward, weight part: dw[j] += sum_r x[r, j] rstd[r] dout[r, j] for columns
 * [j0, j1) over all n rows, in row order (the same sums however the columns are split).
 */
export function rmsnorm_bwd_dw(dw: usize, dout: usize, x: usize, rstdp: usize, c: i32, n: i32, j0: i32, j1: i32): void {
  const rowBytes = <usize>c << 2;
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    const jo = <usize>j << 2;
    let acc = v128.load(dw + jo);
    let px = x + jo, pd = dout + jo;
    for (let r = 0; r < n; r++) {
      const rv = v128.load32_splat(rstdp + (<usize>r << 2));
      acc = madd(f32x4.mul(v128.load(px), rv), v128.load(pd), acc);
      px += rowBytes;
      pd += rowBytes;
    }
    v128.store(dw + jo, acc);
  }
  for (; j < j1; j++) {
    const jo = <usize>j << 2;
    let s = load<f32>(dw + jo);
    for (let r = 0; r < n; r++) {
      const ro = <usize>r * rowBytes + jo;
      s += load<f32>(x + ro) * load<f32>(rstdp + (<usize>r << 2)) * load<f32>(dout + ro);
    }
    store<f32>(dw + jo, s);
  }
}

// ---- QK-norm: rows of packed q|k|v (3C), the first 2C being 2 NH heads of HS ----

/** out = qkv with each query and key head divided by its RMS, rows [r0, r1); rstd (N, 2 NH). */
export function qknorm_fwd(out: usize, rstdp: usize, qkv: usize, c: i32, nh: i32, eps: f32, r0: i32, r1: i32): void {
  const hs = c / nh;
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * 3 * c) << 2;
    for (let h = 0; h < 2 * nh; h++) {
      const o = ro + ((<usize>h * hs) << 2);
      const rstd: f32 = 1 / Mathf.sqrt(sumSq(qkv + o, hs) / <f32>hs + eps);
      store<f32>(rstdp + ((<usize>r * 2 * nh + h) << 2), rstd);
      scaleRow(out + o, qkv + o, 0, rstd, hs);
    }
    const v = ro + ((<usize>2 * c) << 2);
    memory.copy(out + v, qkv + v, <usize>c << 2);
  }
}

/** dqkv += per head rstd (dout - y mean(dout y)), y = out of the forward; v: dqkv += dout. */
export function qknorm_bwd(dqkv: usize, dout: usize, out: usize, rstdp: usize, c: i32, nh: i32, r0: i32, r1: i32): void {
  const hs = c / nh;
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * 3 * c) << 2;
    for (let h = 0; h < 2 * nh; h++) {
      const o = ro + ((<usize>h * hs) << 2);
      const rstd = load<f32>(rstdp + ((<usize>r * 2 * nh + h) << 2));
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= hs; j += 4) {
        const jo = o + (<usize>j << 2);
        acc = madd(v128.load(dout + jo), v128.load(out + jo), acc);
      }
      let s = hsum(acc);
      for (; j < hs; j++) {
        const jo = o + (<usize>j << 2);
        s += load<f32>(dout + jo) * load<f32>(out + jo);
      }
      const m = s / <f32>hs;
      const mv = f32x4.splat(m), rv = f32x4.splat(rstd);
      for (j = 0; j + 4 <= hs; j += 4) {
        const jo = o + (<usize>j << 2);
        const t = f32x4.sub(v128.load(dout + jo), f32x4.mul(v128.load(out + jo), mv));
        v128.store(dqkv + jo, madd(t, rv, v128.load(dqkv + jo)));
      }
      for (; j < hs; j++) {
        const jo = o + (<usize>j << 2);
        store<f32>(dqkv + jo, load<f32>(dqkv + jo) + (load<f32>(dout + jo) - load<f32>(out + jo) * m) * rstd);
      }
    }
    const v = ro + ((<usize>2 * c) << 2);
    addRow(dqkv + v, dout + v, c);
  }
}

// ---- rotary position embeddings on packed q|k|v ----

/**
 * Rotates the pairs (x[i], x[i + half]) of one head by the angles of one position:
 * (x1 cos - x2 sin, x2 cos + x1 sin); sign -1 rotates back (the backward), and acc adds the
 * result to y instead of storing it.
 */
// @ts-expect-error: decorator
@inline function rotate(y: usize, x: usize, cosp: usize, sinp: usize, half: i32, sign: f32, acc: bool): void {
  const sg = f32x4.splat(sign);
  let i = 0;
  for (; i < half; i += 4) {
    const o = <usize>i << 2;
    const ho = <usize>(i + half) << 2;
    const cnt = half - i;
    const full = cnt >= 4;
    const x1 = full ? v128.load(x + o) : loadTail(x + o, cnt);
    const x2 = full ? v128.load(x + ho) : loadTail(x + ho, cnt);
    const co = full ? v128.load(cosp + o) : loadTail(cosp + o, cnt);
    const si = f32x4.mul(full ? v128.load(sinp + o) : loadTail(sinp + o, cnt), sg);
    let y1 = f32x4.sub(f32x4.mul(x1, co), f32x4.mul(x2, si));
    let y2 = madd(x1, si, f32x4.mul(x2, co));
    if (acc) {
      y1 = f32x4.add(y1, full ? v128.load(y + o) : loadTail(y + o, cnt));
      y2 = f32x4.add(y2, full ? v128.load(y + ho) : loadTail(y + ho, cnt));
    }
    if (full) {
      v128.store(y + o, y1);
      v128.store(y + ho, y2);
    } else {
      storeTail(y + o, y1, cnt);
      storeTail(y + ho, y2, cnt);
    }
  }
}

/**
 * out (B*T, 3C) = qkv with each query and key head rotated by position pos0 + r % t, rows
 * [r0, r1); cos, sin (maxT, HS/2); v copied.
 */
export function rope_fwd(out: usize, qkv: usize, cosp: usize, sinp: usize, t: i32, c: i32, nh: i32, pos0: i32, r0: i32, r1: i32): void {
  const hs = c / nh;
  const half = hs >> 1;
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * 3 * c) << 2;
    const tab = (<usize>(pos0 + r % t) * half) << 2;
    for (let h = 0; h < 2 * nh; h++) {
      const o = ro + ((<usize>h * hs) << 2);
      rotate(out + o, qkv + o, cosp + tab, sinp + tab, half, 1, false);
    }
    const v = ro + ((<usize>2 * c) << 2);
    memory.copy(out + v, qkv + v, <usize>c << 2);
  }
}

/** dqkv += the inverse rotation of dout, rows [r0, r1); v: dqkv += dout. */
export function rope_bwd(dqkv: usize, dout: usize, cosp: usize, sinp: usize, t: i32, c: i32, nh: i32, pos0: i32, r0: i32, r1: i32): void {
  const hs = c / nh;
  const half = hs >> 1;
  for (let r = r0; r < r1; r++) {
    const ro = (<usize>r * 3 * c) << 2;
    const tab = (<usize>(pos0 + r % t) * half) << 2;
    for (let h = 0; h < 2 * nh; h++) {
      const o = ro + ((<usize>h * hs) << 2);
      rotate(dqkv + o, dout + o, cosp + tab, sinp + tab, half, -1, true);
    }
    const v = ro + ((<usize>2 * c) << 2);
    addRow(dqkv + v, dout + v, c);
  }
}

// ---- SwiGLU ----

/** s = sigmoid(a) = 1 / (1 + exp(-a)) on four lanes */
// @ts-expect-error: decorator
@inline function sigmoid4(a: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(a))));
}

/** out (N, H) = silu(a) * g, h (N, 2H) = a | g, rows [r0, r1). */
export function swiglu_fwd(out: usize, h: usize, hidden: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const ho = (<usize>r * 2 * hidden) << 2;
    const go = ho + (<usize>hidden << 2);
    const oo = (<usize>r * hidden) << 2;
    for (let j = 0; j < hidden; j += 4) {
      const o = <usize>j << 2;
      const cnt = hidden - j;
      const full = cnt >= 4;
      const a = full ? v128.load(h + ho + o) : loadTail(h + ho + o, cnt);
      const g = full ? v128.load(h + go + o) : loadTail(h + go + o, cnt);
      const y = f32x4.mul(f32x4.mul(a, sigmoid4(a)), g);
      if (full) v128.store(out + oo + o, y);
      else storeTail(out + oo + o, y, cnt);
    }
  }
}

/** dh += (dout g silu'(a) | dout silu(a)), silu'(a) = s (1 + a (1 - s)), rows [r0, r1). */
export function swiglu_bwd(dh: usize, dout: usize, h: usize, hidden: i32, r0: i32, r1: i32): void {
  const one = f32x4.splat(1);
  for (let r = r0; r < r1; r++) {
    const ho = (<usize>r * 2 * hidden) << 2;
    const go = ho + (<usize>hidden << 2);
    const oo = (<usize>r * hidden) << 2;
    for (let j = 0; j < hidden; j += 4) {
      const o = <usize>j << 2;
      const cnt = hidden - j;
      const full = cnt >= 4;
      const a = full ? v128.load(h + ho + o) : loadTail(h + ho + o, cnt);
      const g = full ? v128.load(h + go + o) : loadTail(h + go + o, cnt);
      const d = full ? v128.load(dout + oo + o) : loadTail(dout + oo + o, cnt);
      const s = sigmoid4(a);
      const dsilu = f32x4.mul(s, madd(a, f32x4.sub(one, s), one));
      const da0 = full ? v128.load(dh + ho + o) : loadTail(dh + ho + o, cnt);
      const dg0 = full ? v128.load(dh + go + o) : loadTail(dh + go + o, cnt);
      const da = madd(f32x4.mul(d, g), dsilu, da0);
      const dg = madd(d, f32x4.mul(a, s), dg0);
      if (full) {
        v128.store(dh + ho + o, da);
        v128.store(dh + go + o, dg);
      } else {
        storeTail(dh + ho + o, da, cnt);
        storeTail(dh + go + o, dg, cnt);
      }
    }
  }
}
