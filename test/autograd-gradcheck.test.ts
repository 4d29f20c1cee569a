// Every differentiable op against central finite differences, in float64 on the ref backend.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { refBackend as be } from '../src/backend/index.js';
import { ropeTables } from '../src/nn/attention.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { gradCheck, randInts, randn } from './helpers.js';

const rng = new Rng(42);

test('matmul (batched, and with a shared right matrix)', () => {
  gradCheck(F.matmul, [randn(be, [2, 3, 4], rng), randn(be, [2, 4, 5], rng)]);
  gradCheck(F.matmul, [randn(be, [2, 3, 4], rng), randn(be, [4, 5], rng)]);
  gradCheck(F.matmul, [randn(be, [2, 2, 3, 4], rng), randn(be, [2, 2, 4, 3], rng)]);
});

test('linear with and without bias', () => {
  gradCheck(F.linear, [randn(be, [2, 3, 4], rng), randn(be, [5, 4], rng), randn(be, [5], rng)]);
  gradCheck((x, w) => F.linear(x, w, null), [randn(be, [3, 4], rng), randn(be, [6, 4], rng)]);
});

test('broadcasting add, sub, mul, div', () => {
  for (const op of [F.add, F.sub, F.mul]) {
    gradCheck(op, [randn(be, [2, 3, 4], rng), randn(be, [2, 3, 4], rng)]);
    gradCheck(op, [randn(be, [2, 3, 4], rng), randn(be, [3, 4], rng)]);
    gradCheck(op, [randn(be, [2, 1, 4], rng), randn(be, [3, 1], rng)]);
  }
  const positive = randn(be, [3, 4], rng);
  for (let i = 0; i < positive.size; i++) positive.data[i] = 1 + Math.abs(positive.data[i]!);
  gradCheck(F.div, [randn(be, [2, 3, 4], rng), positive]);
});

test('scale, sum, mean', () => {
  gradCheck((x) => F.scale(x, -2.5), [randn(be, [3, 4], rng)]);
  gradCheck(F.sum, [randn(be, [3, 4], rng)]);
  gradCheck(F.mean, [randn(be, [2, 3, 4], rng)]);
});

test('unary: gelu (exact and tanh), relu, exp, log, tanh, neg, sqrt', () => {
  for (const op of [F.gelu, F.geluTanh, F.exp, F.tanh, F.neg]) gradCheck(op, [randn(be, [4, 5], rng)]);
  // relu and the roots/logs need inputs away from their kinks and domains
  const x = randn(be, [4, 5], rng);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sign(x.data[i]!) * (0.1 + Math.abs(x.data[i]!));
  gradCheck(F.relu, [x]);
  const pos = randn(be, [4, 5], rng);
  for (let i = 0; i < pos.size; i++) pos.data[i] = 0.5 + Math.abs(pos.data[i]!);
  gradCheck(F.log, [pos]);
  gradCheck(F.sqrt, [pos]);
});

test('reshape, permute, transpose, narrow, split', () => {
  gradCheck((x) => F.reshape(x, [6, -1]), [randn(be, [2, 3, 4], rng)]);
  gradCheck((x) => F.permute(x, [2, 0, 1]), [randn(be, [2, 3, 4], rng)]);
  gradCheck((x) => F.transpose(x, -2, -1), [randn(be, [2, 3, 4], rng)]);
  gradCheck((x) => F.narrow(x, 1, 1, 2), [randn(be, [2, 4, 3], rng)]);
  gradCheck(
    (x) => {
      const [a, b] = F.split(x, [1, 3], -1);
      return F.add(F.sum(F.mul(a!, a!)), F.sum(b!));
    },
    [randn(be, [2, 3, 4], rng)],
  );
});

test('embedding (repeated ids accumulate)', () => {
  const ids = randInts(be, [2, 5], 3, rng);
  gradCheck((t) => F.embedding(t, ids), [randn(be, [3, 4], rng)]);
});

test('layerNorm with and without bias', () => {
  gradCheck(
    (x, w, b) => F.layerNorm(x, w, b),
    [randn(be, [2, 3, 5], rng), randn(be, [5], rng), randn(be, [5], rng)],
  );
  gradCheck((x, w) => F.layerNorm(x, w, null), [randn(be, [4, 6], rng), randn(be, [6], rng)]);
});

