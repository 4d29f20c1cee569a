// Run setup for the encoder-decoder, for every caller (`tsgpt seq2seq train`, a page, a test):
// the configuration decided once and checked, then the model and its trainer built. Reads no
// files: the caller hands over the task (and a file task's pairs) and decoded checkpoints.
//   a new run   DEFAULT_ENCODER_DECODER_CONFIG / DEFAULT_SEQ2SEQ_TRAIN_CONFIG < overrides;
//               vocabSize and (unless given, and then at least) blockSize from the data;
//               lrDecayIters follows maxIters unless given
//   resume      the checkpoint's training config < overrides; the model and the task are the
//               checkpoint's (a model key given must equal it), and so are the weights, the
//               optimizer state, the step and the RNG
// Not here: GPT's run setup (setup.ts), the loop (seq2seq-trainer.ts), printing or writing.

import type { Backend } from '../backend/backend.js';
import { type Pair, type Seq2SeqData, type TaskSpec, taskData } from '../data/seq2seq.js';
import { ConfigError } from '../errors.js';
import { checkKind, type KeySpec } from '../model/config.js';
import { EncoderDecoder } from '../model/encoder-decoder.js';
import {
  checkEncoderDecoderRelations,
  DEFAULT_ENCODER_DECODER_CONFIG,
  ENCODER_DECODER_KEYS,
  ENCODER_DECODER_MODEL_KEYS,
  type EncoderDecoderConfig,
} from '../model/encoder-decoder-config.js';
import { TRAIN_CONFIG_KEYS, type TrainConfig } from './config.js';
import { encoderDecoderFromCheckpoint, type Seq2SeqCheckpoint } from './seq2seq-checkpoint.js';
import { DEFAULT_SEQ2SEQ_TRAIN_CONFIG, Seq2SeqTrainer } from './seq2seq-trainer.js';

/**
 * Every key a seq2seq run is configured by: the model's (vocabSize aside), then training's, but
 * for the GPT's memory savers (gradCheckpoint, precision: the encoder-decoder has neither).
 */
export const SEQ2SEQ_CONFIG_KEYS: Readonly<Record<string, KeySpec>> = (() => {
  const { vocabSize: _, ...model } = ENCODER_DECODER_KEYS;
  const { gradCheckpoint: _g, precision: _p, ...train } = TRAIN_CONFIG_KEYS;
  return { ...model, ...train };
})();

export interface Seq2SeqRunOptions {
  /** where the pairs come from (ignored on resume: the checkpoint's task is continued) */
  task: TaskSpec;
  /** a file task's pairs (parsePairs) */
  filePairs?: readonly Pair[];
  /** config keys (model and training) with typed values, e.g. from flags */
  overrides?: Readonly<Record<string, unknown>>;
  /** what errors call the overrides (default 'overrides'; the CLI says 'flags') */
  overridesName?: string;
  /** continue this checkpoint's run; name names it in messages */
  resume?: { checkpoint: Seq2SeqCheckpoint; name: string };
  /** held-out pairs decoded for the accuracy at each evaluation (default 200) */
  evalExamples?: number;
}

/** A run decided and checked, not built: no engine has started. */
export interface Seq2SeqRunPlan extends Seq2SeqRunOptions {
  model: EncoderDecoderConfig;
  train: TrainConfig;
  data: Seq2SeqData;
}

/**
 * Decides a run's configuration and data and checks them; throws ConfigError (or DataError)
 * naming what is wrong. Pure: nothing is built.
 * @example
 * import { buildSeq2SeqRun, createBackend, DEFAULT_STRING_TASK, planSeq2SeqRun, translate } from 'tsgpt';
 * const plan = planSeq2SeqRun({ task: { task: 'reverse', ...DEFAULT_STRING_TASK, heldOut: 1000, seed: 1 } });
 * const { model, trainer } = buildSeq2SeqRun(plan, await createBackend('wasm'));
 * await trainer.run({ onEval: (e) => console.log(e.step, e.val, e.accuracy) });
 * translate(model, plan.data.vocab, ['hello'], { beam: 4 }); // ['olleh']
 */
