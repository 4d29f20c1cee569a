// Checkpoint name/layout maps: tsgpt ↔ nanoGPT ↔ Hugging Face GPT-2. Round trips are exact
// (bit for bit), Conv1D transposes put each element where HF expects it, and a state dict
// with a missing, unexpected or mis-shaped tensor is refused naming it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointError, ConfigError } from '../src/errors.js';
import {
  expectedShapes,
  fromHF,
  fromNanoGPT,
  HF_SAFETENSORS_METADATA,
  hfConfigJson,
  type InteropConfig,
  type NamedTensor,
  sinusoidalTable,
  type TensorMap,
  toHF,
  toNanoGPT,
} from '../src/model/interop.js';
import { Rng } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';

const base: InteropConfig = {
  vocabSize: 11,
  blockSize: 5,
  nLayer: 2,
  nHead: 2,
  nEmbd: 4,
  dropout: 0,
  bias: true,
  positional: 'learned',
  norm: 'pre',
  activation: 'gelu_tanh',
};

function randomParams(config: InteropConfig, seed = 1): TensorMap {
  const rng = new Rng(seed);
  const m: TensorMap = new Map();
  for (const [name, shape] of expectedShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.nextU32() / 2 ** 32 - 0.5;
    m.set(name, { shape, data });
  }
  return m;
}

function assertSameParams(a: ReadonlyMap<string, NamedTensor>, b: ReadonlyMap<string, NamedTensor>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) {
    const u = b.get(name)!;
    assert.deepEqual([...u.shape], [...t.shape], name);
    assert.deepEqual(u.data, t.data, name);
  }
}

function throwsCheckpoint(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CheckpointError && pattern.test(e.message));
}

test('expectedShapes follows the config: biases, wpe, layers', () => {
  const full = expectedShapes(base);
  assert.equal(full.size, 2 + 12 * 2 + 2);
  assert.deepEqual(full.get('transformer.h.1.mlp.c_proj.weight'), [4, 16]);
  const lean = expectedShapes({ ...base, bias: false, positional: 'sinusoidal' });
  assert.equal(lean.size, 1 + 6 * 2 + 1);
  assert.ok(![...lean.keys()].some((k) => k.endsWith('.bias') || k.includes('wpe')));
});

test('nanoGPT round trip is exact and adds the tied lm_head', () => {
  const params = randomParams(base);
  const sd = toNanoGPT(params);
  assert.equal(sd.get('lm_head.weight')!.data, params.get('transformer.wte.weight')!.data);
  assertSameParams(fromNanoGPT(sd, base), params);
  // torch.compile prefix and PyTorch < 2 mask buffers are accepted
  const compiled = new Map([...sd].map(([k, v]) => [`_orig_mod.${k}`, v] as const));
  compiled.set('_orig_mod.transformer.h.0.attn.bias', { shape: [1, 1, 5, 5], data: new Float32Array(25) });
  assertSameParams(fromNanoGPT(compiled, base), params);
});

test('nanoGPT import refuses missing, extra, mis-shaped and untied tensors', () => {
  const sd = toNanoGPT(randomParams(base));
  const missing = new Map(sd);
  missing.delete('transformer.h.1.ln_2.bias');
  throwsCheckpoint(() => fromNanoGPT(missing, base), /missing transformer\.h\.1\.ln_2\.bias/);
  const extra = new Map(sd).set('transformer.h.2.ln_1.weight', { shape: [4], data: new Float32Array(4) });
  throwsCheckpoint(() => fromNanoGPT(extra, base), /unexpected transformer\.h\.2\.ln_1\.weight/);
  const bad = new Map(sd).set('transformer.wpe.weight', { shape: [4, 4], data: new Float32Array(16) });
  throwsCheckpoint(
    () => fromNanoGPT(bad, base),
    /transformer\.wpe\.weight has shape \(4,4\), expected \(5,4\)/,
  );
  const untied = new Map(sd).set('lm_head.weight', { shape: [11, 4], data: new Float32Array(44) });
  throwsCheckpoint(() => fromNanoGPT(untied, base), /lm_head\.weight differs from wte/);
});

test('HF export transposes Conv1D weights to (in, out) and ties lm_head', () => {
  const params = randomParams(base);
  const hf = toHF(params, base);
  const C = 4;
  const ours = params.get('transformer.h.0.attn.c_attn.weight')!; // (3C, C): out x in
  const theirs = hf.get('transformer.h.0.attn.c_attn.weight')!; // (C, 3C): in x out
  assert.deepEqual(theirs.shape, [C, 3 * C]);
  for (let o = 0; o < 3 * C; o++)
    for (let i = 0; i < C; i++) assert.equal(theirs.data[i * 3 * C + o], ours.data[o * C + i]);
  assert.deepEqual(hf.get('transformer.h.1.mlp.c_fc.weight')!.shape, [C, 4 * C]);
  assert.deepEqual(hf.get('transformer.h.1.mlp.c_proj.weight')!.shape, [4 * C, C]);
  assert.equal(hf.get('transformer.h.1.ln_1.weight')!.data, params.get('transformer.h.1.ln_1.weight')!.data);
  assert.equal(hf.get('lm_head.weight')!.data, params.get('transformer.wte.weight')!.data);
});

