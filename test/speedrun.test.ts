// The speedrun options end to end: the `quick` preset through the built CLI (train, sample with
// the crop window, the refused HF export, bad values), older checkpoints' configs (keys added
// later take the defaults), the untied head's parameter, which parameters Muon takes, and the
// whole-split evaluation.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { refBackend as be } from '../src/backend/index.js';
import {
  beyondGPT2,
  DEFAULT_GPT_CONFIG,
  LATER_MODEL_KEYS,
  modelConfig,
  validateModelConfig,
} from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { swigluHidden } from '../src/nn/block.js';
import { tensor } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { DEFAULT_CONFIG, PRESETS, validateConfig } from '../src/train/config.js';
import { evaluateTokens, splitLoss } from '../src/train/evaluate.js';
import { isMuonParam, Muon } from '../src/train/muon.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-speedrun-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tsgpt = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** quick, shrunk to a few seconds on the ref backend */
const SMALL = ['--preset', 'quick', '--backend', 'ref', '--n-layer', '1', '--n-embd', '16', '--n-head', '2'];
const SHORT = ['--block-size', '16', '--batch-size', '2', '--max-iters', '4', '--lr-decay-iters', '4'];
const EVALS = ['--eval-interval', '2', '--eval-iters', '1', '--warmup-iters', '1'];

before(() => {
  writeFileSync(
    join(dir, 'text.txt'),
    'To be, or not to be, that is the question:\nWhether tis nobler in the mind to suffer\n'.repeat(30),
  );
  assert.equal(tsgpt('prepare', '--data', 'text.txt', '--out', 'data').code, 0);
});

