// Training sanity checks: overfit one batch, determinism, exact resume, NaN detection,
// the schedule, checkpoint round trip.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { backward, disposeGraph } from '../src/autograd/engine.js';
import { refBackend as be } from '../src/backend/index.js';
import { modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { trainContext } from '../src/nn/module.js';
import { tensor } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { decodeCheckpoint, gptConfigOf } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG, type FullConfig } from '../src/train/config.js';
import { evaluateTokens } from '../src/train/evaluate.js';
import { AdamW } from '../src/train/optimizer.js';
import { lrAt } from '../src/train/schedule.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(
  20,
);
const tok = CharTokenizer.fromText(TEXT);
const ids = Uint16Array.from(tok.encode(TEXT));
const split = Math.floor(ids.length * 0.9);

function tiny(over: Partial<FullConfig> = {}): FullConfig {
  return {
    ...DEFAULT_CONFIG,
    vocabSize: tok.vocabSize,
    blockSize: 16,
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    batchSize: 4,
    maxIters: 12,
    evalInterval: 4,
    evalIters: 2,
    warmupIters: 2,
    lrDecayIters: 12,
    learningRate: 3e-3,
    minLr: 3e-4,
    ...over,
  };
}

function trainer(cfg: FullConfig) {
  const model = new GPT(modelConfig(cfg), be, { seed: cfg.seed });
  return new Trainer({
    model,
    config: cfg,
    train: ids.subarray(0, split),
    val: ids.subarray(split),
    tokenizer: tok.toJSON(),
  });
}

test('overfit one batch: a tiny model drives the loss on one fixed batch below 0.1', () => {
  const cfg = tiny({ dropout: 0 });
  const model = new GPT(modelConfig(cfg), be, { seed: 1 });
  const opt = new AdamW(be, model.store, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 1 });
  opt.lr = 3e-3;
  const rng = new Rng(3);
  const B = 2;
  const T = cfg.blockSize;
  const starts = [0, 37];
  const x = tensor(
    be,
    starts.flatMap((s) => Array.from(ids.subarray(s, s + T))),
    [B, T],
    'int32',
  );
  const y = tensor(
    be,
    starts.flatMap((s) => Array.from(ids.subarray(s + 1, s + T + 1))),
    [B, T],
    'int32',
  );
  let last = Number.POSITIVE_INFINITY;
  const first = model.forward(x, y).loss!.item();
  for (let i = 0; i < 150 && last >= 0.1; i++) {
    model.store.zeroGrad(be);
    const { loss } = model.forward(x, y, trainContext(rng));
    last = loss!.item();
    backward(loss!);
    disposeGraph(loss!);
    opt.update();
  }
  assert.ok(
    first > 2.5,
    `initial loss ${first} should be near ln(vocab) = ${Math.log(tok.vocabSize).toFixed(2)}`,
  );
  assert.ok(last < 0.1, `loss after overfitting is ${last}`);
});

test('initial loss is ln(vocabSize): the init predicts a near-uniform distribution', () => {
  const t = trainer(tiny());
  const loss = t.estimateLoss('val');
  assert.ok(Math.abs(loss - Math.log(tok.vocabSize)) < 0.15, `initial loss ${loss}`);
});

test('determinism: the same seed gives the same losses twice; another seed does not', async () => {
  const run = async (seed: number) => {
    const t = trainer(tiny({ seed, dropout: 0.1 }));
    const losses: number[] = [];
    await t.run({ onStep: (s) => losses.push(s.loss) });
    return losses;
  };
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  assert.equal(a.length, 12);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a[a.length - 1]! < a[0]!, 'loss goes down');
});

test('a compiled (captured and replayed) step computes exactly what the eager step does', async () => {
  const run = async (compile: boolean) => {
    const cfg = tiny({ dropout: 0.1, gradAccum: 2 });
    const model = new GPT(modelConfig(cfg), be, { seed: cfg.seed });
    const t = new Trainer({
      model,
      config: cfg,
      train: ids.subarray(0, split),
      val: ids.subarray(split),
      tokenizer: tok.toJSON(),
      compile,
    });
    const losses: number[] = [];
    await t.run({ onStep: (s) => losses.push(s.loss) });
    return { losses, weights: Array.from(model.store.data) };
  };
  const eager = await run(false);
  const compiled = await run(true);
  assert.deepEqual(compiled.losses, eager.losses);
  assert.deepEqual(compiled.weights, eager.weights);
});

