// The original transformer ("Attention Is All You Need", Vaswani et al. 2017), read top to bottom:
// an encoder reads the whole source at once, a decoder writes the target one token at a time
// while reading the encoder's output (the "memory").
//   source -> embedding * sqrt(C) + sinusoid -> N EncoderLayers                 -> memory (B, S, C)
//   target -> embedding * sqrt(C) + sinusoid -> N DecoderLayers (read memory)   -> logits (B, T, V)
// Built from GPT's modules (Embedding, LayerNorm, MLP; MultiHeadAttention generalises attention to
// two sequences and masks), post-norm as in the paper (pre-norm as an option). One vocabulary and
// one embedding for source and target (enough for character tasks), shared with the output layer
// when tieWeights. Not here: the data, training, decoding (src/data/seq2seq.ts,
// src/train/seq2seq-trainer.ts, src/sample/seq2seq-decode.ts).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../errors.js';
import { MLP } from '../nn/block.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import {
  evalContext,
  type ForwardContext,
  loadStateDictInto,
  Module,
  ModuleList,
  type NamedWeights,
  ParamStore,
  stateDictOf,
} from '../nn/module.js';
import { MultiHeadAttention } from '../nn/multi-head-attention.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { EncoderDecoderConfig } from './encoder-decoder-config.js';
import { fillSinusoid } from './gpt.js';

/** One batch for the model, padded to its longest source and longest target. */
export interface Seq2SeqInputs {
  /** (B, S) int32: source ids, then EOS, then padding */
  src: Tensor;
  /** (B, S) int32: 1 where src is padding, else 0 */
  srcPadding: Tensor;
  /** (B, T) int32: the decoder's input, BOS then the target, then padding */
  tgt: Tensor;
  /** (B, T) int32: 1 where tgt is padding, else 0 */
  tgtPadding: Tensor;
}

/**
 * A residual connection around one sub-layer f: post-norm (the paper) normalises the sum,
 * LayerNorm(x + f(x)); pre-norm normalises f's input, x + f(LayerNorm(x)), which leaves an
 * untouched path from input to output and trains deep stacks without a warm-up.
 */
function residual(x: Tensor, ln: LayerNorm, pre: boolean, f: (h: Tensor) => Tensor): Tensor {
  return pre ? F.add(x, f(ln.forward(x))) : ln.forward(F.add(x, f(x)));
}

