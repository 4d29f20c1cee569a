// The training loop, nanoGPT's train.py without the I/O: sample random windows, forward,
// backward (with gradient accumulation), clip, AdamW (or Muon) with the learning-rate schedule, and a
// periodic evaluation on fixed batches. The caller gets events (steps, evals, checkpoints as
// bytes) and decides what to print and where to write. Node-free: runs in a browser too.
// The step itself (batches, forward, backward, AdamW), captured and replayed so that it
// allocates nothing, is compiled-step.ts's; run setup (config, resume, init-from) is setup.ts's.

import { noGrad } from '../autograd/engine.js';
import type { Backend } from '../backend/backend.js';
import { checkTokenCount, fillBatch } from '../data/batch.js';
import type { TokenArray } from '../data/dataset.js';
import type { LanguageModel } from '../model/language-model.js';
import { tidy } from '../tensor/tensor.js';
import type { TokenizerJSON } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import { type Checkpoint, encodeCheckpoint } from './checkpoint.js';
import { CompiledStep, type StepInfo, type TimedStepInfo } from './compiled-step.js';
import type { TrainConfig } from './config.js';
import type { DataParallelRank } from './data-parallel.js';
import { Muon } from './muon.js';
import { AdamW, type Optimizer } from './optimizer.js';
import { ThreadGovernor } from './thread-governor.js';

export type { StepInfo, TimedStepInfo } from './compiled-step.js';

export interface EvalInfo {
  step: number;
  train: number;
  val: number;
  bestValLoss: number;
  improved: boolean;
}

export interface TrainerOptions {
  model: LanguageModel;
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
  /**
   * Train as one rank of a data-parallel group (data-parallel.ts; node-data-parallel.ts starts
   * the other ranks): this rank's rows of each batch, gradients averaged over the ranks.
   */
  dataParallel?: DataParallelRank;
}

