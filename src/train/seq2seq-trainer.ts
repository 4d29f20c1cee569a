// Training the encoder-decoder on pairs: each step draws a batch of training pairs, pads it to
// its longest source and target, runs forward (teacher forcing) and backward, and takes an AdamW
// step on the same warm-up + cosine schedule as GPT (TrainConfig, lrAt). Evaluation: the loss on
// fixed training batches and on the whole held-out set, and greedy exact-match accuracy on held-out
// pairs. The caller gets events and checkpoint bytes and decides what to print and write. Batches
// change shape from step to step, so the step builds its graph each time (GPT's compiled step
// replays one fixed shape). Not here: the model, the data, decoding, files.

import { backward, disposeGraph, noGrad } from '../autograd/engine.js';
import * as F from '../autograd/ops.js';
import type { Backend } from '../backend/backend.js';
import { makeBatch, type Pair, type Seq2SeqBatch, type Seq2SeqData } from '../data/seq2seq.js';
import { TrainingError } from '../errors.js';
import type { EncoderDecoder, Seq2SeqInputs } from '../model/encoder-decoder.js';
import { type ForwardContext, trainContext } from '../nn/module.js';
import { exactMatch } from '../sample/seq2seq-decode.js';
import { type Tensor, tensor, tidy } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { StepInfo, TimedStepInfo } from './compiled-step.js';
import type { TrainConfig } from './config.js';
import { AdamW } from './optimizer.js';
import { lrAt } from './schedule.js';
import { encodeSeq2SeqCheckpoint, type Seq2SeqCheckpoint } from './seq2seq-checkpoint.js';
import { ThreadGovernor } from './thread-governor.js';

/** The training configuration of the toy tasks: batches of 64 pairs, AdamW with the paper's beta2. */
export const DEFAULT_SEQ2SEQ_TRAIN_CONFIG: TrainConfig = {
  batchSize: 64,
  gradAccum: 1,
  maxIters: 1500,
  learningRate: 1e-3,
  minLr: 1e-4,
  warmupIters: 100,
  lrDecayIters: 1500,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.98,
  gradClip: 1,
  evalInterval: 250,
  evalIters: 10,
  seed: 1337,
  // the GPT's memory savers (gradient checkpointing, bf16 attention) do not apply here
  gradCheckpoint: false,
  precision: 'fp32',
  // AdamW on the cosine schedule: the speedrun's Muon and schedules are the GPT trainer's
  optimizer: 'adamw',
  muonLr: 0.02,
  muonMomentum: 0.95,
  muonNsSteps: 5,
  muonWeightDecay: 0,
  lrSchedule: 'cosine',
  cooldownFrac: 0.2,
  // the schedule runs over steps (`tsgpt seq2seq train --max-time` stops early)
  timeBudget: 0,
};

export interface Seq2SeqEvalInfo {
  step: number;
  /** mean loss per target token on evalIters fixed training batches */
  train: number;
  /** mean loss per target token on the whole held-out set */
  val: number;
  /** greedy exact-match accuracy on the first evalExamples held-out pairs */
  accuracy: number;
  bestValLoss: number;
  improved: boolean;
}

export interface Seq2SeqTrainerOptions {
  model: EncoderDecoder;
  config: TrainConfig;
  data: Seq2SeqData;
  /** continue from this checkpoint (its weights are already loaded into model) */
  resume?: Seq2SeqCheckpoint;
  /** held-out pairs decoded for the accuracy at each evaluation (default 200) */
  evalExamples?: number;
  /** multi-threaded backends: time steps with and without the workers, keep the faster (default true) */
  adaptThreads?: boolean;
}

/** A batch as the model's input tensors and its targets. */
function batchTensors(be: Backend, b: Seq2SeqBatch): { inputs: Seq2SeqInputs; targets: Tensor } {
  const t2 = (a: Int32Array, w: number) => tensor(be, a, [b.b, w], 'int32');
  return {
    inputs: {
      src: t2(b.src, b.s),
      srcPadding: t2(b.srcPadding, b.s),
      tgt: t2(b.tgt, b.t),
      tgtPadding: t2(b.tgtPadding, b.t),
    },
    targets: t2(b.targets, b.t),
  };
}

export class Seq2SeqTrainer {
  readonly model: EncoderDecoder;
  readonly cfg: TrainConfig;
  readonly data: Seq2SeqData;
  readonly optimizer: AdamW;
  /** optimizer steps done */
  step = 0;
  bestValLoss = Number.POSITIVE_INFINITY;
  /** target tokens (EOS included) the last step trained on */
  lastTokens = 0;
  readonly governor: ThreadGovernor | null = null;
  private readonly be: Backend;
  private readonly rng: Rng;
  private readonly ctx: ForwardContext;
  private readonly evalExamples: number;

  constructor(o: Seq2SeqTrainerOptions) {
    this.model = o.model;
    this.cfg = o.config;
    this.data = o.data;
    this.be = o.model.backend;
    this.evalExamples = o.evalExamples ?? 200;
    this.optimizer = new AdamW(this.be, o.model.store, {
      beta1: o.config.beta1,
      beta2: o.config.beta2,
      eps: 1e-8,
      weightDecay: o.config.weightDecay,
      gradClip: o.config.gradClip,
    });
    // one generator for the training pairs and the dropout masks, saved in checkpoints
    this.rng = new Rng(o.config.seed);
    this.ctx = trainContext(this.rng);
    const be = this.be;
    if ((o.adaptThreads ?? true) && (be.threads ?? 1) > 1 && be.setUseWorkers) {
      this.governor = new ThreadGovernor();
      be.setUseWorkers(true);
    }
    if (o.resume) {
      const r = o.resume;
      this.step = r.meta.step;
      this.optimizer.step = r.meta.step;
      this.bestValLoss = r.meta.bestValLoss ?? Number.POSITIVE_INFINITY;
      if (r.meta.rng) this.rng.setState(r.meta.rng);
      if (r.optimizer) {
        this.optimizer.m.set(r.optimizer.m);
        this.optimizer.v.set(r.optimizer.v);
      }
    }
  }

