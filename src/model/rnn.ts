// Recurrent language models: the vanilla RNN (Elman 1990), the LSTM (Hochreiter & Schmidhuber
// 1997, with Gers et al.'s forget gate) and the GRU (Cho et al. 2014), each nLayer recurrent
// layers between a token embedding and an output layer. Parameter names are PyTorch's
// (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, ...), so the weights map
// key by key to nn.RNN / nn.LSTM / nn.GRU (test/models-parity.test.ts checks it).
//
// A recurrent layer reads one token at a time and keeps what it has seen in a hidden state:
//   vanilla RNN  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
// Training unrolls it over a window's T steps and backpropagates through all of them ("through
// time"). The gradient that reaches step t from step t + k has been multiplied k times by
// W_hh^T diag(1 - h^2): it shrinks (or explodes) geometrically, so a vanilla RNN learns little
// from more than a few steps back. That is the vanishing gradient.
//   LSTM  i, f, o = sigmoid(...), g = tanh(...)   c_t = f * c_{t-1} + i * g   h_t = o * tanh(c_t)
// The cell state c is updated by addition: along it the gradient is multiplied by the forget
// gate f alone (no weight matrix, no squashing), so while f ~ 1 it crosses many steps intact.
// Learned sigmoid gates decide what to write (i), what to keep (f) and what to show (o).
//   GRU   r, z = sigmoid(...)   nn = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//         h_t = (1 - z) * nn + z * h_{t-1}
// The same idea inside h: the update gate z mixes the old state with a candidate nn, so where
// z ~ 1 the state (and its gradient) passes through. Three gate blocks to the LSTM's four.
//
// Truncated backpropagation through time: training batches are the same random (B, T) windows
// as GPT's. The state starts at zero at each window (carrying it over from an unrelated random
// window would mean nothing) and is carried across the window's T steps; gradients flow back
// through those T steps only. Sampling carries the state token by token: no context limit.
// Inside, the layers run time-major, so each step's input is one contiguous (B, ·) slice.

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import { ShapeError, TsgptError } from '../errors.js';
import { Embedding, Linear } from '../nn/layers.js';
import { evalContext, type ForwardContext, Module, ParamStore } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { RNNConfig } from './config.js';
import {
  checkTokens,
  type DecodeState,
  type LanguageModel,
  loadStateDictInto,
  type ModelOptions,
  type NamedTensor,
  stateDictOf,
} from './language-model.js';

export type RecurrentArch = 'rnn' | 'lstm' | 'gru';

/** Blocks of H rows in each layer's weights: one per gate (PyTorch's order). */
const GATES: Record<RecurrentArch, number> = {
  rnn: 1, // the new state's pre-activation
  lstm: 4, // i | f | g | o
  gru: 3, // r | z | n
};

/** The state of one layer after a step: h, and the LSTM's cell state c. */
interface Step {
  h: Tensor;
  c: Tensor | null;
}

/** The recurrent layers' parameters, named as PyTorch's nn.RNN / nn.LSTM / nn.GRU name them. */
class RecurrentLayers extends Module {
  readonly w_ih: Tensor[] = [];
  readonly w_hh: Tensor[] = [];
  readonly b_ih: Tensor[] = [];
  readonly b_hh: Tensor[] = [];
  constructor(backend: Backend, dtype: DType, gates: number, nIn: number, nHidden: number, nLayer: number) {
    super(backend, dtype);
    // values: RecurrentModel.initWeights
    for (let l = 0; l < nLayer; l++) {
      const gh = gates * nHidden;
      this.w_ih.push(this.param(`weight_ih_l${l}`, [gh, l === 0 ? nIn : nHidden], 'zeros'));
      this.w_hh.push(this.param(`weight_hh_l${l}`, [gh, nHidden], 'zeros'));
      this.b_ih.push(this.param(`bias_ih_l${l}`, [gh], 'zeros'));
      this.b_hh.push(this.param(`bias_hh_l${l}`, [gh], 'zeros'));
    }
  }
}

/**
 * What a recurrent model carries from token to token while it generates: each layer's h (and
 * c), (B, H). Its tensors own their memory, so no tidy() scope frees them.
 */
export class RecurrentState implements DecodeState {
  readonly h: Tensor[];
  readonly c: Tensor[] | null;
  constructor(
    private readonly backend: Backend,
    dtype: DType,
    nLayer: number,
    readonly batch: number,
    nHidden: number,
    withCell: boolean,
  ) {
    const make = () =>
      Array.from(
        { length: nLayer },
        () => new Tensor(backend, [batch, nHidden], dtype, backend.alloc(dtype, batch * nHidden)),
      );
    this.h = make();
    this.c = withCell ? make() : null;
  }

