// The models before GPT against PyTorch on the same weights: torch.nn.RNN (tanh), nn.LSTM and
// nn.GRU with 2 layers (the recurrent layers' outputs and final states, the logits, the loss and
// every gradient), and the bigram and MLP models written with torch.nn. test/pytorch/
// models_reference.py computes PyTorch's side. Needs /usr/bin/python3 with torch (Debian's
// python3-torch; .ci/run installs it); skipped with the reason otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { backward, noGrad } from '../src/autograd/engine.js';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import type { Arch, ModelConfig } from '../src/model/config.js';
import type { LanguageModel } from '../src/model/language-model.js';
import { createModel } from '../src/model/models.js';
import { type RecurrentModel, RecurrentState } from '../src/model/rnn.js';
import { tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { type DecodedTensor, decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';

const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const skip = torchMissing
  ? `PyTorch is not importable by ${PY} (install python3-torch; .ci/run does)`
  : false;

const dir = mkdtempSync(join(tmpdir(), 'tsgpt-models-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V = 23;
const B = 3;
const T = 11;
const CONFIGS: Record<Exclude<Arch, 'gpt'>, ModelConfig> = {
  bigram: { vocabSize: V, blockSize: T },
  mlp: { vocabSize: V, blockSize: T, context: 4, nEmbd: 6, nHidden: 17 },
  // 2 layers; widths that are not multiples of the kernels' 4 lanes
  rnn: { vocabSize: V, blockSize: T, nLayer: 2, nEmbd: 7, nHidden: 9, dropout: 0 },
  lstm: { vocabSize: V, blockSize: T, nLayer: 2, nEmbd: 7, nHidden: 9, dropout: 0 },
  gru: { vocabSize: V, blockSize: T, nLayer: 2, nEmbd: 7, nHidden: 9, dropout: 0 },
};

function torchReference(arch: Arch, model: LanguageModel, idx: number[][], targets: number[][]) {
  const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, p] of model.stateDict())
    weights.set(name, { shape: p.shape, data: Float32Array.from(p.data) });
  const tag = Math.random().toString(36).slice(2);
  const w = join(dir, `w-${tag}.safetensors`);
  const spec = join(dir, `spec-${tag}.json`);
  const out = join(dir, `out-${tag}.safetensors`);
  writeFileSync(w, encodeSafetensors(weights));
  writeFileSync(spec, JSON.stringify({ arch, config: model.config, idx, targets }));
  const r = spawnSync(PY, ['test/pytorch/models_reference.py', w, spec, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `models_reference.py failed: ${r.stderr}`);
  return decodeSafetensors(readFileSync(out)).tensors;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Asserts got is within tol of torch's `want`; returns the difference. */
function near(what: string, got: ArrayLike<number>, want: DecodedTensor | undefined, tol: number): number {
  assert.ok(want, `torch gave no ${what}`);
  const d = maxAbsDiff(got, want.data);
  assert.ok(d <= tol, `${what} differs by ${d} (> ${tol})`);
  return d;
}

/** Checks one model against torch; returns what it measured (the test reports it). */
function checkAgainstTorch(be: Backend, arch: Exclude<Arch, 'gpt'>): string {
  const model = createModel(arch, CONFIGS[arch], be, { seed: 5 });
  // the weights a few steps of training would give are not special: spread them a little so
  // the gates are not all near 0.5 and the state carries something
  const rng = new Rng(31);
  for (const p of model.store.params.values())
    for (let i = 0; i < p.size; i++) p.data[i] = p.data[i]! * 2 + 0.1 * rng.normal();
  const idx = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  const targets = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  targets[2]![5] = -1; // an ignored position
  const ref = torchReference(arch, model, idx, targets);
  const x = tensor(be, idx.flat(), [B, T], 'int32');
  const y = tensor(be, targets.flat(), [B, T], 'int32');
  model.store.zeroGrad(be);
  const { logits, loss } = model.forward(x, y);
  backward(loss!);
  const dLogits = near('logits', logits.data, ref.get('logits'), 1e-4);
  const dLoss = near('loss', [loss!.item()], ref.get('loss'), 1e-5);
  let worstGrad = 0;
  for (const [name, p] of model.store.params) {
    const g = ref.get(`grad/${name}`);
    assert.ok(g, `torch has no gradient for ${name}`);
    const scale = Math.max(maxAbsDiff(g.data, new Float32Array(g.data.length)), 1e-8);
    const rel = maxAbsDiff(p.grad!.data, g.data) / scale;
    assert.ok(rel <= 1e-3, `gradient of ${name}: relative difference ${rel}`);
    worstGrad = Math.max(worstGrad, rel);
  }
  const said = `logits ${dLogits.toExponential(1)}, loss ${dLoss.toExponential(1)}, gradients ${worstGrad.toExponential(1)} relative`;
  if (arch === 'bigram' || arch === 'mlp') return said;
  const rnn = model as RecurrentModel;
  return noGrad(() => {
    const dOut = near(`${arch} output (B, T, H)`, rnn.hiddenStates(x).data, ref.get('output'), 1e-4);
    // the state after the whole sequence, reached token by token through forwardCached
    const state = rnn.newCache(B);
    for (let t = 0; t < T; t++)
      rnn.forwardCached(
        tensor(
          be,
          idx.map((row) => row[t]!),
          [B, 1],
          'int32',
        ),
        state,
      );
    assert.ok(state instanceof RecurrentState);
    near(
      `${arch} h_n`,
      state.h.flatMap((h) => Array.from(h.data)),
      ref.get('h_n'),
      1e-4,
    );
    if (arch === 'lstm')
      near(
        'lstm c_n',
        state.c!.flatMap((c) => Array.from(c.data)),
        ref.get('c_n'),
        1e-4,
      );
    state.dispose();
    return `${said}, outputs ${dOut.toExponential(1)}`;
  });
}

describe('the models before GPT against PyTorch (ref backend, float32)', { skip }, () => {
  for (const arch of ['rnn', 'lstm', 'gru'] as const)
    test(`${arch}, 2 layers: outputs, final states and logits 1e-4, loss 1e-5, every gradient 1e-3 relative`, (t) =>
      t.diagnostic(checkAgainstTorch(refBackend, arch)));
  for (const arch of ['bigram', 'mlp'] as const)
    test(`${arch}: logits 1e-4, loss 1e-5, every gradient 1e-3 relative`, (t) =>
      t.diagnostic(checkAgainstTorch(refBackend, arch)));
});

describe('the recurrent models against PyTorch (wasm backend, 2 threads)', { skip }, () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
  });
  for (const arch of ['rnn', 'lstm', 'gru'] as const)
    test(`wasm: ${arch}`, async (t) => {
      wasm ??= await createWasmBackend({ threads: 2 });
      t.diagnostic(checkAgainstTorch(wasm, arch));
    });
});
