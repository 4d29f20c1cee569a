// The whole model against PyTorch: tsgpt writes its weights (safetensors) and a token batch,
// test/pytorch/reference.py runs nanoGPT's GPT in PyTorch on them, and the logits, the loss,
// every gradient and the parameters after AdamW steps must agree, for each architecture variant.
// Needs /usr/bin/python3 with torch (Debian's python3-torch; .ci/run installs it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import { DEFAULT_SAMPLING, generate } from '../src/sample/sampling.js';
import { tensor } from '../src/tensor/tensor.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { Muon } from '../src/train/muon.js';
import { AdamW, type Optimizer } from '../src/train/optimizer.js';
import { Rng } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';

const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const skip = torchMissing
  ? `PyTorch is not importable by ${PY} (install python3-torch; .ci/run does)`
  : false;

const dir = mkdtempSync(join(tmpdir(), 'tsgpt-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V = 37;
const base = modelConfig({
  ...DEFAULT_CONFIG,
  vocabSize: V,
  blockSize: 16,
  nLayer: 2,
  nHead: 4,
  nEmbd: 32,
  dropout: 0,
});
const VARIANTS: Partial<GPTConfig>[] = [
  {},
  { bias: false },
  { norm: 'post', positional: 'sinusoidal', activation: 'relu' },
  { activation: 'gelu_tanh', positional: 'sinusoidal' },
  { norm: 'post', bias: false, activation: 'gelu_tanh' },
  // the speedrun options, together
  {
    positional: 'rope',
    normType: 'rmsnorm',
    qkNorm: true,
    activation: 'relu2',
    tieWeights: false,
    logitSoftcap: 15,
    bias: false,
  },
  { positional: 'rope', activation: 'swiglu', attnScale: 0.3, norm: 'post', normType: 'rmsnorm' },
];
const ADAMW = { lr: 3e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0, steps: 2 };
/** Muon's settings for the runs with optimizer 'muon' (test/pytorch/muon_torch.py is the reference) */
interface MuonSpec {
  lr: number;
  momentum: number;
  nsSteps: number;
  weightDecay: number;
}

/** Runs PyTorch on this model's weights and batch. */
function torchReference(model: GPT, idx: number[][], targets: number[][], muon?: MuonSpec) {
  const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, p] of model.stateDict())
    weights.set(name, { shape: p.shape, data: Float32Array.from(p.data) });
  const tag = Math.random().toString(36).slice(2);
  const w = join(dir, `w-${tag}.safetensors`);
  const spec = join(dir, `spec-${tag}.json`);
  const out = join(dir, `out-${tag}.safetensors`);
  writeFileSync(w, encodeSafetensors(weights));
  writeFileSync(spec, JSON.stringify({ config: model.config, idx, targets, adamw: { ...ADAMW, muon } }));
  const r = spawnSync(PY, ['test/pytorch/reference.py', w, spec, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `reference.py failed: ${r.stderr}`);
  return decodeSafetensors(readFileSync(out)).tensors;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float32Array(a.length));

function checkAgainstTorch(
  be: Backend,
  variant: Partial<GPTConfig>,
  tol: { logits: number; loss: number },
  muon?: MuonSpec,
) {
  const cfg = { ...base, ...variant };
  const model = new GPT(cfg, be, { seed: 7 });
  const rng = new Rng(21);
  // an untied head starts at zero, which would leave the gradients behind it untested
  if (!cfg.tieWeights)
    for (const [i] of model.lmHead.data.entries()) model.lmHead.data[i] = 0.02 * rng.normal();
  const B = 3;
  const T = cfg.blockSize;
  const idx = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  const targets = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  targets[1]![3] = -1; // an ignored position
  const ref = torchReference(model, idx, targets, muon);

  const x = tensor(be, idx.flat(), [B, T], 'int32');
  const y = tensor(be, targets.flat(), [B, T], 'int32');
  const adamw = {
    beta1: ADAMW.beta1,
    beta2: ADAMW.beta2,
    eps: ADAMW.eps,
    weightDecay: ADAMW.weightDecay,
    gradClip: ADAMW.gradClip,
  };
  const opt: Optimizer = muon
    ? new Muon(be, model.store, adamw, {
        momentum: muon.momentum,
        nsSteps: muon.nsSteps,
        weightDecay: muon.weightDecay,
        lrRatio: muon.lr / ADAMW.lr,
      })
    : new AdamW(be, model.store, adamw);
  opt.lr = ADAMW.lr;
  for (let step = 0; step < ADAMW.steps; step++) {
    model.store.zeroGrad(be);
    const { logits, loss } = model.forward(x, y);
    backward(loss!);
    if (step === 0) {
      const dl = maxAbsDiff(logits.data, ref.get('logits')!.data);
      assert.ok(dl <= tol.logits, `logits differ by ${dl}`);
      const dloss = Math.abs(loss!.item() - ref.get('loss')!.data[0]!);
      assert.ok(
        dloss <= tol.loss,
        `loss ${loss!.item()} vs torch ${ref.get('loss')!.data[0]} (diff ${dloss})`,
      );
      for (const [name, p] of model.store.params) {
        const g = ref.get(`grad/${name}`);
        assert.ok(g, `torch has no gradient for ${name}`);
        const rel = maxAbsDiff(p.grad!.data, g.data) / Math.max(maxAbs(g.data), 1e-8);
        assert.ok(rel <= 1e-3, `gradient of ${name}: relative difference ${rel}`);
      }
    }
    opt.update();
  }
  for (const [name, p] of model.store.params) {
    const d = maxAbsDiff(p.data, ref.get(`param/${name}`)!.data);
    assert.ok(d <= 1e-5, `${name} after ${ADAMW.steps} ${muon ? 'Muon' : 'AdamW'} steps differs by ${d}`);
  }
}

describe('parity with PyTorch (ref backend, float32)', { skip }, () => {
  for (const v of VARIANTS)
    test(`logits 1e-4, loss 1e-5, grads 1e-3 relative, AdamW steps 1e-5: ${JSON.stringify(v)}`, () =>
      checkAgainstTorch(refBackend, v, { logits: 1e-4, loss: 1e-5 }));
});

describe('parity with PyTorch (wasm backend)', { skip }, () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
  });
  for (const v of [VARIANTS[0]!, VARIANTS[2]!, VARIANTS[5]!, VARIANTS[6]!])
    test(`wasm, 2 threads: ${JSON.stringify(v)}`, async () => {
      wasm ??= await createWasmBackend({ threads: 2 });
      checkAgainstTorch(wasm, v, { logits: 1e-4, loss: 1e-5 });
    });
});

