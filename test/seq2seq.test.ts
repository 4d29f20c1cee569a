// The encoder-decoder's data path, model, decoding, trainer and checkpoints: the vocabulary and
// padded batches, toy tasks whose held-out pairs training never draws, the TSV format and its
// errors, padding and causal masks seen from outside the model (a sequence's outputs do not change
// when it is batched with longer ones; a position does not see the tokens after it), beam search
// against greedy, resume equal to an uninterrupted run, checkpoint architectures, and a small model that
// learns to reverse strings.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { noGrad } from '../src/autograd/engine.js';
import { refBackend as ref } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import {
  BOS,
  EOS,
  makeBatch,
  PAD,
  type Pair,
  parsePairs,
  Seq2SeqVocab,
  type StringTaskSpec,
  stringTaskTarget,
  type TaskSpec,
  taskData,
  validateTaskSpec,
} from '../src/data/seq2seq.js';
import { CheckpointError, ConfigError, DataError, TokenizerError } from '../src/errors.js';
import { modelConfig } from '../src/model/config.js';
import { EncoderDecoder, type Seq2SeqInputs } from '../src/model/encoder-decoder.js';
import {
  DEFAULT_ENCODER_DECODER_CONFIG,
  type EncoderDecoderConfig,
} from '../src/model/encoder-decoder-config.js';
import { GPT } from '../src/model/gpt.js';
import { exactMatch, translate } from '../src/sample/seq2seq-decode.js';
import { tensor } from '../src/tensor/tensor.js';
import { decodeCheckpoint, encodeCheckpoint, gptConfigOf } from '../src/train/checkpoint.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { decodeSeq2SeqCheckpoint, encodeSeq2SeqCheckpoint } from '../src/train/seq2seq-checkpoint.js';
import { buildSeq2SeqRun, planSeq2SeqRun } from '../src/train/seq2seq-setup.js';
import { Rng } from '../src/util/rng.js';
import { encodeSafetensors } from '../src/util/safetensors.js';

const SMALL: StringTaskSpec = {
  task: 'reverse',
  alphabet: 'abc',
  minLen: 1,
  maxLen: 4,
  heldOut: 30,
  seed: 3,
};

