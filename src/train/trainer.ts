// The training loop, nanoGPT's train.py without the I/O: sample random windows, forward,
// backward (with gradient accumulation), clip, AdamW with the warm-up/cosine schedule, and a
// periodic evaluation on fixed batches. The caller gets events (steps, evals, checkpoints as
// bytes) and decides what to print and where to write. Node-free: runs in a browser too.

import { backward, capture, disposeGraph, noGrad, replay, type Tape } from '../autograd/engine.js';
import * as F from '../autograd/ops.js';
import type { Backend } from '../backend/backend.js';
import { checkTokenCount, fillBatch } from '../data/batch.js';
import type { TokenArray } from '../data/dataset.js';
import { TrainingError } from '../errors.js';
import type { GPT } from '../model/gpt.js';
import { type ForwardContext, trainContext } from '../nn/module.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import { type Checkpoint, encodeCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { AdamW } from './optimizer.js';
import { lrAt } from './schedule.js';
import { ThreadGovernor } from './thread-governor.js';

/** What trainStep() returns. */
export interface StepInfo {
  /** optimizer steps done, this one included */
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

/** What run() hands to onStep: the StepInfo and how long the step took. */
export interface TimedStepInfo extends StepInfo {
  ms: number;
  tokensPerSec: number;
}

export interface EvalInfo {
  step: number;
  train: number;
  val: number;
  bestValLoss: number;
  improved: boolean;
}

export interface TrainerOptions {
  model: GPT;
  config: TrainConfig;
  train: TokenArray;
  val: TokenArray;
  tokenizer: TokenizerJSON;
  /** continue from this checkpoint (its weights are already loaded into model) */
  resume?: Checkpoint;
  /**
   * Capture the first step's kernel calls and replay them afterwards (default true): the same
   * numbers, without rebuilding the graph or allocating anything per step.
   */
  compile?: boolean;
  /**
   * With a multi-threaded backend, time steps with and without its worker threads now and then
   * and keep the faster (default true): see ThreadGovernor.
   */
  adaptThreads?: boolean;
}

/** Steps of the learning-rate schedule tabulated at most (8 MiB); a longer decay calls lrAt. */
const LR_TABLE_MAX = 1 << 20;

export class Trainer {
  readonly model: GPT;
  readonly cfg: TrainConfig;
  readonly optimizer: AdamW;
  /** optimizer steps done */
  step = 0;
  bestValLoss = Number.POSITIVE_INFINITY;
  private readonly be: Backend;
  private readonly rng: Rng;
  private readonly x: Tensor;
  private readonly y: Tensor;
  private readonly trainTokens: TokenArray;
  private readonly valTokens: TokenArray;
  private readonly tokenizer: TokenizerJSON;
  private readonly ctx: ForwardContext;
  private readonly compile: boolean;
  /** the captured micro-step (forward + backward) and its loss tensor, once compiled */
  private tape: Tape | null = null;
  private lossT: Tensor | null = null;
  /**
   * The step's doubles live in typed arrays, not in fields or return values: V8 versions differ in
   * which of those they box on the heap while trainStep() is not yet fully optimised (Node 22-26
   * run it in Maglev, which boxes every double a call returns), and typed arrays are never boxed.
   * sums[0]: the micro-steps' losses in the current step.
   */
  private readonly sums = new Float64Array(1);
  /** lrAt(step) for every step of the schedule, tabulated once: a step reads its lr, calls nothing */
  private readonly lrTable: Float64Array;