test('tsgpt train --preset quick trains and saves a rotary, Muon-trained model; sample --window crop reads it', () => {
  const r = tsgpt('train', '--data', 'data', '--out', 'q', ...SMALL, ...SHORT, ...EVALS);
  assert.equal(r.code, 0, r.stderr);
  const log = readFileSync(join(dir, 'q', 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const cfg = (JSON.parse(log[0]!) as { config: Record<string, unknown> }).config;
  assert.equal(cfg['positional'], 'rope');
  assert.equal(cfg['optimizer'], 'muon');
  assert.equal(cfg['tieWeights'], false);
  const s = tsgpt(
    'sample',
    '--ckpt',
    'q/ckpt.safetensors',
    '--backend',
    'ref',
    '--max-new-tokens',
    '40',
    '--window',
    'crop',
    '--prompt',
    'To',
  );
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith('To') && s.stdout.length >= 40, s.stdout);
  // GPT-2 cannot express it: one line naming what, and nothing written
  const e = tsgpt('export', '--ckpt', 'q/ckpt.safetensors', '--format', 'hf', 'hf-out');
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /^[^\n]*positional rope[^\n]*--format nanogpt can[^\n]*\n$/);
  assert.ok(!existsSync(join(dir, 'hf-out')));
  const n = tsgpt('export', '--ckpt', 'q/ckpt.safetensors', '--format', 'nanogpt', 'nano-out');
  assert.equal(n.code, 0, n.stderr);
  const exported = JSON.parse(readFileSync(join(dir, 'nano-out', 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.equal(exported['tie_weights'], false);
});

test('bad values of the new keys are refused with the reason', () => {
  const bad = (args: string[], re: RegExp) => {
    const r = tsgpt('train', '--data', 'data', '--out', 'bad', ...SMALL, ...SHORT, ...args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^[^\n]+\n$/);
    assert.match(r.stderr, re);
  };
  bad(['--cooldown-frac', '1.5'], /cooldownFrac = 1\.5 is above 1/);

  bad(['--optimizer', 'sgd'], /--optimizer/);
  bad(['--muon-momentum', '1'], /muonMomentum = 1: must be in \[0, 1\)/);
  const r = tsgpt(
    'train',
    '--data',
    'data',
    '--out',
    'bad',
    '--preset',
    'quick',
    '--n-embd',
    '12',
    '--n-head',
    '4',
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^[^\n]*rotary positions need an even head size, got nEmbd \/ nHead = 3\n$/);
  assert.ok(!existsSync(join(dir, 'bad')));
});

test("an older checkpoint's model config (without the keys added later) takes their defaults", () => {
  const old = {
    vocabSize: 65,
    blockSize: 64,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    dropout: 0,
    bias: false,
    positional: 'learned',
    norm: 'pre',
    activation: 'gelu',
  };
  const c = validateModelConfig(old, 'ckpt');
  for (const k of LATER_MODEL_KEYS) assert.equal(c[k], DEFAULT_GPT_CONFIG[k], k);
  assert.deepEqual(beyondGPT2(c), []);
  assert.throws(
    () => validateModelConfig({ ...old, qkNorm: 'yes' }, 'ckpt'),
    /qkNorm = "yes": must be true or false/,
  );
  const { activation: _, ...noActivation } = old;
  assert.throws(() => validateModelConfig(noActivation, 'ckpt'), /lacks "activation"/);
});

test('the untied head is lm_head.weight, zero at init, after the matrices of the body; Muon takes the hidden matrices', () => {
  const cfg = modelConfig({
    ...DEFAULT_CONFIG,
    ...PRESETS.quick.config,
    vocabSize: 11,
    nLayer: 2,
    nEmbd: 16,
    nHead: 2,
  });
  const model = new GPT(cfg, be, { seed: 1 });
  const names = model.store.names;
  const head = names.indexOf('lm_head.weight');
  assert.ok(head > names.indexOf('transformer.h.1.mlp.c_proj.weight'));
  assert.ok(model.store.get('lm_head.weight').data.every((v) => v === 0));
  assert.ok(!names.includes('transformer.wpe.weight'), 'rotary positions: no position embedding');
  const hidden = names.filter((n) => isMuonParam(n, model.store.get(n).shape));
  assert.deepEqual(hidden, [
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_proj.weight',
    'transformer.h.1.attn.c_attn.weight',
    'transformer.h.1.attn.c_proj.weight',
    'transformer.h.1.mlp.c_fc.weight',
    'transformer.h.1.mlp.c_proj.weight',
  ]);
  const adamw = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };
  const opt = new Muon(be, model.store, adamw, { momentum: 0.95, nsSteps: 5, weightDecay: 0, lrRatio: 10 });
  assert.deepEqual(opt.muonParams, { matrices: 8, size: 2 * 12 * 16 * 16 });
  assert.equal(swigluHidden(128), 344);
  assert.equal(swigluHidden(384), 1024);
});

test('splitLoss predicts every token but the first once, the tail window included', () => {
  const text = 'abcdefghij'.repeat(7); // 70 tokens: 4 windows of 16, then 5 more predictions
  const tok = CharTokenizer.fromText(text);
  const ids = Uint16Array.from(tok.encode(text));
  const cfg = modelConfig({
    ...DEFAULT_CONFIG,
    vocabSize: tok.vocabSize,
    blockSize: 16,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
  });
  const model = new GPT(cfg, be, { seed: 2, grads: false, dtype: 'float64' });
  // the full windows alone are what evaluateTokens averages
  const full = evaluateTokens(model, tok, ids.subarray(0, 65), { batchSize: 3, maxWindows: 100 }).loss;
  const x = tensor(be, Array.from(ids.subarray(64, 69)), [1, 5], 'int32');
  const y = tensor(be, Array.from(ids.subarray(65, 70)), [1, 5], 'int32');
  const tail = model.forward(x, y).loss!.item(); // the last 5 tokens, a window of their own
  const expected = (full * 64 + tail * 5) / 69;
  assert.ok(Math.abs(splitLoss(model, ids, 2) - expected) < 1e-12);
  assert.ok(Math.abs(splitLoss(model, ids, 64) - expected) < 1e-12, 'whatever the batch');
});

test("quick15 and quick60 are quick's recipe, 6 layers deep with context 128, laid over 15 and 60 minutes", () => {
  const { quick, quick15, quick60 } = PRESETS;
  // the size, the batch, the schedule's length and Muon's Newton-Schulz steps (5 in the runs the
  // README reports, 3 in quick's short one) may differ; the recipe may not
  const differ = [
    'muonNsSteps',
    'nLayer',
    'nHead',
    'nEmbd',
    'dropout',
    'blockSize',
    'batchSize',
    'timeBudget',
    'maxIters',
    'lrDecayIters',
    'evalInterval',
  ];
  for (const [name, p, minutes] of [
    ['quick15', quick15, 15],
    ['quick60', quick60, 60],
  ] as const) {
    const c = validateConfig({ ...p.config, vocabSize: 65 }, name);
    for (const [k, v] of Object.entries(quick.config))
      if (!differ.includes(k)) assert.deepEqual(c[k as keyof typeof c], v, `${name}.${k}`);
    assert.equal(c.nLayer, 6, name);
    assert.equal(c.blockSize, 128, name);
    assert.equal(c.timeBudget, minutes, `${name}: the schedule is laid over ${minutes} minutes`);
    assert.ok(c.maxIters > 10 * c.lrDecayIters, `${name}: maxIters only caps a very fast machine`);
  }
  for (const k of ['nLayer', 'nHead', 'nEmbd'] as const)
    assert.equal(quick60.config[k], quick15.config[k], `the hour's model is quick15's: ${k}`);
  assert.ok(quick60.config.dropout! > 0, 'with dropout, or it overfits in an hour');
});
