// The MLP language model of Bengio, Ducharme, Vincent & Jauvin, "A Neural Probabilistic Language
// Model" (2003): to predict the next token, look up an embedding for each of the last `context`
// tokens, put them side by side, and pass them through one tanh hidden layer to the logits.
// The embeddings are what was new: similar tokens get similar vectors, so what is learned about
// one carries over to the others, where counting (bigram.ts) treats every pair on its own.
// Bengio's model also had direct connections from the embeddings to the output; this one, like
// Karpathy's makemore, leaves them out. Not here: anything beyond its fixed window (rnn.ts).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import { Embedding, Linear } from '../nn/layers.js';
import { evalContext, type ForwardContext, Module, ParamStore } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { MLPConfig } from './config.js';
import {
  checkTokens,
  type LanguageModel,
  loadStateDictInto,
  type ModelOptions,
  type NamedTensor,
  stateDictOf,
} from './language-model.js';

export class MLPModel extends Module implements LanguageModel {
  readonly arch = 'mlp';
  readonly config: MLPConfig;
  /** token embeddings (V + 1, C); row V stands for "before the start of the window" */
  readonly wte: Embedding;
  /** (H, context * C): the window's embeddings to the hidden layer */
  readonly hidden: Linear;
  /** (V, H): the hidden layer to the next token's logits */
  readonly lm_head: Linear;
  readonly store: ParamStore;
  /** it reads the last `context` tokens of any history itself: sampling keeps no window */
  readonly contextLimit = Number.POSITIVE_INFINITY;

  constructor(config: MLPConfig, backend: Backend, opts: ModelOptions = {}) {
    const dtype: DType = opts.dtype ?? 'float32';
    super(backend, dtype);
    this.config = config;
    const { vocabSize: V, context: n, nEmbd: C, nHidden: H } = config;
    this.wte = this.child('wte', new Embedding(backend, dtype, V + 1, C));
    this.hidden = this.child('hidden', new Linear(backend, dtype, n * C, H, true));
    this.lm_head = this.child('lm_head', new Linear(backend, dtype, H, V, true));
    this.store = new ParamStore(backend, dtype, this.namedParameters(), opts.grads ?? true);
    if (opts.init !== false) this.initWeights(new Rng(opts.seed ?? 1337));
  }

  /**
   * idx (B, T) int32; with targets (B, T) also the mean cross-entropy. Position t reads tokens
   * t - context + 1 .. t of its window (the padding row where those fall before the window).
   * Without targets only the last position's logits (B, 1, V).
   */
  forward(
    idx: Tensor,
    targets: Tensor | null,
    _ctx: ForwardContext = evalContext(),
  ): { logits: Tensor; loss: Tensor | null } {
    checkTokens('MLPModel', idx);
    const { vocabSize: V, context: n, nEmbd: C } = this.config;
    const [b, t] = idx.shape as [number, number];
    let windows = F.contextWindows(idx, n, V); // (B, T, n): the n token ids ending at each position
    if (!targets) windows = F.narrow(windows, 1, t - 1, 1); // (B, 1, n): the last position's only
    const tn = windows.dim(1);
    const emb = this.wte.forward(windows); // (B, T, n, C)
    const x = F.reshape(emb, [b, tn, n * C]); // (B, T, n*C): the window's embeddings side by side
    const h = F.tanh(this.hidden.forward(x)); // (B, T, H)
    const logits = this.lm_head.forward(h); // (B, T, V)
    return { logits, loss: targets ? F.crossEntropy(logits, targets) : null };
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
   * Embeddings N(0, 1); the hidden weights N(0, (5/3) / sqrt(fan_in)), which keeps tanh's inputs
   * near unit variance (5/3 is tanh's gain) so it neither saturates nor stays linear; the output
   * layer small (N(0, 0.01)), so the first guesses are near uniform (loss ~ ln V); biases zero.
   */
  private initWeights(rng: Rng): void {
    const { context: n, nEmbd: C } = this.config;
    const std: Record<string, number> = {
      'wte.weight': 1,
      'hidden.weight': 5 / 3 / Math.sqrt(n * C),
      'lm_head.weight': 0.01,
    };
    for (const [name, p] of this.store.params) {
      const s = std[name] ?? 0;
      for (let i = 0; i < p.size; i++) p.data[i] = s === 0 ? 0 : rng.normal() * s;
    }
  }
}