export class Trainer {
  readonly model: LanguageModel;
  readonly cfg: TrainConfig;
  /** AdamW, or Muon (+ AdamW) with config.optimizer 'muon' */
  readonly optimizer: Optimizer;
  /** optimizer steps done */
  step = 0;
  bestValLoss = Number.POSITIVE_INFINITY;
  /** wall time spent in run() so far, ms, earlier runs of a resumed one included (the time budget's clock) */
  elapsedMs = 0;
  /** performance.now() at which elapsedMs was 0, while run() runs; null outside it */
  private clockZero: number | null = null;
  private readonly be: Backend;
  private readonly rng: Rng;
  private readonly trainTokens: TokenArray;
  private readonly valTokens: TokenArray;
  private readonly tokenizer: TokenizerJSON;
  /** the step itself, compiled: batches, forward, backward, AdamW (compiled-step.ts) */
  private readonly compiled: CompiledStep;
  /** switches the backend's worker threads on and off by step times (multi-threaded backends) */
  readonly governor: ThreadGovernor | null = null;

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
    const c = o.config;
    const adamw = {
      beta1: c.beta1,
      beta2: c.beta2,
      eps: 1e-8,
      weightDecay: c.weightDecay,
      gradClip: c.gradClip,
    };
    this.optimizer =
      (c.optimizer ?? 'adamw') === 'muon'
        ? new Muon(this.be, o.model.store, adamw, {
            momentum: c.muonMomentum,
            nsSteps: c.muonNsSteps,
            weightDecay: c.muonWeightDecay,
            // Muon's rate follows the same schedule, scaled to muonLr at the peak
            lrRatio: c.learningRate > 0 ? c.muonLr / c.learningRate : 0,
          })
        : new AdamW(this.be, o.model.store, adamw);
    // one generator for the batches and the dropout masks, saved in checkpoints
    this.rng = new Rng(o.config.seed);
    const be = this.be;
    if ((o.adaptThreads ?? true) && (be.threads ?? 1) > 1 && be.setUseWorkers) {
      this.governor = new ThreadGovernor();
      be.setUseWorkers(true);
    }
    this.compiled = new CompiledStep(
      o.model,
      this.optimizer,
      o.config,
      o.train,
      this.rng,
      o.compile ?? true,
      o.dataParallel ?? null,
    );
    if (o.resume) {
      const r = o.resume;
      this.step = r.meta.step;
      this.optimizer.step = r.meta.step;
      this.bestValLoss = r.meta.bestValLoss ?? Number.POSITIVE_INFINITY;
      this.elapsedMs = r.meta.elapsedMs ?? 0;
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

  /**
   * One optimizer step: gradAccum micro-batches of random windows, forward and backward (their
   * gradients add up), then AdamW at this step's learning rate (clipping the gradient norm).
   * Throws TrainingError on a NaN/Inf loss. Returns the same StepInfo object every time,
   * refilled (copy what you keep). Once warm it allocates nothing on the JavaScript heap, so it
   * reads no clock (timedStep, what run() calls, does): see compiled-step.ts.
   */
  trainStep(): StepInfo {
    const info = this.compiled.step(this.step, this.schedulePos());
    this.step++;
    return info;
  }

  /**
   * Where the learning-rate schedule is: the step, or with a time budget (inside run()) the
   * fraction of the budget used times lrDecayIters, after the warm-up steps.
   */
  private schedulePos(): number {
    const c = this.cfg;
    if (!(c.timeBudget > 0) || this.clockZero === null || this.step < c.warmupIters) return this.step;
    return Math.max(c.warmupIters, this.budgetUsed() * c.lrDecayIters);
  }

  /** The fraction of cfg.timeBudget used (0 without a budget or outside run()). */
  budgetUsed(): number {
    if (!(this.cfg.timeBudget > 0) || this.clockZero === null) return 0;
    this.elapsedMs = performance.now() - this.clockZero;
    return this.elapsedMs / (this.cfg.timeBudget * 60_000);
  }

  /** Mean loss over cfg.evalIters fixed batches of a split (the same batches every time). */
  estimateLoss(split: 'train' | 'val'): number {
    const tokens = split === 'train' ? this.trainTokens : this.valTokens;
    const rng = new Rng(this.cfg.seed + (split === 'train' ? 1 : 2)); // fixed batches: comparable evals
    const T = this.model.config.blockSize;
    const { evalX: x, evalY: y } = this.compiled; // the step's (B, T) batch buffers, borrowed
    let sum = 0;
    noGrad(() => {
      for (let i = 0; i < this.cfg.evalIters; i++) {
        fillBatch(x.data as Int32Array, y.data as Int32Array, tokens, this.cfg.batchSize, T, rng);
        sum += tidy(() => this.model.forward(x, y).loss!.item());
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
      ...(this.cfg.timeBudget > 0 ? { elapsedMs: this.elapsedMs } : {}),
    });
  }

  /**
   * trainStep(), timed: fills in ms and tokens/s, and lets the thread governor (multi-threaded
   * backends) choose whether the next step uses the worker threads. The two clock reads are the
   * only JavaScript-heap allocation of a steady-state step: 16 bytes each on Node 20 and 22.
   */
  timedStep(): TimedStepInfo {
    const t0 = performance.now();
    const info = this.compiled.info; // what trainStep() returns, with room for the timing
    this.trainStep();
    info.ms = performance.now() - t0;
    info.tokensPerSec = (this.tokensPerStep / info.ms) * 1000;
    if (this.governor) this.be.setUseWorkers!(this.governor.record(info));
    return info;
  }

  /**
   * Trains until cfg.maxIters (or, with a time budget, until the budget is used up), evaluating
   * every evalInterval steps (and at the end). Hooks receive every step and eval; onEval also
   * gets the checkpoint to save. `shouldStop` lets the caller interrupt between steps (the state
   * stays consistent: resume from the last save).
   */
  async run(hooks: {
    onStep?: (s: TimedStepInfo) => void;
    onEval?: (e: EvalInfo, checkpoint: () => Uint8Array) => void | Promise<void>;
    shouldStop?: () => boolean;
  }): Promise<void> {
    this.clockZero = performance.now() - this.elapsedMs;
    try {
      await this.runSteps(hooks);
    } finally {
      this.budgetUsed(); // elapsedMs up to date
      this.clockZero = null;
    }
  }

  private async runSteps(hooks: Parameters<Trainer['run']>[0]): Promise<void> {
    const c = this.cfg;
    while (this.step < c.maxIters && this.budgetUsed() < 1) {
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
