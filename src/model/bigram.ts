// Bigram: the simplest language model. The next token depends on the current one only, so all
// it knows is a V x V table: row a holds the logits of every token that may follow a. Trained by
// gradient descent like every model here, it starts at zeros (every next token equally likely:
// loss ln V) and ends near the table counting gives directly: log of how often b followed a
// (countingSolution, the maximum-likelihood answer that gradient descent only approaches).
// Not here: any context beyond one token (mlp.ts reads a window, rnn.ts a whole history).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import { Embedding } from '../nn/layers.js';
import { evalContext, type ForwardContext, Module, ParamStore } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BigramConfig } from './config.js';
import {
  checkTokens,
  type LanguageModel,
  loadStateDictInto,
  type ModelOptions,
  type NamedTensor,
  stateDictOf,
} from './language-model.js';

export class Bigram extends Module implements LanguageModel {
  readonly arch = 'bigram';
  readonly config: BigramConfig;
  /** the table (V, V): row = this token, columns = the next token's logits */
  readonly wte: Embedding;
  readonly store: ParamStore;
  /** it reads one token: any history works, sampling keeps no window */
  readonly contextLimit = Number.POSITIVE_INFINITY;

  constructor(config: BigramConfig, backend: Backend, opts: ModelOptions = {}) {
    const dtype: DType = opts.dtype ?? 'float32';
    super(backend, dtype);
    this.config = config;
    this.wte = this.child('wte', new Embedding(backend, dtype, config.vocabSize, config.vocabSize));
    // all zeros (the store starts zeroed): a uniform guess, which the data then fills in
    this.store = new ParamStore(backend, dtype, this.namedParameters(), opts.grads ?? true);
  }

  /**
   * idx (B, T) int32; with targets (B, T) also the mean cross-entropy. Without targets only the
   * last token's row (B, 1, V): all the model needs to pick the next one.
   */
  forward(
    idx: Tensor,
    targets: Tensor | null,
    _ctx: ForwardContext = evalContext(),
  ): { logits: Tensor; loss: Tensor | null } {
    checkTokens('Bigram', idx);
    if (targets) {
      const logits = this.wte.forward(idx); // (B, T, V): each token's row of the table
      return { logits, loss: F.crossEntropy(logits, targets) };
    }
    const last = F.narrow(idx, 1, idx.dim(1) - 1, 1); // (B, 1)
    return { logits: this.wte.forward(last), loss: null }; // (B, 1, V)
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
}

/**
 * The table a bigram model is after, counted instead of learned: logits[a, b] =
 * log((count(a -> b) + smoothing) / (count(a) + smoothing V)), the log-probability of b after a
 * with add-`smoothing` (Laplace) smoothing so that a pair never seen is unlikely, not
 * impossible. Load it as the weights of a Bigram (`wte.weight`) to evaluate it like any model.
 * @example model.loadStateDict(new Map([['wte.weight', { shape: [V, V], data: countingSolution(train, V) }]]))
 */
export function countingSolution(tokens: ArrayLike<number>, vocabSize: number, smoothing = 1): Float64Array {
  const V = vocabSize;
  const counts = new Float64Array(V * V);
  for (let i = 0; i + 1 < tokens.length; i++) counts[tokens[i]! * V + tokens[i + 1]!]! += 1;
  const table = new Float64Array(V * V);
  for (let a = 0; a < V; a++) {
    let row = 0;
    for (let b = 0; b < V; b++) row += counts[a * V + b]!;
    const denom = row + smoothing * V;
    for (let b = 0; b < V; b++) table[a * V + b] = Math.log((counts[a * V + b]! + smoothing) / denom);
  }
  return table;
}
