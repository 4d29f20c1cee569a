// GPT's own methods beyond forward (which model-parity.test.ts and pytorch-parity.test.ts check):
// cropBlockSize, nanoGPT's crop_block_size, on both backends and both kinds of positions.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { tensor } from '../src/tensor/tensor.js';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const V = 13;
const cfg = (over: Partial<GPTConfig> = {}): GPTConfig =>
  modelConfig({ ...DEFAULT_CONFIG, vocabSize: V, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, ...over });

/** Logits of the last position of a (2, t) batch of fixed random ids. */
function lastLogits(model: GPT, t: number): number[] {
  const rng = new Rng(4);
  const idx = tensor(
    model.backend,
    Array.from({ length: 2 * t }, () => rng.int(V)),
    [2, t],
    'int32',
  );
  return Array.from(model.forward(idx, null).logits.data);
}

let wasm: WasmBackend;
before(async () => {
  wasm = await createWasmBackend({ threads: 1 });
});
after(async () => {
  await wasm.dispose();
});

describe('GPT.cropBlockSize', () => {
  for (const [name, backend] of [
    ['ref', () => refBackend],
    ['wasm', () => wasm],
  ] as const)
    test(`learned positions keep their first rows; every other weight and short inputs' logits stay (${name})`, () => {
      const be: Backend = backend();
      const full = new GPT(cfg(), be, { seed: 3 });
      const model = new GPT(cfg(), be, { seed: 3 });
      const before = new Map([...model.stateDict()].map(([k, t]) => [k, Array.from(t.data)]));
      const size = model.store.size;
      model.cropBlockSize(5);
      assert.equal(model.config.blockSize, 5);
      assert.deepEqual(model.config, { ...cfg(), blockSize: 5 });
      assert.equal(model.store.size, size - 7 * 16, 'the flat buffer lost 7 rows of wpe');
      assert.equal(model.store.grad.length, model.store.size);
      for (const [k, t] of model.stateDict()) {
        const was = before.get(k)!;
        assert.deepEqual(Array.from(t.data), k === 'transformer.wpe.weight' ? was.slice(0, 5 * 16) : was, k);
      }
      assert.deepEqual(model.store.get('transformer.wpe.weight').shape, [5, 16]);
      // the same function on sequences that fit the shorter context
      for (const t of [1, 5]) assert.deepEqual(lastLogits(model, t), lastLogits(full, t));
      assert.throws(() => lastLogits(model, 6), ShapeError);
    });

  test('sinusoidal positions: only the context changes', () => {
    const full = new GPT(cfg({ positional: 'sinusoidal' }), refBackend, { seed: 3 });
    const model = new GPT(cfg({ positional: 'sinusoidal' }), refBackend, { seed: 3 });
    const store = model.store;
    model.cropBlockSize(4);
    assert.equal(model.config.blockSize, 4);
    assert.equal(model.store, store, 'no weights depend on the context');
    assert.deepEqual(lastLogits(model, 4), lastLogits(full, 4));
    assert.throws(() => lastLogits(model, 5), /exceeds blockSize 4/);
  });

  test('refuses a longer or meaningless context; the same one is a no-op', () => {
    const model = new GPT(cfg(), refBackend, { seed: 3 });
    const store = model.store;
    for (const bad of [0, 13, 2.5, Number.NaN])
      assert.throws(
        () => model.cropBlockSize(bad),
        (e: unknown) => e instanceof ConfigError && /must be an integer in \[1, 12\]/.test(e.message),
      );
    model.cropBlockSize(12);
    assert.equal(model.store, store);
  });

  test('a cropped model trains, saves and resumes at its new size', () => {
    const model = new GPT(cfg({ dropout: 0.1 }), refBackend, { seed: 3 });
    model.cropBlockSize(6);
    const config = { ...DEFAULT_CONFIG, ...model.config, batchSize: 2, maxIters: 4, lrDecayIters: 4 };
    const tokens = Uint16Array.from({ length: 200 }, (_, i) => (i * 7) % V);
    const tokenizer = { kind: 'char', version: 1 } as const;
    const trainer = new Trainer({ model, config, train: tokens, val: tokens, tokenizer });
    trainer.trainStep();
    trainer.trainStep();
    const ck = decodeCheckpoint(trainer.checkpoint(), 'mem');
    assert.equal(ck.meta.config.blockSize, 6);
    assert.equal(ck.optimizer!.m.length, model.store.size);
    const resumed = new Trainer({
      model: modelFromCheckpoint(ck, refBackend),
      config,
      train: tokens,
      val: tokens,
      tokenizer,
      resume: ck,
    });
    assert.equal(resumed.trainStep().loss, trainer.trainStep().loss);
  });
});