  reset(): void {
    for (const t of [...this.h, ...(this.c ?? [])]) this.backend.fill(t.data, 0);
  }

  dispose(): void {
    for (const t of [...this.h, ...(this.c ?? [])]) this.backend.free(t.data);
  }
}

/** The parts the RNN, LSTM and GRU share: embedding, layer stack, head, state. */
export abstract class RecurrentModel extends Module implements LanguageModel {
  readonly arch: RecurrentArch;
  readonly config: RNNConfig;
  /** token embeddings (V, C) */
  readonly wte: Embedding;
  /** the recurrent layers: rnn.weight_ih_l0 (G*H, C), rnn.weight_hh_l0 (G*H, H), biases (G*H) */
  readonly rnn: RecurrentLayers;
  /** (V, H): the last layer's h to the next token's logits */
  readonly lm_head: Linear;
  readonly store: ParamStore;
  /** the state carries all history: sampling keeps no window */
  readonly contextLimit = Number.POSITIVE_INFINITY;

  protected constructor(arch: RecurrentArch, config: RNNConfig, backend: Backend, opts: ModelOptions) {
    const dtype: DType = opts.dtype ?? 'float32';
    super(backend, dtype);
    this.arch = arch;
    this.config = config;
    const { vocabSize: V, nEmbd: C, nHidden: H, nLayer } = config;
    this.wte = this.child('wte', new Embedding(backend, dtype, V, C));
    this.rnn = this.child('rnn', new RecurrentLayers(backend, dtype, GATES[arch], C, H, nLayer));
    this.lm_head = this.child('lm_head', new Linear(backend, dtype, H, V, true));
    this.store = new ParamStore(backend, dtype, this.namedParameters(), opts.grads ?? true);
    if (opts.init !== false) this.initWeights(new Rng(opts.seed ?? 1337));
  }

  /**
   * One step of one layer: xg = W_ih x_t + b_ih and hg = W_hh h_{t-1} + b_hh (B, G*H), and the
   * state before the step -> the state after it.
   */
  protected abstract cell(xg: Tensor, hg: Tensor, prev: Step): Step;

  /**
   * idx (B, T) int32, run from a zero state; with targets (B, T) also the mean cross-entropy.
   * Without targets only the last position's logits (B, 1, V).
   */
  forward(
    idx: Tensor,
    targets: Tensor | null,
    ctx: ForwardContext = evalContext(),
  ): { logits: Tensor; loss: Tensor | null } {
    checkTokens(this.constructor.name, idx);
    const out = this.layers(idx, null, ctx).out; // (T, B, H)
    if (targets) {
      const logits = F.transpose(this.lm_head.forward(out), 0, 1); // (T, B, V) -> (B, T, V)
      return { logits, loss: F.crossEntropy(logits, targets) };
    }
    return { logits: this.lastLogits(out), loss: null };
  }

  /**
   * The last layer's h at every step of idx (B, T), from a zero state: (B, T, H), what lm_head
   * reads (nn.LSTM's `output`).
   */
  hiddenStates(idx: Tensor, ctx: ForwardContext = evalContext()): Tensor {
    checkTokens(this.constructor.name, idx);
    return F.transpose(this.layers(idx, null, ctx).out, 0, 1); // (T, B, H) -> (B, T, H)
  }

  /** An all-zero state for b sequences. */
  newCache(b = 1): RecurrentState {
    const { nLayer, nHidden } = this.config;
    return new RecurrentState(this.backend, this.dtype, nLayer, b, nHidden, this.arch === 'lstm');
  }

  /**
   * Incremental inference: idx (B, Tn) are the tokens after those the state has seen (the
   * whole prompt when it is fresh, then one per call). Returns the last position's logits
   * (B, 1, V), equal to forward() on the whole sequence, and moves the state past idx.
   */
  forwardCached(idx: Tensor, cache: DecodeState): Tensor {
    checkTokens(this.constructor.name, idx);
    if (!(cache instanceof RecurrentState) || (cache.c !== null) !== (this.arch === 'lstm'))
      throw new TsgptError(
        `${this.constructor.name}.forwardCached: the cache is not this model's state (newCache)`,
      );
    if (cache.batch !== idx.dim(0))
      throw new ShapeError(
        `${this.constructor.name}.forwardCached: idx has ${idx.dim(0)} rows, the state ${cache.batch}`,
      );
    const { out, last } = this.layers(idx, cache, evalContext());
    last.forEach((s, l) => {
      this.backend.copy(cache.h[l]!.data, s.h.data);
      if (s.c) this.backend.copy(cache.c![l]!.data, s.c.data);
    });
    return this.lastLogits(out);
  }

