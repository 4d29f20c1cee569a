// The training step, compiled: one optimizer step (gradAccum micro-batches of random windows,
// forward, backward, then AdamW at this step's learning rate) that, once warm, builds no graph
// and allocates nothing on the JavaScript heap. test/alloc-free.test.ts holds it to exactly 0
// bytes a step (measured by test/alloc-probe.ts); every trick that takes lives here, with why,
// so that the Trainer (trainer.ts) reads like a training loop. Not here: evaluation, checkpoints,
// timing (a clock read allocates on Node 20: Trainer.timedStep reads it, outside the step).
//
// What it does for that, and why:
//  - Capture and replay. The first micro-step runs as ordinary code, building the autograd graph,
//    and every kernel call it makes (forward, then backward) is recorded on a tape (capture in
//    src/autograd/engine.ts). Every later micro-step refills the batch buffers and replays the
//    tape: the same kernels on the same buffers, no graph, no tensors, no closures. Dropout draws
//    fresh seeds inside the recorded calls, so replays are not repeats. compile: false builds the
//    graph every time (the same numbers: test/train.test.ts compares them).
//  - Batch buffers. x and y (B, T) are allocated once and refilled in place by fillBatch; the tape
//    reads them by address. Evaluation borrows them too (no new backend memory mid-run).
//  - The learning rate from a table. lrAt(step) for every step of the schedule is computed once;
//    a step reads its lr instead of calling a function that returns a double (which V8 boxes on
//    the heap while the caller is not yet fully optimised: Maglev on Node 22-26).
//  - Doubles in typed arrays. The micro-steps' losses add up in a Float64Array slot, not in a
//    field or a return value: typed-array elements are never boxed, fields and returns may be.
//  - One StepInfo object, refilled. A new object per step would allocate; its number fields start
//    as NaN, not 0, because a field that first held a small integer is re-boxed on the heap at
//    every later store of a double in some V8 versions (Node 26).
//  - The graph-building micro-step is a method of its own. It creates a closure (for capture),
//    and a function that creates one allocates the closure's context on every call, also on the
//    calls that do not reach it: microStep itself must create none.

import { backward, capture, disposeGraph, replay, type Tape } from '../autograd/engine.js';
import * as F from '../autograd/ops.js';
import type { Backend } from '../backend/backend.js';
import { fillBatch } from '../data/batch.js';
import type { TokenArray } from '../data/dataset.js';
import { ConfigError, TrainingError } from '../errors.js';
import type { LanguageModel } from '../model/language-model.js';
import { Checkpointing } from '../nn/checkpoint.js';
import { type ForwardContext, trainContext } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import type { TrainConfig } from './config.js';
import type { DataParallelRank } from './data-parallel.js';
import type { Optimizer } from './optimizer.js';
import { lrAt } from './schedule.js';

/** What a training step reports. */
export interface StepInfo {
  /** optimizer steps done, this one included */
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

/** A StepInfo with how long the step took (Trainer.timedStep fills these in). */
export interface TimedStepInfo extends StepInfo {
  ms: number;
  tokensPerSec: number;
}

/** Steps of the learning-rate schedule tabulated at most (8 MiB); a longer decay calls lrAt. */
const LR_TABLE_MAX = 1 << 20;

export class CompiledStep {
  /** the batch buffers (B, T) int32, refilled by every micro-step; (B/N, T) on a rank of N */
  readonly x: Tensor;
  readonly y: Tensor;
  /** (B, T) int32 buffers for evaluation: x and y themselves, except on a rank of N > 1 */
  readonly evalX: Tensor;
  readonly evalY: Tensor;
  /** data parallel: the whole batch's windows, this rank's rows copied into x and y */
  private readonly fullX: Int32Array | null = null;
  private readonly fullY: Int32Array | null = null;
  /** what step() returns: the same object every time, refilled (NaN-initialised: see above) */
  readonly info: TimedStepInfo = {
    step: 0,
    loss: Number.NaN,
    lr: Number.NaN,
    gradNorm: Number.NaN,
    ms: Number.NaN,
    tokensPerSec: Number.NaN,
  };
  private readonly be: Backend;
  private readonly ctx: ForwardContext;
  /** the captured micro-step (forward + backward) and its loss tensor, once compiled */
  private tape: Tape | null = null;
  private lossT: Tensor | null = null;
  /** sums[0]: the micro-steps' losses in the current step (a typed array: never boxed) */
  private readonly sums = new Float64Array(1);
  /** lrAt(step) for every step of the schedule, tabulated once: a step reads its lr, calls nothing */
  private readonly lrTable: Float64Array;
  /** the optimizer steps done before the current one (for the divergence message) */
  private current = 0;

