// GPT: a decoder-only transformer, read top to bottom like nanoGPT's model.py.
//   tokens -> token embedding + position encoding -> N Blocks -> final LayerNorm -> logits
// (rotary positions are applied inside attention instead; the options of GPTConfig say which
// norm, activation, head and logit cap).
// Parameter names are GPT-2's (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, ...)
// so checkpoints map key by key to nanoGPT and Hugging Face. Not here: training, sampling.

import * as F from '../autograd/ops.js';
import type { Backend, DType, FloatArray } from '../backend/backend.js';
import { CheckpointError, ConfigError, ShapeError, shapeStr } from '../errors.js';
import { type RopeTables, ropeTables } from '../nn/attention.js';
import { Block, makeNorm } from '../nn/block.js';
import { checkpoint } from '../nn/checkpoint.js';
import { KVCache } from '../nn/kv-cache.js';
import { Embedding, type LayerNorm, Linear, type RMSNorm } from '../nn/layers.js';
import { evalContext, type ForwardContext, Module, ModuleList, ParamStore } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { GPTConfig } from './config.js';
import type { LanguageModel } from './language-model.js';

/** The body of the model, named `transformer` as in GPT-2 checkpoints. */
class Transformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding | null;
  readonly h: ModuleList<Block>;
  readonly ln_f: LayerNorm | RMSNorm;
  /** rope: the rotary tables the blocks share (positional 'rope') */
  constructor(backend: Backend, dtype: DType, cfg: GPTConfig, rope: RopeTables | null) {
    super(backend, dtype);
    this.wte = this.child('wte', new Embedding(backend, dtype, cfg.vocabSize, cfg.nEmbd));
    this.wpe =
      cfg.positional === 'learned'
        ? this.child('wpe', new Embedding(backend, dtype, cfg.blockSize, cfg.nEmbd))
        : null;
    const blocks = Array.from({ length: cfg.nLayer }, () => new Block(backend, dtype, cfg, rope));
    this.h = this.child('h', new ModuleList(backend, dtype, blocks));
    this.ln_f = this.child('ln_f', makeNorm(backend, dtype, cfg.nEmbd, cfg));
  }
}

export interface GPTOptions {
  dtype?: DType;
  /** seed of the weight initialisation */
  seed?: number;
  /** false: leave the weights at zero (they are about to be loaded; saves seconds at 124M) */
  init?: boolean;
  /** false: weights only, no gradient buffer (sampling, evaluation): half the parameter memory */
  grads?: boolean;
}

export class GPT extends Module implements LanguageModel {
  readonly arch = 'gpt';
  // config, transformer and store are set here and replaced only by cropBlockSize
  private cfg: GPTConfig;
  private body: Transformer;
  private paramStore: ParamStore;
  /** the output head's own weights (V, C) when config.tieWeights is false, else null (wte) */
  private head: Linear | null;
  /** fixed sin/cos table (blockSize, C) when config.positional is 'sinusoidal' */
  private readonly sinusoid: Tensor | null;
  /** rotary cos/sin tables (blockSize, hs/2) when config.positional is 'rope' */
  private readonly rope: RopeTables | null;
  private readonly positions = new Map<number, Tensor>();

  constructor(config: GPTConfig, backend: Backend, opts: GPTOptions = {}) {
    const dtype = opts.dtype ?? 'float32';
    super(backend, dtype);
    this.cfg = config;
    this.rope =
      config.positional === 'rope'
        ? ropeTables(backend, dtype, config.blockSize, config.nEmbd / config.nHead)
        : null;
    this.body = this.child('transformer', new Transformer(backend, dtype, config, this.rope));
    // lm_head shares its weight with wte ("weight tying"): the same vectors that turn a token
    // into an embedding score embeddings against tokens. Fewer parameters, and it trains better
    // at GPT-2's sizes. Untied (tieWeights false), the head starts at zero (modded-nanogpt): the
    // first logits are uniform, and the head learns its own output vectors.
    this.head = this.makeHead();
    this.paramStore = new ParamStore(backend, dtype, this.namedParameters(), opts.grads ?? true);
    if (opts.init !== false) this.initWeights(new Rng(opts.seed ?? 1337));
    this.sinusoid =
      config.positional === 'sinusoidal'
        ? sinusoidTable(backend, dtype, config.blockSize, config.nEmbd)
        : null;
  }