  /** batchSize training pairs */
  private drawPairs(rng: Rng): Pair[] {
    return Array.from({ length: this.cfg.batchSize }, () => this.data.sample(rng));
  }

  /**
   * One optimizer step: gradAccum batches of training pairs, forward and backward (their
   * gradients add up), then AdamW at lrAt(step). Throws TrainingError on a NaN/Inf loss.
   */
  trainStep(): StepInfo {
    const { gradAccum } = this.cfg;
    this.model.store.zeroGrad(this.be);
    let lossSum = 0;
    this.lastTokens = 0;
    for (let micro = 0; micro < gradAccum; micro++) {
      const batch = makeBatch(this.drawPairs(this.rng), this.data.vocab);
      this.lastTokens += batch.tokens;
      lossSum += tidy(() => {
        const { inputs, targets } = batchTensors(this.be, batch);
        const { loss } = this.model.forward(inputs, targets, this.ctx);
        const value = loss!.item();
        if (!Number.isFinite(value)) {
          disposeGraph(loss!);
          throw new TrainingError(
            `loss is ${value} at step ${this.step}: training diverged (try a lower learningRate or gradClip); the last checkpoint on disk is kept`,
          );
        }
        // average the gradient over micro-batches: each contributes loss / gradAccum
        const scaled = gradAccum > 1 ? F.scale(loss!, 1 / gradAccum) : loss!;
        backward(scaled);
        disposeGraph(scaled); // the saved activations; tidy frees the inputs
        return value;
      });
    }
    const lr = lrAt(this.step, this.cfg);
    this.optimizer.lr = lr;
    this.optimizer.update();
    this.step++;
    return { step: this.step, loss: lossSum / gradAccum, lr, gradNorm: this.optimizer.gradNorm };
  }

  /** trainStep(), timed (ms, target tokens/s); lets the thread governor pick the next step's threads. */
  timedStep(): TimedStepInfo {
    const t0 = performance.now();
    const info = this.trainStep();
    const ms = performance.now() - t0;
    if (this.governor) this.be.setUseWorkers!(this.governor.record({ ms }));
    return { ...info, ms, tokensPerSec: (this.lastTokens / ms) * 1000 };
  }

  /** Mean loss per target token over pairs, in batches of batchSize (no gradient). */
  lossOn(pairs: readonly Pair[]): number {
    let sum = 0;
    let tokens = 0;
    noGrad(() => {
      for (let i = 0; i < pairs.length; i += this.cfg.batchSize) {
        const batch = makeBatch(pairs.slice(i, i + this.cfg.batchSize), this.data.vocab);
        sum += tidy(() => {
          const { inputs, targets } = batchTensors(this.be, batch);
          return this.model.forward(inputs, targets).loss!.item() * batch.tokens;
        });
        tokens += batch.tokens;
      }
    });
    return tokens > 0 ? sum / tokens : 0;
  }

  /** Training loss on fixed batches, held-out loss and greedy accuracy on held-out pairs. */
  evaluate(): Seq2SeqEvalInfo {
    const rng = new Rng(this.cfg.seed + 1); // the same training pairs every time: comparable evals
    const trainPairs = Array.from({ length: this.cfg.evalIters }, () => this.drawPairs(rng)).flat();
    const train = this.lossOn(trainPairs);
    const val = this.lossOn(this.data.heldOut);
    const acc = exactMatch(this.model, this.data.vocab, this.data.heldOut.slice(0, this.evalExamples));
    const improved = val < this.bestValLoss;
    if (improved) this.bestValLoss = val;
    return { step: this.step, train, val, accuracy: acc.accuracy, bestValLoss: this.bestValLoss, improved };
  }

  /** The full training state as checkpoint bytes. */
  checkpoint(): Uint8Array {
    return encodeSeq2SeqCheckpoint(this.model, this.optimizer, {
      train: this.cfg,
      tokenizer: this.data.vocab.toJSON(),
      task: this.data.spec,
      step: this.step,
      bestValLoss: Number.isFinite(this.bestValLoss) ? this.bestValLoss : null,
      rng: this.rng.getState(),
    });
  }

  /**
   * Trains until cfg.maxIters, evaluating every evalInterval steps and at the end; onEval also
   * gets the checkpoint to save. shouldStop lets the caller interrupt between steps.
   */
  async run(hooks: {
    onStep?: (s: TimedStepInfo) => void;
    onEval?: (e: Seq2SeqEvalInfo, checkpoint: () => Uint8Array) => void | Promise<void>;
    shouldStop?: () => boolean;
  }): Promise<void> {
    const c = this.cfg;
    while (this.step < c.maxIters) {
      if (this.step % c.evalInterval === 0) await hooks.onEval?.(this.evaluate(), () => this.checkpoint());
      if (hooks.shouldStop?.()) return;
      const info = this.timedStep();
      hooks.onStep?.(info);
      // yield to the event loop now and then so Ctrl-C and progress redraws get through
      if (this.step % 8 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await hooks.onEval?.(this.evaluate(), () => this.checkpoint());
  }
}
