// Turning logits into the next token: greedy, temperature, top-k and top-p (nucleus) sampling,
// composable in that order, plus a repetition penalty; and the autoregressive loop that feeds
// each new token back in, sliding the context window once it exceeds blockSize.

import { noGrad } from '../autograd/engine.js';
import { TsgptError } from '../errors.js';
import type { GPT } from '../model/gpt.js';
import { Tensor } from '../tensor/tensor.js';
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
 * Picks the next token from one row of logits (V). `context` is only read by the repetition
 * penalty. @example pickToken(logits, [], { ...DEFAULT_SAMPLING, topK: 10 }, rng)
 */
export function pickToken(
  logits: ArrayLike<number>,
  context: readonly number[],
  o: SampleOptions,
  rng: Rng,
): number {
  const v = logits.length;
  const z = Float64Array.from(logits);
  if (o.repetitionPenalty !== 1)
    for (const id of new Set(context))
      z[id] = z[id]! > 0 ? z[id]! / o.repetitionPenalty : z[id]! * o.repetitionPenalty;
  if (o.greedy || o.temperature === 0) return argmax(z);
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
  let r = rng.uniform() * total;
  for (let i = 0; i < order.length; i++) {
    r -= probs[i]!;
    if (r < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}

/**
 * Generates maxNewTokens tokens after prompt, calling onToken with each as it is chosen.
 * The model sees at most its last blockSize tokens (the context slides).
 */
export function generate(
  model: GPT,
  prompt: readonly number[],
  maxNewTokens: number,
  o: SampleOptions,
  rng: Rng,
  onToken: (id: number) => void | boolean,
): number[] {
  const tokens = [...prompt];
  const T = model.config.blockSize;
  noGrad(() => {
    for (let i = 0; i < maxNewTokens; i++) {
      const ctx = tokens.slice(-T);
      const idx = new Tensor(model.backend, [1, ctx.length], 'int32');
      idx.data.set(ctx);
      const { logits } = model.forward(idx, null); // (1, 1, V)
      const next = pickToken(logits.data, ctx, o, rng);
      logits.dispose();
      idx.dispose();
      tokens.push(next);
      if (onToken(next) === false) break;
    }
  });
  return tokens.slice(prompt.length);
}
