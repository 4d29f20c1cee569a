// Mixed precision (precision: 'bf16' / --precision bf16): the attention probabilities saved for
// the backward in bfloat16 (src/backend/bf16.ts). The rounding is to nearest even; the kernels
// save exactly the bf16 of the float32 probabilities and compute the forward from the float32
// ones (the output is bit for bit the float32 path's); the gradient is within bf16's error of
// the float32 one; a short training run agrees with float32 (stated tolerance: every loss of 60
// steps within 1e-3); and a bf16 step holds less memory than a float32 one (bytes: what the
// probabilities and the backward's scratch would have taken, less the kernels' own per-thread scratch).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { bf16Values, fromBf16, roundBf16, toBf16 } from '../src/backend/bf16.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { setupRun } from '../src/train/setup.js';
import { Rng } from '../src/util/rng.js';

const rng = new Rng(5);

test('bf16: the top half of a float32, rounded to nearest even', () => {
  assert.equal(toBf16(1), 0x3f80);
  assert.equal(fromBf16(0x3f80), 1);
  assert.equal(roundBf16(1 + 2 ** -8), 1, 'a tie rounds to the even mantissa (down here)');
  assert.equal(roundBf16(1 + 3 * 2 ** -8), 1 + 2 ** -6, 'a tie rounds to the even mantissa (up here)');
  assert.equal(roundBf16(1 + 2 ** -8 + 2 ** -12), 1 + 2 ** -7, 'past the tie: up');
  assert.equal(roundBf16(-3.140625), -3.140625, 'representable values stay');
  for (let i = 0; i < 1000; i++) {
    const x = rng.normal() * 10;
    // 8 significant bits: half a step is at most 2^-8 of the value
    assert.ok(Math.abs(roundBf16(x) - x) <= Math.abs(x) * 2 ** -8, `${x}: within half a bf16 step`);
  }
});

describe('the bf16 attention kernels', () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
  });
  for (const name of ['ref', 'wasm'] as const)
    test(`${name}: saves bf16(P), the forward bit for bit float32's, the gradient within bf16's error`, async () => {
      const be: Backend =
        name === 'ref' ? new RefBackend() : (wasm ??= await createWasmBackend({ threads: 2 }));
      for (const [b, t, c, nh, p] of [
        [1, 5, 12, 3, 0],
        [2, 17, 32, 4, 0.1],
        [2, 70, 64, 2, 0],
        [1, 130, 64, 2, 0.2],
      ] as const) {
        const scale = 1 / Math.sqrt(c / nh);
        const seed = 77 + t;
        const arr = (n: number) => {
          const a = be.alloc('float32', n);
          for (let i = 0; i < n; i++) a[i] = rng.normal();
          return a;
        };
        const qkv = arr(b * t * 3 * c);
        const dout = arr(b * t * c);
        const n = b * nh * t * t;
        const out = be.alloc('float32', b * t * c);
        const att = be.alloc('float32', n);
        be.attentionForward(out, att, qkv, b, t, c, nh, scale, p, seed);
        const out16 = be.alloc('float32', b * t * c);
        const att16 = be.alloc('int32', Math.ceil(n / 2));
        be.attentionForwardBf16!(out16, att16, qkv, b, t, c, nh, scale, p, seed);
        assert.deepEqual(Array.from(out16), Array.from(out), `t${t}: forward`);
        const h = bf16Values(att16, n);
        for (let i = 0; i < n; i++)
          if (h[i] !== toBf16(att[i]!)) assert.fail(`t${t}: att16[${i}] ${h[i]} vs bf16(${att[i]})`);
        const d32 = be.alloc('float32', b * t * 3 * c);
        be.attentionBackward(d32, be.alloc('float32', n), dout, qkv, att, b, t, c, nh, scale, p, seed);
        const d16 = be.alloc('float32', b * t * 3 * c);
        be.attentionBackwardBf16!(d16, dout, qkv, att16, b, t, c, nh, scale, p, seed);
        let worst = 0;
        let big = 0;
        for (let i = 0; i < d32.length; i++) {
          worst = Math.max(worst, Math.abs(d16[i]! - d32[i]!));
          big = Math.max(big, Math.abs(d32[i]!));
        }
        assert.ok(worst <= 2e-2 * big, `t${t}: dqkv differs by ${worst} (largest ${big})`);
        assert.ok(worst > 0 || t < 8, 'bf16 rounding shows');
      }
    });
});

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8').slice(0, 200_000);
const tok = CharTokenizer.fromText(text);
const ids = Uint16Array.from(tok.encode(text));
const data = { train: ids, val: ids, vocabSize: tok.vocabSize, tokenizer: tok.toJSON(), name: 'shakespeare' };

test('a short run in bf16 agrees with float32: every loss of 60 steps within 1e-3; less memory', async () => {
  const run = async (precision: 'fp32' | 'bf16') => {
    const be = await createWasmBackend({ threads: 2 });
    try {
      const { trainer } = setupRun({
        backend: be,
        data,
        preset: 'plan',
        overrides: {
          nLayer: 2,
          nEmbd: 64,
          nHead: 4,
          blockSize: 128,
          batchSize: 4,
          learningRate: 1e-3,
          precision,
        },
        adaptThreads: false,
      });
      const losses: number[] = [];
      for (let i = 0; i < 60; i++) losses.push(trainer.trainStep().loss);
      return { losses, peak: be.peakBytes };
    } finally {
      await be.dispose();
    }
  };
  const f = await run('fp32');
  const h = await run('bf16');
  for (let i = 0; i < f.losses.length; i++)
    assert.ok(
      Math.abs(h.losses[i]! - f.losses[i]!) <= 1e-3,
      `step ${i + 1}: bf16 ${h.losses[i]} vs fp32 ${f.losses[i]}`,
    );
  assert.ok(f.losses[59]! < f.losses[0]! - 0.5, 'it learns');
  // per layer: att in 2 bytes instead of 4, and no 4-byte (B, nh, T, T) backward scratch
  const saved = 2 * 4 * 4 * 128 * 128 * (2 + 4);
  assert.ok(f.peak - h.peak >= 0.8 * saved, `peak wasm memory ${h.peak} (bf16) vs ${f.peak} (fp32)`);
});
