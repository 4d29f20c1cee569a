// Tests of the ref backend: each kernel against a tiny direct formula or hand-computed values,
// and each backward kernel against central finite differences in float64.
// These define "correct" for every other backend; they do not test speed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BinaryOp, FloatArray, MatmulParams, UnaryOp } from '../src/backend/backend.js';
import { contiguousStrides, dropoutUniform, sizeOf } from '../src/backend/backend.js';
import { createBackend, createRefBackend, RefBackend, refBackend } from '../src/backend/index.js';
import { erf, erfc } from '../src/backend/ref/math.js';
import { Rng } from '../src/util/rng.js';

const be = refBackend;

function randn(rng: Rng, size: number, scale = 1): Float64Array {
  const a = new Float64Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal() * scale;
  return a;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    assert.ok(err <= tol, `${what}[${i}]: got ${a}, expected ${e} (rel err ${err} > ${tol})`);
  }
}

/**
 * Central finite differences of a scalar loss f() with respect to every element of x (mutated
 * and restored in place), compared with the analytic gradient.
 */
function gradCheck(
  f: () => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
  what: string,
  tol = 1e-6,
): void {
  const h = 1e-5;
  const numeric = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i]!;
    x[i] = old + h;
    const fp = f();
    x[i] = old - h;
    const fm = f();
    x[i] = old;
    numeric[i] = (fp - fm) / (2 * h);
  }
  assertClose(analytic, numeric, tol, what);
}

/** sum_i out[i] * w[i]: a scalar loss whose gradient wrt out is w. */
function dotLoss(out: FloatArray, w: FloatArray): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i]! * w[i]!;
  return s;
}

describe('registry', () => {
  test('createBackend / createRefBackend / refBackend', async () => {
    assert.equal(await createBackend('ref'), refBackend);
    assert.ok(createRefBackend() instanceof RefBackend);
    assert.notEqual(createRefBackend(), refBackend);
    assert.equal(be.name, 'ref');
    assert.deepEqual([...be.floatDTypes], ['float32', 'float64']);
    const wasm = await createBackend('wasm', { threads: 1 });
    assert.equal(wasm.name, 'wasm');
    await wasm.dispose?.();
  });
});

describe('memory and simple elementwise', () => {
  test('alloc gives zeroed arrays of the right type', () => {
    const a = be.alloc('float32', 5);
    const b = be.alloc('float64', 3);
    const c = be.alloc('int32', 4);
    assert.ok(a instanceof Float32Array && a.length === 5 && a.every((v) => v === 0));
    assert.ok(b instanceof Float64Array && b.length === 3 && b.every((v) => v === 0));
    assert.ok(c instanceof Int32Array && c.length === 4 && c.every((v) => v === 0));
    be.free(a);
  });

  test('fill, copy, scale, sumSquares', () => {
    const x = Float64Array.from([1, -2, 3]);
    const out = be.alloc('float64', 3);
    be.fill(out, 7);
    assert.deepEqual([...out], [7, 7, 7]);
    be.copy(out, x);
    assert.deepEqual([...out], [1, -2, 3]);
    assert.throws(() => be.copy(be.alloc('float64', 2), x), /length/);
    be.scale(out, x, 2, true); // out = out + 2x
    assert.deepEqual([...out], [3, -6, 9]);
    be.scale(out, x, -1, false);
    assert.deepEqual([...out], [-1, 2, -3]);
    be.scale(out, out, 3, false); // aliasing
    assert.deepEqual([...out], [-3, 6, -9]);
    const sq = new Float64Array(1);
    be.sumSquares(sq, x);
    assert.equal(sq[0], 14);
    be.sumSquares(sq, Float32Array.from([0.5, 0.5]));
    assert.equal(sq[0], 0.5);
  });

  test('addBias and biasBackward', () => {
    const out = Float64Array.from([1, 2, 3, 4, 5, 6]); // (2, 3)
    be.addBias(out, Float64Array.from([10, 20, 30]), 2, 3);
    assert.deepEqual([...out], [11, 22, 33, 14, 25, 36]);
    const dbias = Float64Array.from([1, 1, 1]);
    be.biasBackward(dbias, Float64Array.from([1, 2, 3, 4, 5, 6]), 2, 3);
    assert.deepEqual([...dbias], [6, 8, 10]); // accumulates
  });
});

