// Parity of the wasm backend with the ref backend (the definition): every kernel on seeded
// random float32 inputs, at sizes below, at and above the kernels' tile edges (4x8 matmul tile,
// 4-lane SIMD), every transpose combination, batch strides including 0, accumulate, and on 1
// and 2 threads (so chunk splitting is exercised). Tolerance: 1e-4 relative (|e| >= 1) or absolute.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BinaryOp, FloatArray, MatmulParams, UnaryOp } from '../src/backend/backend.js';
import { contiguousStrides } from '../src/backend/backend.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import {
  createWasmBackend,
  FreeListAllocator,
  type KernelFlavor,
  type WasmBackend,
} from '../src/backend/wasm/index.js';
import { Rng } from '../src/util/rng.js';

const TOL = 1e-4;
const ref = new RefBackend();

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) assert.fail(`${what}[${i}]: wasm ${a}, ref ${e} (rel err ${err} > ${tol})`);
  }
}

// the plain SIMD build on one thread, then the build the engine prefers (relaxed SIMD where it
// can run) on one and two threads
const configs: { threads: number; kernels: KernelFlavor | 'auto' }[] = [
  { threads: 1, kernels: 'simd' },
  { threads: 1, kernels: 'auto' },
  { threads: 2, kernels: 'auto' },
];
for (const { threads, kernels } of configs) {
  describe(`wasm backend (${kernels} kernels) vs ref, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    const rng = new Rng(1234 + threads);
    before(async () => {
      be = await createWasmBackend({ threads, kernels });
    });
    after(async () => {
      await be.dispose();
    });

    /** The same random values in a wasm array and a ref float32 array. */
    function pair(size: number, gen: () => number = () => rng.normal()): [Float32Array, Float32Array] {
      const w = be.alloc('float32', size);
      const r = ref.alloc('float32', size);
      for (let i = 0; i < size; i++) r[i] = w[i] = gen();
      return [w, r];
    }
    function ids(n: number, hi: number, ignore = false): [Int32Array, Int32Array] {
      const w = be.alloc('int32', n);
      const r = ref.alloc('int32', n);
      for (let i = 0; i < n; i++) r[i] = w[i] = ignore && i % 5 === 2 ? -1 : rng.int(hi);
      return [w, r];
    }
    const free = (...arrs: FloatArray[]) => {
      for (const a of arrs) be.free(a);
    };

    test('memory: alloc is zeroed and 64-byte aligned, free reuses, foreign arrays rejected', () => {
      const before0 = be.bytesInUse;
      const a = be.alloc('float32', 100);
      a.fill(7);
      assert.equal(a.byteOffset % 64, 0);
      assert.ok(be.bytesInUse >= before0 + 400);
      be.free(a);
      const b = be.alloc('float32', 100);
      assert.ok(b.every((v) => v === 0));
      assert.equal(be.peakBytes >= be.bytesInUse, true);
      be.free(b);
      assert.equal(be.bytesInUse, before0);
      assert.throws(() => be.free(b), /not an allocated block/);
      assert.throws(
        () => be.scale(new Float32Array(4), new Float32Array(4), 2, false),
        /not allocated by this backend/,
      );
      assert.throws(() => be.alloc('float64', 4), /float32 only/);
      // growing memory keeps old views valid (shared memory never detaches)
      const keep = be.alloc('float32', 16);
      keep.fill(3);
      const big = be.alloc('float32', 8 << 20);
      assert.equal(keep[15], 3);
      be.free(big);
      be.free(keep);
    });

    test('matmul: all transposes, sizes around the 4x8 tile, accumulate', () => {
      const sizes = [1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 33, 65];
      const triples: [number, number, number][] = [];
      for (const v of sizes) triples.push([v, v, v], [v, 17, 9], [9, v, 13], [13, 7, v]);
      triples.push([64, 300, 100], [130, 70, 65]); // big enough to be split over threads
      // packed B over 512 KiB with few rows: split over threads by columns (8-wide and 4-wide tails)
      triples.push([30, 1100, 133], [20, 1024, 130]);
      for (const [m, k, n] of triples) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const accumulate of [false, true]) {
              const [aw, ar] = pair(m * k);
              const [bw, br] = pair(k * n);
              const [cw, cr] = pair(m * n);
              const p: MatmulParams = {
                batch: 1,
                m,
                k,
                n,
                transA,
                transB,
                accumulate,
                aBatchStride: m * k,
                bBatchStride: k * n,
              };
              ref.matmul(cr, ar, br, p);
              be.matmul(cw, aw, bw, p);
              assertClose(cw, cr, `matmul m${m} k${k} n${n} tA${transA} tB${transB} acc${accumulate}`);
              free(aw, bw, cw);
            }
          }
        }
      }
    });

    test('matmul_scalar (the naive twin of the tiled kernel) matches ref', () => {
      for (const [m, k, n] of [
        [1, 1, 1],
        [5, 9, 3],
        [13, 4, 65],
      ] as const) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const [aw, ar] = pair(m * k);
            const [bw, br] = pair(k * n);
            const [cw, cr] = pair(m * n);
            const p: MatmulParams = {
              batch: 1,
              m,
              k,
              n,
              transA,
              transB,
              accumulate: true,
              aBatchStride: 0,
              bBatchStride: 0,
            };
            ref.matmul(cr, ar, br, p);
            be.kernels.matmul_scalar(
              cw.byteOffset,
              aw.byteOffset,
              bw.byteOffset,
              m,
              k,
              n,
              transA,
              transB,
              true,
            );
            assertClose(cw, cr, `matmul_scalar m${m} k${k} n${n} tA${transA} tB${transB}`);
            free(aw, bw, cw);
          }
        }
      }
    });

    test('matmul: batched, batch strides packed and 0 (broadcast)', () => {
      for (const [batch, m, k, n] of [
        [3, 5, 7, 9],
        [4, 17, 12, 65],
        [6, 64, 32, 64],
        [3, 1, 33, 17],
        [2, 3, 8, 5],
      ] as const) {
        for (const [aS, bS] of [
          [m * k, k * n],
          [0, k * n],
          [m * k, 0],
        ] as const) {
          for (const [transA, transB] of [
            [false, false],
            [false, true],
            [true, false],
            [true, true],
          ] as const) {
            const [aw, ar] = pair(aS === 0 ? m * k : batch * m * k);
            const [bw, br] = pair(bS === 0 ? k * n : batch * k * n);
            const [cw, cr] = pair(batch * m * n);
            const p: MatmulParams = {
              batch,
              m,
              k,
              n,
              transA,
              transB,
              accumulate: true,
              aBatchStride: aS,
              bBatchStride: bS,
            };
            ref.matmul(cr, ar, br, p);
            be.matmul(cw, aw, bw, p);
            assertClose(
              cw,
              cr,
              `batched matmul ${batch}x${m}x${k}x${n} strides ${aS},${bS} tA${transA} tB${transB}`,
            );
            free(aw, bw, cw);
          }
        }
      }
    });

    test('unary forward and backward, every op', () => {
      const ops: UnaryOp[] = [
        'gelu',
        'gelu_tanh',
        'relu',
        'exp',
        'log',
        'neg',
        'tanh',
        'sqrt',
        'sigmoid',
        'relu2',
      ];
      for (const op of ops) {
        const positive = op === 'log' || op === 'sqrt';
        for (const n of [1, 3, 4, 5, 17, 33, 40000]) {
          const gen = positive ? () => 0.05 + 3 * rng.uniform() : () => 3 * rng.normal();
          const [xw, xr] = pair(n, gen);
          const [yw, yr] = pair(n);
          ref.unary(op, yr, xr);
          be.unary(op, yw, xw);
          assertClose(yw, yr, `${op} n${n}`);
          const [dw, dr] = pair(n);
          const [gw, gr] = pair(n);
          ref.unaryBackward(op, gr, xr, yr, dr);
          be.unaryBackward(op, gw, xw, yw, dw);
          assertClose(gw, gr, `${op} backward n${n}`);
          free(xw, yw, dw, gw);
        }
      }
    });

    test('binary: same shape, row broadcast either side, scalar, general strides', () => {
      const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div'];
      const cases: { shape: number[]; a: number[]; b: number[] }[] = [
        { shape: [7], a: [1], b: [1] },
        { shape: [3, 33], a: [33, 1], b: [33, 1] },
        { shape: [5, 17], a: [17, 1], b: [0, 1] },
        { shape: [5, 17], a: [0, 1], b: [17, 1] },
        { shape: [2, 3, 8], a: [24, 8, 1], b: [0, 8, 1] },
        { shape: [4, 6], a: [6, 1], b: [0, 0] },
        { shape: [2, 3, 5], a: [15, 5, 1], b: [5, 0, 1] },
        { shape: [300, 128], a: [128, 1], b: [0, 1] },
        { shape: [300, 128], a: [128, 1], b: [128, 1] },
      ];
      for (const op of ops) {
        for (const { shape, a, b } of cases) {
          const span = (st: number[]) => 1 + st.reduce((s, v, d) => s + v * (shape[d]! - 1), 0);
          const gen = () => (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + rng.uniform());
          const [aw, ar] = pair(span(a), gen);
          const [bw, br] = pair(span(b), gen);
          const n = shape.reduce((x, y) => x * y, 1);
          const [ow, or] = pair(n);
          ref.binary(op, or, ar, br, shape, a, b);
          be.binary(op, ow, aw, bw, shape, a, b);
          assertClose(ow, or, `${op} (${shape}) a[${a}] b[${b}]`);
          free(aw, bw, ow);
        }
      }
    });

    test('scale, sumSquares, sumTo, permute, fill, copy', () => {
      for (const n of [1, 5, 16, 33, 40000]) {
        for (const acc of [false, true]) {
          const [xw, xr] = pair(n);
          const [ow, or] = pair(n);
          ref.scale(or, xr, 0.37, acc);
          be.scale(ow, xw, 0.37, acc);
          assertClose(ow, or, `scale n${n} acc${acc}`);
          const [sw, sr] = [new Float64Array(1), new Float64Array(1)];
          be.sumSquares(sw, xw);
          ref.sumSquares(sr, xr);
          assertClose(sw, sr, `sumSquares n${n}`, 1e-6);
          free(xw, ow);
        }
      }
      for (const [xs, os] of [
        [
          [2, 3, 5],
          [1, 3, 5],
        ],
        [
          [2, 3, 5],
          [2, 1, 5],
        ],
        [
          [4, 6],
          [1, 1],
        ],
        [
          [3, 4, 7],
          [3, 4, 1],
        ],
      ] as const) {
        const [xw, xr] = pair(xs.reduce((a: number, b: number) => a * b, 1));
        const [ow, or] = pair(os.reduce((a: number, b: number) => a * b, 1));
        ref.sumTo(or, xr, xs, os);
        be.sumTo(ow, xw, xs, os);
        assertClose(ow, or, `sumTo (${xs}) -> (${os})`);
        free(xw, ow);
      }
      const shape = [2, 3, 4, 5];
      const [xw, xr] = pair(120);
      const [ow, or] = pair(120);
      ref.permute(or, xr, shape, [0, 2, 1, 3]);
      be.permute(ow, xw, shape, [0, 2, 1, 3]);
      assertClose(ow, or, 'permute');
      be.fill(ow, 2.5);
      assert.ok(ow.every((v) => v === 2.5));
      be.copy(ow, xw);
      assertClose(ow, xw, 'copy', 0);
      free(xw, ow);
    });

    test('addBias and biasBackward', () => {
      for (const oc of [1, 3, 4, 5, 16, 17, 33, 65]) {
        for (const n of [1, 7, 300]) {
          const [ow, or] = pair(n * oc);
          const [bw, br] = pair(oc);
          ref.addBias(or, br, n, oc);
          be.addBias(ow, bw, n, oc);
          assertClose(ow, or, `addBias n${n} oc${oc}`);
          ref.biasBackward(br, or, n, oc);
          be.biasBackward(bw, ow, n, oc);
          assertClose(bw, br, `biasBackward n${n} oc${oc}`);
          free(ow, bw);
        }
      }
    });

    test('layerNorm forward and backward, with and without bias', () => {
      for (const c of [1, 3, 4, 5, 17, 64, 65]) {
        for (const n of [1, 6, 600]) {
          for (const withBias of [true, false]) {
            const [xw, xr] = pair(n * c, () => 2 * rng.normal() + 0.5);
            const [ww, wr] = pair(c);
            const [bw, br] = pair(c);
            const [ow, or] = pair(n * c);
            const [mw, mr] = pair(n);
            const [rw, rr] = pair(n);
            ref.layerNormForward(or, mr, rr, xr, wr, withBias ? br : null, n, c, 1e-5);
            be.layerNormForward(ow, mw, rw, xw, ww, withBias ? bw : null, n, c, 1e-5);
            const what = `layerNorm n${n} c${c} bias${withBias}`;
            assertClose(ow, or, what);
            assertClose(mw, mr, `${what} mean`);
            // rstd of a constant row (c = 1) is 1/sqrt(eps) ~ 316: compare relatively
            assertClose(rw, rr, `${what} rstd`);
            const [dw, dr] = pair(n * c);
            const [dxw, dxr] = pair(n * c);
            const [dww, dwr] = pair(c);
            const [dbw, dbr] = pair(c);
            ref.layerNormBackward(dxr, dwr, withBias ? dbr : null, dr, xr, wr, mr, rr, n, c);
            be.layerNormBackward(dxw, dww, withBias ? dbw : null, dw, xw, ww, mw, rw, n, c);
            // rows of 1-4 elements can have a tiny variance: a large rstd amplifies f32 rounding in dx
            assertClose(dxw, dxr, `${what} dx`, c <= 4 ? 1e-3 : TOL);
            assertClose(dww, dwr, `${what} dweight`);
            assertClose(dbw, dbr, `${what} dbias`);
            free(xw, ww, bw, ow, mw, rw, dw, dxw, dww, dbw);
          }
        }
      }
    });

    test('softmax forward and backward', () => {
      for (const c of [1, 3, 4, 5, 17, 65]) {
        for (const n of [1, 4, 700]) {
          const [xw, xr] = pair(n * c, () => 4 * rng.normal());
          const [yw, yr] = pair(n * c);
          ref.softmaxForward(yr, xr, n, c);
          be.softmaxForward(yw, xw, n, c);
          assertClose(yw, yr, `softmax n${n} c${c}`);
          const [dw, dr] = pair(n * c);
          const [gw, gr] = pair(n * c);
          ref.softmaxBackward(gr, dr, yr, n, c);
          be.softmaxBackward(gw, dw, yw, n, c);
          assertClose(gw, gr, `softmax backward n${n} c${c}`);
          free(xw, yw, dw, gw);
        }
      }
    });

    test('attention forward and backward (causal, fused softmax)', () => {
      for (const [b, t, c, nh] of [
        [1, 1, 4, 1],
        [2, 5, 12, 3],
        [2, 9, 20, 2],
        [2, 17, 32, 4],
        [3, 33, 24, 2],
        [4, 64, 64, 4],
        // head sizes 5, 12 (narrow panel tails), 32 with T past a tile edge, and a long context
        [1, 40, 20, 4],
        [1, 13, 48, 4],
        [2, 70, 64, 2],
        [1, 256, 64, 2],
      ] as const) {
        const scale = 1 / Math.sqrt(c / nh);
        const [qw, qr] = pair(b * t * 3 * c);
        const [ow, or] = pair(b * t * c);
        const [aw, ar] = pair(b * nh * t * t);
        ref.attentionForward(or, ar, qr, b, t, c, nh, scale);
        be.attentionForward(ow, aw, qw, b, t, c, nh, scale);
        const what = `attention b${b} t${t} c${c} nh${nh}`;
        assertClose(ow, or, what);
        assertClose(aw, ar, `${what} att`);
        const [dow, dor] = pair(b * t * c);
        const [dqw, dqr] = pair(b * t * 3 * c);
        const [scw, scr] = pair(b * nh * t * t);
        ref.attentionBackward(dqr, scr, dor, qr, ar, b, t, c, nh, scale);
        be.attentionBackward(dqw, scw, dow, qw, aw, b, t, c, nh, scale);
        assertClose(dqw, dqr, `${what} dqkv`);
        free(qw, ow, aw, dow, dqw, scw);
      }
    });

    test('masked attention forward and backward (cross / self, padding, causal, empty rows)', () => {
      // [b, tq, tk, c, nh]: Tq and Tk below, at and past the 4-row tile and the 8-wide panel,
      // head sizes 1, 3, 4, 5, 8, 12, 32
      const shapes = [
        [1, 1, 1, 4, 1],
        [2, 3, 5, 12, 4],
        [2, 4, 4, 8, 2],
        [2, 5, 9, 20, 4],
        [3, 8, 8, 24, 2],
        [2, 9, 17, 32, 8],
        [1, 17, 7, 24, 2],
        [2, 33, 33, 64, 2],
        [1, 12, 40, 16, 16],
      ] as const;
      for (const [b, tq, tk, c, nh] of shapes)
        for (const causal of [false, true])
          for (const padded of [false, true]) {
            const p = { b, tq, tk, c, nh, scale: 1 / Math.sqrt(c / nh), causal };
            let padW: Int32Array | null = null;
            let padR: Int32Array | null = null;
            if (padded) {
              // a random tail of each sequence padded; the last sequence wholly (empty rows) when b > 1
              padW = be.alloc('int32', b * tk);
              padR = ref.alloc('int32', b * tk);
              for (let bb = 0; bb < b; bb++) {
                const len = b > 1 && bb === b - 1 ? 0 : 1 + rng.int(tk);
                for (let j = 0; j < tk; j++) padW[bb * tk + j] = padR[bb * tk + j] = j >= len ? 1 : 0;
              }
              if (tk > 2) padW[1] = padR[1] = 1; // a hole in the middle too
            }
            const [qw, qr] = pair(b * tq * c);
            const [kvw, kvr] = pair(b * tk * 2 * c);
            const [ow, or] = pair(b * tq * c);
            const [aw, ar] = pair(b * nh * tq * tk);
            ref.maskedAttentionForward(or, ar, qr, kvr, padR, p);
            be.maskedAttentionForward(ow, aw, qw, kvw, padW, p);
            const what = `masked attention b${b} tq${tq} tk${tk} c${c} nh${nh} causal ${causal} padded ${padded}`;
            assertClose(ow, or, what);
            assertClose(aw, ar, `${what} att`);
            for (let i = 0; i < ar.length; i++)
              if (ar[i] === 0) assert.equal(aw[i], 0, `${what}: att[${i}] masked, must be exactly 0`);
            const [dow, dor] = pair(b * tq * c);
            const [dqw, dqr] = pair(b * tq * c);
            const [dkvw, dkvr] = pair(b * tk * 2 * c);
            const [scw, scr] = pair(b * nh * tq * tk);
            ref.maskedAttentionBackward(dqr, dkvr, scr, dor, qr, kvr, ar, p);
            be.maskedAttentionBackward(dqw, dkvw, scw, dow, qw, kvw, aw, p);
            assertClose(dqw, dqr, `${what} dq`);
            assertClose(dkvw, dkvr, `${what} dkv`);
            // either gradient alone (the other not wanted) gives the same numbers
            const [dq1w] = pair(b * tq * c, () => 0);
            const [dkv1w] = pair(b * tk * 2 * c, () => 0);
            const [dq1r, dkv1r] = [ref.alloc('float32', b * tq * c), ref.alloc('float32', b * tk * 2 * c)];
            ref.maskedAttentionBackward(dq1r, null, scr, dor, qr, kvr, ar, p);
            be.maskedAttentionBackward(dq1w, null, scw, dow, qw, kvw, aw, p);
            ref.maskedAttentionBackward(null, dkv1r, scr, dor, qr, kvr, ar, p);
            be.maskedAttentionBackward(null, dkv1w, scw, dow, qw, kvw, aw, p);
            assertClose(dq1w, dq1r, `${what} dq alone`);
            assertClose(dkv1w, dkv1r, `${what} dkv alone`);
            free(qw, kvw, ow, aw, dow, dqw, dkvw, scw, dq1w, dkv1w);
            if (padW) be.free(padW);
          }
    });

    test('crossEntropy forward and backward, with ignored targets', () => {
      for (const v of [1, 3, 4, 5, 17, 65]) {
        for (const n of [1, 6, 500]) {
          const [lw, lr] = pair(n * v, () => 3 * rng.normal());
          const [tw, tr] = ids(n, v, true);
          const [ow, or] = pair(n);
          ref.crossEntropyForward(or, lr, tr, n, v);
          be.crossEntropyForward(ow, lw, tw, n, v);
          assertClose(ow, or, `crossEntropy n${n} v${v}`);
          const [dlw, dlr] = pair(n);
          const [gw, gr] = pair(n * v);
          ref.crossEntropyBackward(gr, lr, tr, dlr, n, v);
          be.crossEntropyBackward(gw, lw, tw, dlw, n, v);
          assertClose(gw, gr, `crossEntropy backward n${n} v${v}`);
          free(lw, ow, dlw, gw);
          be.free(tw);
        }
      }
      const [lw] = pair(4);
      const [tw] = ids(1, 4);
      tw[0] = 9;
      const [ow] = pair(1);
      assert.throws(() => be.crossEntropyForward(ow, lw, tw, 1, 4), /outside/);
    });

    test('embedding forward and backward (repeated ids accumulate)', () => {
      for (const c of [1, 3, 4, 5, 17, 64]) {
        for (const n of [1, 9, 600]) {
          const vocab = 11;
          const [tw, tr] = pair(vocab * c);
          const [iw, ir] = ids(n, vocab);
          const [ow, or] = pair(n * c);
          ref.embeddingForward(or, tr, ir, n, c);
          be.embeddingForward(ow, tw, iw, n, c);
          assertClose(ow, or, `embedding n${n} c${c}`);
          ref.embeddingBackward(tr, or, ir, n, c);
          be.embeddingBackward(tw, ow, iw, n, c);
          assertClose(tw, tr, `embedding backward n${n} c${c}`);
          free(tw, ow);
          be.free(iw);
        }
      }
    });

    test('dropout: the same mask as ref, bit for bit', () => {
      for (const p of [0, 0.1, 0.5, 0.9]) {
        for (const n of [1, 7, 50000]) {
          const [xw, xr] = pair(n);
          const [ow, or] = pair(n);
          const [mw, mr] = pair(n);
          ref.dropoutForward(or, mr, xr, p, 42);
          be.dropoutForward(ow, mw, xw, p, 42);
          assertClose(mw, mr, `dropout mask p${p} n${n}`, 0);
          assertClose(ow, or, `dropout out p${p} n${n}`, 0);
          free(xw, ow, mw);
        }
      }
    });

    test('adamw: several steps', () => {
      for (const n of [1, 5, 33, 40000]) {
        const [pw, pr] = pair(n);
        const [mw, mr] = pair(n, () => 0);
        const [vw, vr] = pair(n, () => 0);
        for (let step = 1; step <= 3; step++) {
          const [gw, gr] = pair(n);
          const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, gradScale: 0.5 };
          ref.adamw(pr, gr, mr, vr, hp);
          be.adamw(pw, gw, mw, vw, hp);
          be.free(gw);
        }
        assertClose(pw, pr, `adamw param n${n}`, 1e-5);
        assertClose(mw, mr, `adamw m n${n}`);
        assertClose(vw, vr, `adamw v n${n}`);
        free(pw, mw, vw);
      }
    });

    test('lstm and gru cells, forward and backward, widths around the 4-lane vector, skipped outputs', () => {
      // H below, at and above multiples of 4 (the padded tail); rows enough to split over threads
      for (const hs of [1, 3, 4, 5, 7, 8, 9, 17, 33, 65]) {
        for (const n of [1, 5, 300]) {
          const gen = () => 2 * rng.normal();
          const what = `n${n} hs${hs}`;
          // LSTM
          const [xw, xr] = pair(n * 4 * hs, gen);
          const [gw, gr] = pair(n * 4 * hs, gen);
          const [cpw, cpr] = pair(n * hs, gen);
          const [hw, hr] = pair(n * hs);
          const [cw, cr] = pair(n * hs);
          const [aw, ar] = pair(n * 4 * hs);
          ref.lstmCellForward(hr, cr, ar, xr, gr, cpr, n, hs);
          be.lstmCellForward(hw, cw, aw, xw, gw, cpw, n, hs);
          assertClose(hw, hr, `lstm h ${what}`);
          assertClose(cw, cr, `lstm c ${what}`);
          assertClose(aw, ar, `lstm act ${what}`);
          const [dhw, dhr] = pair(n * hs);
          const [dcw, dcr] = pair(n * hs);
          const [dxw, dxr] = pair(n * 4 * hs);
          const [dgw, dgr] = pair(n * 4 * hs);
          const [dpw, dpr] = pair(n * hs);
          ref.lstmCellBackward(dxr, dgr, dpr, dhr, dcr, ar, cr, cpr, n, hs);
          be.lstmCellBackward(dxw, dgw, dpw, dhw, dcw, aw, cw, cpw, n, hs);
          assertClose(dxw, dxr, `lstm dxg ${what}`);
          assertClose(dgw, dgr, `lstm dhg ${what}`);
          assertClose(dpw, dpr, `lstm dcPrev ${what}`);
          // null outputs are skipped, the others still accumulate
          ref.lstmCellBackward(null, dgr, null, dhr, dcr, ar, cr, cpr, n, hs);
          be.lstmCellBackward(null, dgw, null, dhw, dcw, aw, cw, cpw, n, hs);
          assertClose(dgw, dgr, `lstm dhg (others null) ${what}`);
          assertClose(dxw, dxr, `lstm dxg untouched ${what}`);
          free(xw, gw, cpw, hw, cw, aw, dhw, dcw, dxw, dgw, dpw);
          // GRU
          const [x3w, x3r] = pair(n * 3 * hs, gen);
          const [g3w, g3r] = pair(n * 3 * hs, gen);
          const [hpw, hpr] = pair(n * hs, gen);
          const [ow, or] = pair(n * hs);
          const [a3w, a3r] = pair(n * 3 * hs);
          ref.gruCellForward(or, a3r, x3r, g3r, hpr, n, hs);
          be.gruCellForward(ow, a3w, x3w, g3w, hpw, n, hs);
          assertClose(ow, or, `gru h ${what}`);
          assertClose(a3w, a3r, `gru act ${what}`);
          const [dow, dor] = pair(n * hs);
          const [dx3w, dx3r] = pair(n * 3 * hs);
          const [dg3w, dg3r] = pair(n * 3 * hs);
          const [dhpw, dhpr] = pair(n * hs);
          ref.gruCellBackward(dx3r, dg3r, dhpr, dor, a3r, g3r, hpr, n, hs);
          be.gruCellBackward(dx3w, dg3w, dhpw, dow, a3w, g3w, hpw, n, hs);
          assertClose(dx3w, dx3r, `gru dxg ${what}`);
          assertClose(dg3w, dg3r, `gru dhg ${what}`);
          assertClose(dhpw, dhpr, `gru dhPrev ${what}`);
          ref.gruCellBackward(dx3r, null, null, dor, a3r, g3r, hpr, n, hs);
          be.gruCellBackward(dx3w, null, null, dow, a3w, g3w, hpw, n, hs);
          assertClose(dx3w, dx3r, `gru dxg (others null) ${what}`);
          free(x3w, g3w, hpw, ow, a3w, dow, dx3w, dg3w, dhpw);
        }
      }
    });
  });
}

test('allocator: first fit, coalescing, growth through the callback', () => {
  let end = 1024;
  const a = new FreeListAllocator(0, end, (minEnd) => (end = Math.max(minEnd, end * 2)));
  const x = a.alloc(100); // 128 bytes
  const y = a.alloc(64);
  const z = a.alloc(2000); // grows
  assert.deepEqual([x, y, z], [0, 128, 192]);
  assert.ok(end >= 2192);
  a.release(x);
  a.release(y);
  assert.equal(a.alloc(190), 0); // the two freed blocks merged
  assert.equal(a.bytesInUse, 192 + 2048);
  assert.equal(a.peakBytes, 128 + 64 + 2048);
  assert.equal(contiguousStrides([2, 3]).length, 2);
});

test('allocator: knows which bytes were handed out before; alloc zeroes exactly those', async () => {
  const a = new FreeListAllocator(0, 1 << 20, () => {
    throw new Error('no growth here');
  });
  const x = a.alloc(256);
  assert.equal(a.lastDirtyBytes, 0); // fresh memory
  const y = a.alloc(128);
  assert.equal(a.lastDirtyBytes, 0);
  a.release(x);
  assert.equal(a.alloc(128), x);
  assert.equal(a.lastDirtyBytes, 128); // reused: all of it
  a.release(y); // y was the top block: the bump pointer moves back over y and x's tail
  a.alloc(512); // from x + 128: 256 bytes handed out before (x's tail, y), then fresh
  assert.equal(a.lastDirtyBytes, 256);

  const be = await createWasmBackend({ threads: 1 });
  try {
    const first = be.alloc('float32', 1000);
    first.fill(7);
    be.free(first);
    const again = be.alloc('float32', 1500); // the same block and fresh memory after it
    assert.equal(again.byteOffset, first.byteOffset);
    assert.ok(again.every((v) => v === 0));
    const ints = be.alloc('int32', 10);
    be.fill(ints, -3);
    assert.deepEqual([...ints], new Array(10).fill(-3));
    be.fill(again, 0.5);
    assert.ok(again.every((v) => v === 0.5));
  } finally {
    await be.dispose();
  }
});

test('two threads give the same bits as one (work is split, never reordered)', async () => {
  const one = await createWasmBackend({ threads: 1 });
  const two = await createWasmBackend({ threads: 2 });
  try {
    const rng = new Rng(99);
    const vals = (n: number) => Array.from({ length: n }, () => rng.normal());
    const [m, k, n] = [256, 96, 200];
    const av = vals(m * k);
    const bv = vals(n * k);
    const qv = vals(4 * 32 * 3 * 64);
    const outs = [one, two].map((be) => {
      const a = be.alloc('float32', m * k);
      const b = be.alloc('float32', n * k);
      const c = be.alloc('float32', m * n);
      a.set(av);
      b.set(bv);
      be.matmul(c, a, b, {
        batch: 1,
        m,
        k,
        n,
        transA: false,
        transB: true,
        accumulate: false,
        aBatchStride: 0,
        bBatchStride: 0,
      });
      const qkv = be.alloc('float32', qv.length);
      qkv.set(qv);
      const y = be.alloc('float32', 4 * 32 * 64);
      const att = be.alloc('float32', 4 * 4 * 32 * 32);
      be.attentionForward(y, att, qkv, 4, 32, 64, 4, 0.25);
      return [Array.from(c), Array.from(y)];
    });
    assert.deepEqual(outs[1], outs[0]);
    assert.ok(two.threadStats.parallelJobs > 0, 'the two-thread backend ran parallel jobs');
  } finally {
    await one.dispose();
    await two.dispose();
  }
});

test('madd_peak (the benchmark ceiling) computes its 12 chains c = c*a + b, in both builds', async () => {
  for (const kernels of ['simd', 'relaxed'] as const) {
    const be = await createWasmBackend({ threads: 1, kernels });
    try {
      const iters = 50;
      const seed = 0.001;
      let want = 0;
      for (let chain = 0; chain < 12; chain++) {
        let c = Math.fround(chain / 10);
        for (let i = 0; i < iters; i++)
          c = Math.fround(Math.fround(c * Math.fround(0.9999)) + Math.fround(seed));
        want += 4 * c;
      }
      const got = be.kernels.madd_peak(iters, seed);
      assert.ok(Math.abs(got - want) < 1e-4 * Math.abs(want), `${kernels}: ${got} vs ${want}`);
    } finally {
      await be.dispose();
    }
  }
});

// The architecture variants' kernels (kernels/variants.ts) against ref: head sizes below, at and
// above the 4-lane vector (and odd half-heads for rope), row counts that split over threads.
for (const { threads, kernels } of configs) {
  describe(`wasm variants (${kernels} kernels) vs ref, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    const rng = new Rng(4321 + threads);
    before(async () => {
      be = await createWasmBackend({ threads, kernels });
    });
    after(async () => {
      await be.dispose();
    });
    function pair(size: number, gen: () => number = () => rng.normal()): [Float32Array, Float32Array] {
      const w = be.alloc('float32', size);
      const r = ref.alloc('float32', size);
      for (let i = 0; i < size; i++) r[i] = w[i] = gen();
      return [w, r];
    }
    const free = (...arrs: FloatArray[]) => {
      for (const a of arrs) be.free(a);
    };

    test('rmsNorm forward and backward', () => {
      for (const c of [1, 3, 4, 5, 17, 64, 65]) {
        for (const n of [1, 6, 600]) {
          const [xw, xr] = pair(n * c, () => 2 * rng.normal() + 0.5);
          const [ww, wr] = pair(c);
          const [ow, or] = pair(n * c);
          const [rw, rr] = pair(n);
          ref.rmsNormForward(or, rr, xr, wr, n, c, 1e-5);
          be.rmsNormForward(ow, rw, xw, ww, n, c, 1e-5);
          const what = `rmsNorm n${n} c${c}`;
          assertClose(ow, or, what);
          assertClose(rw, rr, `${what} rstd`);
          const [dw, dr] = pair(n * c);
          const [dxw, dxr] = pair(n * c);
          const [dww, dwr] = pair(c);
          ref.rmsNormBackward(dxr, dwr, dr, xr, wr, rr, n, c);
          be.rmsNormBackward(dxw, dww, dw, xw, ww, rw, n, c);
          assertClose(dxw, dxr, `${what} dx`);
          assertClose(dww, dwr, `${what} dweight`);
          free(xw, ww, ow, rw, dw, dxw, dww);
        }
      }
    });

    test('qkNorm and rope on packed q|k|v: forward and backward', () => {
      // [C, NH]: head sizes 2, 6 (odd half), 8, 10, 32; rows from 1 to 2 * 300
      const shapes: [number, number][] = [
        [4, 2],
        [12, 2],
        [16, 2],
        [20, 2],
        [128, 4],
      ];
      for (const [c, nh] of shapes) {
        const half = c / nh / 2;
        for (const [b, t] of [
          [1, 1],
          [2, 3],
          [2, 300],
        ] as const) {
          const n = b * t;
          const what = `C${c} NH${nh} B${b} T${t}`;
          const [xw, xr] = pair(n * 3 * c);
          const [ow, or] = pair(n * 3 * c);
          const [rw, rr] = pair(n * 2 * nh);
          ref.qkNormForward(or, rr, xr, n, c, nh, 1e-5);
          be.qkNormForward(ow, rw, xw, n, c, nh, 1e-5);
          assertClose(ow, or, `qkNorm ${what}`);
          assertClose(rw, rr, `qkNorm ${what} rstd`);
          const [dw, dr] = pair(n * 3 * c);
          const [gw, gr] = pair(n * 3 * c);
          ref.qkNormBackward(gr, dr, or, rr, n, c, nh);
          be.qkNormBackward(gw, dw, ow, rw, n, c, nh);
          assertClose(gw, gr, `qkNorm ${what} backward`);
          const pos0 = 5;
          const maxT = pos0 + t;
          const [cw, cr] = pair(maxT * half, () => Math.cos(7 * rng.uniform()));
          const [sw, sr] = pair(maxT * half, () => Math.sin(7 * rng.uniform()));
          ref.ropeForward(or, xr, cr, sr, b, t, c, nh, pos0);
          be.ropeForward(ow, xw, cw, sw, b, t, c, nh, pos0);
          assertClose(ow, or, `rope ${what}`);
          ref.ropeBackward(gr, dr, cr, sr, b, t, c, nh, pos0);
          be.ropeBackward(gw, dw, cw, sw, b, t, c, nh, pos0);
          assertClose(gw, gr, `rope ${what} backward`);
          free(xw, ow, rw, dw, gw, cw, sw);
        }
      }
    });

    test('swiglu forward and backward', () => {
      for (const hidden of [1, 3, 4, 5, 17, 344]) {
        for (const n of [1, 7, 300]) {
          const [hw, hr] = pair(n * 2 * hidden, () => 3 * rng.normal());
          const [ow, or] = pair(n * hidden);
          ref.swigluForward(or, hr, n, hidden);
          be.swigluForward(ow, hw, n, hidden);
          assertClose(ow, or, `swiglu n${n} H${hidden}`);
          const [dw, dr] = pair(n * hidden);
          const [gw, gr] = pair(n * 2 * hidden);
          ref.swigluBackward(gr, dr, hr, n, hidden);
          be.swigluBackward(gw, dw, hw, n, hidden);
          assertClose(gw, gr, `swiglu n${n} H${hidden} backward`);
          free(hw, ow, dw, gw);
        }
      }
    });
  });
}