  get config(): GPTConfig {
    return this.cfg;
  }

  /** the most tokens it sees at once: its blockSize (sampling slides a window past it) */
  get contextLimit(): number {
    return this.cfg.blockSize;
  }

  get transformer(): Transformer {
    return this.body;
  }

  /** the output head's weight (V, C): wte's when tied */
  get lmHead(): Tensor {
    return this.head ? this.head.weight : this.body.wte.weight;
  }

  private makeHead(): Linear | null {
    const c = this.cfg;
    if (c.tieWeights) return null;
    const head = this.child('lm_head', new Linear(this.backend, this.dtype, c.nEmbd, c.vocabSize, false));
    head.initAs('weight', 'zeros');
    return head;
  }

  /** all parameters and gradients, in two flat buffers */
  get store(): ParamStore {
    return this.paramStore;
  }

  /**
   * Cuts the context to the first blockSize positions (nanoGPT's crop_block_size): to train or
   * sample a model on shorter windows than it was made for, e.g. GPT-2 (1024) at 256. Learned
   * position embeddings keep their first blockSize rows; every other weight stays as it is.
   * The parameters move to a smaller flat buffer (the old one is freed), so crop before an
   * optimizer or a Trainer is built on the model.
   * @example const model = modelFromCheckpoint(gpt2, be); model.cropBlockSize(256);
   */
  cropBlockSize(blockSize: number): void {
    const old = this.cfg;
    if (!(Number.isInteger(blockSize) && blockSize >= 1 && blockSize <= old.blockSize))
      throw new ConfigError(
        `GPT.cropBlockSize: blockSize ${blockSize} must be an integer in [1, ${old.blockSize}] (the model's context)`,
      );
    if (blockSize === old.blockSize) return;
    this.cfg = { ...old, blockSize };
    // sinusoidal positions have no weights: the table (and cached position ids) cover the old
    // context, so the shorter one too
    if (!this.body.wpe) return;
    const weights = this.stateDict(); // views into the old buffer, read before it is freed
    const wpe = weights.get('transformer.wpe.weight')!;
    weights.set('transformer.wpe.weight', {
      shape: [blockSize, old.nEmbd],
      data: wpe.data.subarray(0, blockSize * old.nEmbd), // (blockSize, C): the first rows
    });
    const oldStore = this.paramStore;
    this.body = this.child('transformer', new Transformer(this.backend, this.dtype, this.cfg, this.rope));
    this.head = this.makeHead(); // re-declared after transformer: the parameter order stays the same
    this.paramStore = new ParamStore(this.backend, this.dtype, this.namedParameters(), oldStore.hasGrads);
    this.loadStateDict(weights);
    this.backend.free(oldStore.data);
    if (oldStore.hasGrads) this.backend.free(oldStore.grad);
  }

  /**
   * Drops the float32 storage of the named parameters, for weights that live elsewhere from now
   * on (int8: src/model/quantize.ts). The flat buffer is rebuilt with the other parameters (their
   * values kept, no gradients: inference only) and the old one freed; the named tensors are left
   * empty, and stateDict() and numParams() no longer count them.
   */
  releaseParams(names: ReadonlySet<string>): void {
    const be = this.backend;
    const kept = new Map<string, Tensor>();
    const values = new Map<string, Float64Array>();
    for (const [name, t] of this.namedParameters()) {
      if (names.has(name)) continue;
      kept.set(name, t);
      values.set(name, Float64Array.from(t.f)); // read before the old buffer is freed
    }
    const old = this.paramStore;
    for (const t of kept.values()) t.data = be.alloc(this.dtype, t.size); // ParamStore frees these
    this.paramStore = new ParamStore(be, this.dtype, kept, false);
    for (const [name, t] of kept) t.data.set(values.get(name)!);
    for (const [name, t] of this.namedParameters())
      if (names.has(name)) {
        t.data = this.dtype === 'float64' ? new Float64Array(0) : new Float32Array(0);
        t.isView = true;
        t.grad = null;
        t.requiresGrad = false;
      }
    be.free(old.data);
    if (old.hasGrads) be.free(old.grad);
  }