describe('unary', () => {
  test('erf / erfc against known values', () => {
    const cases: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [-1, -0.8427007929497149],
    ];
    for (const [x, e] of cases) assert.ok(Math.abs(erf(x) - e) < 1e-15, `erf(${x}) = ${erf(x)} != ${e}`);
    const tails: [number, number][] = [
      [2.5, 4.06952017444959e-4],
      [3, 2.209049699858544e-5],
      [5, 1.537459794428035e-12],
      [-1, 1.8427007929497148],
    ];
    for (const [x, e] of tails) {
      assert.ok(Math.abs(erfc(x) / e - 1) < 1e-11, `erfc(${x}) = ${erfc(x)} != ${e}`);
    }
  });

  test('gelu and gelu_tanh values', () => {
    const x = Float64Array.from([1, -1, 0, 2, -3]);
    const out = be.alloc('float64', 5);
    be.unary('gelu', out, x);
    assertClose(
      out,
      [0.8413447460685429, -0.15865525393145707, 0, 1.9544997361036416, -0.00404969409489028],
      1e-14,
      'gelu',
    );
    be.unary('gelu_tanh', out, x);
    const k = Math.sqrt(2 / Math.PI);
    const expected = [...x].map((v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3))));
    assertClose(out, expected, 1e-15, 'gelu_tanh');
    assert.ok(Math.abs(out[0]! - 0.8411919906082768) < 1e-15);
  });

  test('elementwise values, float32 and in place', () => {
    const x = Float32Array.from([0.5, 2, 4]);
    const out = be.alloc('float32', 3);
    const table: [UnaryOp, (v: number) => number][] = [
      ['relu', (v) => Math.max(v, 0)],
      ['exp', Math.exp],
      ['log', Math.log],
      ['neg', (v) => -v],
      ['tanh', Math.tanh],
      ['sqrt', Math.sqrt],
    ];
    for (const [op, f] of table) {
      be.unary(op, out, x);
      assertClose(
        out,
        [...x].map((v) => Math.fround(f(v))),
        1e-7,
        op,
      );
    }
    const y = Float64Array.from([-1, 0, 3]);
    be.unary('relu', y, y);
    assert.deepEqual([...y], [0, 0, 3]);
  });

  const ops: UnaryOp[] = ['gelu', 'gelu_tanh', 'relu', 'exp', 'log', 'neg', 'tanh', 'sqrt'];
  for (const op of ops) {
    test(`unaryBackward ${op} vs finite differences`, () => {
      const rng = new Rng(1);
      const n = 12;
      const positive = op === 'log' || op === 'sqrt';
      const x = randn(rng, n, 2);
      for (let i = 0; i < n; i++) {
        if (positive) x[i] = Math.abs(x[i]!) + 0.2;
        if (op === 'relu' && Math.abs(x[i]!) < 1e-3) x[i] = 0.5; // keep away from the kink
      }
      const w = randn(rng, n);
      const y = be.alloc('float64', n);
      const loss = () => {
        be.unary(op, y, x);
        return dotLoss(y, w);
      };
      loss();
      const dx = Float64Array.from({ length: n }, () => 0.25); // checks accumulation
      be.unaryBackward(op, dx, x, y, w);
      for (let i = 0; i < n; i++) dx[i] -= 0.25;
      gradCheck(loss, x, dx, op);
    });
  }
});

