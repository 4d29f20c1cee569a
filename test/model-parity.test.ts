// The whole GPT on the wasm backend against the ref backend (the definition): same weights,
// same batch; logits, loss and every parameter gradient must agree, for each architecture
// variant, on one and two threads, and a few compiled training steps must track each other.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { tensor } from '../src/tensor/tensor.js';
import { DEFAULT_CONFIG, type FullConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const ref = new RefBackend();
const V = 23;
const base: FullConfig = {
  ...DEFAULT_CONFIG,
  vocabSize: V,
  blockSize: 17,
  nLayer: 2,
  nHead: 3,
  nEmbd: 24,
  dropout: 0,
};
const variants: Partial<FullConfig>[] = [
  {},
  { bias: false },
  { positional: 'sinusoidal', norm: 'post', activation: 'relu' },
  { activation: 'gelu_tanh', dropout: 0.1 },
];

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-2, Math.abs(b[i]!)));
  return worst;
}

for (const threads of [1, 2]) {
  describe(`GPT on wasm (${threads} thread(s)) matches ref`, () => {
    let wasm: WasmBackend;
    before(async () => {
      wasm = await createWasmBackend({ threads });
    });
    after(async () => {
      await wasm.dispose();
    });

    for (const v of variants) {
      test(`forward + backward ${JSON.stringify(v)}`, () => {
        const cfg = modelConfig({ ...base, ...v });
        const a = new GPT(cfg, ref, { seed: 11 });
        const b = new GPT(cfg, wasm, { seed: 11 });
        const rng = new Rng(5);
        const B = 3;
        const T = cfg.blockSize;
        const xs = Array.from({ length: B * T }, () => rng.int(V));
        const ys = Array.from({ length: B * T }, () => rng.int(V));
        const run = (m: GPT) => {
          const seedRng = new Rng(77); // same dropout masks on both backends
          const ctx = { training: true, dropoutSeed: () => seedRng.nextU32() };
          const { logits, loss } = m.forward(
            tensor(m.backend, xs, [B, T], 'int32'),
            tensor(m.backend, ys, [B, T], 'int32'),
            ctx,
          );
          backward(loss!);
          return { logits: Array.from(logits.data), loss: loss!.item() };
        };
        const ra = run(a);
        const rb = run(b);
        assert.ok(Math.abs(ra.loss - rb.loss) < 1e-5, `loss ref ${ra.loss} wasm ${rb.loss}`);
        assert.ok(maxRelErr(rb.logits, ra.logits) < 1e-4, 'logits');
        for (const [name, p] of a.store.params) {
          const q = b.store.get(name);
          const err = maxRelErr(q.grad!.data, p.grad!.data);
          assert.ok(err < 2e-3, `grad of ${name}: rel err ${err}`);
        }
      });
    }

    test('compiled training steps on wasm track ref', async () => {
      const cfg = { ...base, maxIters: 6, evalInterval: 100, evalIters: 1, warmupIters: 1, batchSize: 2 };
      const rng = new Rng(3);
      const data = Uint16Array.from({ length: 500 }, () => rng.int(V));
      const losses = async (be: typeof ref | WasmBackend) => {
        const model = new GPT(modelConfig(cfg), be, { seed: 1 });
        const t = new Trainer({
          model,
          config: cfg,
          train: data,
          val: data,
          tokenizer: { kind: 'char', version: 1 },
        });
        const out: number[] = [];
        for (let i = 0; i < cfg.maxIters; i++) out.push(t.trainStep().loss);
        return out;
      };
      const lr = await losses(ref);
      const lw = await losses(wasm);
      for (let i = 0; i < lr.length; i++)
        assert.ok(Math.abs(lr[i]! - lw[i]!) < 1e-3, `step ${i}: ref ${lr[i]} wasm ${lw[i]}`);
    });
  });
}