  /**
   * idx (B, T) int32 token ids; with targets (B, T) also returns the mean cross-entropy loss.
   * Without targets only the last position's logits are computed (what sampling needs).
   * @example const { logits, loss } = model.forward(x, y, trainContext(rng)) // logits (B, T, V)
   */
  forward(
    idx: Tensor,
    targets: Tensor | null,
    ctx: ForwardContext = evalContext(),
  ): { logits: Tensor; loss: Tensor | null } {
    const cfg = this.config;
    if (idx.ndim !== 2 || idx.dtype !== 'int32')
      throw new ShapeError(`GPT.forward: idx ${shapeStr(idx.shape)} ${idx.dtype}: need (B, T) int32`);
    const t = idx.dim(1);
    if (t > cfg.blockSize)
      throw new ShapeError(`GPT.forward: sequence of length ${t} exceeds blockSize ${cfg.blockSize}`);
    const tr = this.transformer;
    let x = tr.wte.forward(idx); // (B, T, C)
    // rotary positions act inside attention: nothing is added here
    if (tr.wpe)
      x = F.add(x, tr.wpe.forward(this.positionIds(t))); // + (T, C)
    else if (this.sinusoid) x = F.add(x, F.narrow(this.sinusoid, 0, 0, t)); // + (T, C)
    x = F.dropout(x, cfg.dropout, ctx.dropoutSeed, ctx.training); // (B, T, C)
    const probe = ctx.probe;
    if (probe) {
      probe.layer = -1;
      probe.activation?.('embedding', x);
    }
    for (let l = 0; l < tr.h.items.length; l++) {
      if (probe) probe.layer = l;
      const block = tr.h.items[l]!;
      x = ctx.checkpoint
        ? checkpoint((h, c) => block.forward(h, c), x, ctx, ctx.checkpoint) // recomputed in backward
        : block.forward(x, ctx);
      probe?.activation?.('block', x);
    }
    x = tr.ln_f.forward(x);
    if (targets) {
      const logits = this.logits(x); // (B, T, V)
      return { logits, loss: F.crossEntropy(logits, targets) };
    }
    const last = F.narrow(x, 1, t - 1, 1); // (B, 1, C): only the next token's logits are needed
    return { logits: this.logits(last), loss: null }; // (B, 1, V)
  }

  /** Scores of every token at each position: x (..., C) @ head^T (C, V), soft-capped if asked. */
  private logits(x: Tensor): Tensor {
    const logits = F.linear(x, this.lmHead, null); // (..., V)
    const cap = this.cfg.logitSoftcap;
    // cap * tanh(z / cap): ~z for small z, never beyond +-cap (no overconfident logit)
    return cap > 0 ? F.scale(F.tanh(F.scale(logits, 1 / cap)), cap) : logits;
  }

  /** An empty KV cache sized for this model (batch b, capacity blockSize). */
  newCache(b = 1): KVCache {
    const c = this.config;
    return new KVCache(this.backend, this.dtype, c.nLayer, b, c.nHead, c.nEmbd / c.nHead, c.blockSize);
  }

