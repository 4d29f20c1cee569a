// Turning logits into the next token: greedy, temperature, top-k and top-p (nucleus) sampling,
// composable in that order, plus a repetition penalty; and the autoregressive loop that feeds
// each new token back in, for any LanguageModel: moving GPT's context window on once it exceeds
// blockSize; a recurrent model carries its state token by token, with no window.

import { noGrad } from '../autograd/engine.js';
import { TsgptError } from '../errors.js';
import type { LanguageModel } from '../model/language-model.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';

export interface SampleOptions {
  /** divide logits by this; < 1 sharpens, > 1 flattens (0 behaves as greedy) */
  temperature: number;
  /** keep only the k most likely tokens (0 = all) */
  topK: number;
  /** keep the smallest set of tokens whose probability reaches p (1 = all) */
  topP: number;
  /** always take the most likely token */
  greedy: boolean;
  /** > 1 makes tokens already in the context less likely (CTRL's penalty; 1 = off) */
  repetitionPenalty: number;
}

export const DEFAULT_SAMPLING: SampleOptions = {
  temperature: 0.8,
  topK: 200,
  topP: 1,
  greedy: false,
  repetitionPenalty: 1,
};

export function validateSampling(o: SampleOptions): void {
  const bad = (m: string) => new TsgptError(`sampling: ${m}`);
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature))
    throw bad(`temperature must be >= 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0)
    throw bad(`top-k must be a non-negative integer, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw bad(`top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.repetitionPenalty >= 1)) throw bad(`repetition penalty must be >= 1, got ${o.repetitionPenalty}`);
}

/** Index of the largest value. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * The candidates pickToken draws from, best first, with unnormalised weights exp(z - max) and
 * their total: after the repetition penalty, the temperature, top-k and top-p.
 */
function candidates(
  logits: ArrayLike<number>,
  context: readonly number[],
  o: SampleOptions,
): { ids: number[]; weights: number[]; total: number } {
  const v = logits.length;
  const z = Float64Array.from(logits);
  if (o.repetitionPenalty !== 1)
    for (const id of new Set(context))
      z[id] = z[id]! > 0 ? z[id]! / o.repetitionPenalty : z[id]! * o.repetitionPenalty;
  if (o.greedy || o.temperature === 0) return { ids: [argmax(z)], weights: [1], total: 1 };
  for (let i = 0; i < v; i++) z[i] = z[i]! / o.temperature;
  // candidates sorted by logit, best first; top-k and top-p cut this list
  let order = Array.from({ length: v }, (_, i) => i).sort((a, b) => z[b]! - z[a]!);
  if (o.topK > 0 && o.topK < v) order = order.slice(0, o.topK);
  const max = z[order[0]!]!;
  const probs = order.map((i) => Math.exp(z[i]! - max));
  let total = probs.reduce((s, p) => s + p, 0);
  if (o.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && cum < o.topP * total) cum += probs[keep++]!;
    order = order.slice(0, keep);
    probs.length = keep;
    total = cum;
  }
  return { ids: order, weights: probs, total };
}

/**
 * The distribution the next token is drawn from, given one row of logits (V): the candidates
 * left after the repetition penalty, temperature, top-k and top-p, best first, with their
 * probabilities (summing to 1). Greedy, or temperature 0: the most likely token alone.
 * @example samplingDistribution(logits, [], { ...DEFAULT_SAMPLING, topK: 3 }) // 3 ids and probs
 */
export function samplingDistribution(
  logits: ArrayLike<number>,
  context: readonly number[],
  o: SampleOptions,
): { ids: number[]; probs: number[] } {
  const { ids, weights, total } = candidates(logits, context, o);
  return { ids, probs: weights.map((w) => w / total) };
}

/**
 * Picks the next token from one row of logits (V). `context` is only read by the repetition
 * penalty. @example pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 10 }, rng)
 */
export function pickToken(
  logits: ArrayLike<number>,
  context: readonly number[],
  o: SampleOptions,
  rng: Rng,
): number {
  const { ids, weights, total } = candidates(logits, context, o);
  if (o.greedy || o.temperature === 0) return ids[0]!; // the argmax; no random draw
  let r = rng.uniform() * total;
  for (let i = 0; i < ids.length; i++) {
    r -= weights[i]!;
    if (r < 0) return ids[i]!;
  }
  return ids[ids.length - 1]!;
}

/**
 * How the context window moves once the sequence outgrows blockSize:
 *  - 'half' (default): it jumps forward to keep the newest half, so that a KV cache is refilled
 *    once per blockSize/2 tokens instead of at every step (the context is then blockSize/2 to
 *    blockSize tokens long);
 *  - 'crop': nanoGPT's `idx[:, -block_size:]`, always the newest blockSize tokens. A KV cache
 *    cannot slide along with it, not even with rotary positions: past the first layer a cached
 *    key was computed from the context its token had then, which reached further back than the
 *    cropped window (RoPE makes the first layer's keys reusable, no more). So past blockSize the
 *    cached path refills the whole window at every token, as the uncached one computes it.
 * Both the cached and the uncached paths use the same window, so they produce the same tokens.
 */
export type WindowPolicy = 'half' | 'crop';

/** Where the model's context window starts (see WindowPolicy). */
export function windowStart(
  length: number,
  start: number,
  blockSize: number,
  policy: WindowPolicy = 'half',
): number {
  if (length - start <= blockSize) return start;
  if (policy === 'crop') return length - blockSize;
  return length - Math.max(1, Math.floor(blockSize / 2));
}

export interface GenerateOptions {
  /** reuse keys and values of earlier positions (default true); false recomputes the window */
  cache?: boolean;
  /** how the window moves past blockSize (default 'half'; see WindowPolicy) */
  window?: WindowPolicy;
  /**
   * Shown each step's logits (V) and the context they continue, before the token is picked
   * (e.g. to display the candidates); the array is only valid during the call.
   */
  onLogits?: (logits: ArrayLike<number>, context: readonly number[]) => void;
}

/**
 * Generates maxNewTokens tokens after prompt, calling onToken with each as it is chosen
 * (return false to stop early). The model sees at most model.contextLimit tokens (GPT's
 * blockSize; see windowStart); one with no limit (an RNN) sees them all. With the cache (the
 * model's decode state: GPT's KV cache, an RNN's hidden state) each step feeds only the new token.
 * @example generate(model, tok.encode('ROMEO:'), 100, DEFAULT_SAMPLING, new Rng(1), (id) => print(id))
 */
export function generate(
  model: LanguageModel,
  prompt: readonly number[],
  maxNewTokens: number,
  o: SampleOptions,
  rng: Rng,
  // biome-ignore lint/suspicious/noConfusingVoidType: a plain `(id) => {}` callback is allowed
  onToken: (id: number) => void | boolean,
  g: GenerateOptions = {},
): number[] {
  if (prompt.length === 0) throw new TsgptError('generate: the prompt has no tokens');
  const tokens = [...prompt];
  const T = model.contextLimit;
  const cache = (g.cache ?? true) && model.newCache ? model.newCache(1) : null;
  let start = Math.max(0, tokens.length - T);
  let fed = start; // tokens[start, fed) are in the cache
  try {
    noGrad(() => {
      for (let i = 0; i < maxNewTokens; i++) {
        const s = windowStart(tokens.length, start, T, g.window);
        if (s !== start) {
          start = s;
          fed = s;
          cache?.reset();
        }
        const logits = tidy(() => {
          const from = cache ? fed : start;
          const idx = new Tensor(model.backend, [1, tokens.length - from], 'int32');
          idx.data.set(tokens.slice(from));
          return cache ? model.forwardCached!(idx, cache) : model.forward(idx, null).logits; // (1, 1, V)
        });
        fed = tokens.length;
        const context = tokens.slice(start);
        g.onLogits?.(logits.data, context);
        const next = pickToken(logits.data, context, o, rng);
        logits.dispose();
        tokens.push(next);
        if (onToken(next) === false) break;
      }
    });
  } finally {
    cache?.dispose();
  }
  return tokens.slice(prompt.length);
}
