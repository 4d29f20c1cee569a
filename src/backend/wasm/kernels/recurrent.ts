// The recurrent cells, fused: one LSTM or GRU step's pointwise work (gate pre-activations in,
// new state out) and its backward, over row ranges [r0, r1) so that a job (job-table.mjs) can
// split the batch across threads. Each row is HS units walked four lanes at a time, the last
// vector padded (loadTail / storeTail). ref/ref-backend.ts is the definition they are tested
// against. Not here: the matmuls around a cell (W_ih x, W_hh h: matmul.ts), the vanilla RNN's
// tanh (an ordinary unary op, elementwise.ts).

import { loadTail, sigmoid4, storeTail, tanh4 } from './elementwise';
import { madd } from './simd';

/** Lanes [0, cnt) of p (all four when cnt >= 4). */
// @ts-expect-error: decorator
@inline function ld(p: usize, cnt: i32): v128 {
  return cnt >= 4 ? v128.load(p) : loadTail(p, cnt);
}

/** Stores lanes [0, cnt) of v at p (all four when cnt >= 4). */
// @ts-expect-error: decorator
@inline function st(p: usize, v: v128, cnt: i32): void {
  if (cnt >= 4) v128.store(p, v);
  else storeTail(p, v, cnt);
}

/** p[0, cnt) += v. */
// @ts-expect-error: decorator
@inline function acc(p: usize, v: v128, cnt: i32): void {
  st(p, f32x4.add(ld(p, cnt), v), cnt);
}

/** s (1 - s): the derivative of a sigmoid from its output. */
// @ts-expect-error: decorator
@inline function dsig(s: v128): v128 {
  return f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
}

/** 1 - t^2: the derivative of tanh from its output. */
// @ts-expect-error: decorator
@inline function dtanh(t: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.mul(t, t));
}

/**
 * LSTM step, rows [r0, r1): h, c, cPrev (N, HS); act, xg, hg (N, 4HS), gates i | f | g | o.
 * gates = xg + hg; i, f, o = sigmoid, g = tanh; c = f cPrev + i g; h = o tanh(c); act = i, f, g, o.
 */
export function lstm_cell_fwd(h: usize, c: usize, act: usize, xg: usize, hg: usize, cPrev: usize, hs: i32, r0: i32, r1: i32): void {
  const gate = <usize>hs << 2; // bytes from one gate of a row to the next
  for (let r = r0; r < r1; r++) {
    const g4 = <usize>r * (gate << 2);
    const o1 = <usize>r * gate;
    // whole vectors with cnt = 4 (the tail tests fold away when inlined), then the tail
    let j = 0;
    for (; j + 4 <= hs; j += 4) lstmFwd4(h, c, act, xg, hg, cPrev, gate, g4 + (<usize>j << 2), o1 + (<usize>j << 2), 4);
    if (j < hs) lstmFwd4(h, c, act, xg, hg, cPrev, gate, g4 + (<usize>j << 2), o1 + (<usize>j << 2), hs - j);
  }
}

/** lstm_cell_fwd at unit offset gi (gates) / u (state), lanes [0, cnt). */
// @ts-expect-error: decorator
@inline function lstmFwd4(
  h: usize, c: usize, act: usize, xg: usize, hg: usize, cPrev: usize, gate: usize, gi: usize, u: usize, cnt: i32,
): void {
  const i = sigmoid4(f32x4.add(ld(xg + gi, cnt), ld(hg + gi, cnt)));
  const f = sigmoid4(f32x4.add(ld(xg + gi + gate, cnt), ld(hg + gi + gate, cnt)));
  const g = tanh4(f32x4.add(ld(xg + gi + 2 * gate, cnt), ld(hg + gi + 2 * gate, cnt)));
  const o = sigmoid4(f32x4.add(ld(xg + gi + 3 * gate, cnt), ld(hg + gi + 3 * gate, cnt)));
  const cn = madd(f, ld(cPrev + u, cnt), f32x4.mul(i, g));
  st(c + u, cn, cnt);
  st(h + u, f32x4.mul(o, tanh4(cn)), cnt);
  st(act + gi, i, cnt);
  st(act + gi + gate, f, cnt);
  st(act + gi + 2 * gate, g, cnt);
  st(act + gi + 3 * gate, o, cnt);
}

