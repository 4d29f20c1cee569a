// CausalSelfAttention: every position looks back at itself and earlier positions.
// One Linear makes queries, keys and values for all heads at once (c_attn), a fused kernel
// does softmax(q k^T / sqrt(hs)) v per head under the causal mask, and c_proj mixes the heads.
// Options between the two: QK-norm (each query and key head RMS-normalised) and rotary
// positions (queries and keys rotated by their position, RoFormer), both on packed q|k|v.

import * as F from '../autograd/ops.js';
import type { Backend, DType, FloatArray } from '../backend/backend.js';
import { Tensor } from '../tensor/tensor.js';
import type { LayerCache } from './kv-cache.js';
import { Linear } from './layers.js';
import { type ForwardContext, Module } from './module.js';

export interface AttentionConfig {
  nEmbd: number;
  nHead: number;
  nLayer: number;
  bias: boolean;
  dropout: number;
  /** RMS-normalise queries and keys per head (absent: false) */
  qkNorm?: boolean;
  /** the score scale; absent or 0: 1/sqrt(head size) */
  attnScale?: number;
}

/** Rotary embedding tables for positions [0, maxT): cos and sin (maxT, HS/2). */
export interface RopeTables {
  cos: Tensor;
  sin: Tensor;
}

/**
 * The tables of rotary embeddings for positions [0, maxT) and head size hs:
 * angle(pos, i) = pos / base^(2i / hs), i < hs/2 (RoFormer; base 10000). Low i turn fast
 * (local order), high i slowly (far positions stay distinguishable).
 */
export function ropeTables(
  backend: Backend,
  dtype: DType,
  maxT: number,
  hs: number,
  base = 10000,
): RopeTables {
  const half = hs / 2;
  const make = () => new Tensor(backend, [maxT, half], dtype, backend.alloc(dtype, maxT * half));
  const cos = make();
  const sin = make();
  for (let pos = 0; pos < maxT; pos++)
    for (let i = 0; i < half; i++) {
      const angle = pos / base ** ((2 * i) / hs);
      cos.data[pos * half + i] = Math.cos(angle);
      sin.data[pos * half + i] = Math.sin(angle);
    }
  return { cos, sin };
}

export class CausalSelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly nHead: number;
  readonly dropout: number;
  readonly qkNorm: boolean;
  /** the score scale; 0: the kernel's 1/sqrt(hs) */
  readonly scoreScale: number;

  /** rope: rotary tables (positional 'rope'), or null */
  constructor(
    backend: Backend,
    dtype: DType,
    cfg: AttentionConfig,
    readonly rope: RopeTables | null = null,
  ) {
    super(backend, dtype);
    this.nHead = cfg.nHead;
    this.dropout = cfg.dropout;
    this.qkNorm = cfg.qkNorm ?? false;
    this.scoreScale = cfg.attnScale ?? 0;
    this.c_attn = this.child('c_attn', new Linear(backend, dtype, cfg.nEmbd, 3 * cfg.nEmbd, cfg.bias));
    // GPT-2's scaled init: each residual branch adds to the stream, 2 per layer, so shrink the
    // last projection by 1/sqrt(2 nLayer) to keep the residual stream's variance from growing
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.c_proj = this.child('c_proj', new Linear(backend, dtype, cfg.nEmbd, cfg.nEmbd, cfg.bias, projStd));
  }

  forward(x: Tensor, ctx: ForwardContext, kv?: LayerCache): Tensor {
    let qkv = this.c_attn.forward(x); // (B, T, 3C): q | k | v, each split into nh heads of hs
    if (this.qkNorm) qkv = F.qkNorm(qkv, this.nHead); // (B, T, 3C)
    // rotated by absolute position; the cache keeps keys rotated, so a new query meets them as is
    if (this.rope) qkv = F.rope(qkv, this.rope.cos, this.rope.sin, this.nHead, kv ? kv.cache.length : 0);
    const probe = ctx.probe;
    // (B, T, C); dropout on the attention probabilities (training), then on the residual branch
    const p = ctx.training ? this.dropout : 0;
    const y = kv
      ? this.attendCached(qkv, kv)
      : F.causalSelfAttention(
          qkv,
          this.nHead,
          probe?.attention?.bind(probe),
          p > 0 || ctx.precision === 'bf16' || this.scoreScale > 0
            ? { p, seed: ctx.dropoutSeed, bf16: ctx.precision === 'bf16', scale: this.scoreScale }
            : undefined,
        );
    return F.dropout(this.c_proj.forward(y), this.dropout, ctx.dropoutSeed, ctx.training);
  }

  /**
   * Inference with a KV cache: append the new positions' keys and values to the cache, then
   * attend over everything cached. The first call (empty cache) runs the full causal kernel on
   * the prompt; later calls take one new token, which may look at every cached position.
   */
  private attendCached(qkv: Tensor, { cache, layer }: LayerCache): Tensor {
    const be = qkv.backend;
    const [b, tn, c3] = qkv.shape as [number, number, number];
    const c = c3 / 3;
    const nh = this.nHead;
    const hs = c / nh;
    const maxT = cache.maxT;
    const pos0 = cache.length;
    if (pos0 + tn > maxT)
      throw new RangeError(`KV cache: ${pos0} + ${tn} positions exceed its capacity ${maxT}`);
    const q = qkv.f;
    const K = cache.k[layer]!;
    const V = cache.v[layer]!;
    // k[b, h, pos0 + t, :] = qkv[b, t, C + h*hs : C + (h+1)*hs], and likewise v at 2C
    for (let bi = 0; bi < b; bi++)
      for (let t = 0; t < tn; t++)
        for (let h = 0; h < nh; h++) {
          const src = (bi * tn + t) * c3 + h * hs;
          const dst = ((bi * nh + h) * maxT + pos0 + t) * hs;
          K.set(q.subarray(src + c, src + c + hs), dst);
          V.set(q.subarray(src + 2 * c, src + 2 * c + hs), dst);
        }
    if (pos0 === 0) return F.causalSelfAttention(qkv, nh, undefined, { scale: this.scoreScale });
    if (tn !== 1) throw new RangeError(`KV cache: after the prompt, feed one token at a time (got ${tn})`);
    const len = pos0 + 1;
    const qh = new Tensor(be, [b * nh, 1, hs], qkv.dtype); // the new query, per (batch, head)
    for (let bi = 0; bi < b; bi++) qh.f.set(q.subarray(bi * c3, bi * c3 + c), bi * c);
    const att = new Tensor(be, [b * nh, 1, len], qkv.dtype);
    // att (B*nh, 1, L) = q (B*nh, 1, hs) @ K^T (hs, L), each head's K a (L, hs) block of the cache
    be.matmul(att.f, qh.f, K, {
      batch: b * nh,
      m: 1,
      k: hs,
      n: len,
      transA: false,
      transB: true,
      accumulate: false,
      aBatchStride: hs,
      bBatchStride: maxT * hs,
    });
    be.scale(att.f, att.f, this.scoreScale > 0 ? this.scoreScale : 1 / Math.sqrt(hs), false);
    be.softmaxForward(att.f, att.f as FloatArray, b * nh, len);
    const y = new Tensor(be, [b, 1, c], qkv.dtype); // (B*nh, 1, hs) is (B, 1, C): heads side by side
    // y (B*nh, 1, hs) = att (B*nh, 1, L) @ V (L, hs)
    be.matmul(y.f, att.f, V, {
      batch: b * nh,
      m: 1,
      k: len,
      n: hs,
      transA: false,
      transB: false,
      accumulate: false,
      aBatchStride: len,
      bBatchStride: maxT * hs,
    });
    return y;
  }
}