describe('seq2seq data', () => {
  test('vocabulary: PAD, BOS, EOS first, then the sorted characters; decode stops at EOS', () => {
    const v = Seq2SeqVocab.fromPairs([{ source: 'cab', target: 'bac' }]);
    assert.deepEqual([PAD, BOS, EOS], [0, 1, 2]);
    assert.equal(v.size, 6);
    assert.deepEqual(v.encode('abc'), [3, 4, 5]);
    assert.equal(v.decode([BOS, 5, 3, PAD, 4, EOS, 3]), 'cab');
    assert.throws(
      () => v.encode('abz'),
      (e) => e instanceof TokenizerError && /"z"/.test(e.message),
    );
    assert.deepEqual(Seq2SeqVocab.fromJSON(v.toJSON()).encode('cab'), v.encode('cab'));
  });

  test('a batch pads to its longest source and target; targets are the decoder input shifted left', () => {
    const v = Seq2SeqVocab.fromText('abc');
    const b = makeBatch(
      [
        { source: 'abc', target: 'c' },
        { source: 'a', target: 'cba' },
      ],
      v,
    );
    const [a, bb, c] = v.encode('abc') as [number, number, number];
    assert.deepEqual([b.b, b.s, b.t, b.tokens], [2, 4, 4, 6]);
    assert.deepEqual([...b.src], [a, bb, c, EOS, a, EOS, PAD, PAD]);
    assert.deepEqual([...b.srcPadding], [0, 0, 0, 0, 0, 0, 1, 1]);
    assert.deepEqual([...b.tgt], [BOS, c, PAD, PAD, BOS, c, bb, a]);
    assert.deepEqual([...b.tgtPadding], [0, 0, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual([...b.targets], [c, EOS, -1, -1, c, bb, a, EOS]);
  });

  test('string tasks: seeded, the right targets, held-out sources never drawn for training', () => {
    for (const task of ['copy', 'reverse', 'sort'] as const) {
      const spec = { ...SMALL, task };
      const d = taskData(spec);
      assert.deepEqual(taskData(spec).heldOut, d.heldOut, 'the same seed, the same held-out set');
      assert.notDeepEqual(taskData({ ...spec, seed: 4 }).heldOut, d.heldOut);
      assert.equal(new Set(d.heldOut.map((p) => p.source)).size, 30);
      for (const p of d.heldOut) assert.equal(p.target, stringTaskTarget(task, p.source));
      const held = new Set(d.heldOut.map((p) => p.source));
      const rng = new Rng(1);
      const seen = new Set<string>();
      for (let i = 0; i < 5000; i++) {
        const p = d.sample(rng);
        assert.ok(!held.has(p.source), `training drew held-out ${p.source}`);
        assert.equal(p.target, stringTaskTarget(task, p.source));
        seen.add(p.source);
      }
      assert.equal(seen.size + held.size, 3 + 9 + 27 + 81, 'every other string is drawn');
      // at most half of each length is held out (length 1 has 3 strings: 2 at most)
      assert.ok(d.heldOut.filter((p) => p.source.length === 1).length <= 2);
      assert.equal(d.blockSize, 5);
    }
    assert.equal(stringTaskTarget('reverse', 'abc'), 'cba');
    assert.equal(stringTaskTarget('sort', 'cab'), 'abc');
  });

  test('dates: ISO targets of the source day; held-out days never drawn for training, in any format', () => {
    const d = taskData({ task: 'dates', heldOut: 300, seed: 1 });
    const held = new Set(d.heldOut.map((p) => p.target));
    assert.equal(held.size, 300);
    const rng = new Rng(2);
    const formats = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const p = d.sample(rng);
      assert.ok(!held.has(p.target), `training drew held-out day ${p.target}`);
      const [y, m, dd] = p.target.split('-').map(Number) as [number, number, number];
      assert.ok(y >= 1950 && y <= 2049 && p.source.includes(String(y)), `${p.source} -> ${p.target}`);
      // the source names the same day: parse the numeric forms back
      const us = /^(\d+)\/(\d+)\/(\d{4})$/.exec(p.source);
      if (us) assert.deepEqual([Number(us[1]), Number(us[2])], [m, dd]);
      const dotted = /^(\d{4})\.(\d\d)\.(\d\d)$/.exec(p.source);
      if (dotted) assert.deepEqual([Number(dotted[2]), Number(dotted[3])], [m, dd]);
      if (!us && !dotted) assert.ok(new RegExp(`\\b0?${dd}\\b`).test(p.source), `${p.source} -> ${p.target}`);
      formats.add(p.source.replace(/\d/g, '9').replace(/[A-Z][a-z]+/, 'M'));
      d.vocab.encode(p.source); // every character is in the vocabulary
      assert.ok(p.source.length + 1 <= d.blockSize);
    }
    assert.ok(formats.size >= 6, `formats seen: ${[...formats].join(' | ')}`);
  });

  test('TSV pairs: CRLF and blank lines are fine; a malformed line names the file, the line and why', () => {
    assert.deepEqual(parsePairs('ab\tba\r\n\nabc\tcba\n', 'p.tsv'), [
      { source: 'ab', target: 'ba' },
      { source: 'abc', target: 'cba' },
    ]);
    const bad: [string, RegExp][] = [
      ['ab\tba\nabc\n', /^p\.tsv:2: no tab: each line is source<TAB>target \("abc"\)$/],
      ['ab\tb\ta\n', /^p\.tsv:1: 2 tabs/],
      ['\tba\n', /^p\.tsv:1: empty source/],
      ['x\ty\nab\t\n', /^p\.tsv:2: empty target/],
      ['\n\n', /^p\.tsv: no pairs/],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parsePairs(text, 'p.tsv'),
        (e) => e instanceof DataError && re.test(e.message),
      );
  });

  test('a file task holds out whole sources, chosen by seed; training draws only the rest', () => {
    const pairs: Pair[] = [];
    for (let i = 0; i < 40; i++)
      pairs.push({ source: `s${i}`, target: `t${i}` }, { source: `s${i}`, target: `u${i}` });
    const spec: TaskSpec = { task: 'file', path: 'p.tsv', sha256: 'x', heldOut: 4, seed: 1 };
    const d = taskData(spec, pairs);
    assert.equal(d.heldOut.length, 8, 'both pairs of each of 4 sources');
    const held = new Set(d.heldOut.map((p) => p.source));
    const rng = new Rng(1);
    for (let i = 0; i < 2000; i++) assert.ok(!held.has(d.sample(rng).source));
    assert.deepEqual(taskData(spec, pairs).heldOut, d.heldOut);
    assert.throws(() => taskData({ ...spec, heldOut: 40 }, pairs), /40 held out: need 1 to 39/);
  });

  test('impossible tasks and bad task specs are refused in one line', () => {
    assert.throws(() => taskData({ ...SMALL, alphabet: '' }), /alphabet is empty/);
    assert.throws(() => taskData({ ...SMALL, alphabet: 'aba' }), /repeats a character/);
    assert.throws(
      () => taskData({ ...SMALL, minLen: 3, maxLen: 2 }),
      /need integers with 1 <= minLen <= maxLen/,
    );
    assert.throws(() => taskData({ ...SMALL, heldOut: 61 }), /61 held out: need 1 to 60/);
    assert.throws(
      () => validateTaskSpec({ task: 'rev' }, 'ck'),
      (e) => e instanceof ConfigError && /unknown task "rev"/.test(e.message),
    );
    assert.throws(() => validateTaskSpec({ ...SMALL, extra: 1 }, 'ck'), /unknown key "extra"/);
    assert.throws(() => validateTaskSpec({ task: 'dates', heldOut: 1.5, seed: 1 }, 'ck'), /heldOut = 1.5/);
  });
});

const V = 9;
const CFG: EncoderDecoderConfig = {
  ...DEFAULT_ENCODER_DECODER_CONFIG,
  vocabSize: V,
  blockSize: 10,
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
};

/** The model's input tensors for rows of ids (each row its own length; padded here). */
function inputs(be: typeof ref, src: number[][], tgt: number[][]): Seq2SeqInputs {
  const rows = (r: number[][]) => {
    const w = Math.max(...r.map((x) => x.length));
    const ids = r.flatMap((x) => [...x, ...new Array<number>(w - x.length).fill(PAD)]);
    const pad = r.flatMap((x) => x.map(() => 0).concat(new Array<number>(w - x.length).fill(1)));
    return [tensor(be, ids, [r.length, w], 'int32'), tensor(be, pad, [r.length, w], 'int32')] as const;
  };
  const [s, sp] = rows(src);
  const [t, tp] = rows(tgt);
  return { src: s, srcPadding: sp, tgt: t, tgtPadding: tp };
}

describe('encoder-decoder model', () => {
  for (const norm of ['post', 'pre'] as const)
    test(`${norm}-norm: padding changes nothing, and no position sees the target after it`, () => {
      const model = new EncoderDecoder({ ...CFG, norm }, ref, { seed: 3 });
      const a = { src: [3, 4, 5, EOS], tgt: [BOS, 5, 4] };
      const long = { src: [6, 7, 8, 3, 4, 5, 6, EOS], tgt: [BOS, 8, 7, 6, 5, 4] };
      noGrad(() => {
        const alone = model.forward(inputs(ref, [a.src], [a.tgt]), null).logits.data;
        const batched = model.forward(inputs(ref, [long.src, a.src], [long.tgt, a.tgt]), null).logits;
        const T = batched.dim(1);
        for (let t = 0; t < a.tgt.length; t++)
          for (let v = 0; v < V; v++) {
            const x = alone[t * V + v]!;
            const y = batched.data[(T + t) * V + v]!;
            assert.ok(Math.abs(x - y) < 1e-5, `position ${t} token ${v}: ${x} alone, ${y} padded`);
          }
        // changing the last target token leaves the logits before it as they were
        const changed = model.forward(inputs(ref, [a.src], [[BOS, 5, 7]]), null).logits.data;
        for (let i = 0; i < 2 * V; i++) assert.ok(Math.abs(changed[i]! - alone[i]!) < 1e-6);
        assert.ok([...changed.slice(2 * V)].some((x, i) => Math.abs(x - alone[2 * V + i]!) > 1e-4));
        // while every source token matters to every position
        const other = model.forward(inputs(ref, [[3, 4, 6, EOS]], [a.tgt]), null).logits.data;
        assert.ok([...other.slice(0, V)].some((x, i) => Math.abs(x - alone[i]!) > 1e-4));
      });
    });

  test('parameter names: GPT-style, one embedding for source, target and (tied) output', () => {
    const tied = new EncoderDecoder(CFG, ref);
    const names = [...tied.stateDict().keys()];
    for (const n of [
      'wte.weight',
      'encoder.h.0.attn.c_q.weight',
      'encoder.h.1.mlp.c_fc.weight',
      'decoder.h.0.cross_attn.c_kv.weight',
      'decoder.h.1.ln_3.bias',
    ])
      assert.ok(names.includes(n), n);
    assert.ok(!names.some((n) => n.startsWith('lm_head') || n.includes('ln_f')));
    const pre = [...new EncoderDecoder({ ...CFG, norm: 'pre', tieWeights: false }, ref).stateDict().keys()];
    for (const n of ['lm_head.weight', 'encoder.ln_f.weight', 'decoder.ln_f.weight'])
      assert.ok(pre.includes(n), n);
    assert.throws(
      () =>
        tied.encode(
          tensor(ref, new Array(11).fill(3), [1, 11], 'int32'),
          tensor(ref, new Array(11).fill(0), [1, 11], 'int32'),
        ),
      /src of length 11 exceeds blockSize 10/,
    );
  });

  test('beam search finds targets at least as likely as greedy; beam 1 is greedy', () => {
    const model = new EncoderDecoder({ ...CFG, vocabSize: 6 }, ref, { seed: 9 });
    const vocab = Seq2SeqVocab.fromText('abc');
    const sources = ['abc', 'ca', 'bbac', 'a', 'cab'];
    const greedy = translate(model, vocab, sources, { maxLen: 6 });
    assert.deepEqual(translate(model, vocab, sources, { beam: 1, maxLen: 6 }), greedy);
    const beam = translate(model, vocab, sources, { beam: 4, lengthPenalty: 0, maxLen: 6 });
    /** log p(target + EOS | source) by teacher forcing */
    const logp = (source: string, target: string) =>
      noGrad(() => {
        const b = makeBatch([{ source, target }], vocab);
        const t = (a: Int32Array, w: number) => tensor(ref, a, [1, w], 'int32');
        const { logits } = model.forward(
          {
            src: t(b.src, b.s),
            srcPadding: t(b.srcPadding, b.s),
            tgt: t(b.tgt, b.t),
            tgtPadding: t(b.tgtPadding, b.t),
          },
          null,
        );
        let sum = 0;
        for (let i = 0; i < b.t; i++) {
          const row = [...logits.data.slice(i * 6, (i + 1) * 6)];
          const max = Math.max(...row);
          sum += row[b.targets[i]!]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        }
        return sum;
      });
    let better = 0;
    sources.forEach((s, i) => {
      // greedy may stop at maxLen without EOS; compare only when it finished
      if (greedy[i]!.length >= 6) return;
      const [g, b] = [logp(s, greedy[i]!), logp(s, beam[i]!)];
      assert.ok(b >= g - 1e-9, `${s}: beam ${beam[i]} (${b}) below greedy ${greedy[i]} (${g})`);
      if (b > g + 1e-9) better++;
    });
    assert.ok(better >= 0);
    assert.throws(() => translate(model, vocab, ['abcabcabcabc']), /reads at most 9/);
    assert.throws(() => translate(model, vocab, ['a'], { beam: 0 }), /beam 0 must be an integer >= 1/);
  });
});

describe('seq2seq training', () => {
  let wasm: WasmBackend;
  before(async () => {
    wasm = await createWasmBackend({ threads: 1 });
  });
  after(async () => {
    await wasm.dispose();
  });

  test('a small encoder-decoder learns to reverse strings it never saw (greedy and beam)', async () => {
    const plan = planSeq2SeqRun({
      task: { task: 'reverse', alphabet: 'abcdef', minLen: 1, maxLen: 5, heldOut: 50, seed: 1 },
      overrides: {
        nEmbd: 32,
        nHead: 2,
        batchSize: 32,
        maxIters: 400,
        learningRate: 2e-3,
        warmupIters: 30,
        evalInterval: 200,
      },
      evalExamples: 50,
    });
    const { model, trainer } = buildSeq2SeqRun(plan, wasm);
    const evals: number[] = [];
    await trainer.run({ onEval: (e) => void evals.push(e.val) });
    assert.ok(evals[0]! > 1.5 && evals.at(-1)! < 0.1, `held-out loss ${evals.join(' -> ')}`);
    const { vocab, heldOut } = plan.data;
    const greedy = exactMatch(model, vocab, heldOut);
    const beam = exactMatch(model, vocab, heldOut, { beam: 3 });
    assert.ok(greedy.accuracy >= 0.98, `greedy ${greedy.accuracy}: ${JSON.stringify(greedy.mistakes)}`);
    assert.ok(beam.accuracy >= 0.98, `beam ${beam.accuracy}: ${JSON.stringify(beam.mistakes)}`);
  });

  test('resume continues exactly where the run stopped (weights, optimizer, batches)', async () => {
    const o = {
      task: SMALL,
      overrides: { nEmbd: 16, nHead: 2, batchSize: 8, maxIters: 6, evalInterval: 100, evalIters: 1 },
    };
    const whole = buildSeq2SeqRun(planSeq2SeqRun(o), wasm);
    for (let i = 0; i < 6; i++) whole.trainer.trainStep();
    const half = buildSeq2SeqRun(planSeq2SeqRun(o), wasm);
    for (let i = 0; i < 3; i++) half.trainer.trainStep();
    const ck = decodeSeq2SeqCheckpoint(half.trainer.checkpoint(), 'half');
    assert.equal(ck.meta.step, 3);
    assert.deepEqual(ck.meta.task, SMALL);
    const resumed = buildSeq2SeqRun(planSeq2SeqRun({ ...o, resume: { checkpoint: ck, name: 'half' } }), wasm);
    for (let i = 0; i < 3; i++) resumed.trainer.trainStep();
    assert.deepEqual(resumed.model.store.data, whole.model.store.data);
    assert.throws(
      () => planSeq2SeqRun({ ...o, overrides: { nEmbd: 32 }, resume: { checkpoint: ck, name: 'half' } }),
      /resume from half: nEmbd = 32 differs from the checkpoint's 16/,
    );
  });

  test('run setup: keys checked where they come from, blockSize at least the data, lrDecayIters follows maxIters', () => {
    const plan = planSeq2SeqRun({ task: SMALL, overrides: { maxIters: 700 } });
    assert.equal(plan.train.lrDecayIters, 700);
    assert.equal(plan.model.vocabSize, 6);
    assert.equal(plan.model.blockSize, 5);
    assert.throws(
      () => planSeq2SeqRun({ task: SMALL, overrides: { nLayers: 2 } }),
      /overrides: unknown key "nLayers"/,
    );
    assert.throws(
      () => planSeq2SeqRun({ task: SMALL, overrides: { vocabSize: 9 } }),
      /vocabSize comes from the data/,
    );
    assert.throws(
      () => planSeq2SeqRun({ task: SMALL, overrides: { norm: 'mid' } }),
      /norm = "mid": must be one of post \| pre/,
    );
    assert.throws(
      () => planSeq2SeqRun({ task: SMALL, overrides: { blockSize: 4 } }),
      /blockSize = 4 is below the data's longest sequence \(5/,
    );
    assert.throws(
      () => planSeq2SeqRun({ task: SMALL, overrides: { nHead: 3 } }),
      /nHead = 3 does not divide nEmbd = 64/,
    );
  });
});

describe('encoder-decoder checkpoints', () => {
  const vocab = Seq2SeqVocab.fromText('abc');
  const model = new EncoderDecoder({ ...CFG, vocabSize: vocab.size }, ref, { seed: 2 });
  const meta = { train: null, tokenizer: vocab.toJSON(), task: SMALL, step: 0, bestValLoss: null, rng: null };

  test('round trip: weights, config, task; a GPT reader refuses it and the seq2seq reader a GPT one, in one line', () => {
    const bytes = encodeSeq2SeqCheckpoint(model, null, meta);
    const ck = decodeSeq2SeqCheckpoint(bytes, 'ed.safetensors');
    assert.equal(ck.meta.arch, 'encoder-decoder');
    assert.deepEqual(ck.meta.config, model.config);
    assert.deepEqual(ck.meta.task, SMALL);
    for (const [name, p] of model.stateDict())
      assert.deepEqual(ck.weights.get(name)!.data, Float32Array.from(p.data));
    assert.throws(
      () => decodeCheckpoint(bytes, 'ed.safetensors'),
      (e) =>
        e instanceof CheckpointError &&
        /^ed\.safetensors holds an encoder-decoder \(tsgpt seq2seq\), not a model of tsgpt train/.test(
          e.message,
        ),
    );
    const gpt = new GPT(
      modelConfig({ ...DEFAULT_CONFIG, vocabSize: 5, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 4 }),
      ref,
    );
    const gptBytes = encodeCheckpoint(gpt, null, {
      train: null,
      tokenizer: { kind: 'char', version: 1, chars: 'abcde' },
      step: 0,
      bestValLoss: null,
      rng: null,
    });
    assert.equal(
      gptConfigOf(decodeCheckpoint(gptBytes, 'gpt'), 'test', 'gpt').nEmbd,
      8,
      'GPT checkpoints carry no arch and load as before',
    );
    assert.throws(
      () => decodeSeq2SeqCheckpoint(gptBytes, 'gpt.safetensors'),
      (e) =>
        e instanceof CheckpointError &&
        /^gpt\.safetensors holds a GPT \(arch gpt\), not an encoder-decoder/.test(e.message),
    );
  });

  test('a checkpoint whose parts disagree is refused, naming the part', () => {
    const withMeta = (m: Record<string, unknown>) => {
      const tensors = new Map(
        [...model.stateDict()].map(([k, p]) => [k, { shape: p.shape, data: Float32Array.from(p.data) }]),
      );
      const full = {
        format: 'tsgpt-checkpoint',
        version: 1,
        arch: 'encoder-decoder',
        config: model.config,
        ...meta,
        ...m,
      };
      return encodeSafetensors(tensors, { format: 'tsgpt-checkpoint', tsgpt: JSON.stringify(full) });
    };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ arch: 'lstm' }, /^x holds an LSTM \(arch lstm\), not an encoder-decoder/],
      [{ arch: 'rnnn' }, /unknown architecture "rnnn" \(this tsgpt knows gpt, .*encoder-decoder\)/],
      [
        { tokenizer: Seq2SeqVocab.fromText('abcd').toJSON() },
        /the vocabulary has 7 tokens, the config says vocabSize 6/,
      ],
      [{ task: { task: 'reverse' } }, /task: lacks "alphabet"/],
      [{ config: { ...model.config, nHead: 3 } }, /nHead = 3 does not divide nEmbd = 16/],
      [{ train: { batchSize: 2 } }, /train config: lacks "gradAccum"/],
    ];
    for (const [m, re] of cases)
      assert.throws(
        () => decodeSeq2SeqCheckpoint(withMeta(m), 'x'),
        (e) => e instanceof CheckpointError && re.test(e.message),
      );
  });
});

test("through 'tsgpt' alone: plan a run, train two steps, translate, checkpoint", async () => {
  const t = await import('tsgpt');
  const plan = t.planSeq2SeqRun({
    task: { task: 'sort', ...t.DEFAULT_STRING_TASK, maxLen: 6, heldOut: 10, seed: 1 },
    overrides: { nEmbd: 16, nHead: 2, nLayer: 1, batchSize: 4, maxIters: 2 },
  });
  const { model, trainer } = t.buildSeq2SeqRun(plan, t.refBackend);
  const steps = [trainer.trainStep(), trainer.trainStep()];
  assert.ok(steps.every((s) => Number.isFinite(s.loss)) && steps[1]!.step === 2);
  const [out] = t.translate(model, plan.data.vocab, ['cab'], { beam: 2 });
  assert.equal(typeof out, 'string');
  const ck = t.decodeSeq2SeqCheckpoint(trainer.checkpoint(), 'mem');
  assert.equal(t.encoderDecoderFromCheckpoint(ck, t.refBackend, false).numParams(), model.numParams());
  assert.equal(typeof t.ops.attention, 'function');
});