test('softmax', () => {
  gradCheck(F.softmax, [randn(be, [3, 7], rng)]);
});

test('causal self-attention (fused) matches its gradient and an unfused composition', () => {
  const qkv = randn(be, [2, 5, 12], rng);
  gradCheck((x) => F.causalSelfAttention(x, 2), [qkv], { maxPerInput: 120 });
  // the fused op equals softmax(mask(q k^T / sqrt(hs))) v built from primitive ops
  const [b, t, c, nh] = [2, 5, 4, 2];
  const hs = c / nh;
  const fused = F.causalSelfAttention(qkv, nh);
  const [q, k, v] = F.split(qkv, [c, c, c], -1).map((z) => F.transpose(F.reshape(z, [b, t, nh, hs]), 1, 2));
  const scores = F.scale(F.matmul(q!, F.transpose(k!, -2, -1)), 1 / Math.sqrt(hs)); // (B, nh, T, T)
  for (let i = 0; i < scores.size; i++) {
    const col = i % t;
    const row = Math.floor(i / t) % t;
    if (col > row) scores.data[i] = -Infinity;
  }
  const y = F.reshape(F.transpose(F.matmul(F.softmax(scores), v!), 1, 2), [b, t, c]);
  for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y.data[i]! - fused.data[i]!) < 1e-12);
});

test('masked attention (cross and self, padding and causal masks) matches its gradient and a composition', () => {
  // q (B, Tq, C) against kv (B, Tk, 2C), nh 2; sequence 1 has its last two keys padded
  const [b, tq, tk, c, nh] = [2, 3, 5, 4, 2];
  const hs = c / nh;
  const pad = tensor(be, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1], [b, tk], 'int32');
  for (const [causal, tqq] of [
    [false, tq],
    [true, tq], // causal with Tq < Tk: the queries are the last Tq positions
    [true, tk],
  ] as const) {
    const q = randn(be, [b, tqq, c], rng);
    const kv = randn(be, [b, tk, 2 * c], rng);
    const mask = { causal, keyPadding: pad };
    gradCheck((x, y) => F.attention(x, y, nh, mask), [q, kv], { maxPerInput: 80 });
    // the op equals softmax(q k^T / sqrt(hs) + mask) v built from primitive ops
    const heads = (z: Tensor, t: number) => F.transpose(F.reshape(z, [b, t, nh, hs]), 1, 2); // (B, nh, T, hs)
    const [k, v] = F.split(kv, [c, c], -1).map((z) => heads(z, tk));
    const scores = F.scale(F.matmul(heads(q, tqq), F.transpose(k!, -2, -1)), 1 / Math.sqrt(hs)); // (B, nh, Tq, Tk)
    for (let i = 0; i < scores.size; i++) {
      const j = i % tk;
      const row = Math.floor(i / tk) % tqq;
      const bb = Math.floor(i / (tk * tqq * nh));
      if ((causal && j > row + tk - tqq) || pad.data[bb * tk + j] !== 0) scores.data[i] = -Infinity;
    }
    const y = F.reshape(F.transpose(F.matmul(F.softmax(scores), v!), 1, 2), [b, tqq, c]);
    const fused = F.attention(q, kv, nh, mask);
    for (let i = 0; i < y.size; i++)
      assert.ok(Math.abs(y.data[i]! - fused.data[i]!) < 1e-12, `causal ${causal} [${i}]`);
  }
});

