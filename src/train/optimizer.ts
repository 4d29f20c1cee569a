// AdamW over a model's flat parameter buffer. Matrices (embeddings, Linear weights) get weight
// decay; biases and LayerNorm gains do not (decaying them only hurts). ParamStore puts the
// matrices first, so the update is two kernel calls. Gradient clipping by global norm is folded
// into the update as a scale on the gradient.
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

export class AdamW {
  /** first and second moment estimates, laid out like the parameters */
  readonly m: FloatArray;
  readonly v: FloatArray;
  /** optimizer steps taken */
  step = 0;
  /** learning rate of the next update(): set it before each one (as nanoGPT sets param_group['lr']) */
  lr = 0;
  /** global L2 norm of the gradients at the last update(), before clipping */
  gradNorm = 0;
  /** [params, grads, m, v] views of the decayed and the not-decayed segments, made once */
  private readonly segments: ReadonlyArray<{
    views: [FloatArray, FloatArray, FloatArray, FloatArray];
    decay: boolean;
  }>;
  /** the kernel's numbers, refilled by each update() */
  private readonly params: AdamWParams;
  /** the squared gradient norm, written by the backend */
  private readonly sumSq = new Float64Array(1);

  constructor(
    private readonly backend: Backend,
    private readonly store: ParamStore,
    readonly cfg: AdamWConfig,
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
    this.segments = [
      { views: cut(0, d), decay: true },
      ...(d < store.size ? [{ views: cut(d, store.size), decay: false }] : []),
    ];
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
    for (let i = 0; i < this.segments.length; i++) {
      const { views, decay } = this.segments[i]!;
      p.weightDecay = decay ? this.cfg.weightDecay : 0;
      this.backend.adamw(views[0], views[1], views[2], views[3], p);
    }
  }
}
