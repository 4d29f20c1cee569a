// int8 inference: the quantizer (src/backend/int8.ts) and the int8 linear layer, the wasm
// kernels (relaxed SIMD's integer dot product, and the plain SIMD fallback) bit for bit against
// the reference at sizes around the kernels' edges (16 bytes a dot, 4 rows a group), and the
// layer close to float32 (within the quantization's error bound).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import { int8Values, linearInt8Ref, nearestEven, quantizeInt8 } from '../src/backend/int8.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend, type KernelFlavor, type WasmBackend } from '../src/backend/wasm/index.js';
import { ConfigError } from '../src/errors.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { INT8_ROWWISE, int8ParamNames, quantizeModel } from '../src/model/quantize.js';
import { DEFAULT_SAMPLING, generate } from '../src/sample/sampling.js';
import { tensor } from '../src/tensor/tensor.js';
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { planRun } from '../src/train/setup.js';
import { Rng } from '../src/util/rng.js';

const ref = new RefBackend();
const rng = new Rng(8);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);

test('nearestEven rounds half to even, like WebAssembly nearest', () => {
  assert.deepEqual(
    [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6].map(nearestEven),
    [-2, -2, -0, 0, 2, 2, 2, -3],
  );
});

test('quantizeInt8: per-row scales, values in [-127, 127], the row max at +-127, row sums', () => {
  const w = randn(5 * 9);
  w.fill(0, 18, 27); // a zero row
  const q = quantizeInt8(ref, w, 5, 9);
  const v = int8Values(q);
  for (let r = 0; r < 5; r++) {
    let amax = 0;
    let sum = 0;
    for (let j = 0; j < 9; j++) {
      amax = Math.max(amax, Math.abs(w[r * 9 + j]!));
      sum += v[r * 9 + j]!;
      assert.ok(Math.abs(v[r * 9 + j]!) <= 127);
      // dequantized within half a step
      assert.ok(Math.abs(v[r * 9 + j]! * q.scales[r]! - w[r * 9 + j]!) <= q.scales[r]! / 2 + 1e-7);
    }
    assert.equal(q.rowSums[r], sum);
    if (r === 2) assert.equal(q.scales[r], 0);
    else
      assert.ok(
        Math.abs(q.scales[r]! - amax / 127) < 1e-9 &&
          v.slice(r * 9, r * 9 + 9).some((x) => Math.abs(x) === 127),
      );
  }
});

test('the int8 linear layer is within the quantization error of float32', () => {
  const [n, c, oc] = [3, 64, 40];
  const w = randn(oc * c, 0.05);
  const x = randn(n * c);
  const bias = randn(oc, 0.1);
  const q = quantizeInt8(ref, w, oc, c);
  const out = new Float32Array(n * oc);
  linearInt8Ref(out, x, q, bias, n);
  for (let r = 0; r < n; r++) {
    let xmax = 0;
    for (let j = 0; j < c; j++) xmax = Math.max(xmax, Math.abs(x[r * c + j]!));
    for (let o = 0; o < oc; o++) {
      let exact = bias[o]!;
      let bound = 0;
      for (let j = 0; j < c; j++) {
        exact += x[r * c + j]! * w[o * c + j]!;
        // |error| per term <= |x| dw + |w| dx + dw dx, steps: weights scale/2, activations xmax/126
        bound +=
          Math.abs(x[r * c + j]!) * (q.scales[o]! / 2) +
          Math.abs(w[o * c + j]!) * (xmax / 126) +
          (q.scales[o]! * xmax) / 252;
      }
      const got = out[r * oc + o]!;
      assert.ok(Math.abs(got - exact) <= bound + 1e-5, `out[${r},${o}] ${got} vs ${exact} (bound ${bound})`);
    }
  }
});

for (const { threads, kernels } of [
  { threads: 1, kernels: 'simd' as KernelFlavor },
  { threads: 1, kernels: 'auto' as const },
  { threads: 2, kernels: 'auto' as const },
]) {
  describe(`wasm linearInt8 (${kernels} kernels, ${threads} thread(s)) vs the reference, bit for bit`, () => {
    let be: WasmBackend;
    after(async () => {
      await be?.dispose();
    });
    test('rows 1..70, C around 16-byte edges, OC around 4-row groups, with and without bias', async () => {
      be = await createWasmBackend({ threads, kernels });
      if (kernels === 'auto') assert.ok(['relaxed', 'simd'].includes(be.flavor));
      for (const [n, c, oc] of [
        [1, 16, 4],
        [1, 15, 3],
        [2, 17, 5],
        [1, 768, 2304],
        [3, 33, 9],
        [64, 128, 65],
        [5, 3072, 20],
        [70, 48, 130],
      ] as const) {
        const w = randn(oc * c, 0.1);
        const x = randn(n * c, 2);
        if (n > 1) x.fill(0, 0, c); // a zero row
        const bias = randn(oc);
        const qr = quantizeInt8(ref, w, oc, c);
        const qw = quantizeInt8(be, w, oc, c);
        assert.deepEqual(int8Values(qw), int8Values(qr));
        const xw = be.alloc('float32', n * c);
        xw.set(x);
        const bw = be.alloc('float32', oc);
        bw.set(bias);
        for (const withBias of [true, false]) {
          const want = new Float32Array(n * oc);
          linearInt8Ref(want, x, qr, withBias ? bias : null, n);
          const got = be.alloc('float32', n * oc);
          be.linearInt8(got, xw, qw, withBias ? bw : null, n);
          for (let i = 0; i < want.length; i++)
            if (!Object.is(got[i], want[i]))
              assert.fail(`n${n} c${c} oc${oc} bias ${withBias}: out[${i}] wasm ${got[i]}, ref ${want[i]}`);
          be.free(got);
        }
        be.free(xw);
        be.free(bw);
      }
    });
  });
}