test('masked attention: a query whose keys are all masked gets zeros and no gradient, never NaN', () => {
  const [b, tq, tk, c] = [2, 3, 4, 6];
  const q = randn(be, [b, tq, c], rng);
  const kv = randn(be, [b, tk, 2 * c], rng);
  const pad = tensor(be, [0, 0, 1, 1, 1, 1, 1, 1], [b, tk], 'int32'); // sequence 1: every key padded
  const y = F.attention(q, kv, 3, { keyPadding: pad });
  const l = F.sum(F.mul(y, randn(be, [b, tq, c], rng)));
  backward(l);
  for (let i = tq * c; i < 2 * tq * c; i++) assert.equal(y.data[i], 0, `out[${i}]`);
  for (const x of [...y.data, ...q.grad!.data, ...kv.grad!.data]) assert.ok(Number.isFinite(x));
  for (let i = tq * c; i < 2 * tq * c; i++) assert.equal(q.grad!.data[i], 0, `dq[${i}]`);
  for (let i = tk * 2 * c; i < 2 * tk * 2 * c; i++) assert.equal(kv.grad!.data[i], 0, `dkv[${i}]`);
  // padded keys of sequence 0 get no gradient either; its visible ones do
  for (let i = 2 * 2 * c; i < 4 * 2 * c; i++) assert.equal(kv.grad!.data[i], 0, `dkv[${i}]`);
  assert.ok(kv.grad!.data.slice(0, 2 * 2 * c).some((g) => g !== 0));
  // causal with fewer keys than queries: the first query sees nothing
  const early = F.attention(randn(be, [1, 3, c], rng), randn(be, [1, 2, 2 * c], rng), 3, { causal: true });
  for (let i = 0; i < c; i++) assert.equal(early.data[i], 0);
  assert.ok(early.data.slice(c).every((x) => Number.isFinite(x) && x !== 0));
  gradCheck((x, z) => F.attention(x, z, 3, { keyPadding: pad }), [q, kv], { maxPerInput: 60 });
});

test('masked attention refuses shapes that do not fit', () => {
  const q = randn(be, [2, 3, 4], rng);
  assert.throws(
    () => F.attention(q, randn(be, [2, 5, 6], rng), 2),
    /kv \(2,5,6\).*need q \(B, Tq, C\) and kv \(B, Tk, 2C\)/,
  );
  assert.throws(() => F.attention(q, randn(be, [2, 5, 8], rng), 3), /C 4 not divisible by nHead 3/);
  const pad = tensor(be, [0, 0, 0], [1, 3], 'int32');
  assert.throws(
    () => F.attention(q, randn(be, [2, 5, 8], rng), 2, { keyPadding: pad }),
    /keyPadding \(1,3\) int32: need \(2, 5\)/,
  );
});

test('dropout: gradient flows through the same mask', () => {
  gradCheck((x) => F.dropout(x, 0.3, 1234, true), [randn(be, [4, 8], rng)]);
  const x = randn(be, [100], rng);
  assert.equal(F.dropout(x, 0.5, 1, false), x, 'eval mode is the identity');
});

test('cross-entropy (fused log-softmax + NLL), with ignored targets', () => {
  const targets = randInts(be, [2, 3], 5, rng);
  gradCheck((l) => F.crossEntropy(l, targets), [randn(be, [2, 3, 5], rng, 'float64', 3)]);
  targets.data[1] = -1;
  gradCheck((l) => F.crossEntropy(l, targets), [randn(be, [2, 3, 5], rng)]);
});

test('gradients accumulate across backward calls; a tensor used twice gets both contributions', () => {
  const x = randn(be, [3], rng);
  const y = F.sum(F.mul(x, x)); // d/dx = 2x
  backward(y);
  const first = Array.from(x.grad!.data);
  backward(F.sum(F.mul(x, x)));
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(first[i]! - 2 * x.data[i]!) < 1e-12);
    assert.ok(Math.abs(x.grad!.data[i]! - 4 * x.data[i]!) < 1e-12);
  }
});

test('a deep chain does not overflow the stack (iterative topological sort)', () => {
  let x = randn(be, [2], rng);
  const leaf = x;
  for (let i = 0; i < 20000; i++) x = F.scale(x, 1);
  backward(F.sum(x));
  assert.deepEqual(Array.from(leaf.grad!.data), [1, 1]);
});

// ---- the architecture variants (GPTConfig's speedrun options) ----

test('relu2 (away from the kink)', () => {
  const x = randn(be, [4, 5], rng);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sign(x.data[i]!) * (0.1 + Math.abs(x.data[i]!));
  gradCheck(F.relu2, [x]);
});

test('rmsNorm', () => {
  gradCheck((x, w) => F.rmsNorm(x, w), [randn(be, [2, 3, 5], rng), randn(be, [5], rng)]);
});

