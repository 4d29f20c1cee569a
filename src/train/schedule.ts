// The learning-rate schedule of nanoGPT: linear warm-up, then cosine decay to minLr, then flat.
// Warm-up keeps Adam's first steps small while its moment estimates are still noisy.

import type { TrainConfig } from './config.js';

/** Learning rate at optimizer step `it` (0-based). @example lrAt(0, cfg) // lr / (warmup + 1) */
export function lrAt(
  it: number,
  c: Pick<TrainConfig, 'learningRate' | 'minLr' | 'warmupIters' | 'lrDecayIters'>,
): number {
  if (it < c.warmupIters) return (c.learningRate * (it + 1)) / (c.warmupIters + 1);
  if (it > c.lrDecayIters) return c.minLr;
  const span = c.lrDecayIters - c.warmupIters;
  const ratio = span > 0 ? (it - c.warmupIters) / span : 1;
  const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio)); // 1 -> 0
  return c.minLr + coeff * (c.learningRate - c.minLr);
}