/** The multi-index of flat position i in a contiguous shape. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

function dotIdx(idx: readonly number[], strides: readonly number[]): number {
  let s = 0;
  for (let d = 0; d < idx.length; d++) s += idx[d]! * strides[d]!;
  return s;
}

describe('binary', () => {
  const f: Record<BinaryOp, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
  };
  // [outShape, aStrides, bStrides, a size, b size]
  const cases: [string, number[], number[], number[], number, number][] = [
    ['contiguous', [2, 3, 4], [12, 4, 1], [12, 4, 1], 24, 24],
    ['b row broadcast', [2, 3, 4], [12, 4, 1], [0, 0, 1], 24, 4],
    ['b column broadcast', [2, 3, 4], [12, 4, 1], [3, 1, 0], 24, 6],
    ['a broadcast over batch', [2, 3, 4], [0, 4, 1], [12, 4, 1], 12, 24],
    ['b scalar', [5, 3], [3, 1], [0, 0], 15, 1],
    ['a transposed view', [3, 4], [1, 3], [4, 1], 12, 12],
    ['size-1 dim with odd stride', [2, 1, 3], [3, 99, 1], [0, 7, 1], 6, 3],
    ['rank 1', [5], [1], [0], 5, 1],
    ['rank 0', [], [], [], 1, 1],
  ];
  for (const [name, shape, as, bs, na, nb] of cases) {
    test(`${name} vs per-element index formula`, () => {
      const rng = new Rng(2);
      const a = randn(rng, na);
      const b = randn(rng, nb);
      for (let i = 0; i < nb; i++) b[i] = b[i]! + (b[i]! >= 0 ? 0.5 : -0.5); // no div by ~0
      const total = sizeOf(shape);
      const out = be.alloc('float64', total);
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        be.binary(op, out, a, b, shape, as, bs);
        const expected = new Float64Array(total);
        for (let i = 0; i < total; i++) {
          const idx = unravel(i, shape);
          expected[i] = f[op](a[dotIdx(idx, as)]!, b[dotIdx(idx, bs)]!);
        }
        assertClose(out, expected, 0, `${name} ${op}`);
      }
    });
  }
});

describe('sumTo and permute', () => {
  const cases: [number[], number[]][] = [
    [
      [2, 3, 4],
      [1, 1, 4],
    ],
    [
      [2, 3, 4],
      [2, 1, 1],
    ],
    [
      [2, 3, 4],
      [1, 3, 1],
    ],
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [
      [2, 3, 4],
      [1, 1, 1],
    ],
    [[5], [1]],
  ];
  for (const [xShape, outShape] of cases) {
    test(`sumTo ${xShape} -> ${outShape} accumulates`, () => {
      const rng = new Rng(3);
      const x = randn(rng, sizeOf(xShape));
      const out = Float64Array.from({ length: sizeOf(outShape) }, (_, i) => i);
      const expected = Float64Array.from(out);
      const os = contiguousStrides(outShape).map((s, d) => (outShape[d] === 1 ? 0 : s));
      for (let i = 0; i < x.length; i++) expected[dotIdx(unravel(i, xShape), os)] += x[i]!;
      be.sumTo(out, x, xShape, outShape);
      assertClose(out, expected, 1e-14, 'sumTo');
    });
  }

  test('sumTo rejects incompatible shapes', () => {
    assert.throws(() => be.sumTo(new Float64Array(3), new Float64Array(6), [2, 3], [1, 2]), /sumTo/);
  });

  const perms: [number[], number[]][] = [
    [
      [3, 4],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 3, 4],
      [0, 1, 2],
    ],
  ];
  for (const [xShape, perm] of perms) {
    test(`permute ${xShape} by ${perm}`, () => {
      const total = sizeOf(xShape);
      const x = Int32Array.from({ length: total }, (_, i) => i);
      const out = be.alloc('int32', total);
      be.permute(out, x, xShape, perm);
      const outShape = perm.map((p) => xShape[p]!);
      const xs = contiguousStrides(xShape);
      for (let i = 0; i < total; i++) {
        const idx = unravel(i, outShape);
        const xIdx = new Array<number>(xShape.length);
        for (let d = 0; d < perm.length; d++) xIdx[perm[d]!] = idx[d]!;
        assert.equal(out[i], x[dotIdx(xIdx, xs)], `permute out[${i}]`);
      }
    });
  }
});

describe('matmul', () => {
  /** The definition: out[b][i][j] (+)= sum_k op(a)[i][k] * op(b)[k][j], one element at a time. */
  function naive(a: FloatArray, b: FloatArray, p: MatmulParams, init: FloatArray): Float64Array {
    const out = Float64Array.from(init);
    for (let bt = 0; bt < p.batch; bt++) {
      for (let i = 0; i < p.m; i++) {
        for (let j = 0; j < p.n; j++) {
          let s = 0;
          for (let k = 0; k < p.k; k++) {
            const av = p.transA
              ? a[bt * p.aBatchStride + k * p.m + i]!
              : a[bt * p.aBatchStride + i * p.k + k]!;
            const bv = p.transB
              ? b[bt * p.bBatchStride + j * p.k + k]!
              : b[bt * p.bBatchStride + k * p.n + j]!;
            s += av * bv;
          }
          const o = bt * p.m * p.n + i * p.n + j;
          out[o] = (p.accumulate ? out[o]! : 0) + s;
        }
      }
    }
    return out;
  }

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [aBroadcast, bBroadcast] of [
        [false, false],
        [true, false],
        [false, true],
      ]) {
        for (const accumulate of [false, true]) {
          const name = `transA=${transA} transB=${transB} aStride0=${aBroadcast} bStride0=${bBroadcast} acc=${accumulate}`;
          test(name, () => {
            const rng = new Rng(4);
            const batch = 3;
            const m = 3;
            const k = 5;
            const n = 4;
            const p: MatmulParams = {
              batch,
              m,
              k,
              n,
              transA,
              transB,
              accumulate,
              aBatchStride: aBroadcast ? 0 : m * k,
              bBatchStride: bBroadcast ? 0 : k * n,
            };
            const a = randn(rng, (aBroadcast ? 1 : batch) * m * k);
            const b = randn(rng, (bBroadcast ? 1 : batch) * k * n);
            const out = randn(rng, batch * m * n);
            const expected = naive(a, b, p, out);
            be.matmul(out, a, b, p);
            assertClose(out, expected, 1e-13, name);
            // float32 inputs give the same answer to float32 precision
            const out32 = be.alloc('float32', batch * m * n);
            be.matmul(out32, Float32Array.from(a), Float32Array.from(b), { ...p, accumulate: false });
            assertClose(out32, naive(a, b, { ...p, accumulate: false }, out), 1e-5, `${name} f32`);
          });
        }
      }
    }
  }

  test('hand-computed 2x2', () => {
    const out = be.alloc('float64', 4);
    const p: MatmulParams = {
      batch: 1,
      m: 2,
      k: 2,
      n: 2,
      transA: false,
      transB: false,
      accumulate: false,
      aBatchStride: 4,
      bBatchStride: 4,
    };
    be.matmul(out, Float64Array.from([1, 2, 3, 4]), Float64Array.from([5, 6, 7, 8]), p);
    assert.deepEqual([...out], [19, 22, 43, 50]);
  });
});

