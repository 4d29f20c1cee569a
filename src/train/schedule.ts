// The learning-rate schedule: linear warm-up, then (lrSchedule) nanoGPT's cosine decay to minLr,
// a linear decay to minLr, or warmup-stable-decay (constant, then a linear cool-down over the
// last cooldownFrac of lrDecayIters: "trapezoidal"); minLr after lrDecayIters.
// Warm-up keeps Adam's first steps small while its moment estimates are still noisy; a decay
// at the end anneals away the noise of the last steps, which a constant rate keeps.

import type { TrainConfig } from './config.js';

/** Learning rate at optimizer step `it` (0-based). @example lrAt(0, cfg) // lr / (warmup + 1) */
export function lrAt(
  it: number,
  c: Pick<TrainConfig, 'learningRate' | 'minLr' | 'warmupIters' | 'lrDecayIters'> &
    Partial<Pick<TrainConfig, 'lrSchedule' | 'cooldownFrac'>>,
): number {
  if (it < c.warmupIters) return (c.learningRate * (it + 1)) / (c.warmupIters + 1);
  if (it > c.lrDecayIters) return c.minLr;
  const schedule = c.lrSchedule ?? 'cosine';
  if (schedule === 'wsd') {
    const cooldown = (c.cooldownFrac ?? 0.2) * c.lrDecayIters;
    const left = c.lrDecayIters - it; // steps to the end of the decay
    if (left >= cooldown) return c.learningRate;
    return c.minLr + (left / cooldown) * (c.learningRate - c.minLr);
  }
  const span = c.lrDecayIters - c.warmupIters;
  const ratio = span > 0 ? (it - c.warmupIters) / span : 1;
  // cosine: 1 -> 0 along half a period; linear: 1 -> 0 in a straight line
  const coeff = schedule === 'linear' ? 1 - ratio : 0.5 * (1 + Math.cos(Math.PI * ratio));
  return c.minLr + coeff * (c.learningRate - c.minLr);
}
