// The encoder-decoder against PyTorch: tsgpt writes its weights and a padded batch (sources and
// targets of different lengths), test/pytorch/seq2seq_reference.py runs torch's nn.Transformer
// with the same weights (the paper's embedding scale, sinusoid and tied output around it), and
// the logits (every position), the loss and every parameter's gradient must agree, for each
// architecture variant, on the ref and the wasm backend.
// Needs /usr/bin/python3 with torch (Debian's python3-torch; .ci/run installs it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backward } from '../src/autograd/engine.js';
import type { Backend } from '../src/backend/backend.js';
import { refBackend } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { EncoderDecoder } from '../src/model/encoder-decoder.js';
import {
  DEFAULT_ENCODER_DECODER_CONFIG,
  type EncoderDecoderConfig,
} from '../src/model/encoder-decoder-config.js';
import { tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../src/util/safetensors.js';

const PY = '/usr/bin/python3';
const torchMissing = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const skip = torchMissing
  ? `PyTorch is not importable by ${PY} (install python3-torch; .ci/run does)`
  : false;

const dir = mkdtempSync(join(tmpdir(), 'tsgpt-s2s-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V = 19;
const base: EncoderDecoderConfig = {
  ...DEFAULT_ENCODER_DECODER_CONFIG,
  vocabSize: V,
  blockSize: 12,
  nLayer: 2,
  nHead: 4,
  nEmbd: 32,
  dropout: 0,
};
const VARIANTS: Partial<EncoderDecoderConfig>[] = [
  {}, // the paper: post-norm, ReLU, biases, tied output
  { norm: 'pre' },
  { bias: false, activation: 'gelu', tieWeights: false },
  { norm: 'pre', activation: 'gelu_tanh', bias: false, nHead: 2 },
];

/** A padded batch: sources of lengths 7, 3, 5 and targets of lengths 6, 8, 2 (PAD = 0). */
function batch(rng: Rng) {
  const srcLens = [7, 3, 5];
  const tgtLens = [6, 8, 2];
  const S = 7;
  const T = 8;
  const row = (len: number, width: number) =>
    Array.from({ length: width }, (_, i) => (i < len ? 3 + rng.int(V - 3) : 0));
  const src = srcLens.map((l) => row(l, S));
  const tgt = tgtLens.map((l) => row(l, T));
  const srcPadding = src.map((r, b) => r.map((_, i) => (i < srcLens[b]! ? 0 : 1)));
  const tgtPadding = tgt.map((r, b) => r.map((_, i) => (i < tgtLens[b]! ? 0 : 1)));
  const targets = tgt.map((r, b) => r.map((_, i) => (i < tgtLens[b]! ? 3 + rng.int(V - 3) : -1)));
  return { src, srcPadding, tgt, tgtPadding, targets };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float32Array(a.length));

/** The worst logits difference and the worst relative gradient difference, for the report. */
const worst = { logits: 0, grad: 0 };

/** PyTorch's outputs for each variant: one Python run for all of them (torch takes seconds to import). */
const torchOut = new Map<Partial<EncoderDecoderConfig>, Map<string, { data: Float32Array }>>();
before(() => {
  if (skip) return;
  const argv: string[] = [];
  const outs: string[] = [];
  VARIANTS.forEach((v, i) => {
    const cfg = { ...base, ...v };
    const model = new EncoderDecoder(cfg, refBackend, { seed: 5 });
    const [w, spec, out] = ['w.safetensors', 'spec.json', 'out.safetensors'].map((f) =>
      join(dir, `${i}-${f}`),
    ) as [string, string, string];
    const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, p] of model.stateDict())
      weights.set(name, { shape: p.shape, data: Float32Array.from(p.data) });
    writeFileSync(w, encodeSafetensors(weights));
    writeFileSync(spec, JSON.stringify({ config: cfg, ...batch(new Rng(31)) }));
    argv.push(w, spec, out);
    outs.push(out);
  });
  const r = spawnSync(PY, ['test/pytorch/seq2seq_reference.py', ...argv], { encoding: 'utf8' });
  assert.equal(r.status, 0, `seq2seq_reference.py failed: ${r.stderr}`);
  VARIANTS.forEach((v, i) => {
    torchOut.set(v, decodeSafetensors(readFileSync(outs[i]!)).tensors);
  });
});

function checkAgainstTorch(be: Backend, variant: Partial<EncoderDecoderConfig>): void {
  const cfg = { ...base, ...variant };
  // the same seed gives the weights PyTorch got (the init runs in JavaScript, on any backend)
  const model = new EncoderDecoder(cfg, be, { seed: 5 });
  const data = batch(new Rng(31));
  const ref = torchOut.get(variant)!;
  const t2 = (rows: number[][]) => tensor(be, rows.flat(), [rows.length, rows[0]!.length], 'int32');
  const inputs = {
    src: t2(data.src),
    srcPadding: t2(data.srcPadding),
    tgt: t2(data.tgt),
    tgtPadding: t2(data.tgtPadding),
  };
  const { logits, loss } = model.forward(inputs, t2(data.targets));
  backward(loss!);
  const dl = maxAbsDiff(logits.data, ref.get('logits')!.data);
  worst.logits = Math.max(worst.logits, dl);
  assert.ok(dl <= 1e-4, `logits differ by ${dl}`);
  const dloss = Math.abs(loss!.item() - ref.get('loss')!.data[0]!);
  assert.ok(dloss <= 1e-5, `loss ${loss!.item()} vs torch ${ref.get('loss')!.data[0]} (diff ${dloss})`);
  for (const [name, p] of model.store.params) {
    const g = ref.get(`grad/${name}`);
    assert.ok(g, `torch has no gradient for ${name}`);
    const rel = maxAbsDiff(p.grad!.data, g.data) / Math.max(maxAbs(g.data), 1e-8);
    worst.grad = Math.max(worst.grad, rel);
    assert.ok(rel <= 1e-3, `gradient of ${name}: relative difference ${rel}`);
  }
}

describe('encoder-decoder parity with torch nn.Transformer (ref backend, float32)', { skip }, () => {
  for (const v of VARIANTS)
    test(`logits 1e-4, loss 1e-5, every gradient 1e-3 relative: ${JSON.stringify(v)}`, () =>
      checkAgainstTorch(refBackend, v));
});

describe('encoder-decoder parity with torch nn.Transformer (wasm backend)', { skip }, () => {
  let wasm: WasmBackend | null = null;
  after(async () => {
    await wasm?.dispose();
    if (process.env['TSGPT_PARITY_REPORT']) console.log(`worst: ${JSON.stringify(worst)}`);
  });
  for (const v of VARIANTS)
    test(`wasm, 2 threads: ${JSON.stringify(v)}`, async () => {
      wasm ??= await createWasmBackend({ threads: 2 });
      checkAgainstTorch(wasm, v);
    });
});