  /**
   * Incremental inference: idx (B, Tn) are the tokens after those already in the cache (the
   * whole prompt when it is empty, then one token per call). Returns the last position's
   * logits (B, 1, V), equal to forward() on the full sequence. Call under noGrad.
   */
  forwardCached(idx: Tensor, cache: KVCache): Tensor {
    const tr = this.transformer;
    const tn = idx.dim(1);
    const pos0 = cache.length;
    if (pos0 + tn > this.config.blockSize)
      throw new ShapeError(
        `GPT.forwardCached: ${pos0} cached + ${tn} new positions exceed blockSize ${this.config.blockSize}`,
      );
    let x = tr.wte.forward(idx); // (B, Tn, C)
    if (tr.wpe) {
      const pos = new Tensor(this.backend, [tn], 'int32');
      for (let i = 0; i < tn; i++) pos.data[i] = pos0 + i;
      x = F.add(x, tr.wpe.forward(pos)); // + (Tn, C)
    } else if (this.sinusoid) x = F.add(x, F.narrow(this.sinusoid, 0, pos0, tn)); // + (Tn, C)
    const ctx = evalContext();
    tr.h.items.forEach((block, layer) => {
      x = block.forward(x, ctx, { cache, layer });
    });
    cache.length = pos0 + tn;
    const last = tn > 1 ? F.narrow(x, 1, tn - 1, 1) : x; // (B, 1, C)
    return this.logits(tr.ln_f.forward(last)); // (B, 1, V)
  }

  /** Number of parameters (a tied wte counted once: it is also the output layer). */
  numParams(): number {
    return this.store.size;
  }

  /** Parameters by GPT-2 name (views into the flat buffer). */
  stateDict(): Map<string, { shape: readonly number[]; data: FloatArray }> {
    const out = new Map<string, { shape: readonly number[]; data: FloatArray }>();
    for (const [name, t] of this.store.params) out.set(name, { shape: t.shape, data: t.f });
    return out;
  }

  /** Copies weights in by name; every parameter must be present with the right shape. */
  loadStateDict(dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    for (const [name, t] of this.store.params) {
      const src = dict.get(name);
      if (!src) throw new CheckpointError(`weights: missing tensor ${name}`);
      if (shapeStr(src.shape) !== shapeStr(t.shape))
        throw new CheckpointError(
          `weights: ${name} has shape ${shapeStr(src.shape)}, the config needs ${shapeStr(t.shape)}`,
        );
    }
    for (const name of dict.keys())
      if (!this.store.params.has(name)) throw new CheckpointError(`weights: unexpected tensor ${name}`);
    for (const [name, t] of this.store.params) t.data.set(dict.get(name)!.data);
  }

  /** N(0, 0.02) for weights (c_proj scaled by 1/sqrt(2 nLayer)), zeros for biases, ones for LN gains. */
  private initWeights(rng: Rng): void {
    for (const [name, init] of this.namedInits()) {
      const data = this.store.get(name).data;
      if (init === 'zeros') data.fill(0);
      else if (init === 'ones') data.fill(1);
      else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * init.normal;
    }
  }

  private positionIds(t: number): Tensor {
    let pos = this.positions.get(t);
    if (!pos) {
      // given its own array, so that no tidy() scope frees this cached tensor
      pos = new Tensor(this.backend, [t], 'int32', this.backend.alloc('int32', t));
      for (let i = 0; i < t; i++) pos.data[i] = i;
      this.positions.set(t, pos);
    }
    return pos;
  }
}

/**
 * The fixed position encoding of "Attention Is All You Need":
 * PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(pos / 10000^(2i/C)).
 * Nothing to learn, and defined for any position. Fills out (blockSize, C).
 */
export function fillSinusoid(out: Float32Array | Float64Array, blockSize: number, c: number): void {
  for (let pos = 0; pos < blockSize; pos++)
    for (let i = 0; i < c; i += 2) {
      const angle = pos / 10000 ** (i / c);
      out[pos * c + i] = Math.sin(angle);
      if (i + 1 < c) out[pos * c + i + 1] = Math.cos(angle);
    }
}

function sinusoidTable(backend: Backend, dtype: DType, blockSize: number, c: number): Tensor {
  const t = new Tensor(backend, [blockSize, c], dtype, backend.alloc(dtype, blockSize * c));
  fillSinusoid(t.f, blockSize, c);
  return t;
}