test('resume: stopping at a checkpoint and resuming gives exactly the uninterrupted losses', async () => {
  const cfg = tiny({ dropout: 0.1 });
  const full: number[] = [];
  await trainer(cfg).run({ onStep: (s) => full.push(s.loss) });

  // first half: stop after the eval at step 8, keeping that checkpoint
  let saved: Uint8Array | null = null;
  const t1 = trainer(cfg);
  const firstHalf: number[] = [];
  await t1.run({
    onStep: (s) => firstHalf.push(s.loss),
    onEval: (e, ckpt) => {
      if (e.step === 8) saved = ckpt();
    },
    shouldStop: () => t1.step >= 8,
  });
  assert.ok(saved);
  const ck = decodeCheckpoint(saved, 'mem');
  assert.equal(ck.meta.step, 8);
  const model = new GPT(gptConfigOf(ck, 'test', 'mem'), be, { seed: 999 }); // a different init, overwritten by the load
  model.loadStateDict(ck.weights);
  const t2 = new Trainer({
    model,
    config: cfg,
    train: ids.subarray(0, split),
    val: ids.subarray(split),
    tokenizer: tok.toJSON(),
    resume: ck,
  });
  const secondHalf: number[] = [];
  await t2.run({ onStep: (s) => secondHalf.push(s.loss) });
  // float32 weights round-trip exactly through the checkpoint, so the continuation is exact
  assert.deepEqual([...firstHalf, ...secondHalf], full);
});

test('a NaN loss stops training with a clear error', () => {
  const t = trainer(tiny());
  t.model.store.data[0] = Number.NaN; // poison the embedding table
  const wte = t.model.store.get('transformer.wte.weight');
  wte.data.fill(Number.NaN);
  assert.throws(() => t.trainStep(), /loss is NaN at step 0: training diverged/);
});

test('lr schedule: warm-up, cosine decay, floor', () => {
  const c = { learningRate: 1e-3, minLr: 1e-4, warmupIters: 10, lrDecayIters: 110 };
  assert.ok(Math.abs(lrAt(0, c) - 1e-3 / 11) < 1e-12);
  assert.ok(Math.abs(lrAt(10, c) - 1e-3) < 1e-12);
  assert.ok(Math.abs(lrAt(60, c) - 5.5e-4) < 1e-12);
  assert.equal(lrAt(500, c), 1e-4);
});

test('each step uses lrAt(step): warm-up, decay and the floor past lrDecayIters', () => {
  const cfg = tiny({ warmupIters: 2, lrDecayIters: 5, maxIters: 8 });
  const t = trainer(cfg);
  for (let step = 0; step < 8; step++) {
    const info = t.trainStep();
    assert.equal(info.lr, lrAt(step, cfg), `step ${step}`);
    assert.equal(t.optimizer.lr, info.lr);
  }
});

test('checkpoint round trip keeps weights, config, tokenizer and optimizer state', () => {
  const t = trainer(tiny());
  t.trainStep();
  const ck = decodeCheckpoint(t.checkpoint(), 'mem');
  assert.equal(ck.meta.step, 1);
  assert.deepEqual(ck.meta.config, t.model.config);
  assert.deepEqual(ck.meta.tokenizer, tok.toJSON());
  const wte = ck.weights.get('transformer.wte.weight')!;
  assert.deepEqual(Array.from(wte.data), Array.from(t.model.store.get('transformer.wte.weight').data));
  assert.deepEqual(Array.from(ck.optimizer!.m), Array.from(t.optimizer.m));
});

test('the trainer and evaluation take splits of exactly blockSize + 1 tokens, and refuse shorter ones', () => {
  const cfg = tiny({ maxIters: 2 });
  const T = cfg.blockSize;
  const make = (train: Uint16Array, val: Uint16Array) =>
    new Trainer({
      model: new GPT(modelConfig(cfg), be, { seed: 1 }),
      config: cfg,
      train,
      val,
      tokenizer: tok.toJSON(),
    });
  const t = make(ids.subarray(0, T + 1), ids.subarray(split, split + T + 1));
  assert.ok(Number.isFinite(t.trainStep().loss));
  assert.ok(Number.isFinite(t.evaluate().val));
  assert.throws(() => make(ids.subarray(0, split), ids.subarray(split, split + T)), {
    name: 'DataError',
    message: new RegExp(
      `^the val split: ${T} tokens are too few for blockSize ${T}: a window needs ${T + 1} `,
    ),
  });
  assert.throws(() => make(ids.subarray(0, T), ids.subarray(split)), { message: /^the train split: / });
  const r = evaluateTokens(t.model, tok, ids.subarray(0, T + 1), { batchSize: 2, maxWindows: 10 });
  assert.equal(r.tokens, T);
  assert.throws(
    () =>
      evaluateTokens(t.model, tok, ids.subarray(0, T), { batchSize: 2, maxWindows: 10, what: 'held.txt' }),
    { message: /^held\.txt: 16 tokens are too few for blockSize 16/ },
  );
});

test('run() trains to maxIters without an onStep hook (and stops when asked)', async () => {
  const t = trainer(tiny({ maxIters: 5, evalInterval: 5 }));
  const evals: number[] = [];
  await t.run({ onEval: (e) => void evals.push(e.step) });
  assert.equal(t.step, 5);
  assert.deepEqual(evals, [0, 5]);
  const s = trainer(tiny({ maxIters: 5 }));
  await s.run({ shouldStop: () => s.step >= 2 });
  assert.equal(s.step, 2);
});

