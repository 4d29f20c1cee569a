// AdamW over a model's flat parameter buffer. Matrices (embeddings, Linear weights) get weight
// decay; biases and LayerNorm gains do not (decaying them only hurts). ParamStore puts the
// matrices first, so the update is two kernel calls. Gradient clipping by global norm is folded
// into the update as a scale on the gradient.

import type { Backend, FloatArray } from '../backend/backend.js';
import type { ParamStore } from '../nn/module.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export class AdamW {
  /** first and second moment estimates, laid out like the parameters */
  readonly m: FloatArray;
  readonly v: FloatArray;
  /** optimizer steps taken */
  step = 0;
  /** [params, grads, m, v] views of the decayed and the not-decayed segments, made once */
  private readonly segments: ReadonlyArray<{
    views: [FloatArray, FloatArray, FloatArray, FloatArray];
    decay: boolean;
  }>;

  constructor(
    private readonly backend: Backend,
    private readonly store: ParamStore,
    readonly cfg: AdamWConfig,
  ) {
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
  }

  /** Global L2 norm of all gradients. */
  gradNorm(): number {
    return Math.sqrt(this.backend.sumSquares(this.store.grad));
  }

  /**
   * One update with learning rate lr. With clip > 0, gradients whose global norm exceeds clip
   * are scaled down to it (as torch.nn.utils.clip_grad_norm_). Returns the pre-clip norm.
   */
  update(lr: number, clip: number): number {
    const norm = this.gradNorm();
    const gradScale = clip > 0 && norm > clip ? clip / (norm + 1e-6) : 1;
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    for (let i = 0; i < this.segments.length; i++) {
      const { views, decay } = this.segments[i]!;
      this.backend.adamw(
        views[0],
        views[1],
        views[2],
        views[3],
        lr,
        beta1,
        beta2,
        eps,
        decay ? weightDecay : 0,
        this.step,
        gradScale,
      );
    }
    return norm;
  }
}