/** Self-attention over the whole source (every position sees every other), then an MLP. */
class EncoderLayer extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(
    backend: Backend,
    dtype: DType,
    private readonly cfg: EncoderDecoderConfig,
  ) {
    super(backend, dtype);
    this.ln_1 = this.child('ln_1', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.attn = this.child('attn', new MultiHeadAttention(backend, dtype, cfg));
    this.ln_2 = this.child('ln_2', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.mlp = this.child('mlp', new MLP(backend, dtype, cfg));
  }

  forward(x: Tensor, srcPadding: Tensor, ctx: ForwardContext): Tensor {
    const pre = this.cfg.norm === 'pre';
    x = residual(x, this.ln_1, pre, (h) => this.attn.forward(h, h, ctx, { keyPadding: srcPadding }));
    return residual(x, this.ln_2, pre, (h) => this.mlp.forward(h, ctx)); // (B, S, C)
  }
}

/**
 * Causal self-attention over the target so far, then cross-attention: each target position
 * asks the encoder's memory what it needs (queries from the target, keys and values from the
 * source), then an MLP.
 */
class DecoderLayer extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln_2: LayerNorm;
  readonly cross_attn: MultiHeadAttention;
  readonly ln_3: LayerNorm;
  readonly mlp: MLP;
  constructor(
    backend: Backend,
    dtype: DType,
    private readonly cfg: EncoderDecoderConfig,
  ) {
    super(backend, dtype);
    this.ln_1 = this.child('ln_1', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.attn = this.child('attn', new MultiHeadAttention(backend, dtype, cfg));
    this.ln_2 = this.child('ln_2', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.cross_attn = this.child('cross_attn', new MultiHeadAttention(backend, dtype, cfg));
    this.ln_3 = this.child('ln_3', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias));
    this.mlp = this.child('mlp', new MLP(backend, dtype, cfg));
  }

  forward(y: Tensor, tgtPadding: Tensor, memory: Tensor, srcPadding: Tensor, ctx: ForwardContext): Tensor {
    const pre = this.cfg.norm === 'pre';
    const self = { causal: true, keyPadding: tgtPadding }; // no peeking at later target tokens
    y = residual(y, this.ln_1, pre, (h) => this.attn.forward(h, h, ctx, self));
    y = residual(y, this.ln_2, pre, (h) =>
      this.cross_attn.forward(h, memory, ctx, { keyPadding: srcPadding }),
    );
    return residual(y, this.ln_3, pre, (h) => this.mlp.forward(h, ctx)); // (B, T, C)
  }
}

/** N layers, and with pre-norm a final LayerNorm (post-norm layers already end with one). */
class Stack<L extends Module> extends Module {
  readonly h: ModuleList<L>;
  readonly ln_f: LayerNorm | null;
  constructor(backend: Backend, dtype: DType, cfg: EncoderDecoderConfig, layers: L[]) {
    super(backend, dtype);
    this.h = this.child('h', new ModuleList(backend, dtype, layers));
    this.ln_f =
      cfg.norm === 'pre' ? this.child('ln_f', new LayerNorm(backend, dtype, cfg.nEmbd, cfg.bias)) : null;
  }
}

export interface EncoderDecoderOptions {
  dtype?: DType;
  /** seed of the weight initialisation */
  seed?: number;
  /** false: leave the weights at zero (they are about to be loaded) */
  init?: boolean;
  /** false: weights only, no gradient buffer (decoding, evaluation) */
  grads?: boolean;
}

/**
 * The encoder-decoder transformer. Parameter names: wte, encoder.h.N.{ln_1, attn, ln_2, mlp},
 * decoder.h.N.{ln_1, attn, ln_2, cross_attn, ln_3, mlp}, encoder.ln_f / decoder.ln_f (pre-norm),
 * lm_head (untied); attention as c_q, c_kv, c_proj, the MLP as GPT's c_fc, c_proj.
 * @example
 * const model = new EncoderDecoder({ ...DEFAULT_ENCODER_DECODER_CONFIG, vocabSize: 30 }, be, { seed: 1 });
 * const { loss } = model.forward(inputs, targets, trainContext(rng));
 */
export class EncoderDecoder extends Module {
  readonly config: EncoderDecoderConfig;
  readonly wte: Embedding;
  readonly encoder: Stack<EncoderLayer>;
  readonly decoder: Stack<DecoderLayer>;
  readonly lm_head: Linear | null;
  /** all parameters and gradients, in two flat buffers */
  readonly store: ParamStore;
  /** the fixed position encoding (blockSize, C) */
  private readonly sinusoid: Tensor;
  private readonly sqrtC: number;

  constructor(config: EncoderDecoderConfig, backend: Backend, opts: EncoderDecoderOptions = {}) {
    const dtype = opts.dtype ?? 'float32';
    super(backend, dtype);
    this.config = config;
    const c = config;
    // the embeddings are multiplied by sqrt(C) (the paper), so N(0, 1/C) makes them N(0, 1),
    // the scale of the sinusoid they are added to; tied, the same init gives logits of std ~1
    this.wte = this.child('wte', new Embedding(backend, dtype, c.vocabSize, c.nEmbd, 1 / Math.sqrt(c.nEmbd)));
    const enc = Array.from({ length: c.nLayer }, () => new EncoderLayer(backend, dtype, c));
    const dec = Array.from({ length: c.nLayer }, () => new DecoderLayer(backend, dtype, c));
    this.encoder = this.child('encoder', new Stack(backend, dtype, c, enc));
    this.decoder = this.child('decoder', new Stack(backend, dtype, c, dec));
    this.lm_head = c.tieWeights
      ? null
      : this.child('lm_head', new Linear(backend, dtype, c.nEmbd, c.vocabSize, false));
    this.store = new ParamStore(backend, dtype, this.namedParameters(), opts.grads ?? true);
    if (opts.init !== false) this.initWeights(new Rng(opts.seed ?? 1337));
    this.sinusoid = new Tensor(
      backend,
      [c.blockSize, c.nEmbd],
      dtype,
      backend.alloc(dtype, c.blockSize * c.nEmbd),
    );
    fillSinusoid(this.sinusoid.f, c.blockSize, c.nEmbd);
    this.sqrtC = Math.sqrt(c.nEmbd);
  }

  /**
   * Token embeddings scaled by sqrt(C) plus the sinusoid, then dropout: ids (B, T) -> (B, T, C).
   * Without the scale the small embeddings would drown in the position signal.
   */
  private embed(ids: Tensor, what: string, ctx: ForwardContext): Tensor {
    if (ids.ndim !== 2 || ids.dtype !== 'int32')
      throw new ShapeError(`EncoderDecoder: ${what} ${shapeStr(ids.shape)} ${ids.dtype}: need (B, T) int32`);
    const t = ids.dim(1);
    if (t > this.config.blockSize)
      throw new ShapeError(
        `EncoderDecoder: ${what} of length ${t} exceeds blockSize ${this.config.blockSize}`,
      );
    const tok = F.scale(this.wte.forward(ids), this.sqrtC); // (B, T, C)
    const x = F.add(tok, F.narrow(this.sinusoid, 0, 0, t)); // + (T, C)
    return F.dropout(x, this.config.dropout, ctx.dropoutSeed, ctx.training);
  }

  /** The encoder: src (B, S) -> memory (B, S, C). */
  encode(src: Tensor, srcPadding: Tensor, ctx: ForwardContext = evalContext()): Tensor {
    let x = this.embed(src, 'src', ctx); // (B, S, C)
    for (const layer of this.encoder.h.items) x = layer.forward(x, srcPadding, ctx);
    return this.encoder.ln_f ? this.encoder.ln_f.forward(x) : x;
  }

  /**
   * The decoder: tgt (B, T) reading memory (B, S, C) -> logits (B, T, V), the scores of the
   * token that follows each position; lastOnly: (B, 1, V) for the last position alone (decoding).
   */
  decode(
    tgt: Tensor,
    tgtPadding: Tensor,
    memory: Tensor,
    srcPadding: Tensor,
    ctx: ForwardContext = evalContext(),
    lastOnly = false,
  ): Tensor {
    let y = this.embed(tgt, 'tgt', ctx); // (B, T, C)
    for (const layer of this.decoder.h.items) y = layer.forward(y, tgtPadding, memory, srcPadding, ctx);
    if (lastOnly) y = F.narrow(y, 1, y.dim(1) - 1, 1); // (B, 1, C)
    if (this.decoder.ln_f) y = this.decoder.ln_f.forward(y);
    // scores against every token: the embedding matrix itself when tied (the paper)
    return F.linear(y, this.lm_head ? this.lm_head.weight : this.wte.weight, null); // (B, T, V)
  }

  /**
   * Encoder, then decoder on the whole target at once (teacher forcing: the causal mask keeps
   * each position from seeing the ones after it). With targets (B, T) int32 (-1 at padding,
   * which the loss ignores), also the mean cross-entropy.
   */
  forward(
    inputs: Seq2SeqInputs,
    targets: Tensor | null,
    ctx: ForwardContext = evalContext(),
  ): { logits: Tensor; loss: Tensor | null } {
    const { src, srcPadding, tgt, tgtPadding } = inputs;
    const memory = this.encode(src, srcPadding, ctx); // (B, S, C)
    const logits = this.decode(tgt, tgtPadding, memory, srcPadding, ctx); // (B, T, V)
    return { logits, loss: targets ? F.crossEntropy(logits, targets) : null };
  }

  /**
   * Biases zero and LayerNorm gains one; every weight matrix Glorot-normal, N(0, 2 / (fan_in +
   * fan_out)), as nn.Transformer initialises its layers (xavier_uniform_, the same variance): at
   * this width GPT's N(0, 0.02) starts attention so flat that learning where to look takes
   * hundreds of steps longer. The embedding N(0, 1/C) (see the constructor).
   */
  private initWeights(rng: Rng): void {
    for (const [name, init] of this.namedInits()) {
      const p = this.store.get(name);
      if (init === 'zeros') p.data.fill(0);
      else if (init === 'ones') p.data.fill(1);
      else {
        const [rows, cols] = p.shape as [number, number];
        const std = name === 'wte.weight' ? init.normal : Math.sqrt(2 / (rows + cols));
        for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * std;
      }
    }
  }

  /** Number of parameters (the tied embedding counted once). */
  numParams(): number {
    return this.store.size;
  }

  /** Parameters by name (views into the flat buffer). */
  stateDict(): Map<string, NamedWeights> {
    return stateDictOf(this.store);
  }

  /** Copies weights in by name; every parameter must be present with the right shape. */
  loadStateDict(dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    loadStateDictInto(this.store, dict);
  }
}