test('lr schedules: linear decay and warmup-stable-decay (trapezoidal)', () => {
  const base = { learningRate: 1e-3, minLr: 0, warmupIters: 10, lrDecayIters: 110 };
  const linear = { ...base, lrSchedule: 'linear' as const };
  assert.ok(Math.abs(lrAt(60, linear) - 5e-4) < 1e-12);
  assert.ok(Math.abs(lrAt(100, linear) - 1e-4) < 1e-12);
  const wsd = { ...base, lrSchedule: 'wsd' as const, cooldownFrac: 0.2 }; // decays over steps 88..110
  assert.ok(Math.abs(lrAt(5, wsd) - 6e-4 / 1.1) < 1e-12, 'the same warm-up');
  assert.equal(lrAt(60, wsd), 1e-3);
  assert.equal(lrAt(88, wsd), 1e-3);
  assert.ok(Math.abs(lrAt(99, wsd) - 5e-4) < 1e-12);
  assert.equal(lrAt(110, wsd), 0);
  assert.equal(lrAt(111, wsd), 0);
});

// the speedrun options (GPTConfig) with Muon, on the ref backend
const SPEED: Partial<FullConfig> = {
  positional: 'rope',
  normType: 'rmsnorm',
  qkNorm: true,
  activation: 'relu2',
  tieWeights: false,
  logitSoftcap: 30,
  bias: false,
  optimizer: 'muon',
  lrSchedule: 'wsd',
  cooldownFrac: 0.5,
};

test('the speedrun options and Muon: compiled step = eager step; resume continues exactly (momentum kept)', async () => {
  const run = async (compile: boolean) => {
    const cfg = tiny(SPEED);
    const model = new GPT(modelConfig(cfg), be, { seed: cfg.seed });
    const t = new Trainer({
      model,
      config: cfg,
      train: ids.subarray(0, split),
      val: ids,
      tokenizer: tok.toJSON(),
      compile,
    });
    const losses: number[] = [];
    await t.run({ onStep: (s) => losses.push(s.loss) });
    return losses;
  };
  const eager = await run(false);
  assert.deepEqual(await run(true), eager);
  assert.ok(
    eager[eager.length - 1]! < eager[0]! - 0.3,
    `it learns: ${eager[0]} -> ${eager[eager.length - 1]}`,
  );

  const cfg = tiny(SPEED);
  let saved: Uint8Array | null = null;
  const t1 = trainer(cfg);
  await t1.run({
    onEval: (e, ckpt) => void (e.step === 8 && (saved = ckpt())),
    shouldStop: () => t1.step >= 8,
  });
  assert.ok(saved);
  const ck = decodeCheckpoint(saved, 'mem');
  const model = new GPT(gptConfigOf(ck, 'test', 'mem'), be, { init: false });
  model.loadStateDict(ck.weights);
  const t2 = new Trainer({
    model,
    config: cfg,
    train: ids.subarray(0, split),
    val: ids,
    tokenizer: tok.toJSON(),
    resume: ck,
  });
  const rest: number[] = [];
  await t2.run({ onStep: (s) => rest.push(s.loss) });
  assert.deepEqual(rest, eager.slice(8));
});

test('a time budget lays the schedule over wall time: the lr decays as the time runs out, the run stops, resume keeps the clock', async () => {
  // 0.03 minutes = 1.8 s; steps of this model take ~1-10 ms alone (tens under a loaded suite),
  // so many steps run
  const cfg = tiny({
    timeBudget: 0.03,
    maxIters: 1_000_000,
    evalInterval: 1_000_000,
    lrSchedule: 'wsd',
    cooldownFrac: 1,
    minLr: 0,
  });
  const t = trainer(cfg);
  const lrs: number[] = [];
  let saved: Uint8Array | null = null;
  await t.run({
    onStep: (s) => lrs.push(s.lr),
    onEval: (_e, ckpt) => void (saved = ckpt()),
  });
  assert.ok(t.elapsedMs >= 1800, `the run used its budget: ${t.elapsedMs} ms`);
  assert.ok(
    t.step > cfg.warmupIters + 3 && t.step < cfg.maxIters,
    `it stopped on time, after ${t.step} steps`,
  );
  for (let i = cfg.warmupIters + 1; i < lrs.length; i++)
    assert.ok(lrs[i]! <= lrs[i - 1]!, `lr falls at step ${i}`);
  assert.ok(
    lrs[lrs.length - 1]! < 0.5 * cfg.learningRate,
    `the decay ran to the end: last lr ${lrs[lrs.length - 1]}`,
  );
  // the checkpoint keeps the time used: a resumed run has nothing left
  assert.ok(saved);
  const ck = decodeCheckpoint(saved, 'mem');
  assert.ok((ck.meta.elapsedMs ?? 0) >= 1800);
  const model = new GPT(gptConfigOf(ck, 'test', 'mem'), be, { init: false });
  model.loadStateDict(ck.weights);
  const again = new Trainer({
    model,
    config: cfg,
    train: ids.subarray(0, split),
    val: ids,
    tokenizer: tok.toJSON(),
    resume: ck,
  });
  let steps = 0;
  await again.run({ onStep: () => steps++ });
  assert.equal(steps, 0);
  // without a budget the checkpoint has no clock (files stay as they were)
  const plain = trainer(tiny({ maxIters: 2 }));
  await plain.run({});
  assert.equal(decodeCheckpoint(plain.checkpoint(), 'mem').meta.elapsedMs, undefined);
});
