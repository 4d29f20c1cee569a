// Attention dropout (nanoGPT's attn_dropout, in the fused attention kernels): its mask is the
// draw dropoutForward makes on a tensor of the probabilities' shape; the op's gradient checks
// against finite differences; the wasm kernels agree with ref; dropout 0 draws no seed and
// changes nothing; and a whole model in training mode, every dropout on, agrees with PyTorch
// (test/pytorch/dropout_reference.py draws the same masks from the same seeds).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend, type KernelFlavor, type WasmBackend } from '../src/backend/wasm/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { tensor } from '../src/tensor/tensor.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { Rng } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';
import { gradCheck, randn } from './helpers.js';

const rng = new Rng(99);

test("the attention mask is dropoutForward's draw on the probabilities: out = (dropout(P) V)", () => {
  const be = new RefBackend();
  const [b, t, c, nh, p, seed] = [2, 7, 12, 3, 0.3, 4242];
  const hs = c / nh;
  const qkv = Float64Array.from({ length: b * t * 3 * c }, () => rng.normal());
  const att = new Float64Array(b * nh * t * t);
  const plain = new Float64Array(b * t * c);
  be.attentionForward(plain, att, qkv, b, t, c, nh, 1 / Math.sqrt(hs)); // P, no dropout
  const dropped = new Float64Array(att.length);
  const mask = new Float64Array(att.length);
  be.dropoutForward(dropped, mask, att, p, seed);
  const out = new Float64Array(b * t * c);
  const att2 = new Float64Array(att.length);
  be.attentionForward(out, att2, qkv, b, t, c, nh, 1 / Math.sqrt(hs), p, seed);
  assert.deepEqual(att2, att, 'att keeps the probabilities before dropout');
  let zeroed = 0;
  for (let bb = 0; bb < b; bb++)
    for (let h = 0; h < nh; h++)
      for (let i = 0; i < t; i++)
        for (let d = 0; d < hs; d++) {
          let s = 0;
          for (let j = 0; j <= i; j++) {
            const e = ((bb * nh + h) * t + i) * t + j;
            if (mask[e] === 0) zeroed++;
            s += dropped[e]! * qkv[(bb * t + j) * 3 * c + 2 * c + h * hs + d]!;
          }
          const got = out[(bb * t + i) * c + h * hs + d]!;
          assert.ok(Math.abs(got - s) < 1e-12, `out[${bb},${i},${h},${d}]: ${got} vs ${s}`);
        }
  assert.ok(zeroed > 0, 'some probabilities were dropped');
  const changed = out.some((v, i) => v !== plain[i]);
  assert.ok(changed, 'dropout changed the output');
});

test('attention dropout: gradient against central differences (float64, fixed mask)', () => {
  const qkv = randn(refBackend, [2, 6, 12], rng);
  gradCheck((x) => F.causalSelfAttention(x, 2, undefined, { p: 0.3, seed: 1234 }), [qkv], {
    maxPerInput: 144,
  });
  gradCheck(
    (x) => F.causalSelfAttention(x, 3, undefined, { p: 0.6, seed: 7 }),
    [randn(refBackend, [1, 5, 18], rng)],
  );
});

test('dropout 0 (and eval mode) draws no seed and computes exactly what no dropout does', () => {
  const qkv = randn(refBackend, [2, 5, 12], rng, 'float32');
  let draws = 0;
  const seed = () => {
    draws++;
    return 5;
  };
  const a = F.causalSelfAttention(qkv, 2);
  const z = F.causalSelfAttention(qkv, 2, undefined, { p: 0, seed });
  assert.equal(draws, 0);
  assert.deepEqual(z.data, a.data);
  F.causalSelfAttention(qkv, 2, undefined, { p: 0.1, seed });
  assert.equal(draws, 1, 'p > 0 draws one seed per call');
  assert.throws(
    () => F.causalSelfAttention(qkv, 2, undefined, { p: 1, seed: 0 }),
    /dropout p must be in \[0, 1\), got 1/,
  );
});

