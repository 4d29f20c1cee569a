// Gradient checkpointing (src/nn/checkpoint.ts, `gradCheckpoint` / --grad-checkpoint): the
// gradients, losses and trained weights are bit for bit those of the normal path (dropout on,
// gradient accumulation, captured and uncaptured steps, ref and wasm), the arenas hand out the
// same memory to every block, and a checkpointed step holds less backend memory than a normal
// one (bytes, not time: deterministic).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { backward } from '../src/autograd/engine.js';
import { Arena } from '../src/backend/arena.js';
import type { Backend } from '../src/backend/backend.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { Checkpointing } from '../src/nn/checkpoint.js';
import type { ForwardContext } from '../src/nn/module.js';
import { tensor } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { setupRun } from '../src/train/setup.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8').slice(0, 100_000);
const tok = CharTokenizer.fromText(text);
const ids = Uint16Array.from(tok.encode(text));
const data = { train: ids, val: ids, vocabSize: tok.vocabSize, tokenizer: tok.toJSON(), name: 'shakespeare' };
const small = { nLayer: 3, nHead: 2, nEmbd: 32, blockSize: 32, batchSize: 4, dropout: 0.2, gradAccum: 2 };

/** Losses, weights and gradients after `steps` steps of a small run. */
function train(be: Backend, gradCheckpoint: boolean, compile: boolean, steps = 3) {
  const { trainer, model } = setupRun({
    backend: be,
    data,
    preset: 'baby',
    overrides: { ...small, gradCheckpoint },
    compile,
    adaptThreads: false,
  });
  const losses: number[] = [];
  const norms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s = trainer.trainStep();
    losses.push(s.loss);
    norms.push(s.gradNorm);
  }
  return {
    losses,
    norms,
    params: Float32Array.from(model.store.data),
    grads: Float32Array.from(model.store.grad),
  };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} (normal) vs ${b[i]} (checkpointed)`);
}

describe('gradient checkpointing computes exactly what the normal path does', () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
  });
  for (const backend of ['ref', 'wasm'] as const)
    for (const compile of [true, false])
      test(`${backend}, ${compile ? 'captured and replayed' : 'graph every step'}: losses, grad norms, gradients, weights bitwise`, async () => {
        const be = backend === 'ref' ? new RefBackend() : (wasm ??= await createWasmBackend({ threads: 2 }));
        const normal = train(be, false, compile);
        const ck = train(be, true, compile);
        assert.deepEqual(ck.losses, normal.losses);
        assert.deepEqual(ck.norms, normal.norms);
        sameBits(normal.grads, ck.grads, 'grad');
        sameBits(normal.params, ck.params, 'param');
      });

  test('one forward and backward with hand-made seeds: the recomputation redraws the same masks', () => {
    const be = new RefBackend();
    const cfg = modelConfig({
      ...DEFAULT_CONFIG,
      vocabSize: 20,
      blockSize: 8,
      nLayer: 2,
      nHead: 2,
      nEmbd: 16,
      dropout: 0.5,
    });
    const model = new GPT(cfg, be, { seed: 4 });
    const x = tensor(
      be,
      Array.from({ length: 16 }, (_, i) => i % 20),
      [2, 8],
      'int32',
    );
    const y = tensor(
      be,
      Array.from({ length: 16 }, (_, i) => (i * 7) % 20),
      [2, 8],
      'int32',
    );
    const run = (checkpoint?: Checkpointing) => {
      let seed = 10;
      let draws = 0;
      const ctx: ForwardContext = {
        training: true,
        dropoutSeed: () => {
          draws++;
          return seed++;
        },
        ...(checkpoint ? { checkpoint } : {}),
      };
      model.store.zeroGrad(be);
      const { loss } = model.forward(x, y, ctx);
      backward(loss!);
      return { loss: loss!.item(), draws, grad: Float32Array.from(model.store.grad) };
    };
    const normal = run();
    const ck = run(new Checkpointing(be));
    assert.equal(ck.draws, normal.draws, 'the recomputation draws no new seeds');
    assert.equal(ck.loss, normal.loss);
    sameBits(normal.grad, ck.grad, 'grad');
  });
});

test('the arena: zeroed arrays, the same addresses after a reset, free of its arrays does nothing', async () => {
  const be = await createWasmBackend({ threads: 1 });
  try {
    const arena = new Arena(be, 4096);
    be.setArena(arena);
    const a = be.alloc('float32', 100);
    const b = be.alloc('int32', 3000); // past the first block: a second one
    a.fill(5);
    be.free(a); // no-op
    arena.reset();
    const a2 = be.alloc('float32', 100);
    const b2 = be.alloc('int32', 3000);
    be.setArena(null);
    assert.equal(a2.byteOffset, a.byteOffset);
    assert.equal(b2.byteOffset, b.byteOffset);
    assert.ok(
      a2.every((v) => v === 0),
      'zeroed again',
    );
    assert.ok(arena.owns(b2) && !arena.owns(be.alloc('float32', 4)));
    assert.equal(a.byteOffset % 64, 0);
  } finally {
    await be.dispose();
  }
});

test('a checkpointed step holds less wasm memory (6 layers: under 60%)', async () => {
  const peak = async (gradCheckpoint: boolean) => {
    const be = await createWasmBackend({ threads: 1 });
    try {
      const { trainer } = setupRun({
        backend: be,
        data,
        preset: 'baby',
        overrides: {
          nLayer: 6,
          nHead: 4,
          nEmbd: 64,
          blockSize: 64,
          batchSize: 8,
          dropout: 0.1,
          gradCheckpoint,
        },
        adaptThreads: false,
      });
      trainer.trainStep();
      trainer.trainStep();
      return be.peakBytes;
    } finally {
      await be.dispose();
    }
  };
  const normal = await peak(false);
  const ck = await peak(true);
  assert.ok(ck < 0.6 * normal, `peak wasm memory ${ck} bytes with checkpointing vs ${normal} without`);
});
