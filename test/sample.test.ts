// Sampling and generation: strategies, the KV cache against a full recompute, the window.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend as be } from '../src/backend/index.js';
import { TsgptError } from '../src/errors.js';
import { type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { DEFAULT_SAMPLING, generate, pickToken, windowStart } from '../src/sample/sampling.js';
import { tensor } from '../src/tensor/tensor.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { AdamW } from '../src/train/optimizer.js';
import { Rng } from '../src/util/rng.js';

const cfg = (over: Partial<GPTConfig> = {}): GPTConfig =>
  modelConfig({ ...DEFAULT_CONFIG, vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, ...over });

const SPEEDRUN: Partial<GPTConfig> = {
  positional: 'rope',
  qkNorm: true,
  normType: 'rmsnorm',
  activation: 'swiglu',
  tieWeights: false,
  logitSoftcap: 20,
};

for (const variant of [
  {},
  { positional: 'sinusoidal' as const, norm: 'post' as const, bias: false },
  SPEEDRUN,
]) {
  test(`KV cache logits equal a full recompute at every step (${JSON.stringify(variant)})`, () => {
    const model = new GPT(cfg(variant), be, { seed: 3 });
    const rng = new Rng(9);
    // an untied head starts at zero: give it weights, or every logit would be 0 on both paths
    if (variant.tieWeights === false)
      for (const [i] of model.lmHead.data.entries()) model.lmHead.data[i] = rng.normal();
    const seq = Array.from({ length: 8 }, () => rng.int(11));
    const cache = model.newCache(1);
    noGrad(() => {
      for (let n = 3; n <= 8; n++) {
        const fresh = n === 3 ? seq.slice(0, 3) : [seq[n - 1]!];
        const cached = model.forwardCached(tensor(be, fresh, [1, fresh.length], 'int32'), cache);
        const full = model.forward(tensor(be, seq.slice(0, n), [1, n], 'int32'), null).logits;
        assert.equal(cache.length, n);
        for (let i = 0; i < 11; i++)
          assert.ok(Math.abs(cached.data[i]! - full.data[i]!) < 1e-5, `step ${n} logit ${i}`);
      }
    });
  });
}

test('greedy generation is identical with and without the cache, across window jumps', () => {
  const model = new GPT(cfg(), be, { seed: 4 });
  const opts = { ...DEFAULT_SAMPLING, greedy: true };
  const a = generate(model, [1, 2, 3], 30, opts, new Rng(1), () => {}, { cache: true });
  const b = generate(model, [1, 2, 3], 30, opts, new Rng(1), () => {}, { cache: false });
  assert.equal(a.length, 30);
  assert.deepEqual(a, b);
  // sampled (not greedy) generation also matches: same logits, same random draws
  const s = { ...DEFAULT_SAMPLING, temperature: 1.2, topK: 5 };
  assert.deepEqual(
    generate(model, [5], 20, s, new Rng(2), () => {}),
    generate(model, [5], 20, s, new Rng(2), () => {}, { cache: false }),
  );
});

test('a weights-only model (grads: false) has no gradient buffer and samples exactly as a full one', () => {
  const full = new GPT(cfg(), be, { seed: 4 });
  const lean = new GPT(cfg(), be, { init: false, grads: false });
  lean.loadStateDict(full.stateDict());
  assert.equal(lean.store.grad.length, 0);
  assert.equal(full.store.grad.length, full.store.size);
  const opts = { ...DEFAULT_SAMPLING, temperature: 0.9, topK: 4 };
  assert.deepEqual(
    generate(lean, [1, 2], 25, opts, new Rng(5), () => {}),
    generate(full, [1, 2], 25, opts, new Rng(5), () => {}),
  );
  // outside noGrad too: nothing records a graph, and training it is refused in one line
  const { logits } = lean.forward(tensor(be, [1, 2, 3], [1, 3], 'int32'), null);
  assert.equal(logits.requiresGrad, false);
  assert.throws(() => lean.store.zeroGrad(be), TsgptError);
  assert.throws(
    () => new AdamW(be, lean.store, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 }),
    /built without gradients/,
  );
});

test("crop window (nanoGPT's): cached and uncached generation agree past blockSize, with rotary positions", () => {
  const model = new GPT(cfg(SPEEDRUN), be, { seed: 5 });
  const rng = new Rng(3);
  for (const [i] of model.lmHead.data.entries()) model.lmHead.data[i] = rng.normal();
  const opts = { ...DEFAULT_SAMPLING, greedy: true };
  const a = generate(model, [1, 2, 3], 30, opts, new Rng(1), () => {}, { window: 'crop' });
  const b = generate(model, [1, 2, 3], 30, opts, new Rng(1), () => {}, { window: 'crop', cache: false });
  assert.deepEqual(a, b);
  const s = { ...DEFAULT_SAMPLING, temperature: 1.2, topK: 5 };
  assert.deepEqual(
    generate(model, [5], 20, s, new Rng(2), () => {}, { window: 'crop' }),
    generate(model, [5], 20, s, new Rng(2), () => {}, { window: 'crop', cache: false }),
  );
});

test('the crop window keeps the newest blockSize tokens', () => {
  assert.equal(windowStart(8, 0, 8, 'crop'), 0);
  assert.equal(windowStart(9, 0, 8, 'crop'), 1);
  assert.equal(windowStart(10, 1, 8, 'crop'), 2);
});

test('the context window jumps to the newest half once it outgrows blockSize', () => {
  assert.equal(windowStart(8, 0, 8), 0);
  assert.equal(windowStart(9, 0, 8), 5);
  assert.equal(windowStart(12, 5, 8), 5);
  assert.equal(windowStart(14, 5, 8), 10);
});

test('pickToken: greedy, top-k, top-p, temperature, repetition penalty', () => {
  const logits = [1, 3, 2, 0.5];
  const rng = new Rng(1);
  assert.equal(pickToken(logits, [], { ...DEFAULT_SAMPLING, greedy: true }, rng), 1);
  assert.equal(pickToken(logits, [], { ...DEFAULT_SAMPLING, temperature: 0 }, rng), 1);
  for (let i = 0; i < 50; i++) assert.equal(pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 1 }, rng), 1);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++)
    seen.add(pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 2, temperature: 1 }, rng));
  assert.deepEqual([...seen].sort(), [1, 2]);
  // top-p 0.5: token 1 alone has p = e^3 / (e + e^3 + e^2 + e^.5) = 0.64 >= 0.5
  for (let i = 0; i < 50; i++)
    assert.equal(pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 0, topP: 0.5, temperature: 1 }, rng), 1);
  // a strong repetition penalty moves greedy off a token already in the context
  assert.equal(pickToken(logits, [1], { ...DEFAULT_SAMPLING, greedy: true, repetitionPenalty: 2 }, rng), 2);
  // temperature sampling follows the softmax: token 1 about 64% of the time
  let ones = 0;
  for (let i = 0; i < 4000; i++)
    if (pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 0, temperature: 1 }, rng) === 1) ones++;
  assert.ok(Math.abs(ones / 4000 - 0.6364) < 0.03, `frequency ${ones / 4000}`);
});