const ref = new RefBackend();
for (const { threads, kernels } of [
  { threads: 1, kernels: 'simd' as KernelFlavor },
  { threads: 2, kernels: 'auto' as const },
]) {
  describe(`wasm attention dropout (${kernels} kernels, ${threads} thread(s)) vs ref`, () => {
    let be: WasmBackend;
    after(async () => {
      await be?.dispose();
    });
    test('forward and backward, sizes around the tile edges, several p', async () => {
      be = await createWasmBackend({ threads, kernels });
      const pair = (n: number, gen = () => rng.normal()): [Float32Array, Float32Array] => {
        const w = be.alloc('float32', n);
        const r = ref.alloc('float32', n);
        for (let i = 0; i < n; i++) r[i] = w[i] = gen();
        return [w, r];
      };
      for (const [b, t, c, nh, p] of [
        [1, 1, 4, 1, 0.5],
        [2, 5, 12, 3, 0.1],
        [2, 9, 20, 2, 0.2],
        [2, 17, 32, 4, 0.5],
        [3, 33, 24, 2, 0.9],
        [1, 40, 20, 4, 0.2],
        [2, 70, 64, 2, 0.1],
        [1, 130, 64, 2, 0.2],
      ] as const) {
        const seed = 1000 + t;
        const scale = 1 / Math.sqrt(c / nh);
        const what = `b${b} t${t} c${c} nh${nh} p${p}`;
        const [qw, qr] = pair(b * t * 3 * c);
        const [ow, or] = pair(b * t * c);
        const [aw, ar] = pair(b * nh * t * t);
        ref.attentionForward(or, ar, qr, b, t, c, nh, scale, p, seed);
        be.attentionForward(ow, aw, qw, b, t, c, nh, scale, p, seed);
        close(ow, or, `${what} out`);
        close(aw, ar, `${what} att`);
        const [dow, dor] = pair(b * t * c);
        const [dqw, dqr] = pair(b * t * 3 * c);
        const [scw, scr] = pair(b * nh * t * t);
        ref.attentionBackward(dqr, scr, dor, qr, ar, b, t, c, nh, scale, p, seed);
        be.attentionBackward(dqw, scw, dow, qw, aw, b, t, c, nh, scale, p, seed);
        close(dqw, dqr, `${what} dqkv`);
        for (const a of [qw, ow, aw, dow, dqw, scw]) be.free(a);
      }
    });
  });
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(err <= tol)) assert.fail(`${what}[${i}]: wasm ${actual[i]}, ref ${expected[i]} (rel err ${err})`);
  }
}

// ---- the whole model in training mode against PyTorch ----

const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const skip = torchMissing
  ? `PyTorch is not importable by ${PY} (install python3-torch; .ci/run does)`
  : false;