describe('softmax', () => {
  test('rows sum to 1, known values, huge logits stay finite', () => {
    const x = Float64Array.from([0, Math.log(3), 1000, 1000 + Math.log(3)]);
    const out = be.alloc('float64', 4);
    be.softmaxForward(out, x, 2, 2);
    assertClose(out, [0.25, 0.75, 0.25, 0.75], 1e-12, 'softmax');
    const rng = new Rng(5);
    const y = be.alloc('float32', 4 * 7);
    be.softmaxForward(y, Float32Array.from(randn(rng, 28, 3)), 4, 7);
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let j = 0; j < 7; j++) s += y[r * 7 + j]!;
      assert.ok(Math.abs(s - 1) < 1e-6, `row ${r} sums to ${s}`);
    }
  });

  test('backward vs finite differences', () => {
    const rng = new Rng(6);
    const n = 3;
    const c = 5;
    const x = randn(rng, n * c);
    const w = randn(rng, n * c);
    const y = be.alloc('float64', n * c);
    const loss = () => {
      be.softmaxForward(y, x, n, c);
      return dotLoss(y, w);
    };
    loss();
    const dx = be.alloc('float64', n * c);
    be.softmaxBackward(dx, w, y, n, c);
    gradCheck(loss, x, dx, 'softmax dx');
  });
});

