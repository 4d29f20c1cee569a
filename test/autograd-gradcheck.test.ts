// Every differentiable op against central finite differences, in float64 on the ref backend.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { refBackend as be } from '../src/backend/index.js';
import { ropeTables } from '../src/nn/attention.js';
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
      let ss = 0;
      for (let j = 0; j < 4; j++) ss += y.data[row * 24 + h * 4 + j]! ** 2;
      assert.ok(Math.abs(ss / 4 - 1) < 1e-4, `head ${h} of row ${row}: mean square ${ss / 4}`);
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
  const b = F.causalSelfAttention(qkv, 2, undefined, 1 / Math.sqrt(2));
  assert.deepEqual(Array.from(b.data), Array.from(a.data));
  gradCheck((x) => F.causalSelfAttention(x, 2, undefined, 0.9), [qkv], { maxPerInput: 48 });
});
