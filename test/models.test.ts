// The models before GPT (bigram, MLP, RNN, LSTM, GRU) through everything GPT goes through:
// shapes and the first loss, whole-model gradient checks through time (float64, ref), the
// compiled (replayed) training step against the graph-building one, generation with the state
// carried token by token against rerunning the whole sequence, checkpoints, and the bigram
// trained by gradient descent against its counting solution.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend as be } from '../src/backend/index.js';
import { countingSolution } from '../src/model/bigram.js';
import { type Arch, type ModelConfig, modelConfig } from '../src/model/config.js';
import { createModel } from '../src/model/models.js';
import type { RecurrentModel } from '../src/model/rnn.js';
import { DEFAULT_SAMPLING, generate } from '../src/sample/sampling.js';
import { tensor } from '../src/tensor/tensor.js';
import { CharTokenizer } from '../src/tokenizer/char.js';
import {
  checkpointArch,
  decodeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
} from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG, type FullConfig } from '../src/train/config.js';
import { evaluateTokens } from '../src/train/evaluate.js';
import { setupRun } from '../src/train/setup.js';
import type { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { gradCheck } from './helpers.js';

const V = 11;
const SMALL: Record<Exclude<Arch, 'gpt'>, ModelConfig> = {
  bigram: { vocabSize: V, blockSize: 8 },
  mlp: { vocabSize: V, blockSize: 8, context: 3, nEmbd: 4, nHidden: 10 },
  rnn: { vocabSize: V, blockSize: 8, nLayer: 2, nEmbd: 5, nHidden: 6, dropout: 0 },
  lstm: { vocabSize: V, blockSize: 8, nLayer: 2, nEmbd: 5, nHidden: 6, dropout: 0 },
  gru: { vocabSize: V, blockSize: 8, nLayer: 2, nEmbd: 5, nHidden: 6, dropout: 0 },
};
const ARCHS = Object.keys(SMALL) as Exclude<Arch, 'gpt'>[];

const ids = (rng: Rng, b: number, t: number) =>
  tensor(
    be,
    Array.from({ length: b * t }, () => rng.int(V)),
    [b, t],
    'int32',
  );

describe('every model: shapes, the first loss, the last position', () => {
  for (const arch of ARCHS)
    test(arch, () => {
      const model = createModel(arch, SMALL[arch], be, { seed: 3 });
      assert.equal(model.arch, arch);
      const rng = new Rng(1);
      const x = ids(rng, 2, 7);
      const y = ids(rng, 2, 7);
      const { logits, loss } = noGrad(() => model.forward(x, y));
      assert.deepEqual(logits.shape, [2, 7, V]);
      // a fresh model guesses near uniformly: loss ~ ln V (the bigram exactly: its table is zeros)
      const l = loss!.item();
      if (arch === 'bigram') assert.ok(Math.abs(l - Math.log(V)) < 1e-6);
      else assert.ok(Math.abs(l - Math.log(V)) < 0.5, `first loss ${l}, ln V = ${Math.log(V)}`);
      // without targets: the last position's logits only, the same numbers
      const last = noGrad(() => model.forward(x, null).logits);
      assert.deepEqual(last.shape, [2, 1, V]);
      for (let b = 0; b < 2; b++)
        for (let v = 0; v < V; v++)
          assert.ok(Math.abs(last.data[b * V + v]! - logits.data[(b * 7 + 6) * V + v]!) < 1e-5);
      assert.equal(model.numParams(), model.store.size);
      assert.equal(model.contextLimit, Number.POSITIVE_INFINITY);
      assert.throws(() => model.forward(tensor(be, [1, 2], [2], 'int32'), null), /need \(B, T\) int32/);
    });
});

describe('whole-model gradients against finite differences (float64, through every step)', () => {
  for (const arch of ['mlp', 'rnn', 'lstm', 'gru'] as const)
    test(arch, () => {
      const model = createModel(arch, SMALL[arch], be, { seed: 4, dtype: 'float64' });
      const rng = new Rng(9);
      const x = ids(rng, 2, 5);
      const y = ids(rng, 2, 5);
      // each parameter, checked where its gradient comes from: the loss over all 5 steps
      const params = [...model.store.params.values()];
      gradCheck(() => model.forward(x, y).loss!, params, { tol: 1e-5, maxPerInput: 12 });
    });
});

/** A small run of `arch` on a repeating text, compiled (replayed) or not. */
function run(arch: Exclude<Arch, 'gpt'>, compile: boolean, overrides: Partial<FullConfig> = {}): Trainer {
  const text = 'the cat sat on the mat; the dog sat on the log. '.repeat(20);
  const tok = CharTokenizer.fromText(text);
  const data = Uint16Array.from(tok.encode(text));
  const { trainer } = setupRun({
    backend: be,
    data: { train: data, val: data, vocabSize: tok.vocabSize, tokenizer: tok.toJSON(), name: 'text' },
    overrides: {
      arch,
      batchSize: 3,
      blockSize: 9,
      maxIters: 20,
      warmupIters: 0,
      learningRate: 1e-2,
      ...overrides,
    },
    compile,
  });
  return trainer;
}

describe('training: the compiled step replays exactly what the graph computes, and learns', () => {
  for (const arch of ARCHS)
    test(arch, () => {
      // dropout between layers too: replays draw new masks, the same ones as the graph runs
      const over: Partial<FullConfig> = arch === 'rnn' || arch === 'lstm' ? { nLayer: 2, dropout: 0.2 } : {};
      const a = run(arch, true, over);
      const b = run(arch, false, over);
      const la: number[] = [];
      const lb: number[] = [];
      for (let i = 0; i < 12; i++) {
        la.push(a.trainStep().loss);
        lb.push(b.trainStep().loss);
      }
      for (let i = 0; i < la.length; i++)
        assert.ok(Math.abs(la[i]! - lb[i]!) < 1e-5, `step ${i}: ${la[i]} vs ${lb[i]}`);
      assert.ok(la[11]! < la[0]! - 0.1, `${arch} learns: ${la[0]} -> ${la[11]}`);
    });
});

describe('generation: the state carried token by token gives what rerunning the sequence gives', () => {
  for (const arch of ARCHS)
    test(arch, () => {
      const model = createModel(arch, SMALL[arch], be, { seed: 6 });
      const prompt = [1, 2, 3];
      // 20 tokens: longer than the training window (8), which limits none of these models
      const cached = generate(model, prompt, 20, DEFAULT_SAMPLING, new Rng(2), () => {});
      const rerun = generate(model, prompt, 20, DEFAULT_SAMPLING, new Rng(2), () => {}, { cache: false });
      assert.deepEqual(cached, rerun);
      assert.equal(cached.length, 20);
      assert.equal(typeof model.newCache, arch === 'bigram' || arch === 'mlp' ? 'undefined' : 'function');
    });

  test('a recurrent state moves on past what it is fed, and reset() starts it over', () => {
    const model = createModel('lstm', SMALL.lstm, be, { seed: 7 }) as RecurrentModel;
    const seq = [4, 1, 5, 9, 2, 6];
    noGrad(() => {
      const whole = model.forward(tensor(be, seq, [1, 6], 'int32'), null).logits;
      const state = model.newCache(1);
      model.forwardCached(tensor(be, seq.slice(0, 4), [1, 4], 'int32'), state);
      const step = model.forwardCached(tensor(be, seq.slice(4), [1, 2], 'int32'), state);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(whole.data[v]! - step.data[v]!) < 1e-5);
      state.reset();
      const fresh = model.forwardCached(tensor(be, seq, [1, 6], 'int32'), state);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(whole.data[v]! - fresh.data[v]!) < 1e-5);
      assert.throws(() => model.forwardCached(tensor(be, seq, [2, 3], 'int32'), state), /rows, the state 1/);
      const gruState = (createModel('gru', SMALL.gru, be) as RecurrentModel).newCache(1);
      assert.throws(
        () => model.forwardCached(tensor(be, seq, [1, 6], 'int32'), gruState),
        /not this model's state/,
      );
      state.dispose();
    });
  });
});