/**
 * Backward of lstm_cell_fwd, rows [r0, r1): dxg, dhg += dgates (N, 4HS); dcPrev += dct f, where
 * dct = dc + dh o (1 - tanh(c)^2) is all of c's gradient. A 0 pointer skips that output.
 */
export function lstm_cell_bwd(
  dxg: usize, dhg: usize, dcPrev: usize, dh: usize, dc: usize, act: usize, c: usize, cPrev: usize,
  hs: i32, r0: i32, r1: i32,
): void {
  const gate = <usize>hs << 2;
  for (let r = r0; r < r1; r++) {
    const g4 = <usize>r * (gate << 2);
    const o1 = <usize>r * gate;
    let j = 0;
    for (; j + 4 <= hs; j += 4)
      lstmBwd4(dxg, dhg, dcPrev, dh, dc, act, c, cPrev, gate, g4 + (<usize>j << 2), o1 + (<usize>j << 2), 4);
    if (j < hs)
      lstmBwd4(dxg, dhg, dcPrev, dh, dc, act, c, cPrev, gate, g4 + (<usize>j << 2), o1 + (<usize>j << 2), hs - j);
  }
}

/** lstm_cell_bwd at unit offset gi (gates) / u (state), lanes [0, cnt). */
// @ts-expect-error: decorator
@inline function lstmBwd4(
  dxg: usize, dhg: usize, dcPrev: usize, dh: usize, dc: usize, act: usize, c: usize, cPrev: usize,
  gate: usize, gi: usize, u: usize, cnt: i32,
): void {
  const i = ld(act + gi, cnt);
  const f = ld(act + gi + gate, cnt);
  const g = ld(act + gi + 2 * gate, cnt);
  const o = ld(act + gi + 3 * gate, cnt);
  const tc = tanh4(ld(c + u, cnt));
  const dhv = ld(dh + u, cnt);
  const dct = madd(f32x4.mul(dhv, o), dtanh(tc), ld(dc + u, cnt));
  const dai = f32x4.mul(f32x4.mul(dct, g), dsig(i));
  const daf = f32x4.mul(f32x4.mul(dct, ld(cPrev + u, cnt)), dsig(f));
  const dag = f32x4.mul(f32x4.mul(dct, i), dtanh(g));
  const dao = f32x4.mul(f32x4.mul(dhv, tc), dsig(o));
  if (dxg != 0) {
    acc(dxg + gi, dai, cnt);
    acc(dxg + gi + gate, daf, cnt);
    acc(dxg + gi + 2 * gate, dag, cnt);
    acc(dxg + gi + 3 * gate, dao, cnt);
  }
  if (dhg != 0) {
    acc(dhg + gi, dai, cnt);
    acc(dhg + gi + gate, daf, cnt);
    acc(dhg + gi + 2 * gate, dag, cnt);
    acc(dhg + gi + 3 * gate, dao, cnt);
  }
  if (dcPrev != 0) acc(dcPrev + u, f32x4.mul(dct, f), cnt);
}

/**
 * GRU step, rows [r0, r1): h, hPrev (N, HS); act, xg, hg (N, 3HS), gates r | z | n.
 * r, z = sigmoid(xg + hg); nn = tanh(xg_n + r hg_n); h = (1 - z) nn + z hPrev; act = r, z, nn.
 */
export function gru_cell_fwd(h: usize, act: usize, xg: usize, hg: usize, hPrev: usize, hs: i32, r0: i32, r1: i32): void {
  const gate = <usize>hs << 2;
  for (let r = r0; r < r1; r++) {
    const g3 = <usize>r * gate * 3;
    const o1 = <usize>r * gate;
    let j = 0;
    for (; j + 4 <= hs; j += 4) gruFwd4(h, act, xg, hg, hPrev, gate, g3 + (<usize>j << 2), o1 + (<usize>j << 2), 4);
    if (j < hs) gruFwd4(h, act, xg, hg, hPrev, gate, g3 + (<usize>j << 2), o1 + (<usize>j << 2), hs - j);
  }
}

