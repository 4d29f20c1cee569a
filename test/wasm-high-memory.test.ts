// The wasm backend's memory reaches 4 GiB: buffers above 2 GiB have addresses that are negative
// as int32. Every model and training option runs a few steps with its buffers placed above 2 GiB
// (behind an untouched filler, which costs address space, not RAM) and must give bitwise the
// losses and weights of the same run low in memory: a kernel or host line that treats a pointer
// as signed would read the wrong place or trap.

import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import type { FullConfig } from '../src/train/config.js';
import { setupRun } from '../src/train/setup.js';

const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(
  20,
);
const tok = CharTokenizer.fromText(TEXT);
const ids = Uint16Array.from(tok.encode(TEXT));
const split = Math.floor(ids.length * 0.9);
const data = {
  train: ids.subarray(0, split),
  val: ids.subarray(split),
  vocabSize: tok.vocabSize,
  tokenizer: tok.toJSON(),
  name: 'mem',
};
const TRAIN: Partial<FullConfig> = {
  blockSize: 16,
  batchSize: 4,
  maxIters: 3,
  evalInterval: 100,
  evalIters: 1,
  warmupIters: 1,
  lrDecayIters: 3,
};

const GPT: Partial<FullConfig> = { nLayer: 2, nHead: 2, nEmbd: 32 };

const CASES: [string, Partial<FullConfig>][] = [
  ['gpt, dropout everywhere', { ...GPT, dropout: 0.1 }],
  ['gpt, grad checkpointing + bf16', { ...GPT, dropout: 0.1, gradCheckpoint: true, precision: 'bf16' }],
  [
    'gpt, the quick recipe (rope, rmsnorm, qk-norm, relu2, untied, muon)',
    {
      ...GPT,
      positional: 'rope',
      normType: 'rmsnorm',
      qkNorm: true,
      activation: 'relu2',
      tieWeights: false,
      bias: false,
      optimizer: 'muon',
      lrSchedule: 'wsd',
    },
  ],
  ['gpt, swiglu + soft-cap', { ...GPT, activation: 'swiglu', logitSoftcap: 30 }],
  ['mlp', { arch: 'mlp', nEmbd: 8, nHidden: 32 }],
  ['rnn', { arch: 'rnn', nEmbd: 8, nHidden: 32 }],
  ['lstm', { arch: 'lstm', nEmbd: 8, nHidden: 32 }],
  ['gru', { arch: 'gru', nEmbd: 8, nHidden: 32 }],
];

const GIB = 2 ** 30;
let low: WasmBackend | null = null;
let high: WasmBackend | null = null;
after(async () => {
  await low?.dispose();
  await high?.dispose();
});

async function run(
  be: WasmBackend,
  over: Partial<FullConfig>,
  above = 0,
): Promise<{ losses: number[]; weights: Float32Array }> {
  const { trainer, model } = setupRun({ backend: be, data, overrides: { ...TRAIN, ...over } });
  assert.ok(model.store.data.byteOffset >= above, `the weights lie at ${model.store.data.byteOffset}`);
  const losses: number[] = [];
  await trainer.run({ onStep: (s) => losses.push(s.loss) });
  return { losses, weights: Float32Array.from(model.store.data) };
}

test('buffers above 2 GiB: every model and option trains bitwise as it does low in memory', async () => {
  low = await createWasmBackend({ threads: 2 });
  high = await createWasmBackend({ threads: 2 });
  const filler = high.alloc('float32', (2 * GIB + 64 * 1024 * 1024) / 4); // never written
  const addr = filler.byteOffset + filler.byteLength;
  assert.ok(addr > 2 * GIB, `the next buffers start above 2 GiB (${addr})`);
  for (const [name, over] of CASES) {
    const a = await run(low, over);
    const b = await run(high, over, 2 * GIB);
    assert.deepEqual(b.losses, a.losses, `${name}: losses`);
    assert.ok(Buffer.from(b.weights.buffer).equals(Buffer.from(a.weights.buffer)), `${name}: weights`);
  }
});
