// Matrix multiply, XNNPACK style: B is packed into panels of NR = 8 columns (a narrow panel of
// 4 for an odd last few columns, e.g. N = 65), and a 4x8 register tile of C (8 f32x4
// accumulators) walks K. A is read in place through two strides; a transposed A (the
// weight-gradient case) is first packed into 4-row tiles (pack_a_tile) so each k reads 16 bytes.
// Not here: threading policy (the matmul job, chunks.ts) or any JavaScript-side allocation.
//
// Why 4x8: V8 keeps ~15 SIMD registers; 8 accumulators + 2 B vectors + 1 A broadcast (+1
// temporary without FMA) fit, bigger tiles spill.

import { A_PACKED, A_ROWS } from './abi';
import { madd } from './simd';

/** K block: a (KC x N) slice of packed B stays in L2 while the 4-row tiles of A stream. */
const KC: i32 = 256;
/** N block (multiple of 8): KC x NC floats of packed B = 128 KiB, well inside L2. */
const NC: i32 = 128;

/** Number of f32 columns the packed form of an N-column B occupies (8-wide panels, 4-wide tail). */
export function packed_width(n: i32): i32 {
  const full = n & ~7;
  const rem = n & 7;
  return full + (rem == 0 ? 0 : rem <= 4 ? 4 : 8);
}

/** Number of panels (8-wide, plus one narrow or wide tail panel) of an N-column B. */
export function panel_count(n: i32): i32 {
  return (n + 7) >> 3;
}

/**
 * Packs 4-row tile `it` of a transposed A (stored (K, M): row i of op(A) is column i) into dst,
 * k-major, 4 floats per k, zero padded past M. Read in place, a transposed A costs the 4x8
 * kernel one cache line per k (4 floats used); packed, the tile is one contiguous 16*K bytes.
 */
export function pack_a_tile(dst: usize, a: usize, m: i32, k: i32, it: i32): void {
  const i0 = it << 2;
  const rows = m - i0 < 4 ? m - i0 : 4;
  let d = dst + <usize>it * (<usize>k << 4);
  let s = a + (<usize>i0 << 2);
  const step = <usize>m << 2;
  if (rows == 4) {
    for (let kk = 0; kk < k; kk++) {
      v128.store(d, v128.load(s));
      d += 16;
      s += step;
    }
    return;
  }
  for (let kk = 0; kk < k; kk++) {
    for (let r = 0; r < 4; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(s + (<usize>r << 2)) : 0);
    d += 16;
    s += step;
  }
}

/**
 * Stores the transpose of the 4x4 block with rows a, b, c, d as four packed rows 32 bytes apart
 * (column q of the block = row q of the output).
 */
// @ts-expect-error: decorator
@inline function transpose4Store(d: usize, a: v128, b: v128, c: v128, e: v128): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = i32x4.shuffle(c, e, 0, 4, 1, 5); // c0 e0 c1 e1
  const t3 = i32x4.shuffle(c, e, 2, 6, 3, 7); // c2 e2 c3 e3
  v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(d, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
  v128.store(d, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
  v128.store(d, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
}

/**
 * Packs panel p of B (K x N, element (k, j) at b[k*sk + j*sn]) into dst, which is the start of
 * the packed matrix: panel p lives at column offset 8p, rows k-major, `w` (8 or 4) floats per
 * row, zero padded past N.
 */
export function pack_b_panel(dst: usize, b: usize, k: i32, n: i32, sk: i32, sn: i32, p: i32): void {
  const j0 = p << 3;
  const left = n - j0;
  const w = left >= 8 || (left & 7) > 4 ? 8 : 4;
  const cols = left < w ? left : w;
  let d = dst + ((<usize>k * <usize>j0) << 2);
  if (sn == 1 && cols == 8) {
    // NN: each packed row is 8 contiguous floats of B
    let s = b + (<usize>j0 << 2);
    const step = <usize>sk << 2;
    for (let kk = 0; kk < k; kk++) {
      v128.store(d, v128.load(s));
      v128.store(d, v128.load(s, 16), 16);
      s += step;
      d += 32;
    }
    return;
  }
  if (sk == 1 && cols == 8) {
    // NT (a Linear weight (N, K)): 8 weight rows, 4 k at a time, two 4x4 transposes
    const rb = <usize>sn << 2;
    const r0 = b + ((<usize>j0 * <usize>sn) << 2);
    let kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      const s = r0 + (<usize>kk << 2);
      transpose4Store(d, v128.load(s), v128.load(s + rb), v128.load(s + rb * 2), v128.load(s + rb * 3));
      const s4 = s + rb * 4;
      transpose4Store(d + 16, v128.load(s4), v128.load(s4 + rb), v128.load(s4 + rb * 2), v128.load(s4 + rb * 3));
      d += 128;
    }
    for (; kk < k; kk++) {
      const s = r0 + (<usize>kk << 2);
      for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + <usize>j * rb));
      d += 32;
    }
    return;
  }
  // general gather (the narrow tail panel of NT, odd layouts)
  for (let kk = 0; kk < k; kk++) {
    const s = b + ((<usize>kk * <usize>sk + <usize>j0 * <usize>sn) << 2);
    let j = 0;
    for (; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + ((<usize>j * <usize>sn) << 2)));
    for (; j < w; j++) store<f32>(d + (<usize>j << 2), 0);
    d += <usize>w << 2;
  }
}