describe('dropout parity with PyTorch (training mode, every dropout on, the same masks)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgpt-dropout-'));
  let wasm: WasmBackend | null = null;
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await wasm?.dispose();
  });
  const V = 29;
  const cfg = modelConfig({
    ...DEFAULT_CONFIG,
    vocabSize: V,
    blockSize: 16,
    nLayer: 2,
    nHead: 4,
    nEmbd: 32,
    dropout: 0.2,
  });

  function check(be: Backend, tag: string): void {
    const model = new GPT(cfg, be, { seed: 3 });
    const r = new Rng(5);
    const B = 3;
    const T = cfg.blockSize;
    const idx = Array.from({ length: B * T }, () => r.int(V));
    const targets = Array.from({ length: B * T }, () => r.int(V));
    const seeds: number[] = [];
    let next = 100;
    const ctx = {
      training: true,
      dropoutSeed: () => {
        seeds.push(next);
        return next++;
      },
    };
    const x = tensor(be, idx, [B, T], 'int32');
    const y = tensor(be, targets, [B, T], 'int32');
    model.store.zeroGrad(be);
    const { logits, loss } = model.forward(x, y, ctx);
    backward(loss!);
    // embedding, then per block: attention probabilities, attention residual, MLP residual
    assert.equal(seeds.length, 1 + 3 * cfg.nLayer, 'one seed per dropout');

    const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, p] of model.stateDict())
      weights.set(name, { shape: p.shape, data: Float32Array.from(p.data) });
    const w = join(dir, `w-${tag}.safetensors`);
    const spec = join(dir, `spec-${tag}.json`);
    const out = join(dir, `out-${tag}.safetensors`);
    writeFileSync(w, encodeSafetensors(weights));
    const rows = (a: number[]) => Array.from({ length: B }, (_, i) => a.slice(i * T, (i + 1) * T));
    writeFileSync(spec, JSON.stringify({ config: cfg, idx: rows(idx), targets: rows(targets), seeds }));
    const run = spawnSync(PY, ['test/pytorch/dropout_reference.py', w, spec, out], { encoding: 'utf8' });
    assert.equal(run.status, 0, `dropout_reference.py failed: ${run.stderr}`);
    const torch = decodeSafetensors(readFileSync(out)).tensors;

    const dl = Math.abs(loss!.item() - torch.get('loss')!.data[0]!);
    assert.ok(dl <= 1e-5, `loss ${loss!.item()} vs torch ${torch.get('loss')!.data[0]} (diff ${dl})`);
    const tl = torch.get('logits')!.data;
    let worst = 0;
    for (let i = 0; i < tl.length; i++) worst = Math.max(worst, Math.abs(logits.data[i]! - tl[i]!));
    assert.ok(worst <= 1e-4, `logits differ by ${worst}`);
    for (const [name, p] of model.store.params) {
      const g = torch.get(`grad/${name}`)!.data;
      let d = 0;
      let m = 0;
      for (let i = 0; i < g.length; i++) {
        d = Math.max(d, Math.abs(p.grad!.data[i]! - g[i]!));
        m = Math.max(m, Math.abs(g[i]!));
      }
      assert.ok(d / Math.max(m, 1e-8) <= 1e-3, `gradient of ${name}: relative difference ${d / m}`);
    }
    // without the attention dropout the loss would differ: the masks really are in use
    const evalLoss = model.forward(x, y).loss!.item();
    assert.notEqual(evalLoss, loss!.item());
  }

  test('ref backend: loss 1e-5, logits 1e-4, every gradient 1e-3 relative', () => check(refBackend, 'ref'));
  test('wasm backend, 2 threads: the same tolerances', async () => {
    wasm = await createWasmBackend({ threads: 2 });
    check(wasm, 'wasm');
  });
});

// ---- dropout without a stored mask (dropoutApply / dropoutBackward) ----

describe('dropout that redraws its mask in the backward computes what the stored mask does, bit for bit', () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
  });
  for (const name of ['ref', 'wasm'] as const)
    test(name, async () => {
      const be: Backend =
        name === 'ref' ? new RefBackend() : (wasm ??= await createWasmBackend({ threads: 2 }));
      for (const [n, p, seed] of [
        [1, 0.5, 3],
        [37, 0.1, 99],
        [50_000, 0.2, 12345],
      ] as const) {
        const x = tensor(
          be,
          Array.from({ length: n }, () => rng.normal()),
          [n],
          'float32',
          true,
        );
        const dout = Array.from({ length: n }, () => rng.normal());
        // the op (no mask kept), its output and its gradient
        const y = F.dropout(x, p, seed, true);
        const w = tensor(be, dout, [n], 'float32');
        backward(F.sum(F.mul(y, w)));
        // the stored-mask way: dropoutForward's mask, dx = dout * mask
        const out = be.alloc('float32', n);
        const mask = be.alloc('float32', n);
        be.dropoutForward(out, mask, x.f, p, seed);
        assert.deepEqual(Array.from(y.data), Array.from(out), `n${n}: forward`);
        for (let i = 0; i < n; i++) {
          const want = Math.fround(w.data[i]! * mask[i]!);
          if (!Object.is(x.grad!.data[i], Math.fround(0 + want)))
            assert.fail(`n${n}: dx[${i}] ${x.grad!.data[i]} vs ${want}`);
        }
      }
    });
});