// ---- int8 models: quantizeModel, the int8 checkpoint, and what refuses them ----

const cfg = modelConfig({ ...DEFAULT_CONFIG, vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 });

test('an int8 model: logits close to float32, a quarter of the weight memory, the same greedy tokens as its checkpoint', () => {
  const be = new RefBackend();
  const model = new GPT(cfg, be, { seed: 3, grads: false });
  const x = tensor(
    be,
    Array.from({ length: 32 }, (_, i) => (i * 7) % 50),
    [2, 16],
    'int32',
  );
  const y = tensor(
    be,
    Array.from({ length: 32 }, (_, i) => (i * 3) % 50),
    [2, 16],
    'int32',
  );
  const fp = noGrad(() => model.forward(x, y));
  const floatParams = model.numParams();
  quantizeModel(model);
  const q = noGrad(() => model.forward(x, y));
  assert.ok(
    Math.abs(q.loss!.item() - fp.loss!.item()) < 2e-3,
    `loss ${q.loss!.item()} vs ${fp.loss!.item()}`,
  );
  let worst = 0;
  for (let i = 0; i < q.logits.size; i++)
    worst = Math.max(worst, Math.abs(q.logits.data[i]! - fp.logits.data[i]!));
  assert.ok(worst < 0.02, `logits differ by ${worst}`);
  const int8Names = int8ParamNames(model);
  assert.deepEqual(int8Names.sort(), [
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_proj.weight',
    'transformer.h.1.attn.c_attn.weight',
    'transformer.h.1.attn.c_proj.weight',
    'transformer.h.1.mlp.c_fc.weight',
    'transformer.h.1.mlp.c_proj.weight',
    'transformer.wte.weight',
  ]);
  assert.ok(model.numParams() < floatParams / 5, 'the int8 weights left the float32 buffer');

  // the checkpoint round trip: the same model, bit for bit
  const bytes = encodeCheckpoint(model, null, {
    train: null,
    tokenizer: { kind: 'char', version: 1 },
    step: 0,
    bestValLoss: null,
    rng: null,
    quantization: INT8_ROWWISE,
  });
  const ck = decodeCheckpoint(bytes, 'int8.safetensors');
  assert.equal(ck.meta.quantization, INT8_ROWWISE);
  const back = modelFromCheckpoint(ck, be, false);
  const again = noGrad(() => back.forward(x, y));
  assert.deepEqual(again.logits.data, q.logits.data);
  const tokens = generate(back, [1, 2, 3], 10, { ...DEFAULT_SAMPLING, greedy: true }, new Rng(1), () => {});
  const tokens2 = generate(model, [1, 2, 3], 10, { ...DEFAULT_SAMPLING, greedy: true }, new Rng(1), () => {});
  assert.deepEqual(tokens, tokens2);

  // training an int8 model or checkpoint: one clear line each
  assert.throws(
    () => modelFromCheckpoint(ck, be, true),
    /an int8 checkpoint \(tsgpt quantize\) samples and evaluates but cannot be trained/,
  );
  const data = {
    train: new Uint16Array(100),
    val: new Uint16Array(100),
    vocabSize: 50,
    tokenizer: { kind: 'char', version: 1 } as const,
    name: 'd',
  };
  for (const key of ['resume', 'initFrom'] as const)
    assert.throws(
      () => planRun({ data, [key]: { checkpoint: ck, name: 'int8.safetensors' } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^int8\.safetensors: an int8 checkpoint \(tsgpt quantize\)/.test(e.message),
    );
  const w = model.transformer.h.items[0]!.attn.c_attn.weight;
  const xin = randnTensor(be, [1, 32]);
  assert.throws(() => F.linear(xin, w, null), /int8 weights are for inference only/);
});

function randnTensor(be: RefBackend, shape: number[]) {
  return tensor(be, randn(shape.reduce((a, b) => a * b, 1)), shape, 'float32', true);
}