describe('checkpoints', () => {
  for (const arch of ARCHS)
    test(`${arch}: the arch and weights survive a round trip; the checkpoint loads as the same model`, () => {
      const a = run(arch, true);
      a.trainStep();
      const ck = decodeCheckpoint(a.checkpoint(), 'mem');
      assert.equal(ck.meta.arch, arch);
      assert.equal(checkpointArch(ck), arch);
      const model = modelFromCheckpoint(ck, be, false);
      assert.equal(model.arch, arch);
      const x = ids(new Rng(3), 2, 9);
      const want = noGrad(() => a.model.forward(x, null).logits.toArray());
      assert.deepEqual(
        noGrad(() => model.forward(x, null).logits.toArray()),
        want,
      );
    });

  test('a GPT checkpoint is written as before: no arch field (absent = gpt)', () => {
    const tok = CharTokenizer.fromText('abcdefgh');
    const cfg = { ...DEFAULT_CONFIG, vocabSize: tok.vocabSize, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 4 };
    const gpt = createModel('gpt', modelConfig(cfg), be);
    const bytes = encodeCheckpoint(gpt, null, {
      train: null,
      tokenizer: tok.toJSON(),
      step: 0,
      bestValLoss: null,
      rng: null,
    });
    const ck = decodeCheckpoint(bytes, 'mem');
    assert.equal(ck.meta.arch, undefined);
    assert.equal(checkpointArch(ck), 'gpt');
    assert.ok(!new TextDecoder().decode(bytes.subarray(0, 2000)).includes('\\"arch\\"'));
  });

  test("an unknown arch, or a config that is not the arch's, is refused in one line", () => {
    const bytes = run('lstm', true).checkpoint();
    const text = new TextDecoder().decode(bytes);
    const swap = (from: string, to: string) => {
      const i = text.indexOf(from);
      assert.ok(i > 0, from);
      // same length, so the safetensors header stays valid
      assert.equal(from.length, to.length);
      const out = Uint8Array.from(bytes);
      out.set(new TextEncoder().encode(to), i);
      return out;
    };
    assert.throws(
      () => decodeCheckpoint(swap('\\"arch\\":\\"lstm\\"', '\\"arch\\":\\"lsmt\\"'), 'x.ckpt'),
      /x.ckpt: unknown architecture "lsmt"/,
    );
    assert.throws(
      () => decodeCheckpoint(swap('\\"arch\\":\\"lstm\\"', '\\"arch\\":\\"mlp\\" '), 'x.ckpt'),
      /x.ckpt: config: mlp model config lacks "context"/,
    );
  });
});