  numParams(): number {
    return this.store.size;
  }

  stateDict(): Map<string, NamedTensor> {
    return stateDictOf(this.store);
  }

  loadStateDict(dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    loadStateDictInto(this.store, dict);
  }

  /**
   * The layers over idx (B, T), starting from `from` (zeros when null): the last layer's outputs
   * (T, B, H), time-major, and each layer's state after the last step.
   */
  private layers(
    idx: Tensor,
    from: RecurrentState | null,
    ctx: ForwardContext,
  ): { out: Tensor; last: Step[] } {
    const { nLayer, nHidden: H, dropout } = this.config;
    const b = idx.dim(0);
    const r = this.rnn;
    let x = this.wte.forward(F.transpose(idx, 0, 1)); // (T, B, C): time-major
    const last: Step[] = [];
    for (let l = 0; l < nLayer; l++) {
      if (l > 0) x = F.dropout(x, dropout, ctx.dropoutSeed, ctx.training); // between layers, as PyTorch
      const xs = F.unbind(F.linear(x, r.w_ih[l]!, r.b_ih[l]!)); // T x (B, G*H): all steps' W_ih x_t + b_ih at once
      let s: Step = from ? { h: from.h[l]!, c: from.c?.[l] ?? null } : this.zeros(b, H);
      const hs: Tensor[] = [];
      for (const xg of xs) {
        s = this.cell(xg, F.linear(s.h, r.w_hh[l]!, r.b_hh[l]!), s); // (B, G*H) -> h (B, H)
        hs.push(s.h);
      }
      x = F.stack(hs); // (T, B, H)
      last.push(s);
    }
    return { out: x, last };
  }

  /** The state a window starts from: zeros (B, H) (constants: no gradient). */
  private zeros(b: number, H: number): Step {
    const zero = () => new Tensor(this.backend, [b, H], this.dtype);
    return { h: zero(), c: this.arch === 'lstm' ? zero() : null };
  }

  /** out (T, B, H) -> the last step's logits (B, 1, V). */
  private lastLogits(out: Tensor): Tensor {
    const h = F.narrow(out, 0, out.dim(0) - 1, 1); // (1, B, H)
    return F.transpose(this.lm_head.forward(h), 0, 1); // (1, B, V) -> (B, 1, V)
  }

  /**
   * PyTorch's defaults: every recurrent weight and bias, and the output layer, U(-k, k) with
   * k = 1/sqrt(H); embeddings N(0, 1). The LSTM's forget gates start open (their part of b_ih
   * = 1, as Gers et al. 2000 and Jozefowicz et al. 2015 advise): the cell keeps what it holds
   * from the first step, so gradients flow along it before the gates have learned anything.
   */
  private initWeights(rng: Rng): void {
    const H = this.config.nHidden;
    const k = 1 / Math.sqrt(H);
    for (const [name, p] of this.store.params) {
      if (name === 'wte.weight') for (let i = 0; i < p.size; i++) p.data[i] = rng.normal();
      else for (let i = 0; i < p.size; i++) p.data[i] = (2 * rng.uniform() - 1) * k;
    }
    if (this.arch === 'lstm') for (const b of this.rnn.b_ih) b.data.fill(1, H, 2 * H); // i | f | g | o
  }
}

/** The vanilla (Elman) RNN: h = tanh(W_ih x + b_ih + W_hh h + b_hh), nn.RNN's default. */
export class RNN extends RecurrentModel {
  constructor(config: RNNConfig, backend: Backend, opts: ModelOptions = {}) {
    super('rnn', config, backend, opts);
  }
  protected cell(xg: Tensor, hg: Tensor): Step {
    return { h: F.tanh(F.add(xg, hg)), c: null }; // (B, H)
  }
}

/** The LSTM: a cell state c beside h, written, kept and shown through three gates. */
export class LSTM extends RecurrentModel {
  constructor(config: RNNConfig, backend: Backend, opts: ModelOptions = {}) {
    super('lstm', config, backend, opts);
  }
  protected cell(xg: Tensor, hg: Tensor, prev: Step): Step {
    return F.lstmCell(xg, hg, prev.c!); // h, c (B, H)
  }
}

/** The GRU: an update gate mixes the old state with a candidate computed through a reset gate. */
export class GRU extends RecurrentModel {
  constructor(config: RNNConfig, backend: Backend, opts: ModelOptions = {}) {
    super('gru', config, backend, opts);
  }
  protected cell(xg: Tensor, hg: Tensor, prev: Step): Step {
    return { h: F.gruCell(xg, hg, prev.h), c: null }; // (B, H)
  }
}