describe("Muon (+ AdamW for the rest) against Keller Jordan's Muon in PyTorch", { skip }, () => {
  const MUON: MuonSpec = { lr: 0.05, momentum: 0.95, nsSteps: 5, weightDecay: 0.01 };
  test('ref: wide (c_attn, c_fc) and tall (c_proj) matrices, 2 steps with momentum, params 1e-5', () =>
    checkAgainstTorch(refBackend, VARIANTS[5]!, { logits: 1e-4, loss: 1e-5 }, MUON));
  test('wasm, 2 threads: the same', async () => {
    const be = await createWasmBackend({ threads: 2 });
    try {
      checkAgainstTorch(be, VARIANTS[0]!, { logits: 1e-4, loss: 1e-5 }, { ...MUON, nsSteps: 3 });
    } finally {
      await be.dispose();
    }
  });
});

describe(
  'greedy generation with rotary positions past the block size: cached, uncached and PyTorch crop',
  { skip },
  () => {
    test("the window crops to the newest blockSize tokens as nanoGPT's generate does: the same tokens", () => {
      const cfg = {
        ...base,
        blockSize: 8,
        positional: 'rope' as const,
        qkNorm: true,
        normType: 'rmsnorm' as const,
      };
      const model = new GPT(cfg, refBackend, { seed: 11 });
      // larger weights than the init's: clear winners at each step, so float32 rounding decides no tie
      for (const [, p] of model.store.params) for (const [i, v] of p.data.entries()) p.data[i] = v * 8;
      const prompt = [3, 1, 4, 1, 5];
      const N = 40; // 5 + 40 tokens: the window crops at every one of the last 37 steps
      const greedy = { ...DEFAULT_SAMPLING, greedy: true };
      const cached = generate(model, prompt, N, greedy, new Rng(1), () => {}, { window: 'crop' });
      const uncached = generate(model, prompt, N, greedy, new Rng(1), () => {}, {
        window: 'crop',
        cache: false,
      });
      assert.deepEqual(cached, uncached);
      assert.ok(new Set(cached).size > 3, `a varied sequence, not one token repeated: ${cached}`);
      const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, p] of model.stateDict())
        weights.set(name, { shape: p.shape, data: Float32Array.from(p.data) });
      const w = join(dir, 'gen-w.safetensors');
      const spec = join(dir, 'gen-spec.json');
      writeFileSync(w, encodeSafetensors(weights));
      writeFileSync(spec, JSON.stringify({ config: cfg, prompt, new: N }));
      const r = spawnSync(PY, ['test/pytorch/generate_ref.py', w, spec], { encoding: 'utf8' });
      assert.equal(r.status, 0, `generate_ref.py failed: ${r.stderr}`);
      assert.deepEqual(cached, JSON.parse(r.stdout) as number[]);
      // the default window (the newest half) is another context past blockSize: other tokens
      const half = generate(model, prompt, N, greedy, new Rng(1), () => {});
      assert.deepEqual(half.slice(0, 4), cached.slice(0, 4), 'the same while the text fits the block');
    });
  },
);