test('bigram: trained by gradient descent, it reaches the counting solution (val loss within 0.01)', (t) => {
  // a small text with a clear bigram structure and enough of it for the split to agree
  const rng = new Rng(11);
  const words = ['the ', 'cat ', 'sat ', 'on ', 'a ', 'mat ', 'and ', 'dog ', 'ran ', 'to ', 'it. '];
  let text = '';
  while (text.length < 20000) text += words[rng.int(words.length)];
  const tok = CharTokenizer.fromText(text);
  const all = Uint16Array.from(tok.encode(text));
  const split = Math.floor(all.length * 0.9);
  const train = all.subarray(0, split);
  const val = all.subarray(split);
  const { trainer, model } = setupRun({
    backend: be,
    data: { train, val, vocabSize: tok.vocabSize, tokenizer: tok.toJSON(), name: 'words' },
    preset: 'bigram',
    overrides: { maxIters: 600, lrDecayIters: 600 },
  });
  for (let i = 0; i < 600; i++) trainer.trainStep();
  const opts = { batchSize: 16, maxWindows: Number.POSITIVE_INFINITY };
  const trained = evaluateTokens(model, tok, val, opts).loss;
  const counted = createModel('bigram', model.config, be, { grads: false });
  const Vt = tok.vocabSize;
  counted.loadStateDict(new Map([['wte.weight', { shape: [Vt, Vt], data: countingSolution(train, Vt) }]]));
  const exact = evaluateTokens(counted, tok, val, opts).loss;
  assert.ok(Math.abs(trained - exact) < 0.01, `trained ${trained}, counting solution ${exact}`);
  t.diagnostic(`trained ${trained.toFixed(4)}, counting solution ${exact.toFixed(4)}`);
  assert.ok(exact < Math.log(Vt) - 0.5, `the counts know something: ${exact} vs ln V ${Math.log(Vt)}`);
});