// @ts-expect-error: decorator
@inline function storeRow8(c: usize, v0: v128, v1: v128, nr: i32, acc: bool): void {
  if (nr == 8) {
    if (acc) {
      v0 = f32x4.add(v0, v128.load(c));
      v1 = f32x4.add(v1, v128.load(c, 16));
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
    return;
  }
  if (nr >= 4) {
    if (acc) v0 = f32x4.add(v0, v128.load(c));
    v128.store(c, v0);
    storePartial(c + 16, v1, nr - 4, acc);
  } else {
    storePartial(c, v0, nr, acc);
  }
}

// @ts-expect-error: decorator
@inline function storePartial(c: usize, v: v128, n: i32, acc: bool): void {
  if (n == 4) {
    if (acc) v = f32x4.add(v, v128.load(c));
    v128.store(c, v);
    return;
  }
  if (n > 0) store<f32>(c, f32x4.extract_lane(v, 0) + (acc ? load<f32>(c) : 0));
  if (n > 1) store<f32>(c, f32x4.extract_lane(v, 1) + (acc ? load<f32>(c, 4) : 0), 4);
  if (n > 2) store<f32>(c, f32x4.extract_lane(v, 2) + (acc ? load<f32>(c, 8) : 0), 8);
}

/**
 * C (4 x nr) (+)= A (4 x kc) @ Bp (kc x 8); A element (i, k) at a + i*ars + k*aks (bytes),
 * Bp packed 8 floats per k; C row stride ldc bytes; nr <= 8 columns are stored.
 */
function kernel_4x8(a: usize, ars: usize, aks: usize, bp: usize, kc: i32, c: usize, ldc: usize, nr: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const a1o = ars, a2o = ars * 2, a3o = ars * 3;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + a1o);
    const a2 = v128.load32_splat(a + a2o);
    const a3 = v128.load32_splat(a + a3o);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
    a += aks;
    bp += 32;
  }
  storeRow8(c, c00, c01, nr, acc);
  storeRow8(c + ldc, c10, c11, nr, acc);
  storeRow8(c + ldc * 2, c20, c21, nr, acc);
  storeRow8(c + ldc * 3, c30, c31, nr, acc);
}

/** 1 x 8 twin of kernel_4x8 for the last M % 4 rows. */
function kernel_1x8(a: usize, aks: usize, bp: usize, kc: i32, c: usize, nr: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let d00 = f32x4.splat(0), d01 = f32x4.splat(0);
  let k = 0;
  // two independent accumulator pairs hide the add latency
  for (; k + 1 < kc; k += 2) {
    const a0 = v128.load32_splat(a);
    const a1 = v128.load32_splat(a + aks);
    c00 = madd(a0, v128.load(bp), c00);
    c01 = madd(a0, v128.load(bp, 16), c01);
    d00 = madd(a1, v128.load(bp, 32), d00);
    d01 = madd(a1, v128.load(bp, 48), d01);
    a += aks * 2;
    bp += 64;
  }
  if (k < kc) {
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, v128.load(bp), c00);
    c01 = madd(a0, v128.load(bp, 16), c01);
  }
  storeRow8(c, f32x4.add(c00, d00), f32x4.add(c01, d01), nr, acc);
}

/** 4 x 4 kernel over a narrow (4-wide) panel. */
function kernel_4x4(a: usize, ars: usize, aks: usize, bp: usize, kc: i32, c: usize, ldc: usize, nr: i32, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  const a1o = ars, a2o = ars * 2, a3o = ars * 3;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    c0 = madd(v128.load32_splat(a), b0, c0);
    c1 = madd(v128.load32_splat(a + a1o), b0, c1);
    c2 = madd(v128.load32_splat(a + a2o), b0, c2);
    c3 = madd(v128.load32_splat(a + a3o), b0, c3);
    a += aks;
    bp += 16;
  }
  storePartial(c, c0, nr, acc);
  storePartial(c + ldc, c1, nr, acc);
  storePartial(c + ldc * 2, c2, nr, acc);
  storePartial(c + ldc * 3, c3, nr, acc);
}

