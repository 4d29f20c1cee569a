// Gradient checkpointing: a checkpointed block's forward keeps only its input (and its output,
// the next block's input); its backward runs the block again from that input, with the same
// dropout masks, to rebuild what the gradient needs, then backpropagates through it. Memory goes
// from every block's activations to one block's; compute grows by one block forward per block.
// Not here: which blocks are checkpointed (the model's forward) or when (the ForwardContext).
//
// How it stays exact and allocation-free when the step is captured and replayed
// (src/train/compiled-step.ts):
//  - Dropout masks are counter-based (a seed per mask, src/backend/backend.ts dropoutUniform):
//    the forward records each seed it draws, the recomputation reads them back, so it draws the
//    same masks and computes the same numbers bit for bit.
//  - Every block's forward intermediates, and later every block's recomputation and backward,
//    come from one arena (src/backend/arena.ts): reset before each turn, it hands out the same
//    addresses for the same requests, so the blocks take turns in the same memory (all forwards
//    end before the first recomputation). A turn writes each of its buffers before reading it,
//    and copies its result out (the block's output, the input's gradient), so turns do not mix.
//  - The recomputation and backward are captured on a tape of their own (captureNested) the
//    first time; the checkpoint's backward closure, which the outer step's tape replays, then
//    replays that tape.

import {
  backwardFrom,
  captureNested,
  compute,
  gradOf,
  isGradEnabled,
  noGrad,
  record,
  replay,
  type Tape,
} from '../autograd/engine.js';
import { Arena } from '../backend/arena.js';
import type { Backend } from '../backend/backend.js';
import { ConfigError, TsgptError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { ForwardContext } from './module.js';

/** The most dropout masks one checkpointed block may draw (a GPT block draws 3). */
const MAX_SEEDS = 64;

/** The memory the checkpointed blocks of one model take turns in (see the file comment). */
export class Checkpointing {
  /**
   * one block's forward intermediates (no graph), then, in the backward, one block's
   * recomputation with its graph, gradients and scratch: the forwards are all done before the
   * first recomputation starts, so both take turns in the same arena
   */
  readonly arena: Arena;

  constructor(readonly backend: Backend) {
    if (!backend.setArena)
      throw new ConfigError(
        `gradient checkpointing: the ${backend.name} backend cannot lend memory to an arena (Backend.setArena)`,
      );
    this.arena = new Arena(backend);
  }

  /** Bytes of backend memory the arena holds. */
  get bytes(): number {
    return this.arena.bytes;
  }
}

/**
 * y = f(x, ctx), checkpointed: f runs without a graph now and again, with one, in the backward.
 * f must be a function of x and the parameters it closes over only (a transformer block), and
 * draw its dropout seeds from the ctx it is given.
 * @example x = checkpoint((h, c) => block.forward(h, c), x, ctx, ck) // (B, T, C) -> (B, T, C)
 */
export function checkpoint(
  f: (x: Tensor, ctx: ForwardContext) => Tensor,
  x: Tensor,
  ctx: ForwardContext,
  ck: Checkpointing,
): Tensor {
  if (!isGradEnabled()) return f(x, ctx);
  const be = x.backend;
  const setArena = be.setArena!.bind(be);
  // the seeds the forward draws, replayed to the recomputation; n = [drawn, replayed]
  const seeds = new Int32Array(MAX_SEEDS);
  const n = new Int32Array(2);
  const precision = ctx.precision === 'bf16' ? { precision: ctx.precision } : {};
  const recording: ForwardContext = {
    ...precision,
    training: ctx.training,
    dropoutSeed: () => {
      const s = ctx.dropoutSeed();
      const i = n[0]!;
      if (i >= MAX_SEEDS)
        throw new TsgptError(`checkpoint: the block drew more than ${MAX_SEEDS} dropout masks`);
      seeds[i] = s;
      n[0] = i + 1;
      return s;
    },
  };
  const replaying: ForwardContext = {
    ...precision,
    training: ctx.training,
    dropoutSeed: () => {
      const i = n[1]!;
      n[1] = i + 1;
      return seeds[i]!;
    },
  };

  // forward without a graph, its intermediates in the forward arena (the next block reuses them)
  compute(() => {
    n[0] = 0;
  });
  ck.arena.reset();
  setArena(ck.arena);
  let y: Tensor;
  try {
    y = noGrad(() => f(x, recording));
  } finally {
    setArena(null);
  }
  const out = new Tensor(be, y.shape, y.dtype); // kept: the next block's input
  compute(() => be.copy(out.data, y.data));

  let sub: Tape | null = null;
  return record(out, 'checkpoint', [x], () => {
    if (sub) {
      replay(sub.forward);
      replay(sub.backward);
      return;
    }
    // the input's gradient is kept, so it is allocated before the arena is set
    const dx = x.requiresGrad ? gradOf(x) : null;
    const accumulate: { fn: (() => void) | null } = { fn: null };
    let tape: Tape;
    ck.arena.reset();
    setArena(ck.arena);
    try {
      tape = captureNested(() => {
        compute(() => {
          n[1] = 0;
        });
        const xIn = new Tensor(be, x.shape, x.dtype, undefined, true); // (B, T, C), a leaf
        compute(() => be.copy(xIn.data, x.data));
        const yRe = f(xIn, replaying); // the block again, now with its graph
        backwardFrom(yRe, out.grad!); // its parameters' gradients accumulate where they live
        const g = xIn.grad;
        if (dx && g) {
          // dx += d(xIn), after the block's own backward
          accumulate.fn = () => be.scale(dx.f, g.f, 1, true);
          accumulate.fn();
        }
      });
    } finally {
      setArena(null);
    }
    if (accumulate.fn) tape.backward.push(accumulate.fn);
    sub = tape;
  });
}
