// Looking inside a model (src/model/inspect.ts) and the sampling distribution: the attention
// maps are the model's own probabilities (checked against a hand computation from its weights),
// causal and normalised on both backends; statistics, PCA, cosine similarity and update ratios
// compute what they say; the candidates shown for a token are the ones it was drawn from.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend as be, createBackend } from '../src/backend/index.js';
import { ShapeError } from '../src/errors.js';
import { type GPTConfig, modelConfig } from '../src/model/config.js';
import { GPT } from '../src/model/gpt.js';
import {
  cosineSimilarity,
  inspect,
  parameterStats,
  pca,
  snapshotWeights,
  stats,
  updateToWeight,
} from '../src/model/inspect.js';
import { DEFAULT_SAMPLING, generate, pickToken, samplingDistribution } from '../src/sample/sampling.js';
import { Tensor, tensor } from '../src/tensor/tensor.js';
import { DEFAULT_CONFIG, type FullConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';

const cfg = (over: Partial<GPTConfig> = {}): GPTConfig =>
  modelConfig({ ...DEFAULT_CONFIG, vocabSize: 13, blockSize: 12, nLayer: 2, nHead: 2, nEmbd: 16, ...over });

const PROMPT = [3, 1, 4, 1, 5, 9, 2, 6];

test('inspect: attention maps equal softmax(q k^T / sqrt(hs)) computed by hand from the weights', () => {
  const model = new GPT(cfg(), be, { seed: 5, dtype: 'float64' });
  const { attention, t, nHead } = inspect(model, PROMPT);
  assert.equal(attention.length, 2);
  assert.equal(attention[0]!.length, nHead * t * t);
  // layer 0 by hand: x = wte[id] + wpe[pos], qkv = c_attn(ln_1(x))
  const block = model.transformer.h.items[0]!;
  const qkv = noGrad(() => {
    const x = new Tensor(be, [1, t, 16], 'float64');
    const wte = model.transformer.wte.weight.data;
    const wpe = model.transformer.wpe!.weight.data;
    for (let i = 0; i < t; i++)
      for (let j = 0; j < 16; j++) x.data[i * 16 + j] = wte[PROMPT[i]! * 16 + j]! + wpe[i * 16 + j]!;
    return block.attn.c_attn.forward(block.ln_1.forward(x)).data;
  });
  const hs = 8;
  for (let h = 0; h < nHead; h++)
    for (let i = 0; i < t; i++) {
      const scores: number[] = [];
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < hs; d++) s += qkv[i * 48 + h * hs + d]! * qkv[j * 48 + 16 + h * hs + d]!;
        scores.push(s / Math.sqrt(hs));
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < t; j++) {
        const want = j <= i ? e[j]! / z : 0;
        const got = attention[0]![(h * t + i) * t + j]!;
        assert.ok(Math.abs(got - want) < 1e-6, `head ${h} row ${i} col ${j}: ${got} vs ${want}`);
      }
    }
});