  /**
   * A step for `model` and its `optimizer`, drawing batches of `tokens` and dropout seeds from
   * `rng`. compile: capture the first micro-step and replay it after (see the file comment).
   * dp: this step is one rank of a data-parallel group (data-parallel.ts): it trains on its
   * rows of each batch and averages the gradients with the other ranks before AdamW.
   */
  constructor(
    private readonly model: LanguageModel,
    private readonly optimizer: Optimizer,
    private readonly cfg: TrainConfig,
    private readonly tokens: TokenArray,
    private readonly rng: Rng,
    private readonly compile: boolean,
    private readonly dp: DataParallelRank | null = null,
  ) {
    this.be = model.backend;
    const ranks = dp?.ranks ?? 1;
    if (cfg.batchSize % ranks !== 0)
      throw new ConfigError(
        `data parallel: batchSize ${cfg.batchSize} is not a multiple of the ${ranks} ranks (each takes batchSize / ranks rows)`,
      );
    const ck = cfg.gradCheckpoint ? new Checkpointing(this.be) : undefined;
    // rank r > 0 draws the same seeds as rank 0 (one generator, one sequence), shifted: its rows
    // get masks of their own
    const shift = dp && dp.rank > 0 ? dp.rank * 0x9e3779b : 0;
    const ctx = trainContext(rng, ck, cfg.precision);
    this.ctx = shift === 0 ? ctx : shiftedSeeds(ctx, shift);
    this.lrTable = new Float64Array(Math.min(cfg.lrDecayIters, LR_TABLE_MAX) + 1);
    for (let it = 0; it < this.lrTable.length; it++) this.lrTable[it] = lrAt(it, cfg);
    const T = model.config.blockSize;
    this.x = new Tensor(this.be, [cfg.batchSize / ranks, T], 'int32');
    this.y = new Tensor(this.be, [cfg.batchSize / ranks, T], 'int32');
    if (ranks > 1) {
      this.evalX = new Tensor(this.be, [cfg.batchSize, T], 'int32');
      this.evalY = new Tensor(this.be, [cfg.batchSize, T], 'int32');
      this.fullX = new Int32Array(cfg.batchSize * T);
      this.fullY = new Int32Array(cfg.batchSize * T);
    } else {
      this.evalX = this.x;
      this.evalY = this.y;
    }
  }

  /**
   * The optimizer step after `step` steps: zero the gradients, gradAccum micro-steps (their
   * gradients add up), then AdamW at lrAt(schedulePos): the step itself, or where a time budget
   * has got to (trainer.ts). Throws TrainingError on a NaN/Inf loss.
   * Returns `info`, refilled (copy what you keep).
   */
  step(step: number, schedulePos = step): StepInfo {
    const { gradAccum } = this.cfg;
    this.current = step;
    if (this.dp?.rank === 0) this.dp.beginStep(step);
    this.model.store.zeroGrad(this.be);
    this.sums[0] = 0;
    for (let micro = 0; micro < gradAccum; micro++) this.microStep();
    // data parallel: every rank's gradients and loss become their means over the ranks
    if (this.dp) this.dp.allReduce(this.model.store.grad, this.sums);
    const table = this.lrTable;
    const last = table.length - 1; // lrDecayIters, or LR_TABLE_MAX when the schedule is longer
    const lr =
      schedulePos !== step
        ? lrAt(schedulePos, this.cfg) // a time budget's position (trainer.ts)
        : step <= last
          ? table[step]!
          : last === this.cfg.lrDecayIters
            ? table[last]! // past the decay: minLr
            : lrAt(step, this.cfg);
    this.optimizer.lr = lr;
    this.optimizer.update();
    // storing a double into a number field reuses the field's box; a new object would allocate
    const info = this.info;
    info.step = step + 1;
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
    if (this.fullX && this.fullY) {
      // a rank of N: the whole batch's windows (the same draws on every rank), then its rows
      fillBatch(this.fullX, this.fullY, this.tokens, this.cfg.batchSize, T, this.rng);
      const n = this.x.size;
      const at = this.dp!.rank * n;
      this.x.data.set(this.fullX.subarray(at, at + n));
      this.y.data.set(this.fullY.subarray(at, at + n));
    } else
      fillBatch(
        this.x.data as Int32Array,
        this.y.data as Int32Array,
        this.tokens,
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
   * the tape), every one when not (then disposed). Apart from microStep because of its closure.
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
      `loss is ${value} at step ${this.current}: training diverged (try a lower learningRate or gradClip); the last checkpoint on disk is kept`,
    );
  }
}

/** ctx with every dropout seed moved by `shift` (kept a small integer: 30 bits). */
function shiftedSeeds(ctx: ForwardContext, shift: number): ForwardContext {
  const draw = ctx.dropoutSeed;
  return { ...ctx, dropoutSeed: () => (draw() + shift) & 0x3fffffff };
}
