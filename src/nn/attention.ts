// CausalSelfAttention: every position looks back at itself and earlier positions.
// One Linear makes queries, keys and values for all heads at once (c_attn), a fused kernel
// does softmax(q k^T / sqrt(hs)) v per head under the causal mask, and c_proj mixes the heads.

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './layers.js';
import { type ForwardContext, Module } from './module.js';

export interface AttentionConfig {
  nEmbd: number;
  nHead: number;
  nLayer: number;
  bias: boolean;
  dropout: number;
}

export class CausalSelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  readonly nHead: number;
  readonly dropout: number;

  constructor(backend: Backend, dtype: DType, cfg: AttentionConfig) {
    super(backend, dtype);
    this.nHead = cfg.nHead;
    this.dropout = cfg.dropout;
    this.c_attn = this.child('c_attn', new Linear(backend, dtype, cfg.nEmbd, 3 * cfg.nEmbd, cfg.bias));
    // GPT-2's scaled init: each residual branch adds to the stream, 2 per layer, so shrink the
    // last projection by 1/sqrt(2 nLayer) to keep the residual stream's variance from growing
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.c_proj = this.child('c_proj', new Linear(backend, dtype, cfg.nEmbd, cfg.nEmbd, cfg.bias, projStd));
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const qkv = this.c_attn.forward(x); // (B, T, 3C): q | k | v, each split into nh heads of hs
    const y = F.causalSelfAttention(qkv, this.nHead); // (B, T, C), heads side by side
    // (attention-probability dropout is not applied: the fused kernel keeps only residual dropout)
    return F.dropout(this.c_proj.forward(y), this.dropout, ctx.dropoutSeed, ctx.training);
  }
}