test('qkNorm: every query and key head normalised, v passed through', () => {
  const qkv = randn(be, [2, 3, 24], rng); // C = 8, 2 heads of 4
  gradCheck((x) => F.qkNorm(x, 2), [qkv], { maxPerInput: 144 });
  const y = F.qkNorm(qkv, 2);
  for (let row = 0; row < 6; row++) {
    for (let h = 0; h < 4; h++) {
      // mean square ms / (ms + eps) of the input's ms, with eps = 1e-5: 1 but for eps
      let ss = 0;
      let ms = 0;
      for (let j = 0; j < 4; j++) {
        ss += y.data[row * 24 + h * 4 + j]! ** 2;
        ms += qkv.data[row * 24 + h * 4 + j]! ** 2 / 4;
      }
      const want = ms / (ms + 1e-5);
      assert.ok(
        Math.abs(ss / 4 - want) < 1e-12,
        `head ${h} of row ${row}: mean square ${ss / 4}, want ${want}`,
      );
    }
    for (let j = 16; j < 24; j++) assert.equal(y.data[row * 24 + j], qkv.data[row * 24 + j]);
  }
});

test('rope: gradient; scores depend on relative positions only; norms kept', () => {
  const [b, t, c, nh] = [2, 5, 8, 2];
  const { cos, sin } = ropeTables(be, 'float64', 16, c / nh);
  const qkv = randn(be, [b, t, 3 * c], rng);
  gradCheck((x) => F.rope(x, cos, sin, nh, 3), [qkv], { maxPerInput: 240 });
  // the same query and key vectors placed at positions (m, n) and (m + 7, n + 7): equal scores
  const one = randn(be, [1, 1, 3 * c], rng);
  const at = (pos: number) => F.rope(one, cos, sin, nh, pos).data;
  const score = (qPos: number, kPos: number) => {
    const q = at(qPos);
    const k = at(kPos);
    let s = 0;
    for (let i = 0; i < c / nh; i++) s += q[i]! * k[c + i]!;
    return s;
  };
  assert.ok(Math.abs(score(4, 1) - score(11, 8)) < 1e-12);
  assert.ok(Math.abs(score(4, 1) - score(4, 2)) > 1e-6, 'a different offset scores differently');
  let n0 = 0;
  let n1 = 0;
  const r = at(9);
  for (let i = 0; i < 3 * c; i++) {
    n0 += one.data[i]! ** 2;
    n1 += r[i]! ** 2;
  }
  assert.ok(Math.abs(n0 - n1) < 1e-12, 'rotations keep the norm');
});

test('swiglu', () => {
  gradCheck(F.swiglu, [randn(be, [2, 3, 10], rng)]);
});

test('causal self-attention with a given score scale equals the default at 1/sqrt(hs)', () => {
  const qkv = randn(be, [1, 4, 12], rng);
  const a = F.causalSelfAttention(qkv, 2);
  const b = F.causalSelfAttention(qkv, 2, undefined, { scale: 1 / Math.sqrt(2) });
  assert.deepEqual(Array.from(b.data), Array.from(a.data));
  gradCheck((x) => F.causalSelfAttention(x, 2, undefined, { scale: 0.9 }), [qkv], { maxPerInput: 48 });
});

test('sigmoid', () => {
  gradCheck(F.sigmoid, [randn(be, [4, 5], rng, 'float64', 3)]);
});

test('unbind (views) and stack', () => {
  // every slice used, with different weights; and a slice left unused gets no gradient
  gradCheck(
    (x) => {
      const [a, b, c] = F.unbind(x);
      return F.add(F.add(F.scale(a!, 2), F.mul(b!, b!)), F.scale(c!, -1));
    },
    [randn(be, [3, 2, 4], rng)],
  );
  gradCheck((x) => F.sum(F.unbind(x)[1]!), [randn(be, [3, 5], rng)]);
  gradCheck((a, b) => F.stack([a, b, a]), [randn(be, [2, 3], rng), randn(be, [2, 3], rng)]);
  const x = randn(be, [3, 2], rng);
  const y = F.stack(F.unbind(x));
  assert.deepEqual(y.shape, [3, 2]);
  assert.deepEqual(Array.from(y.data), Array.from(x.data));
  assert.equal(F.unbind(x)[2]!.data.buffer, x.data.buffer, 'unbind returns views of x');
});

