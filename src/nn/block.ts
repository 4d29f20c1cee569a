// MLP and Block: the transformer layer. A Block is attention then an MLP, each wrapped in a
// residual connection with a LayerNorm. Pre-norm (GPT-2, the default) normalises the branch
// input, x + f(ln(x)), which keeps a clean residual path and trains stably without warm-up
// tricks; post-norm (the 2017 Transformer) normalises after the sum, ln(x + f(x)).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AttentionConfig, CausalSelfAttention } from './attention.js';
import type { LayerCache } from './kv-cache.js';
import { LayerNorm, Linear } from './layers.js';
import { type ForwardContext, Module } from './module.js';

export type Activation = 'gelu' | 'gelu_tanh' | 'relu';
export type NormPlacement = 'pre' | 'post';

export interface BlockConfig extends AttentionConfig {
  activation: Activation;
  norm: NormPlacement;
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
    // the hidden layer is 4x wider than the residual stream, as in GPT-2
    this.c_fc = this.child('c_fc', new Linear(backend, dtype, cfg.nEmbd, 4 * cfg.nEmbd, cfg.bias));
    const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
    this.c_proj = this.child(
      'c_proj',
      new Linear(backend, dtype, 4 * cfg.nEmbd, cfg.nEmbd, cfg.bias, projStd),
    );
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let h = this.c_fc.forward(x); // (B, T, 4C)
    h =
      this.cfg.activation === 'relu' ? F.relu(h) : this.cfg.activation === 'gelu' ? F.gelu(h) : F.geluTanh(h);
    ctx.probe?.activation?.('mlp', h);
    return F.dropout(this.c_proj.forward(h), this.cfg.dropout, ctx.dropoutSeed, ctx.training); // (B, T, C)
  }
}

export class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(
    backend: Backend,
    dtype: DType,
    readonly cfg: BlockConfig,
  ) {
    super(backend, dtype);
    this.ln_1 = this.child('ln_1', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.attn = this.child('attn', new CausalSelfAttention(backend, dtype, cfg));
    this.ln_2 = this.child('ln_2', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
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