describe('layerNorm', () => {
  test('output has mean 0 and variance 1 per row; weight and bias apply', () => {
    const rng = new Rng(7);
    const n = 4;
    const c = 16;
    const x = randn(rng, n * c, 3);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + 5;
    const out = be.alloc('float64', n * c);
    const mean = be.alloc('float64', n);
    const rstd = be.alloc('float64', n);
    be.layerNormForward(out, mean, rstd, x, new Float64Array(c).fill(1), null, n, c, 0);
    for (let r = 0; r < n; r++) {
      let m = 0;
      let v = 0;
      let xm = 0;
      for (let j = 0; j < c; j++) xm += x[r * c + j]! / c;
      for (let j = 0; j < c; j++) m += out[r * c + j]! / c;
      for (let j = 0; j < c; j++) v += out[r * c + j]! ** 2 / c; // biased variance
      assert.ok(Math.abs(m) < 1e-12, `row ${r} mean ${m}`);
      assert.ok(Math.abs(v - 1) < 1e-12, `row ${r} var ${v}`);
      assert.ok(Math.abs(mean[r]! - xm) < 1e-12, `saved mean ${mean[r]} != ${xm}`);
    }
    // hand-computed: x = [1, 3] -> mean 2, var 1, rstd = 1/sqrt(1 + eps)
    const o2 = be.alloc('float64', 2);
    const m2 = be.alloc('float64', 1);
    const r2 = be.alloc('float64', 1);
    const eps = 1e-5;
    be.layerNormForward(
      o2,
      m2,
      r2,
      Float64Array.from([1, 3]),
      Float64Array.from([2, 3]),
      Float64Array.from([10, 20]),
      1,
      2,
      eps,
    );
    const s = 1 / Math.sqrt(1 + eps);
    assertClose(o2, [-2 * s + 10, 3 * s + 20], 1e-15, 'layernorm 2');
    assert.equal(m2[0], 2);
    assert.equal(r2[0], s);
  });

  for (const withBias of [true, false]) {
    test(`backward vs finite differences (bias ${withBias ? 'present' : 'null'})`, () => {
      const rng = new Rng(8);
      const n = 3;
      const c = 6;
      const x = randn(rng, n * c);
      const weight = randn(rng, c);
      const bias = withBias ? randn(rng, c) : null;
      const w = randn(rng, n * c);
      const out = be.alloc('float64', n * c);
      const mean = be.alloc('float64', n);
      const rstd = be.alloc('float64', n);
      const loss = () => {
        be.layerNormForward(out, mean, rstd, x, weight, bias, n, c, 1e-5);
        return dotLoss(out, w);
      };
      loss();
      const dx = be.alloc('float64', n * c);
      const dweight = be.alloc('float64', c);
      const dbias = withBias ? be.alloc('float64', c) : null;
      be.layerNormBackward(dx, dweight, dbias, w, x, weight, mean, rstd, n, c);
      gradCheck(loss, x, dx, 'layernorm dx');
      gradCheck(loss, weight, dweight, 'layernorm dweight');
      if (bias !== null && dbias !== null) gradCheck(loss, bias, dbias, 'layernorm dbias');
      // accumulates: a second call doubles the gradients
      const dx1 = Float64Array.from(dx);
      be.layerNormBackward(dx, dweight, dbias, w, x, weight, mean, rstd, n, c);
      assertClose(
        dx,
        dx1.map((v) => 2 * v),
        1e-14,
        'layernorm dx accumulates',
      );
    });
  }
});

