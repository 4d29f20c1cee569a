// AdamW over a model's flat parameter buffer. Matrices (embeddings, Linear weights) get weight
// decay; biases and LayerNorm gains do not (decaying them only hurts). ParamStore puts the
// matrices first, so the update is two kernel calls. Gradient clipping by global norm is folded
// into the update as a scale on the gradient. Parameters another optimizer updates (Muon's,
// muon.ts) can be left out; `Optimizer` is what the training step needs of either.
// The per-step numbers travel in fields (lr in, gradNorm out, the kernel's AdamWParams), not as
// arguments and return values: V8 boxes a double on the JS heap each time it crosses a call.

import type { AdamWParams, Backend, FloatArray } from '../backend/backend.js';
import { TsgptError } from '../errors.js';
import { NO_GRADS, type ParamStore } from '../nn/module.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global gradient norm to this (as torch.nn.utils.clip_grad_norm_); 0 = no clipping */
  gradClip: number;
}

/** What the training step and checkpoints need of an optimizer (AdamW, Muon). */
export interface Optimizer {
  /** state laid out like the parameters (AdamW's moments; saved in checkpoints) */
  readonly m: FloatArray;
  readonly v: FloatArray;
  /** optimizer steps taken */
  step: number;
  /** learning rate of the next update(): set it before each one */
  lr: number;
  /** global L2 norm of the gradients at the last update(), before clipping */
  readonly gradNorm: number;
  update(): void;
}

export class AdamW implements Optimizer {
  /** first and second moment estimates, laid out like the parameters */
  readonly m: FloatArray;
  readonly v: FloatArray;
  /** optimizer steps taken */
  step = 0;
  /** learning rate of the next update(): set it before each one (as nanoGPT sets param_group['lr']) */
  lr = 0;
  /** global L2 norm of the gradients at the last update(), before clipping */
  gradNorm = 0;
  /** the factor clipping put on the gradients at the last update() (1: not clipped) */
  gradScale = 1;
  /** [params, grads, m, v] views of the decayed and the not-decayed segments, made once */
  private readonly segments: ReadonlyArray<{
    views: [FloatArray, FloatArray, FloatArray, FloatArray];
    decay: boolean;
  }>;
  /** the kernel's numbers, refilled by each update() */
  private readonly params: AdamWParams;
  /** the squared gradient norm, written by the backend */
  private readonly sumSq = new Float64Array(1);

  /** exclude: names of parameters left to another optimizer (their m and v slots are its) */
  constructor(
    private readonly backend: Backend,
    private readonly store: ParamStore,
    readonly cfg: AdamWConfig,
    exclude: ReadonlySet<string> = new Set(),
  ) {
    if (!store.hasGrads) throw new TsgptError(NO_GRADS);
    this.m = backend.alloc(
      store.data instanceof Float64Array ? 'float64' : 'float32',
      store.size,
    ) as FloatArray;
    this.v = backend.alloc(
      store.data instanceof Float64Array ? 'float64' : 'float32',
      store.size,
    ) as FloatArray;
    const cut = (lo: number, hi: number): [FloatArray, FloatArray, FloatArray, FloatArray] => [
      store.data.subarray(lo, hi),
      store.grad.subarray(lo, hi),
      this.m.subarray(lo, hi),
      this.v.subarray(lo, hi),
    ];
    const d = store.decaySize;
    if (exclude.size === 0)
      this.segments = [
        { views: cut(0, d), decay: true },
        ...(d < store.size ? [{ views: cut(d, store.size), decay: false }] : []),
      ];
    else {
      // runs of neighbouring parameters that are not excluded, split where decay changes
      const segs: { lo: number; hi: number; decay: boolean }[] = [];
      let off = 0;
      for (const name of store.names) {
        const size = store.get(name).size;
        const decay = off < d;
        const last = segs[segs.length - 1];
        if (!exclude.has(name)) {
          if (last && last.hi === off && last.decay === decay) last.hi += size;
          else segs.push({ lo: off, hi: off + size, decay });
        }
        off += size;
      }
      this.segments = segs.map((g) => ({ views: cut(g.lo, g.hi), decay: g.decay }));
    }
    const { beta1, beta2, eps } = cfg;
    this.params = { lr: 0, beta1, beta2, eps, weightDecay: 0, step: 0, gradScale: 1 };
  }

  /**
   * One update with learning rate this.lr. With cfg.gradClip > 0, gradients whose global norm
   * exceeds it are scaled down to it. Sets this.gradNorm (the norm before clipping).
   */
  update(): void {
    const clip = this.cfg.gradClip;
    this.backend.sumSquares(this.sumSq, this.store.grad);
    const norm = Math.sqrt(this.sumSq[0]!);
    this.gradNorm = norm;
    this.step++;
    const p = this.params;
    p.lr = this.lr;
    p.step = this.step;
    p.gradScale = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1;
    this.gradScale = p.gradScale;
    for (let i = 0; i < this.segments.length; i++) {
      const { views, decay } = this.segments[i]!;
      p.weightDecay = decay ? this.cfg.weightDecay : 0;
      this.backend.adamw(views[0], views[1], views[2], views[3], p);
    }
  }
}
