// MLP and Block: the transformer layer. A Block is attention then an MLP, each wrapped in a
// residual connection with a LayerNorm. Pre-norm (GPT-2, the default) normalises the branch
// input, x + f(ln(x)), which keeps a clean residual path and trains stably without warm-up
// tricks; post-norm (the 2017 Transformer) normalises after the sum, ln(x + f(x)).
// The norm is LayerNorm or RMSNorm (normType); the MLP's activation GELU (GPT-2), ReLU, ReLU^2
// or SwiGLU (a gated MLP: c_fc makes 2H values, H of them gate the other H).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AttentionConfig, CausalSelfAttention, type RopeTables } from './attention.js';
import type { LayerCache } from './kv-cache.js';
import { LayerNorm, Linear, RMSNorm } from './layers.js';
import { type ForwardContext, Module } from './module.js';

export type Activation = 'gelu' | 'gelu_tanh' | 'relu' | 'relu2' | 'swiglu';
export type NormPlacement = 'pre' | 'post';
export type NormType = 'layernorm' | 'rmsnorm';

export interface BlockConfig extends AttentionConfig {
  activation: Activation;
  norm: NormPlacement;
  /** absent: 'layernorm' */
  normType?: NormType;
}

/** The norm layer a config asks for: LayerNorm (with bias when cfg.bias) or RMSNorm. */
export function makeNorm(
  backend: Backend,
  dtype: DType,
  dim: number,
  cfg: { normType?: NormType; bias: boolean },
): LayerNorm | RMSNorm {
  return cfg.normType === 'rmsnorm'
    ? new RMSNorm(backend, dtype, dim)
    : new LayerNorm(backend, dtype, dim, cfg.bias);
}

/**
 * SwiGLU's hidden width: 2/3 of 4C, so that its three matrices hold as many weights as GELU's
 * two (LLaMA's choice), rounded up to a multiple of 8 (the matmul's tile width).
 */
export function swigluHidden(nEmbd: number): number {
  return Math.ceil((8 * nEmbd) / 3 / 8) * 8;
}

export class MLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(
    backend: Backend,
    dtype: DType,
    readonly cfg: BlockConfig,
  ) {
    super(backend, dtype);
    // the hidden layer is 4x wider than the residual stream, as in GPT-2 (SwiGLU: see swigluHidden)
    const swiglu = cfg.activation === 'swiglu';
    const hidden = swiglu ? swigluHidden(cfg.nEmbd) : 4 * cfg.nEmbd;
    const fcOut = swiglu ? 2 * hidden : hidden;
    this.c_fc = this.child('c_fc', new Linear(backend, dtype, cfg.nEmbd, fcOut, cfg.bias));
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.c_proj = this.child('c_proj', new Linear(backend, dtype, hidden, cfg.nEmbd, cfg.bias, projStd));
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let h = this.c_fc.forward(x); // (B, T, 4C), or (B, T, 2H) for SwiGLU
    const act = this.cfg.activation;
    h =
      act === 'relu'
        ? F.relu(h)
        : act === 'gelu'
          ? F.gelu(h)
          : act === 'gelu_tanh'
            ? F.geluTanh(h)
            : act === 'relu2'
              ? F.relu2(h)
              : F.swiglu(h); // (B, T, 4C), or (B, T, H)
    ctx.probe?.activation?.('mlp', h);
    return F.dropout(this.c_proj.forward(h), this.cfg.dropout, ctx.dropoutSeed, ctx.training); // (B, T, C)
  }
}

export class Block extends Module {
  readonly ln_1: LayerNorm | RMSNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm | RMSNorm;
  readonly mlp: MLP;
  /** rope: the rotary tables, when cfg.positional is 'rope' (shared by all blocks) */
  constructor(
    backend: Backend,
    dtype: DType,
    readonly cfg: BlockConfig,
    rope: RopeTables | null = null,
  ) {
    super(backend, dtype);
    this.ln_1 = this.child('ln_1', makeNorm(backend, dtype, cfg.nEmbd, cfg));
    this.attn = this.child('attn', new CausalSelfAttention(backend, dtype, cfg, rope));
    this.ln_2 = this.child('ln_2', makeNorm(backend, dtype, cfg.nEmbd, cfg));
    this.mlp = this.child('mlp', new MLP(backend, dtype, cfg));
  }

  forward(x: Tensor, ctx: ForwardContext, kv?: LayerCache): Tensor {
    if (this.cfg.norm === 'pre') {
      x = F.add(x, this.attn.forward(this.ln_1.forward(x), ctx, kv));
      return F.add(x, this.mlp.forward(this.ln_2.forward(x), ctx));
    }
    x = this.ln_1.forward(F.add(x, this.attn.forward(x, ctx, kv)));
    return this.ln_2.forward(F.add(x, this.mlp.forward(x, ctx)));
  }
}
