// MultiHeadAttention: queries from one sequence look at keys and values made from another (or
// the same one: self-attention), as in "Attention Is All You Need". c_q makes the queries, c_kv
// the keys and values of all heads at once, F.attention does softmax(q k^T / sqrt(hs) + mask) v
// per head under a padding mask and an optional causal one, and c_proj mixes the heads.
// Not GPT's attention: CausalSelfAttention (./attention.ts) keeps its fused causal kernel.

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionConfig } from './attention.js';
import { Linear } from './layers.js';
import { type ForwardContext, Module } from './module.js';

export class MultiHeadAttention extends Module {
  /** queries (C -> C), from the sequence that asks */
  readonly c_q: Linear;
  /** keys | values (C -> 2C), from the sequence looked at */
  readonly c_kv: Linear;
  readonly c_proj: Linear;
  readonly nHead: number;
  readonly dropout: number;

  constructor(backend: Backend, dtype: DType, cfg: AttentionConfig) {
    super(backend, dtype);
    this.nHead = cfg.nHead;
    this.dropout = cfg.dropout;
    this.c_q = this.child('c_q', new Linear(backend, dtype, cfg.nEmbd, cfg.nEmbd, cfg.bias));
    this.c_kv = this.child('c_kv', new Linear(backend, dtype, cfg.nEmbd, 2 * cfg.nEmbd, cfg.bias));
    // the residual projection scaled down as GPT-2's (see CausalSelfAttention)
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.c_proj = this.child('c_proj', new Linear(backend, dtype, cfg.nEmbd, cfg.nEmbd, cfg.bias, projStd));
  }

  /**
   * x (B, Tq, C) attends to memory (B, Tk, C): pass x itself for self-attention, the encoder's
   * output for a decoder's cross-attention. mask.keyPadding (B, Tk) hides memory's padding.
   * @example attn.forward(x, x, ctx, { causal: true, keyPadding: tgtPad }) // (B, T, C)
   */
  forward(x: Tensor, memory: Tensor, ctx: ForwardContext, mask: F.AttentionMask = {}): Tensor {
    const q = this.c_q.forward(x); // (B, Tq, C): nh heads of hs side by side
    const kv = this.c_kv.forward(memory); // (B, Tk, 2C): k | v
    const y = F.attention(q, kv, this.nHead, mask); // (B, Tq, C)
    return F.dropout(this.c_proj.forward(y), this.dropout, ctx.dropoutSeed, ctx.training);
  }
}
