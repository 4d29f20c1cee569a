// LanguageModel: what every model here (GPT, and the bigram, MLP, RNN, LSTM and GRU before it)
// offers the rest of tsgpt, so that training, the compiled step, sampling, evaluation and
// checkpoints treat them all alike: a forward pass to logits and a loss, parameters in one
// ParamStore under their names, and (optionally) a state for generating token by token.
// Plus the plain helpers the models share for that. Not here: any model (gpt.ts, bigram.ts,
// mlp.ts, rnn.ts) or choosing one by name (models.ts).

import type { Backend, DType, FloatArray } from '../backend/backend.js';
import { CheckpointError, ShapeError, shapeStr } from '../errors.js';
import type { ForwardContext, ParamStore } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Arch, ModelConfig } from './config.js';

/** What a model keeps between calls when it generates token by token (GPT: a KV cache). */
export interface DecodeState {
  /** forget everything (start a new sequence) */
  reset(): void;
  /** release the state's memory */
  dispose(): void;
}

/** A parameter as a checkpoint holds it: a shape and its values. */
export interface NamedTensor {
  shape: readonly number[];
  data: FloatArray;
}

export interface LanguageModel {
  readonly arch: Arch;
  readonly backend: Backend;
  readonly dtype: DType;
  /** the model's keys (vocabSize, blockSize, and the architecture's own) */
  readonly config: ModelConfig;
  /** all parameters and gradients, in two flat buffers */
  readonly store: ParamStore;
  /**
   * The most tokens forward() and forwardCached() take in one sequence: GPT's blockSize.
   * Infinity for a model that carries all it remembers in a state (the RNNs) or reads a fixed
   * window of the last tokens itself (bigram, MLP): sampling then never moves a window.
   */
  readonly contextLimit: number;
  /**
   * idx (B, T) int32 token ids -> logits (B, T, V), and with targets (B, T) the mean
   * cross-entropy loss. Without targets only the last position's logits (B, 1, V).
   */
  forward(idx: Tensor, targets: Tensor | null, ctx?: ForwardContext): { logits: Tensor; loss: Tensor | null };
  /** An empty state for generating b sequences token by token (absent: sampling reruns forward). */
  newCache?(b: number): DecodeState;
  /**
   * The tokens after those the state has seen (B, Tn) -> the last position's logits (B, 1, V),
   * equal to forward() on the whole sequence; the state moves on past them. Call under noGrad.
   */
  forwardCached?(idx: Tensor, cache: DecodeState): Tensor;
  numParams(): number;
  /** Parameters by name (views into the flat buffer). */
  stateDict(): Map<string, NamedTensor>;
  /** Copies weights in by name; every parameter must be present with the right shape. */
  loadStateDict(dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>): void;
}

/** What the models' constructors take besides their config and backend (as GPTOptions). */
export interface ModelOptions {
  dtype?: DType;
  /** seed of the weight initialisation */
  seed?: number;
  /** false: leave the weights at zero (they are about to be loaded) */
  init?: boolean;
  /** false: weights only, no gradient buffer (sampling, evaluation) */
  grads?: boolean;
}

/** A store's parameters by name, as views. */
export function stateDictOf(store: ParamStore): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of store.params) out.set(name, { shape: t.shape, data: t.f });
  return out;
}

/** Copies dict into store by name: every parameter present with its shape, nothing else. */
export function loadStateDictInto(
  store: ParamStore,
  dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>,
): void {
  for (const [name, t] of store.params) {
    const src = dict.get(name);
    if (!src) throw new CheckpointError(`weights: missing tensor ${name}`);
    if (shapeStr(src.shape) !== shapeStr(t.shape))
      throw new CheckpointError(
        `weights: ${name} has shape ${shapeStr(src.shape)}, the config needs ${shapeStr(t.shape)}`,
      );
  }
  for (const name of dict.keys())
    if (!store.params.has(name)) throw new CheckpointError(`weights: unexpected tensor ${name}`);
  for (const [name, t] of store.params) t.data.set(dict.get(name)!.data);
}

/** Throws ShapeError unless idx is (B, T) int32 with T >= 1. */
export function checkTokens(model: string, idx: Tensor): void {
  if (idx.ndim !== 2 || idx.dtype !== 'int32' || idx.dim(1) < 1)
    throw new ShapeError(
      `${model}.forward: idx ${shapeStr(idx.shape)} ${idx.dtype}: need (B, T) int32, T >= 1`,
    );
}