/** 1 x 4 kernel: last rows of the narrow panel. */
function kernel_1x4(a: usize, aks: usize, bp: usize, kc: i32, c: usize, nr: i32, acc: bool): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    c0 = madd(v128.load32_splat(a), v128.load(bp), c0);
    a += aks;
    bp += 16;
  }
  storePartial(c, c0, nr, acc);
}

/**
 * Rows [r0, r1) and panels [q0, q1) (8 columns each) of one product: C (M x N) (+)= op(A)
 * (M x K) @ Bp, Bp packed by pack_b_panel. aLayout: A_ROWS (M, K) row-major; A_TRANS (K, M)
 * read in place; A_PACKED 4-row tiles from pack_a_tile. r0 is a multiple of 4; q1 = -1 means
 * every panel. accumulate: add into C instead of overwriting.
 */
export function matmul_rows(c: usize, a: usize, bp: usize, m: i32, k: i32, n: i32, aLayout: i32, accumulate: bool, r0: i32, r1: i32, q0: i32, q1: i32): void {
  const packed = aLayout == A_PACKED;
  const ars: usize = aLayout == A_ROWS ? <usize>k << 2 : 4;
  const aks: usize = aLayout == A_ROWS ? 4 : packed ? 16 : <usize>m << 2;
  // packed A: 4-row tiles of k*4 floats, one after another
  const tileBytes: usize = <usize>k << 4;
  const ldc: usize = <usize>n << 2;
  const npanels = q1 < 0 ? (n + 7) >> 3 : q1;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = k - k0 < KC ? k - k0 : KC;
    const acc = accumulate || k0 > 0;
    // N block: NC columns of packed B (kc x NC) stay in L2 while every row tile passes over them
    for (let p0 = q0; p0 < npanels; p0 += NC >> 3) {
      const p1 = p0 + (NC >> 3) < npanels ? p0 + (NC >> 3) : npanels;
      if (!packed) {
        gemm_block(c, ldc, a, ars, aks, bp, k, k0, kc, n, r0, r1, p0, p1, acc);
        continue;
      }
      // a packed tile is its own little A (rows 4 bytes apart, k 16 bytes apart)
      for (let i = r0; i < r1; i += 4) {
        const rows = r1 - i < 4 ? r1 - i : 4;
        gemm_block(c + <usize>i * ldc, ldc, a + <usize>(i >> 2) * tileBytes, 4, 16, bp, k, k0, kc, n, 0, rows, p0, p1, acc);
      }
    }
  }
}

/**
 * One block of a product with explicit strides, for operands that live inside bigger rows
 * (attention's per-head Q, K, V): C rows [r0, r1), panels [q0, q1) (+)= A @ Bp over k in
 * [k0, k0 + kc). A element (i, k) at a + i*ars + k*aks (bytes); Bp packed by pack_b_panel from
 * a B of kFull rows and n columns; C element (i, j) at c + i*ldc + j*4. r0 need not be a
 * multiple of 4: 4-row tiles from r0, then single rows.
 */
export function gemm_block(c: usize, ldc: usize, a: usize, ars: usize, aks: usize, bp: usize, kFull: i32, k0: i32, kc: i32, n: i32, r0: i32, r1: i32, q0: i32, q1: i32, acc: bool): void {
  const nfull = n >> 3;
  const rem = n & 7;
  const narrow = rem != 0 && rem <= 4;
  const aK = a + <usize>k0 * aks;
  let i = r0;
  for (; i + 4 <= r1; i += 4) {
    const ai = aK + <usize>i * ars;
    const ci = c + <usize>i * ldc;
    for (let p = q0; p < q1; p++) {
      const j0 = p << 3;
      const nr = n - j0 < 8 ? n - j0 : 8;
      if (narrow && p == nfull) {
        kernel_4x4(ai, ars, aks, bp + ((<usize>kFull * <usize>j0 + <usize>k0 * 4) << 2), kc, ci + (<usize>j0 << 2), ldc, nr, acc);
      } else {
        kernel_4x8(ai, ars, aks, bp + ((<usize>kFull * <usize>j0 + <usize>k0 * 8) << 2), kc, ci + (<usize>j0 << 2), ldc, nr, acc);
      }
    }
  }
  for (; i < r1; i++) {
    const ai = aK + <usize>i * ars;
    const ci = c + <usize>i * ldc;
    for (let p = q0; p < q1; p++) {
      const j0 = p << 3;
      const nr = n - j0 < 8 ? n - j0 : 8;
      if (narrow && p == nfull) {
        kernel_1x4(ai, aks, bp + ((<usize>kFull * <usize>j0 + <usize>k0 * 4) << 2), kc, ci + (<usize>j0 << 2), nr, acc);
      } else {
        kernel_1x8(ai, aks, bp + ((<usize>kFull * <usize>j0 + <usize>k0 * 8) << 2), kc, ci + (<usize>j0 << 2), nr, acc);
      }
    }
  }
}

