// Run setup (src/train/setup.ts): the order of the configuration's layers (preset < config file
// < overrides), each source's errors naming it, the relations checked once on the result, and
// the two ways to start from a checkpoint: resume (everything continues) and init-from (the
// checkpoint's architecture and weights, a shorter context, a fresh optimizer).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refBackend as be } from '../src/backend/index.js';
import { ConfigError, DataError } from '../src/errors.js';
import type { GPTConfig } from '../src/model/config.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG, type FullConfig, PRESETS, validateConfig } from '../src/train/config.js';
import { type NamedCheckpoint, planRun, resolveConfig, setupRun } from '../src/train/setup.js';

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
/** A tiny model and a short run, as overrides. */
const TINY: Partial<FullConfig> = {
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 32,
  batchSize: 4,
  maxIters: 6,
  evalInterval: 3,
  evalIters: 2,
  warmupIters: 2,
  lrDecayIters: 6,
  learningRate: 3e-3,
  minLr: 3e-4,
};

/** Asserts that fn throws a ConfigError whose one-line message matches re. */
function throwsConfig(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

/** A checkpoint of a tiny run trained for `steps` steps (dropout on, so the RNG state matters). */
async function trainedCheckpoint(steps: number, over: Partial<FullConfig> = {}): Promise<NamedCheckpoint> {
  const { trainer } = setupRun({
    backend: be,
    data,
    overrides: { ...TINY, dropout: 0.1, ...over },
  });
  let saved: Uint8Array | null = null;
  await trainer.run({
    onEval: (e, ckpt) => {
      if (e.step === steps) saved = ckpt();
    },
    shouldStop: () => trainer.step >= steps,
  });
  assert.ok(saved, `no checkpoint at step ${steps}`);
  return { checkpoint: decodeCheckpoint(saved, 'run.ckpt'), name: 'run.ckpt' };
}

describe('the configuration: preset < config file < overrides', () => {
  test('each layer overrides the one before; vocabSize comes from the data; the rest are defaults', () => {
    const cfg = resolveConfig(
      {
        preset: 'plan',
        configFile: { name: 'c.json', values: { nLayer: 2, learningRate: 1e-3, seed: 7 } },
        overrides: { nLayer: 3, seed: 8 },
      },
      99,
    );
    assert.equal(cfg.blockSize, PRESETS.plan.config.blockSize, 'the preset');
    assert.equal(cfg.learningRate, 1e-3, 'the file over the preset');
    assert.equal(cfg.nLayer, 3, 'the overrides over the file');
    assert.equal(cfg.seed, 8);
    assert.equal(cfg.vocabSize, 99);
    assert.equal(cfg.gradAccum, DEFAULT_CONFIG.gradAccum);
    // the keys in DEFAULT_CONFIG's order: what logs and checkpoints write, byte for byte
    assert.deepEqual(Object.keys(cfg), Object.keys(DEFAULT_CONFIG));
    // no preset given: baby
    assert.deepEqual(resolveConfig({}, 65), validateConfig({ ...PRESETS.baby.config, vocabSize: 65 }));
  });

  test("a source's bad keys and values name it", () => {
    const file = (values: unknown) => () => resolveConfig({ configFile: { name: 'my.json', values } }, 65);
    throwsConfig(
      file({ nLayers: 4 }),
      /^my\.json: unknown key "nLayers" \(known: arch, vocabSize, blockSize, /,
    );
    throwsConfig(file({ batchSize: 2.5 }), /^my\.json: batchSize = 2\.5: must be an integer$/);
    throwsConfig(file({ vocabSize: 100 }), /^my\.json: vocabSize comes from the data; remove it$/);
    throwsConfig(file([1, 2]), /^my\.json: must be a JSON object of config keys$/);
    throwsConfig(file(null), /^my\.json: must be a JSON object of config keys$/);
    throwsConfig(
      () => resolveConfig({ overrides: { dropout: 1.5 }, overridesName: 'flags' }, 65),
      /^flags: dropout = 1\.5: must be in \[0, 1\)$/,
    );
    throwsConfig(
      () => resolveConfig({ overrides: { toString: 1 } }, 65),
      /^overrides: unknown key "toString"/,
    );
    throwsConfig(() => resolveConfig({ preset: 'huge' }, 65), /^unknown preset huge \(known: baby, plan, /);
  });

  test('relations between keys are checked once, on the result of all layers', () => {
    // nHead 6 alone does not divide the default nEmbd (128), but does the shakespeare preset's 384
    const cfg = resolveConfig(
      { preset: 'shakespeare', configFile: { name: 'c.json', values: { nHead: 6 } } },
      65,
    );
    assert.equal(cfg.nHead, 6);
    // a file's minLr above the preset's learningRate is fine when the overrides raise learningRate
    const lr = resolveConfig(
      { configFile: { name: 'c.json', values: { minLr: 2e-3 } }, overrides: { learningRate: 3e-3 } },
      65,
    );
    assert.equal(lr.minLr, 2e-3);
    throwsConfig(
      () =>
        resolveConfig({ configFile: { name: 'c.json', values: { nHead: 5 } }, overridesName: 'flags' }, 65),
      /^config \(preset baby < c\.json\): nHead = 5 does not divide nEmbd = 128$/,
    );
    throwsConfig(
      () => resolveConfig({ overrides: { minLr: 0.5 }, overridesName: 'flags' }, 65),
      /^config \(preset baby < flags\): minLr = 0\.5 is above learningRate = 0\.001$/,
    );
  });

  test('setupRun builds the model and the trainer the configuration describes', () => {
    const { config, model, trainer } = setupRun({ backend: be, data, overrides: TINY });
    assert.equal(config.nLayer, 2);
    assert.deepEqual(model.config, {
      vocabSize: tok.vocabSize,
      blockSize: 16,
      nLayer: 2,
      nHead: 2,
      nEmbd: 32,
      dropout: PRESETS.baby.config.dropout,
      bias: PRESETS.baby.config.bias,
      positional: 'learned',
      norm: 'pre',
      activation: 'gelu',
      normType: 'layernorm',
      qkNorm: false,
      attnScale: 0,
      tieWeights: true,
      logitSoftcap: 0,
    });
    assert.equal(trainer.cfg, config);
    assert.equal(trainer.step, 0);
    assert.equal(trainer.tokensPerStep, 4 * 16);
  });

  test('data too short for the context is refused when the run is built', () => {
    const short = { ...data, val: data.val.subarray(0, 16) };
    assert.throws(
      () => setupRun({ backend: be, data: short, overrides: TINY }),
      (e: unknown) =>
        e instanceof DataError && /^the val split: 16 tokens are too few for blockSize 16/.test(e.message),
    );
  });
});

describe('resume', () => {
  test('continues exactly: the same losses as the run that never stopped', async () => {
    const full: number[] = [];
    const { trainer } = setupRun({ backend: be, data, overrides: { ...TINY, dropout: 0.1 } });
    await trainer.run({ onStep: (s) => full.push(s.loss) });
    const resume = await trainedCheckpoint(3);
    const first = full.slice(0, 3);
    // a preset is given but not used: the checkpoint's configuration is the run's
    const r = setupRun({ backend: be, data, preset: 'plan', resume });
    assert.equal(r.trainer.step, 3);
    assert.equal(r.config.blockSize, 16);
    assert.equal(r.config.learningRate, 3e-3);
    assert.deepEqual(r.model.config, resume.checkpoint.meta.config);
    const rest: number[] = [];
    await r.trainer.run({ onStep: (s) => rest.push(s.loss) });
    assert.deepEqual([...first, ...rest], full);
  });

  test('training keys from the file and the overrides win over the checkpoint; model keys must match', async () => {
    const resume = await trainedCheckpoint(3);
    const r = setupRun({
      backend: be,
      data,
      resume,
      configFile: { name: 'c.json', values: { maxIters: 9, evalIters: 1 } },
      overrides: { maxIters: 12, nLayer: 2 }, // a model key equal to the checkpoint's is fine
    });
    assert.equal(r.config.maxIters, 12);
    assert.equal(r.config.evalIters, 1);
    assert.equal(r.config.batchSize, 4, "the checkpoint's, not the default");
    throwsConfig(
      () => setupRun({ backend: be, data, resume, overrides: { nLayer: 3 } }),
      /^resume from run\.ckpt: nLayer = 3 differs from the checkpoint's 2$/,
    );
    throwsConfig(
      () => setupRun({ backend: be, data, resume, configFile: { name: 'c.json', values: { blockSize: 8 } } }),
      /^resume from run\.ckpt: blockSize = 8 differs from the checkpoint's 16$/,
    );
    const other = CharTokenizer.fromText(`${TEXT}#`);
    throwsConfig(
      () => planRun({ data: { ...data, tokenizer: other.toJSON(), name: 'other' }, resume }),
      /^run\.ckpt was trained with another tokenizer than other$/,
    );
    throwsConfig(
      () => planRun({ data, resume, initFrom: resume }),
      /^resume \(run\.ckpt\) and initFrom \(run\.ckpt\) exclude each other/,
    );
  });
});

describe('init-from', () => {
  test("the checkpoint's architecture and weights, a cropped context, the given dropout, a fresh optimizer", async () => {
    const initFrom = await trainedCheckpoint(3);
    const src = initFrom.checkpoint;
    // the preset (baby: 4 layers) does not change the architecture; its training keys are used
    const r = setupRun({
      backend: be,
      data,
      initFrom,
      overrides: { blockSize: 8, dropout: 0.2, maxIters: 2 },
    });
    assert.deepEqual(r.model.config, { ...src.meta.config, blockSize: 8, dropout: 0.2 });
    assert.deepEqual(
      r.config,
      validateConfig({ ...PRESETS.baby.config, ...src.meta.config, blockSize: 8, dropout: 0.2, maxIters: 2 }),
    );
    for (const [name, t] of r.model.stateDict()) {
      const w = src.weights.get(name)!;
      const rows = name === 'transformer.wpe.weight' ? 8 : w.shape[0]!;
      assert.deepEqual(t.shape, [rows, ...w.shape.slice(1)], name);
      assert.deepEqual(Array.from(t.data), Array.from(w.data.subarray(0, t.data.length)), name);
    }
    assert.equal(r.trainer.step, 0);
    assert.ok(r.trainer.optimizer.m.every((x) => x === 0));
    assert.ok(Number.isFinite(r.trainer.trainStep().loss));
    // dropout not given: the layers' (here the baby preset's 0), not the checkpoint's 0.1
    const keep = setupRun({ backend: be, data, initFrom });
    assert.equal((keep.model.config as GPTConfig).dropout, 0);
    assert.equal(keep.model.config.blockSize, 16, "no blockSize given: the checkpoint's");
  });

  test('only dropout and a shorter blockSize may change; the tokenizer must be the same', async () => {
    const initFrom = await trainedCheckpoint(3);
    throwsConfig(
      () => setupRun({ backend: be, data, initFrom, overrides: { nLayer: 3 } }),
      /^init from run\.ckpt: nLayer = 3 differs from the checkpoint's 2$/,
    );
    throwsConfig(
      () => setupRun({ backend: be, data, initFrom, overrides: { blockSize: 32 } }),
      /^init from run\.ckpt: blockSize 32 exceeds the checkpoint's 16$/,
    );
    const other = CharTokenizer.fromText(`${TEXT}#`);
    throwsConfig(
      () => setupRun({ backend: be, data: { ...data, tokenizer: other.toJSON(), name: 'other' }, initFrom }),
      /^run\.ckpt uses another tokenizer than other: prepare the text with the checkpoint's tokenizer$/,
    );
  });
});

describe('the architecture (--arch): its preset, its keys, and checkpoints of another', () => {
  const LSTM_TINY: Partial<FullConfig> = {
    arch: 'lstm',
    nEmbd: 8,
    nHidden: 12,
    nLayer: 1,
    blockSize: 16,
    batchSize: 2,
    maxIters: 4,
    evalInterval: 2,
    evalIters: 1,
  };

  test("arch alone takes the arch's own preset; a preset names its arch; gpt's default is baby", () => {
    const lstm = resolveConfig({ overrides: { arch: 'lstm' } }, 65);
    assert.equal(lstm.arch, 'lstm');
    assert.equal(lstm.nHidden, PRESETS.lstm.config.nHidden);
    assert.equal(lstm.learningRate, PRESETS.lstm.config.learningRate);
    assert.equal(resolveConfig({ preset: 'mlp' }, 65).arch, 'mlp');
    assert.equal(resolveConfig({}, 65).arch, 'gpt');
    assert.equal(resolveConfig({}, 65).nLayer, PRESETS.baby.config.nLayer);
    throwsConfig(
      () => resolveConfig({ preset: 'baby', overrides: { arch: 'gru' } }, 65),
      /^preset baby is for arch gpt, not gru: use preset gru/,
    );
  });

  test("a model key of another architecture is refused, naming where it came from and the arch's keys", () => {
    throwsConfig(
      () => resolveConfig({ overrides: { arch: 'lstm', nHead: 4 }, overridesName: 'flags' }, 65),
      /^flags: nHead does not apply to arch lstm \(its model keys: blockSize, nLayer, nEmbd, nHidden, dropout\)$/,
    );
    throwsConfig(
      () => resolveConfig({ configFile: { name: 'c.json', values: { context: 4 } } }, 65),
      /^c\.json: context does not apply to arch gpt/,
    );
    throwsConfig(
      () => resolveConfig({ preset: 'bigram', overrides: { nEmbd: 8 } }, 65),
      /nEmbd does not apply to arch bigram/,
    );
    // the preset's keys of other architectures are not given, so they are no error
    assert.equal(resolveConfig({ overrides: { arch: 'rnn', nHidden: 32 } }, 65).nHidden, 32);
  });

  test("resume and init-from take the checkpoint's arch; another one given is refused", () => {
    const { trainer } = setupRun({ backend: be, data, overrides: LSTM_TINY });
    trainer.trainStep();
    trainer.trainStep();
    const ck = { checkpoint: decodeCheckpoint(trainer.checkpoint(), 'run.ckpt'), name: 'run.ckpt' };
    assert.equal(ck.checkpoint.meta.arch, 'lstm');
    throwsConfig(
      () => planRun({ data, resume: ck, overrides: { arch: 'gru' } }),
      /^resume from run\.ckpt: arch = gru differs from the checkpoint's lstm$/,
    );
    throwsConfig(
      () => planRun({ data, resume: ck, overrides: { nHead: 2 } }),
      /nHead does not apply to arch lstm/,
    );
    throwsConfig(
      () => planRun({ data, resume: ck, overrides: { nHidden: 13 } }),
      /resume from run\.ckpt: nHidden = 13 differs from the checkpoint's 12/,
    );
    throwsConfig(
      () => planRun({ data, initFrom: ck, overrides: { arch: 'gpt' } }),
      /^init from run\.ckpt: arch = gpt differs from the checkpoint's lstm$/,
    );
    throwsConfig(
      () => planRun({ data, initFrom: ck, preset: 'baby' }),
      /preset baby is for arch gpt, not lstm/,
    );
    const resumed = setupRun({ backend: be, data, resume: ck, overrides: { maxIters: 6 } });
    assert.equal(resumed.config.arch, 'lstm');
    assert.equal(resumed.model.arch, 'lstm');
    assert.equal(resumed.trainer.step, 2);
    // init-from an LSTM: any window (no weight depends on it), a fresh optimizer
    const ft = setupRun({ backend: be, data, initFrom: ck, overrides: { blockSize: 24 } });
    assert.equal(ft.model.arch, 'lstm');
    assert.equal(ft.model.config.blockSize, 24);
    assert.equal(ft.trainer.step, 0);
    assert.ok(Number.isFinite(ft.trainer.trainStep().loss));
  });

  test('gradient checkpointing, bf16 attention and data parallelism are refused for another arch', () => {
    throwsConfig(
      () => planRun({ data, overrides: { ...LSTM_TINY, gradCheckpoint: true } }),
      /^--grad-checkpoint works for GPT only \(arch lstm\)$/,
    );
    throwsConfig(
      () => planRun({ data, overrides: { ...LSTM_TINY, precision: 'bf16' }, dataParallel: 2 }),
      /^--precision bf16 and --data-parallel work for GPT only \(arch lstm\)$/,
    );
    // Muon's hidden matrices are a GPT's; the speedrun's model keys are GPT keys
    throwsConfig(
      () => planRun({ data, overrides: { ...LSTM_TINY, optimizer: 'muon' } }),
      /^--optimizer muon works for GPT only \(arch lstm\)$/,
    );
    throwsConfig(
      () => planRun({ data, overrides: { ...LSTM_TINY, qkNorm: true } }),
      /qkNorm does not apply to arch lstm/,
    );
    // the same keys on a GPT plan fine
    const gpt = planRun({
      data,
      overrides: { ...TINY, gradCheckpoint: true, precision: 'bf16' },
      dataParallel: 2,
    });
    assert.equal(gpt.config.gradCheckpoint, true);
  });
});