  constructor(o: TrainerOptions) {
    this.model = o.model;
    this.cfg = o.config;
    this.be = o.model.backend;
    const T = o.model.config.blockSize;
    checkTokenCount(o.train.length, T, 'the train split');
    checkTokenCount(o.val.length, T, 'the val split');
    this.trainTokens = o.train;
    this.valTokens = o.val;
    this.tokenizer = o.tokenizer;
    this.optimizer = new AdamW(this.be, o.model.store, {
      beta1: o.config.beta1,
      beta2: o.config.beta2,
      eps: 1e-8,
      weightDecay: o.config.weightDecay,
      gradClip: o.config.gradClip,
    });
    this.lrTable = new Float64Array(Math.min(o.config.lrDecayIters, LR_TABLE_MAX) + 1);
    for (let it = 0; it < this.lrTable.length; it++) this.lrTable[it] = lrAt(it, o.config);
    this.rng = new Rng(o.config.seed);
    this.ctx = trainContext(this.rng);
    this.compile = o.compile ?? true;
    const be = this.be;
    if ((o.adaptThreads ?? true) && (be.threads ?? 1) > 1 && be.setUseWorkers) {
      this.governor = new ThreadGovernor();
      be.setUseWorkers(true);
    }
    this.x = new Tensor(this.be, [o.config.batchSize, T], 'int32');
    this.y = new Tensor(this.be, [o.config.batchSize, T], 'int32');
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

  /** Tokens consumed by one optimizer step. */
  get tokensPerStep(): number {
    return this.cfg.batchSize * this.model.config.blockSize * this.cfg.gradAccum;
  }

  /** switches the backend's worker threads on and off by step times (multi-threaded backends) */
  readonly governor: ThreadGovernor | null = null;

  // the doubles start as NaN, not 0: a field that first held a small integer is, in some V8
  // versions (Node 26), re-boxed on the heap at every later store of a double
  private readonly info: TimedStepInfo = {
    step: 0,
    loss: Number.NaN,
    lr: Number.NaN,
    gradNorm: Number.NaN,
    ms: Number.NaN,
    tokensPerSec: Number.NaN,
  };

  /**
   * One optimizer step (gradAccum micro-batches). Throws TrainingError on a NaN/Inf loss.
   * Returns the same StepInfo object every time, updated (copy what you keep).
   * Once compiled, the step allocates nothing on the JavaScript heap (test/alloc-free.test.ts),
   * so it reads no clock: on Node 20 each performance.now() (or Date.now(), process.hrtime())
   * allocates. timedStep() (what run() calls) times it.
   */
  trainStep(): StepInfo {
    const { gradAccum } = this.cfg;
    this.model.store.zeroGrad(this.be);
    this.sums[0] = 0;
    for (let micro = 0; micro < gradAccum; micro++) this.microStep();
    const table = this.lrTable;
    const last = table.length - 1; // lrDecayIters, or LR_TABLE_MAX when the schedule is longer
    const lr =
      this.step <= last
        ? table[this.step]!
        : last === this.cfg.lrDecayIters
          ? table[last]! // past the decay: minLr
          : lrAt(this.step, this.cfg);
    this.optimizer.lr = lr;
    this.optimizer.update();
    this.step++;
    // one StepInfo object, refilled each step (storing a double into a number field reuses the
    // field's box; a new object, or a double passed to a call, would allocate)
    const info = this.info;
    info.step = this.step;
    info.loss = this.sums[0]! / gradAccum;
    info.lr = lr;
    info.gradNorm = this.optimizer.gradNorm;
    return info;
  }

  /**
   * Forward + backward of one random batch, accumulating into the grads; adds the loss to
   * sums[0] (not a return value: a returned double is boxed on the JS heap).
   */
  private microStep(): void {
    const T = this.model.config.blockSize;
    fillBatch(
      this.x.data as Int32Array,
      this.y.data as Int32Array,
      this.trainTokens,
      this.cfg.batchSize,
      T,
      this.rng,
    );
    if (!this.tape) {
      this.graphMicroStep();
      return;
    }
    replay(this.tape.forward);
    const value = this.lossT!.data[0]!;
    if (!Number.isFinite(value)) this.diverged(value);
    replay(this.tape.backward);
    this.sums[0] += value;
  }

  /**
   * The rest of a micro-step that builds the graph: the first one when compiling (captured into
   * the tape), every one when not (then disposed). Apart from microStep because of its closure:
   * a function that creates one allocates the closure's context (holding `this`) on every call,
   * also on the calls that do not reach it.
   */
  private graphMicroStep(): void {
    const step = () => {
      const { loss } = this.model.forward(this.x, this.y, this.ctx);
      const value = loss!.item();
      if (!Number.isFinite(value)) this.diverged(value, loss!);
      this.sums[0] += value;
      // average the gradient over micro-batches: each contributes loss / gradAccum
      const scaled = this.cfg.gradAccum > 1 ? F.scale(loss!, 1 / this.cfg.gradAccum) : loss!;
      backward(scaled);
      if (this.compile) this.lossT = loss!;
      else disposeGraph(scaled);
    };
    if (this.compile) this.tape = capture(step);
    else step();
  }

  private diverged(value: number, graph?: Tensor): never {
    if (graph) disposeGraph(graph);
    throw new TrainingError(
      `loss is ${value} at step ${this.step}: training diverged (try a lower learningRate or gradClip); the last checkpoint on disk is kept`,
    );
  }

  /** Mean loss over cfg.evalIters fixed batches of a split (the same batches every time). */
  estimateLoss(split: 'train' | 'val'): number {
    const tokens = split === 'train' ? this.trainTokens : this.valTokens;
    const rng = new Rng(this.cfg.seed + (split === 'train' ? 1 : 2)); // fixed batches: comparable evals
    const T = this.model.config.blockSize;
    const x = this.x.data as Int32Array;
    const y = this.y.data as Int32Array;
    let sum = 0;
    noGrad(() => {
      for (let i = 0; i < this.cfg.evalIters; i++) {
        fillBatch(x, y, tokens, this.cfg.batchSize, T, rng);
        sum += tidy(() => this.model.forward(this.x, this.y).loss!.item());
      }
    });
    return sum / this.cfg.evalIters;
  }

  evaluate(): EvalInfo {
    const train = this.estimateLoss('train');
    const val = this.estimateLoss('val');
    const improved = val < this.bestValLoss;
    if (improved) this.bestValLoss = val;
    return { step: this.step, train, val, bestValLoss: this.bestValLoss, improved };
  }

  /** The full training state as checkpoint bytes. */
  checkpoint(): Uint8Array {
    return encodeCheckpoint(this.model, this.optimizer, {
      train: this.cfg,
      tokenizer: this.tokenizer,
      step: this.step,
      bestValLoss: Number.isFinite(this.bestValLoss) ? this.bestValLoss : null,
      rng: this.rng.getState(),
    });
  }

  /**
   * trainStep(), timed: fills in ms and tokens/s, and lets the thread governor (multi-threaded
   * backends) choose whether the next step uses the worker threads. The two clock reads are the
   * only JavaScript-heap allocation of a steady-state step: 16 bytes each on Node 20 and 22.
   */
  timedStep(): TimedStepInfo {
    const t0 = performance.now();
    this.trainStep();
    const info = this.info;
    info.ms = performance.now() - t0;
    info.tokensPerSec = (this.tokensPerStep / info.ms) * 1000;
    if (this.governor) this.be.setUseWorkers!(this.governor.record(info));
    return info;
  }

  /**
   * Trains until cfg.maxIters, evaluating every evalInterval steps (and at the end). Hooks
   * receive every step and eval; onEval also gets the checkpoint to save. `shouldStop` lets the
   * caller interrupt between steps (the state stays consistent: resume from the last save).
   */
  async run(hooks: {
    onStep?: (s: TimedStepInfo) => void;
    onEval?: (e: EvalInfo, checkpoint: () => Uint8Array) => void | Promise<void>;
    shouldStop?: () => boolean;
  }): Promise<void> {
    const c = this.cfg;
    while (this.step < c.maxIters) {
      if (this.step % c.evalInterval === 0) await hooks.onEval?.(this.evaluate(), () => this.checkpoint());
      if (hooks.shouldStop?.()) return;
      const info = this.timedStep(); // not inside `onStep?.(...)`: without onStep it would not run
      hooks.onStep?.(info);
      // yield to the event loop now and then so Ctrl-C and progress redraws get through
      if (this.step % 8 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    await hooks.onEval?.(this.evaluate(), () => this.checkpoint());
  }
}