describe('attention', () => {
  const B = 2;
  const T = 4;
  const C = 6;
  const NH = 2;
  const HS = C / NH;

  /** Unfused: per (b, h) gather q, k, v; scores = q @ k^T * scale; mask; softmax; @ v. */
  function unfused(qkv: Float64Array, scale: number): { out: Float64Array; att: Float64Array } {
    const out = new Float64Array(B * T * C);
    const att = new Float64Array(B * NH * T * T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const q = new Float64Array(T * HS);
        const k = new Float64Array(T * HS);
        const v = new Float64Array(T * HS);
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < HS; i++) {
            const base = b * T * 3 * C + t * 3 * C + h * HS + i;
            q[t * HS + i] = qkv[base]!;
            k[t * HS + i] = qkv[base + C]!;
            v[t * HS + i] = qkv[base + 2 * C]!;
          }
        }
        const scores = new Float64Array(T * T);
        const mm = { batch: 1, m: T, k: HS, n: T, transA: false, transB: true, accumulate: false };
        be.matmul(scores, q, k, { ...mm, aBatchStride: 0, bBatchStride: 0 });
        for (let t = 0; t < T; t++) {
          for (let t2 = 0; t2 < T; t2++) {
            scores[t * T + t2] = t2 > t ? Number.NEGATIVE_INFINITY : scores[t * T + t2]! * scale;
          }
        }
        const probs = new Float64Array(T * T);
        be.softmaxForward(probs, scores, T, T);
        const y = new Float64Array(T * HS);
        be.matmul(y, probs, v, { ...mm, n: HS, k: T, transB: false, aBatchStride: 0, bBatchStride: 0 });
        att.set(probs, (b * NH + h) * T * T);
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < HS; i++) out[b * T * C + t * C + h * HS + i] = y[t * HS + i]!;
        }
      }
    }
    return { out, att };
  }

  test('forward matches matmul + mask + softmax + matmul', () => {
    const rng = new Rng(9);
    const qkv = randn(rng, B * T * 3 * C);
    const scale = 1 / Math.sqrt(HS);
    const out = be.alloc('float64', B * T * C).fill(123); // overwritten
    const att = be.alloc('float64', B * NH * T * T).fill(123);
    be.attentionForward(out, att, qkv, B, T, C, NH, scale);
    const ref = unfused(qkv, scale);
    assertClose(out, ref.out, 1e-13, 'attention out');
    assertClose(att, ref.att, 1e-13, 'attention att');
    assert.equal(att[1], 0, 'above the diagonal is 0');
    // first token attends only to itself: out = v[0]
    for (let i = 0; i < HS; i++) assert.ok(Math.abs(out[i]! - qkv[2 * C + i]!) < 1e-15);
  });

  test('backward vs finite differences', () => {
    const rng = new Rng(10);
    const qkv = randn(rng, B * T * 3 * C);
    const w = randn(rng, B * T * C);
    const scale = 1 / Math.sqrt(HS);
    const out = be.alloc('float64', B * T * C);
    const att = be.alloc('float64', B * NH * T * T);
    const loss = () => {
      be.attentionForward(out, att, qkv, B, T, C, NH, scale);
      return dotLoss(out, w);
    };
    loss();
    const dqkv = be.alloc('float64', B * T * 3 * C);
    const datt = be.alloc('float64', B * NH * T * T).fill(Number.NaN); // scratch: must be overwritten
    be.attentionBackward(dqkv, datt, w, qkv, att, B, T, C, NH, scale);
    gradCheck(loss, qkv, dqkv, 'attention dqkv');
  });
});

describe('crossEntropy', () => {
  test('forward equals -log softmax[target]; -1 ignored; bad target throws', () => {
    const rng = new Rng(11);
    const n = 4;
    const v = 7;
    const logits = randn(rng, n * v, 3);
    logits[v] = 500; // a huge logit must not overflow
    const targets = Int32Array.from([3, 0, -1, 6]);
    const losses = be.alloc('float64', n).fill(9);
    be.crossEntropyForward(losses, logits, targets, n, v);
    const probs = be.alloc('float64', n * v);
    be.softmaxForward(probs, logits, n, v);
    for (let i = 0; i < n; i++) {
      const expected = targets[i] === -1 ? 0 : -Math.log(probs[i * v + targets[i]!]!);
      assert.ok(Math.abs(losses[i]! - expected) < 1e-12, `row ${i}: ${losses[i]} != ${expected}`);
    }
    // uniform logits: loss = log V
    const l1 = be.alloc('float64', 1);
    be.crossEntropyForward(l1, new Float64Array(v), Int32Array.from([2]), 1, v);
    assert.ok(Math.abs(l1[0]! - Math.log(v)) < 1e-15);
    assert.throws(
      () => be.crossEntropyForward(l1, new Float64Array(v), Int32Array.from([v]), 1, v),
      /target/,
    );
  });

  test('backward vs finite differences, ignored row gets no gradient', () => {
    const rng = new Rng(12);
    const n = 3;
    const v = 5;
    const logits = randn(rng, n * v);
    const targets = Int32Array.from([1, -1, 4]);
    const dlosses = randn(rng, n);
    const losses = be.alloc('float64', n);
    const loss = () => {
      be.crossEntropyForward(losses, logits, targets, n, v);
      return dotLoss(losses, dlosses);
    };
    const dlogits = be.alloc('float64', n * v);
    be.crossEntropyBackward(dlogits, logits, targets, dlosses, n, v);
    for (let j = 0; j < v; j++) assert.equal(dlogits[v + j], 0, 'ignored row');
    gradCheck(loss, logits, dlogits, 'cross-entropy dlogits');
  });
});