export function planSeq2SeqRun(o: Seq2SeqRunOptions): Seq2SeqRunPlan {
  const name = o.overridesName ?? 'overrides';
  const given = { ...(o.overrides ?? {}) };
  for (const [k, v] of Object.entries(given)) {
    const spec = SEQ2SEQ_CONFIG_KEYS[k];
    if (!spec)
      throw new ConfigError(
        k === 'vocabSize'
          ? `${name}: vocabSize comes from the data; remove it`
          : `${name}: unknown key "${k}" (known: ${Object.keys(SEQ2SEQ_CONFIG_KEYS).join(', ')})`,
      );
    checkKind(spec, k, v, name);
  }
  const pick = <K extends string>(keys: readonly K[]) => {
    const out: Partial<Record<K, unknown>> = {};
    for (const k of keys) if (k in given) out[k] = given[k];
    return out;
  };
  // checked above against each key's rule
  const modelGiven = pick(ENCODER_DECODER_MODEL_KEYS) as Partial<EncoderDecoderConfig>;
  const trainGiven = pick(Object.keys(TRAIN_CONFIG_KEYS) as (keyof TrainConfig)[]) as Partial<TrainConfig>;
  let model: EncoderDecoderConfig;
  let train: TrainConfig;
  let data: Seq2SeqData;
  if (o.resume) {
    const ck = o.resume.checkpoint.meta;
    for (const [k, v] of Object.entries(modelGiven))
      if (v !== ck.config[k as keyof EncoderDecoderConfig])
        throw new ConfigError(
          `resume from ${o.resume.name}: ${k} = ${String(v)} differs from the checkpoint's ${String(ck.config[k as keyof EncoderDecoderConfig])}`,
        );
    model = ck.config;
    train = { ...DEFAULT_SEQ2SEQ_TRAIN_CONFIG, ...(ck.train ?? {}), ...trainGiven };
    data = taskData(ck.task, o.filePairs);
  } else {
    data = taskData(o.task, o.filePairs);
    const blockSize = modelGiven.blockSize ?? data.blockSize;
    if (blockSize < data.blockSize)
      throw new ConfigError(
        `${name}: blockSize = ${blockSize} is below the data's longest sequence (${data.blockSize} tokens with EOS)`,
      );
    model = { ...DEFAULT_ENCODER_DECODER_CONFIG, ...modelGiven, vocabSize: data.vocab.size, blockSize };
    train = { ...DEFAULT_SEQ2SEQ_TRAIN_CONFIG, ...trainGiven };
    if (!('lrDecayIters' in trainGiven)) train.lrDecayIters = train.maxIters;
  }
  const where = `config (${o.resume ? o.resume.name : 'defaults'}${Object.keys(given).length ? ` < ${name}` : ''})`;
  checkEncoderDecoderRelations(model, where);
  if (train.minLr > train.learningRate)
    throw new ConfigError(`${where}: minLr = ${train.minLr} is above learningRate = ${train.learningRate}`);
  return { ...o, model, train, data };
}

/** A planned run on backend: the model (new, or the checkpoint's on resume) and its trainer. */
export function buildSeq2SeqRun(
  plan: Seq2SeqRunPlan,
  backend: Backend,
): { model: EncoderDecoder; trainer: Seq2SeqTrainer } {
  const model = plan.resume
    ? encoderDecoderFromCheckpoint(plan.resume.checkpoint, backend)
    : new EncoderDecoder(plan.model, backend, { seed: plan.train.seed });
  const trainer = new Seq2SeqTrainer({
    model,
    config: plan.train,
    data: plan.data,
    ...(plan.resume ? { resume: plan.resume.checkpoint } : {}),
    ...(plan.evalExamples === undefined ? {} : { evalExamples: plan.evalExamples }),
  });
  return { model, trainer };
}