test('lstmCell: h and c, each alone and both together', () => {
  const [n, h] = [3, 5];
  const inputs = () => [randn(be, [n, 4 * h], rng), randn(be, [n, 4 * h], rng), randn(be, [n, h], rng)];
  const wh = randn(be, [n, h], rng);
  const wc = randn(be, [n, h], rng);
  wh.requiresGrad = false;
  wc.requiresGrad = false;
  gradCheck((xg, hg, c) => {
    const s = F.lstmCell(xg, hg, c);
    return F.add(F.mul(s.h, wh), F.mul(s.c, wc));
  }, inputs());
  gradCheck((xg, hg, c) => F.lstmCell(xg, hg, c).h, inputs());
  gradCheck((xg, hg, c) => F.lstmCell(xg, hg, c).c, inputs());
  // two steps chained: the second step's cPrev is the first's c
  gradCheck((xg, hg, c) => {
    const s1 = F.lstmCell(xg, hg, c);
    return F.lstmCell(hg, xg, s1.c).h;
  }, inputs());
});

test('lstmCell matches its definition written with sigmoid, tanh and mul', () => {
  const [n, h] = [2, 3];
  const [xg, hg, c0] = [randn(be, [n, 4 * h], rng), randn(be, [n, 4 * h], rng), randn(be, [n, h], rng)];
  const { h: h1, c: c1 } = F.lstmCell(xg, hg, c0);
  const [i, f, g, o] = F.split(F.add(xg, hg), [h, h, h, h], -1);
  const c = F.add(F.mul(F.sigmoid(f!), c0), F.mul(F.sigmoid(i!), F.tanh(g!)));
  const hh = F.mul(F.sigmoid(o!), F.tanh(c));
  for (let k = 0; k < n * h; k++) {
    assert.ok(Math.abs(c.data[k]! - c1.data[k]!) < 1e-12);
    assert.ok(Math.abs(hh.data[k]! - h1.data[k]!) < 1e-12);
  }
});

test('gruCell, alone and chained', () => {
  const [n, h] = [3, 4];
  const inputs = () => [randn(be, [n, 3 * h], rng), randn(be, [n, 3 * h], rng), randn(be, [n, h], rng)];
  gradCheck(F.gruCell, inputs());
  gradCheck((xg, hg, h0) => F.gruCell(hg, xg, F.gruCell(xg, hg, h0)), inputs());
  // its definition (PyTorch's nn.GRU), from primitive ops
  const [xg, hg, h0] = inputs() as [Tensor, Tensor, Tensor];
  const [xr, xz, xn] = F.split(xg, [h, h, h], -1);
  const [hr, hz, hn] = F.split(hg, [h, h, h], -1);
  const r = F.sigmoid(F.add(xr!, hr!));
  const z = F.sigmoid(F.add(xz!, hz!));
  const nn = F.tanh(F.add(xn!, F.mul(r, hn!)));
  const want = F.add(F.sub(nn, F.mul(z, nn)), F.mul(z, h0)); // (1 - z) nn + z h0
  const got = F.gruCell(xg, hg, h0);
  for (let k = 0; k < n * h; k++) assert.ok(Math.abs(want.data[k]! - got.data[k]!) < 1e-12);
});

test('contextWindows: the n ids ending at each position, padded before the window', () => {
  const idx = randInts(be, [2, 4], 9, rng);
  const w = F.contextWindows(idx, 3, 99);
  assert.deepEqual(w.shape, [2, 4, 3]);
  const d = idx.data;
  // biome-ignore format: one window of 3 per position
  const want = [99, 99, d[0], 99, d[0], d[1], d[0], d[1], d[2], d[1], d[2], d[3]];
  assert.deepEqual(Array.from(w.data.subarray(0, 12)), want);
  assert.deepEqual(Array.from(w.data.subarray(12, 15)), [99, 99, d[4]]);
  assert.throws(() => F.contextWindows(idx, 0, 99), /positive integer/);
});