/** Packs all panels of B (kFull x n, element (k, j) at b[k*sk + j*sn]) into dst. */
export function pack_b(dst: usize, b: usize, kFull: i32, n: i32, sk: i32, sn: i32): void {
  const np = (n + 7) >> 3;
  for (let p = 0; p < np; p++) pack_b_panel(dst, b, kFull, n, sk, sn, p);
}

/**
 * Few rows (m < 4) against a Linear weight (transB: B stored (N, K)): each output is a dot of two
 * contiguous K-vectors, so no packing - the weight streams once (sampling with a KV cache).
 * Four weight rows at a time keep four independent FMA chains in flight.
 */
export function gemv_nt(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  const rowB: usize = <usize>k << 2;
  const k4 = k & ~3;
  for (let i = 0; i < m; i++) {
    const ai = a + <usize>i * rowB;
    const ci = c + ((<usize>i * <usize>n) << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + <usize>j * rowB;
      const b1 = b0 + rowB, b2 = b1 + rowB, b3 = b2 + rowB;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let kk = 0; kk < k4; kk += 4) {
        const o = <usize>kk << 2;
        const av = v128.load(ai + o);
        s0 = madd(av, v128.load(b0 + o), s0);
        s1 = madd(av, v128.load(b1 + o), s1);
        s2 = madd(av, v128.load(b2 + o), s2);
        s3 = madd(av, v128.load(b3 + o), s3);
      }
      // transpose-add: lanes of the result are the four dot products
      const t0 = f32x4.add(i32x4.shuffle(s0, s1, 0, 1, 4, 5), i32x4.shuffle(s0, s1, 2, 3, 6, 7));
      const t1 = f32x4.add(i32x4.shuffle(s2, s3, 0, 1, 4, 5), i32x4.shuffle(s2, s3, 2, 3, 6, 7));
      let r = f32x4.add(i32x4.shuffle(t0, t1, 0, 2, 4, 6), i32x4.shuffle(t0, t1, 1, 3, 5, 7));
      for (let kk = k4; kk < k; kk++) {
        const o = <usize>kk << 2;
        const x = load<f32>(ai + o);
        let t = f32x4.splat(0);
        t = f32x4.replace_lane(t, 0, x * load<f32>(b0 + o));
        t = f32x4.replace_lane(t, 1, x * load<f32>(b1 + o));
        t = f32x4.replace_lane(t, 2, x * load<f32>(b2 + o));
        t = f32x4.replace_lane(t, 3, x * load<f32>(b3 + o));
        r = f32x4.add(r, t);
      }
      const cp = ci + (<usize>j << 2);
      v128.store(cp, accumulate ? f32x4.add(r, v128.load(cp)) : r);
    }
    for (; j < n; j++) {
      const bj = b + <usize>j * rowB;
      let s: f32 = 0;
      for (let kk = 0; kk < k; kk++) s += load<f32>(ai + (<usize>kk << 2)) * load<f32>(bj + (<usize>kk << 2));
      const cp = ci + (<usize>j << 2);
      store<f32>(cp, accumulate ? load<f32>(cp) + s : s);
    }
  }
}

/**
 * The scalar twin and definition: C (+)= op(A) @ op(B) for one product, naive i-j-k loops in
 * f32 with element strides. Used by the tests and as a reference for the tiled path.
 */
export function matmul_scalar(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32, transA: bool, transB: bool, accumulate: bool): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      for (let kk = 0; kk < k; kk++) {
        const av = load<f32>(a + ((transA ? <usize>kk * m + i : <usize>i * k + kk) << 2));
        const bv = load<f32>(b + ((transB ? <usize>j * k + kk : <usize>kk * n + j) << 2));
        s += av * bv;
      }
      const cp = c + ((<usize>i * n + j) << 2);
      store<f32>(cp, accumulate ? load<f32>(cp) + s : s);
    }
  }
}