describe('embedding', () => {
  test('forward gathers rows; backward accumulates repeated ids', () => {
    const table = Float64Array.from([0, 1, 10, 11, 20, 21]); // (V=3, C=2)
    const ids = Int32Array.from([2, 0, 2]);
    const out = be.alloc('float64', 6);
    be.embeddingForward(out, table, ids, 3, 2);
    assert.deepEqual([...out], [20, 21, 0, 1, 20, 21]);
    const dtable = Float64Array.from([1, 1, 1, 1, 1, 1]);
    be.embeddingBackward(dtable, Float64Array.from([1, 2, 3, 4, 5, 6]), ids, 3, 2);
    assert.deepEqual([...dtable], [4, 5, 1, 1, 7, 9]);
    assert.throws(() => be.embeddingForward(out, table, Int32Array.from([3]), 1, 2), /id 3/);
  });
});

describe('dropout', () => {
  test('mask mean ~ 1, fraction dropped ~ p, deterministic per seed', () => {
    const n = 20000;
    const p = 0.2;
    const x = new Float32Array(n).fill(2);
    const out = be.alloc('float32', n);
    const mask = be.alloc('float32', n);
    be.dropoutForward(out, mask, x, p, 42);
    let dropped = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) dropped++;
      else assert.ok(Math.abs(mask[i]! - 1 / (1 - p)) < 1e-6, `mask[${i}] = ${mask[i]}`);
      assert.equal(out[i], x[i]! * mask[i]!);
      assert.equal(mask[i] === 0, dropoutUniform(42, i) < p);
      sum += mask[i]!;
    }
    assert.ok(Math.abs(dropped / n - p) < 0.015, `dropped fraction ${dropped / n}`);
    assert.ok(Math.abs(sum / n - 1) < 0.02, `mask mean ${sum / n}`);
    const mask2 = be.alloc('float32', n);
    be.dropoutForward(out, mask2, x, p, 42);
    assert.deepEqual(mask2, mask, 'same seed, same mask');
    be.dropoutForward(out, mask2, x, p, 43);
    assert.notDeepEqual(mask2, mask, 'another seed, another mask');
  });

  test('p = 0 keeps everything', () => {
    const x = Float64Array.from([1, 2, 3]);
    const out = be.alloc('float64', 3);
    const mask = be.alloc('float64', 3);
    be.dropoutForward(out, mask, x, 0, 1);
    assert.deepEqual([...mask], [1, 1, 1]);
    assert.deepEqual([...out], [1, 2, 3]);
  });
});

describe('adamw', () => {
  test('two steps match a scalar hand computation (torch.optim.AdamW order)', () => {
    const lr = 0.1;
    const b1 = 0.9;
    const b2 = 0.95;
    const eps = 1e-8;
    const wd = 0.1;
    const scale = 0.5;
    const param = Float64Array.from([1, -2]);
    const grad = Float64Array.from([0.4, -3]);
    const m = be.alloc('float64', 2);
    const v = be.alloc('float64', 2);
    // by hand, element by element
    const hp = [1, -2];
    const hm = [0, 0];
    const hv = [0, 0];
    for (let step = 1; step <= 2; step++) {
      be.adamw(param, grad, m, v, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, step, gradScale: scale });
      for (let i = 0; i < 2; i++) {
        const g = grad[i]! * scale;
        hm[i] = b1 * hm[i]! + (1 - b1) * g;
        hv[i] = b2 * hv[i]! + (1 - b2) * g * g;
        const mhat = hm[i]! / (1 - b1 ** step);
        const vhat = hv[i]! / (1 - b2 ** step);
        hp[i] = hp[i]! - lr * wd * hp[i]! - lr * (mhat / (Math.sqrt(vhat) + eps));
      }
      assertClose(param, hp, 1e-14, `param step ${step}`);
      assertClose(m, hm, 1e-15, `m step ${step}`);
      assertClose(v, hv, 1e-15, `v step ${step}`);
    }
    // Adam's first step moves each weight by ~lr * sign(g) (mhat / sqrt(vhat) = g / |g|), after decay
    const p1 = Float64Array.from([1, 1]);
    be.adamw(p1, Float64Array.from([0.4, -7]), new Float64Array(2), new Float64Array(2), {
      lr,
      beta1: b1,
      beta2: b2,
      eps: 0,
      weightDecay: wd,
      step: 1,
      gradScale: 1,
    });
    assertClose(p1, [1 - lr * wd - lr, 1 - lr * wd + lr], 1e-15, 'first step');
  });
});