test('inspect: on wasm as on ref, rows sum to 1, nothing above the diagonal, logits as forward()', async () => {
  const wasm = await createBackend('wasm', { threads: 1 });
  try {
    const a = new GPT(cfg({ norm: 'post', activation: 'relu' }), be, { seed: 7 });
    const b = new GPT(cfg({ norm: 'post', activation: 'relu' }), wasm, { seed: 7 });
    const ra = inspect(a, PROMPT);
    const rb = inspect(b, PROMPT);
    const t = PROMPT.length;
    for (const r of [ra, rb])
      for (const att of r.attention)
        for (let row = 0; row < 2 * t; row++) {
          const i = row % t;
          let sum = 0;
          for (let j = 0; j < t; j++) {
            const p = att[row * t + j]!;
            if (j > i) assert.equal(p, 0, `row ${i} col ${j} above the diagonal`);
            else assert.ok(p >= 0);
            sum += p;
          }
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} sums to ${sum}`);
        }
    for (let l = 0; l < 2; l++)
      for (let i = 0; i < ra.attention[l]!.length; i++)
        assert.ok(Math.abs(ra.attention[l]![i]! - rb.attention[l]![i]!) < 1e-4);
    const direct = noGrad(() => a.forward(tensor(be, PROMPT, [1, t], 'int32'), null).logits.data);
    assert.deepEqual(Array.from(ra.logits), Array.from(Float32Array.from(direct)));
    assert.equal(ra.layers.length, 2);
    assert.equal(ra.layers[1]!.mlp.count, t * 64); // 4C hidden units per position
    assert.ok(ra.layers[1]!.mlp.min >= 0, 'ReLU activations are never negative');
    assert.equal(ra.embedding.count, t * 16);
    assert.equal(ra.loss, null);
  } finally {
    await wasm.dispose?.();
  }
});

test('inspect: a batch with targets gives every position and the loss forward() computes', () => {
  const model = new GPT(cfg(), be, { seed: 2 });
  const x = [...PROMPT, ...PROMPT.map((v) => (v + 1) % 13)];
  const y = x.map((v) => (v + 3) % 13);
  const r = inspect(model, x, { batch: 2, targets: y });
  assert.equal(r.logits.length, 2 * 8 * 13);
  assert.equal(r.attention[0]!.length, 2 * 2 * 8 * 8);
  const want = noGrad(() =>
    model.forward(tensor(be, x, [2, 8], 'int32'), tensor(be, y, [2, 8], 'int32')).loss!.item(),
  );
  assert.equal(r.loss, want);
  // one histogram range for every layer: the bins line up, and every value is counted
  const ranged = inspect(model, x, { batch: 2, ranges: { block: [-4, 4] }, bins: 16 });
  for (const l of ranged.layers) {
    assert.deepEqual([l.block.histogram.lo, l.block.histogram.hi], [-4, 4]);
    assert.equal(
      l.block.histogram.counts.reduce((a, b) => a + b, 0),
      2 * 8 * 16,
    );
  }
  assert.notDeepEqual([ranged.layers[0]!.mlp.histogram.lo], [-4]);
  assert.throws(() => inspect(model, [1, 2, 3], { batch: 2 }), ShapeError);
  assert.throws(() => inspect(model, new Array(13).fill(1)), /exceeds blockSize 12/);
  assert.throws(() => inspect(model, [1, 13]), /outside \[0, 13\)/);
});

test('stats: moments, range and a histogram that counts every value', () => {
  const s = stats([1, 2, 3, 4], 2);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
  assert.deepEqual([s.min, s.max, s.count], [1, 4, 4]);
  assert.deepEqual(s.histogram.counts, [2, 2]);
  const r = stats([-5, 0, 0.5, 5], 4, [-1, 1]);
  assert.deepEqual(r.histogram.counts, [1, 0, 1, 2]); // -5 clamped low; 5 clamped high
  assert.deepEqual(stats([7, 7, 7], 3).histogram.counts, [3, 0, 0]); // no spread: the first bin
});

test('pca: finds the direction of the spread, orthonormal components, sign fixed', () => {
  // every combination of a spread of 10 along dir and of 2 along axis 1: uncorrelated, so the
  // components are exactly dir and axis 1
  const dir = [0.6, 0, 0.8, 0, 0];
  const cols = 5;
  const pts: number[][] = [];
  for (const a of [-10, -4, 4, 10])
    for (const b of [-2, 2]) pts.push(dir.map((d, j) => a * d + (j === 1 ? b : 0) + 1));
  const rows = pts.length;
  const x = Float64Array.from(pts.flat());
  const p = pca(x, rows, cols, 2);
  for (let j = 0; j < cols; j++) assert.ok(Math.abs(p.components[j]! - dir[j]!) < 1e-6, `pc1[${j}]`);
  assert.ok(Math.abs(Math.abs(p.components[cols + 1]!) - 1) < 1e-3, 'pc2 is the second spread');
  let dot = 0;
  for (let j = 0; j < cols; j++) dot += p.components[j]! * p.components[cols + j]!;
  assert.ok(Math.abs(dot) < 1e-8);
  assert.ok(p.explained[0]! > 0.9 && Math.abs(p.explained[0]! + p.explained[1]! - 1) < 1e-9);
  assert.equal(p.projected.length, rows * 2);
  assert.throws(() => pca(x, rows, 4), ShapeError);
});

test('cosineSimilarity: 1 on the diagonal, symmetric, the angle between rows', () => {
  const s = cosineSimilarity([1, 0, 1, 1, 0, 2], 3, 2);
  assert.ok(Math.abs(s[0]! - 1) < 1e-7 && Math.abs(s[4]! - 1) < 1e-7);
  assert.ok(Math.abs(s[1]! - Math.SQRT1_2) < 1e-7);
  assert.equal(s[1], s[3]);
  assert.ok(Math.abs(s[2]!) < 1e-7); // (1,0) and (0,2) are orthogonal
});

test('parameterStats and updateToWeight after a training step', () => {
  const text = 'abcabcabdabcabcabd'.repeat(20);
  const ids = Uint16Array.from([...text].map((c) => c.charCodeAt(0) - 97));
  const full: FullConfig = {
    ...DEFAULT_CONFIG,
    ...cfg({ vocabSize: 4, blockSize: 8 }),
    batchSize: 2,
    maxIters: 5,
    warmupIters: 0,
    lrDecayIters: 5,
  };
  const model = new GPT(modelConfig(full), be, { seed: 1 });
  const trainer = new Trainer({
    model,
    config: full,
    train: ids,
    val: ids,
    tokenizer: { kind: 'char', version: 1 },
  });
  const before = snapshotWeights(model);
  trainer.trainStep();
  const ratios = updateToWeight(model, before);
  assert.equal(ratios.length, model.store.params.size);
  const byName = new Map(ratios.map((r) => [r.name, r.ratio]));
  const name = 'transformer.h.0.mlp.c_fc.weight';
  const w = model.store.get(name).data;
  let off = 0;
  for (const [n, p] of model.store.params) {
    if (n === name) break;
    off += p.size;
  }
  let dw = 0;
  let ww = 0;
  for (let i = 0; i < w.length; i++) {
    dw += (w[i]! - before[off + i]!) ** 2;
    ww += w[i]! ** 2;
  }
  assert.ok(Math.abs(byName.get(name)! - Math.sqrt(dw / ww)) < 1e-9);
  assert.ok(byName.get(name)! > 0);
  const ps = parameterStats(model);
  const fc = ps.find((p) => p.name === name)!;
  assert.ok(fc.grad && fc.grad.std > 0, 'a gradient after a step');
  assert.ok(Math.abs(fc.weight.std - 0.02) < 0.005);
  const lean = new GPT(modelConfig(full), be, { grads: false });
  assert.equal(parameterStats(lean)[0]!.grad, null);
  assert.equal(
    updateToWeight(lean, snapshotWeights(lean)).find((r) => r.name.endsWith('ln_1.bias'))!.ratio,
    null,
  );
  assert.throws(() => updateToWeight(model, before.subarray(1)), ShapeError);
});

test('samplingDistribution: the candidates pickToken draws from, normalised', () => {
  const logits = [1, 3, 2, -1, 0.5];
  const all = samplingDistribution(logits, [], { ...DEFAULT_SAMPLING, topK: 0, temperature: 1 });
  assert.deepEqual(all.ids, [1, 2, 0, 4, 3]);
  assert.ok(Math.abs(all.probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const z = logits.map(Math.exp).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(all.probs[0]! - Math.exp(3) / z) < 1e-12);
  const k2 = samplingDistribution(logits, [], { ...DEFAULT_SAMPLING, topK: 2, temperature: 0.5 });
  assert.deepEqual(k2.ids, [1, 2]);
  assert.ok(Math.abs(k2.probs[0]! - 1 / (1 + Math.exp(-2))) < 1e-12);
  assert.deepEqual(samplingDistribution(logits, [], { ...DEFAULT_SAMPLING, greedy: true }), {
    ids: [1],
    probs: [1],
  });
  // every draw of pickToken is one of the candidates, at about their probabilities
  const o = { ...DEFAULT_SAMPLING, topK: 3, temperature: 1 };
  const d = samplingDistribution(logits, [], o);
  const rng = new Rng(4);
  const counts = new Map<number, number>();
  for (let i = 0; i < 4000; i++) {
    const id = pickToken(logits, [], o, rng);
    assert.ok(d.ids.includes(id));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const [i, id] of d.ids.entries())
    assert.ok(Math.abs(counts.get(id)! / 4000 - d.probs[i]!) < 0.03, `token ${id}`);
});

test('generate: onLogits sees each step, and each token comes from its distribution', () => {
  const model = new GPT(cfg(), be, { seed: 8 });
  const o = { ...DEFAULT_SAMPLING, topK: 4 };
  const shown: { ids: number[]; context: number }[] = [];
  const out = generate(model, [1, 2], 6, o, new Rng(3), () => {}, {
    onLogits: (logits, context) => {
      assert.equal(logits.length, 13);
      shown.push({ ids: samplingDistribution(logits, context, o).ids, context: context.length });
    },
  });
  assert.equal(shown.length, 6);
  for (const [i, id] of out.entries()) {
    assert.ok(shown[i]!.ids.includes(id), `token ${i} was not a candidate`);
    assert.equal(shown[i]!.context, 2 + i);
  }
  assert.deepEqual(
    out,
    generate(model, [1, 2], 6, o, new Rng(3), () => {}),
  ); // the hook changes nothing
});