/** gru_cell_fwd at unit offset gi (gates) / u (state), lanes [0, cnt). */
// @ts-expect-error: decorator
@inline function gruFwd4(
  h: usize, act: usize, xg: usize, hg: usize, hPrev: usize, gate: usize, gi: usize, u: usize, cnt: i32,
): void {
  const rg = sigmoid4(f32x4.add(ld(xg + gi, cnt), ld(hg + gi, cnt)));
  const zg = sigmoid4(f32x4.add(ld(xg + gi + gate, cnt), ld(hg + gi + gate, cnt)));
  const nn = tanh4(madd(rg, ld(hg + gi + 2 * gate, cnt), ld(xg + gi + 2 * gate, cnt)));
  // (1 - z) nn + z hPrev = nn + z (hPrev - nn)
  st(h + u, madd(zg, f32x4.sub(ld(hPrev + u, cnt), nn), nn), cnt);
  st(act + gi, rg, cnt);
  st(act + gi + gate, zg, cnt);
  st(act + gi + 2 * gate, nn, cnt);
}

/**
 * Backward of gru_cell_fwd, rows [r0, r1): dxg, dhg (N, 3HS) and dhPrev (N, HS) accumulate;
 * a 0 pointer skips that output. hg is the forward's (its n part scales r's gradient).
 */
export function gru_cell_bwd(
  dxg: usize, dhg: usize, dhPrev: usize, dh: usize, act: usize, hg: usize, hPrev: usize,
  hs: i32, r0: i32, r1: i32,
): void {
  const gate = <usize>hs << 2;
  for (let r = r0; r < r1; r++) {
    const g3 = <usize>r * gate * 3;
    const o1 = <usize>r * gate;
    let j = 0;
    for (; j + 4 <= hs; j += 4)
      gruBwd4(dxg, dhg, dhPrev, dh, act, hg, hPrev, gate, g3 + (<usize>j << 2), o1 + (<usize>j << 2), 4);
    if (j < hs) gruBwd4(dxg, dhg, dhPrev, dh, act, hg, hPrev, gate, g3 + (<usize>j << 2), o1 + (<usize>j << 2), hs - j);
  }
}

/** gru_cell_bwd at unit offset gi (gates) / u (state), lanes [0, cnt). */
// @ts-expect-error: decorator
@inline function gruBwd4(
  dxg: usize, dhg: usize, dhPrev: usize, dh: usize, act: usize, hg: usize, hPrev: usize,
  gate: usize, gi: usize, u: usize, cnt: i32,
): void {
  const rg = ld(act + gi, cnt);
  const zg = ld(act + gi + gate, cnt);
  const nn = ld(act + gi + 2 * gate, cnt);
  const d = ld(dh + u, cnt);
  const dan = f32x4.mul(f32x4.mul(d, f32x4.sub(f32x4.splat(1), zg)), dtanh(nn));
  const daz = f32x4.mul(f32x4.mul(d, f32x4.sub(ld(hPrev + u, cnt), nn)), dsig(zg));
  const dar = f32x4.mul(f32x4.mul(dan, ld(hg + gi + 2 * gate, cnt)), dsig(rg));
  if (dxg != 0) {
    acc(dxg + gi, dar, cnt);
    acc(dxg + gi + gate, daz, cnt);
    acc(dxg + gi + 2 * gate, dan, cnt);
  }
  if (dhg != 0) {
    acc(dhg + gi, dar, cnt);
    acc(dhg + gi + gate, daz, cnt);
    acc(dhg + gi + 2 * gate, f32x4.mul(dan, rg), cnt);
  }
  if (dhPrev != 0) acc(dhPrev + u, f32x4.mul(d, zg), cnt);
}