test('HF round trip is exact, through safetensors bytes too, for each activation', () => {
  for (const activation of ['gelu', 'gelu_tanh', 'relu'] as const) {
    const config = { ...base, activation, dropout: 0.1 };
    const params = randomParams(config, 7);
    const cfgJson = JSON.parse(JSON.stringify(hfConfigJson(config)));
    const direct = fromHF(toHF(params, config), cfgJson);
    assert.deepEqual(direct.config, config);
    assertSameParams(direct.params, params);
    const bytes = encodeSafetensors(toHF(params, config), HF_SAFETENSORS_METADATA);
    const file = decodeSafetensors(bytes);
    assert.equal(file.metadata['format'], 'pt'); // transformers refuses the file without it
    assertSameParams(fromHF(file.tensors, cfgJson).params, params);
  }
});

test('hfConfigJson has the GPT2Config fields', () => {
  const j = hfConfigJson({ ...base, vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768 });
  assert.deepEqual(j['architectures'], ['GPT2LMHeadModel']);
  assert.equal(j['model_type'], 'gpt2');
  assert.equal(j['activation_function'], 'gelu_new');
  assert.equal(j['n_positions'], 1024);
  assert.equal(j['n_ctx'], 1024);
  assert.equal(j['layer_norm_epsilon'], 1e-5);
  assert.equal(j['eos_token_id'], 50256);
  assert.equal(hfConfigJson(base)['eos_token_id'], null);
  assert.equal(hfConfigJson({ ...base, activation: 'gelu' })['activation_function'], 'gelu');
});

test('HF import: hub-style names without transformer., buffers ignored, lm_head optional', () => {
  const params = randomParams(base, 3);
  const hf = toHF(params, base);
  const hub: TensorMap = new Map();
  for (const [k, v] of hf) if (k !== 'lm_head.weight') hub.set(k.replace(/^transformer\./, ''), v);
  hub.set('h.0.attn.bias', { shape: [1, 1, 5, 5], data: new Float32Array(25) });
  hub.set('h.1.attn.masked_bias', { shape: [], data: new Float32Array([-1e4]) });
  const { params: back, config } = fromHF(hub, {
    n_embd: 4,
    n_head: 2,
    n_layer: 2,
    n_ctx: 5,
    vocab_size: 11,
  });
  assert.equal(config.activation, 'gelu_tanh'); // GPT2Config's default, gelu_new
  assert.equal(config.blockSize, 5);
  assertSameParams(back, params);
});

test('HF import refuses missing, extra and mis-shaped tensors, and unsupported configs', () => {
  const cfgJson = hfConfigJson(base);
  const hf = toHF(randomParams(base), base);
  const missing = new Map(hf);
  missing.delete('transformer.h.0.mlp.c_fc.weight');
  throwsCheckpoint(() => fromHF(missing, cfgJson), /missing transformer\.h\.0\.mlp\.c_fc\.weight/);
  const extra = new Map(hf).set('transformer.h.0.crossattention.c_attn.weight', hf.get('lm_head.weight')!);
  throwsCheckpoint(() => fromHF(extra, cfgJson), /unexpected transformer\.h\.0\.crossattention/);
  // our (out, in) layout where HF wants (in, out): refused, not silently transposed
  const notTransposed = new Map(hf).set('transformer.h.1.mlp.c_fc.weight', {
    shape: [16, 4],
    data: new Float32Array(64),
  });
  throwsCheckpoint(
    () => fromHF(notTransposed, cfgJson),
    /mlp\.c_fc\.weight has shape \(16,4\), expected \(4,16\)/,
  );
  throwsCheckpoint(
    () => fromHF(hf, { ...cfgJson, activation_function: 'swish' }),
    /activation_function "swish"/,
  );
  throwsCheckpoint(() => fromHF(hf, { ...cfgJson, layer_norm_epsilon: 1e-6 }), /layer_norm_epsilon/);
  throwsCheckpoint(() => fromHF(hf, { ...cfgJson, n_head: 3 }), /not divisible/);
  throwsCheckpoint(() => fromHF(hf, { ...cfgJson, n_layer: undefined }), /n_layer = undefined/);
});

test('HF export of bias-free / sinusoidal models is the same function; post-norm is refused', () => {
  const config: InteropConfig = { ...base, bias: false, positional: 'sinusoidal' };
  const params = randomParams(config);
  const hf = toHF(params, config);
  assert.deepEqual([...hf.get('transformer.h.0.attn.c_attn.bias')!.data], new Array(12).fill(0));
  assert.deepEqual(hf.get('transformer.wpe.weight')!.data, sinusoidalTable(5, 4));
  const back = fromHF(hf, hfConfigJson(config));
  assert.equal(back.config.bias, true);
  assert.equal(back.params.get('transformer.wte.weight')!.data, params.get('transformer.wte.weight')!.data);
  assert.throws(() => toHF(randomParams({ ...base, norm: 'post' }), { ...base, norm: 'post' }), ConfigError);
});

test('sinusoidal table: sin on even columns, cos on odd', () => {
  const pe = sinusoidalTable(3, 4);
  assert.equal(pe[0], 0);
  assert.equal(pe[1], 1);
  assert.equal(pe[4 + 0], Math.fround(Math.sin(1)));
  assert.equal(pe[4 + 3], Math.fround(Math.cos(1 / 100)));
  assert.equal(pe[8 + 2], Math.fround(Math.sin(2 / 100)));
});
