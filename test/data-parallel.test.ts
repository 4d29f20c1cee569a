// Data parallelism (src/train/data-parallel.ts, node-data-parallel.ts, --data-parallel N): N ranks
// on their shares of each batch with averaged gradients train like one worker on the whole batch
// (tolerance: losses 1e-6, weights 1e-5 after 4 steps: float32 sums in another order), with
// gradient checkpointing, Muon and bf16 too; a failed rank stops the group with its message; a batch that does
// not split into the ranks is refused before anything starts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { ConfigError } from '../src/errors.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { dataParallelGroup, SharedMemoryRank } from '../src/train/data-parallel.js';
import { startRanks } from '../src/train/node-data-parallel.js';
import { planRun, setupRun } from '../src/train/setup.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = readFileSync(join(ROOT, 'assets', 'tinyshakespeare.txt'), 'utf8').slice(0, 100_000);
const tok = CharTokenizer.fromText(text);
const ids = Uint16Array.from(tok.encode(text));
const data = { train: ids, val: ids, vocabSize: tok.vocabSize, tokenizer: tok.toJSON(), name: 'shakespeare' };
const STEPS = 4;

/** Losses and final weights of STEPS steps on `ranks` ranks (1: the plain Trainer). */
async function run(ranks: number, overrides: Record<string, unknown> = {}) {
  const be = await createWasmBackend({ threads: 1 });
  let others: { stop(): Promise<void> } | null = null;
  try {
    const { trainer, model, group } = setupRun({
      backend: be,
      data,
      preset: 'baby',
      overrides: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32, batchSize: 8, gradAccum: 2, ...overrides },
      adaptThreads: false,
      dataParallel: ranks,
    });
    assert.equal(group === undefined, ranks === 1);
    if (group) others = await startRanks(group, trainer, ids, { threads: 1 });
    const losses: number[] = [];
    for (let i = 0; i < STEPS; i++) losses.push(trainer.trainStep().loss);
    return { losses, params: Float32Array.from(model.store.data), tokensPerStep: trainer.tokensPerStep };
  } finally {
    await others?.stop();
    await be.dispose();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('2 and 4 ranks train like one worker on the whole batch (losses 1e-6, weights 1e-5)', async () => {
  const one = await run(1);
  for (const ranks of [2, 4]) {
    const dp = await run(ranks);
    assert.equal(dp.tokensPerStep, one.tokensPerStep, 'a step still takes the whole batch');
    const dl = maxDiff(dp.losses, one.losses);
    assert.ok(dl <= 1e-6, `${ranks} ranks: losses ${dp.losses} vs ${one.losses}`);
    const dw = maxDiff(dp.params, one.params);
    assert.ok(dw <= 1e-5, `${ranks} ranks: weights differ by ${dw}`);
  }
});

test('with dropout and gradient checkpointing: checkpointed ranks compute what plain ranks do', async () => {
  const plain = await run(2, { dropout: 0.1 });
  const ck = await run(2, { dropout: 0.1, gradCheckpoint: true });
  assert.deepEqual(ck.losses, plain.losses);
  assert.equal(maxDiff(ck.params, plain.params), 0);
});

test('the quick recipe (Muon, rope, qk-norm) on 2 ranks, with checkpointing and bf16: as one worker', async () => {
  const quick = {
    positional: 'rope',
    normType: 'rmsnorm',
    qkNorm: true,
    activation: 'relu2',
    tieWeights: false,
    bias: false,
    optimizer: 'muon',
    lrSchedule: 'wsd',
    learningRate: 3e-3,
    muonLr: 0.03,
    warmupIters: 1,
  };
  const one = await run(1, quick);
  const dp = await run(2, quick);
  assert.ok(maxDiff(dp.losses, one.losses) <= 1e-6, `losses ${dp.losses} vs ${one.losses}`);
  // Newton-Schulz amplifies float32 rounding of the summed gradients a little more than AdamW
  assert.ok(maxDiff(dp.params, one.params) <= 1e-4, `weights differ by ${maxDiff(dp.params, one.params)}`);
  const both = await run(2, { ...quick, gradCheckpoint: true, precision: 'bf16' });
  const bf16 = await run(2, { ...quick, precision: 'bf16' });
  assert.deepEqual(both.losses, bf16.losses, 'checkpointing changes nothing, with Muon and bf16 too');
  assert.equal(maxDiff(both.params, bf16.params), 0);
  assert.ok(
    maxDiff(bf16.losses, dp.losses) <= 1e-2,
    `bf16 stays near float32: ${bf16.losses} vs ${dp.losses}`,
  );
});

test('a rank that fails stops the others with its message', () => {
  const group = dataParallelGroup(2, 10);
  const rank1 = new SharedMemoryRank(group.buffer, 1, 2, 10);
  rank1.fail('out of memory');
  assert.throws(
    () => group.rank0.allReduce(new Float32Array(10), new Float64Array(1)),
    /data parallel: rank 1: out of memory \(the other ranks stop too\)/,
  );
  assert.equal(rank1.waitStep(0), null, 'a waiting rank is released');
  assert.throws(() => new SharedMemoryRank(group.buffer, 0, 2, 100), /group buffer has \d+ bytes/);
});

test('a batch that does not split into the ranks is refused when the run is planned', () => {
  assert.throws(
    () => planRun({ data, preset: 'baby', dataParallel: 5 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        'data parallel: batchSize 12 is not a multiple of the 5 ranks (each takes batchSize / ranks rows)',
  );
});
