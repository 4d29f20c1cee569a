// Random training windows, nanoGPT's get_batch: B offsets drawn from the seeded Rng, x the
// T tokens at each offset and y the same window shifted by one (the next-token targets).
// Also the one rule for how many tokens windows of T need (minTokens). Pure; `fillBatch`
// writes into caller-owned buffers so the training loop allocates nothing.

import { DataError, ShapeError } from '../errors.js';
import type { Rng } from '../util/rng.js';

/**
 * The fewest tokens that hold one window of blockSize: blockSize inputs and, shifted by one,
 * blockSize targets, so blockSize + 1. The one rule for every use: training batches (fillBatch),
 * the trainer's check of both splits, evaluation (evaluateTokens) and prepareDataset's least
 * split (a window of 1: one (x, y) pair).
 * @example minTokens(64) // 65
 */
export function minTokens(blockSize: number): number {
  return blockSize + 1;
}

/**
 * Throws DataError unless n tokens hold a window of blockSize (see minTokens). `what` names the
 * tokens in the message ("the val split"): `the val split: 40 tokens are too few for blockSize
 * 64: a window needs 65 (more text, or a smaller blockSize)`.
 */
export function checkTokenCount(n: number, blockSize: number, what?: string): void {
  if (n >= minTokens(blockSize)) return;
  throw new DataError(
    `${what === undefined ? '' : `${what}: `}${n} tokens are too few for blockSize ${blockSize}: ` +
      `a window needs ${minTokens(blockSize)} (more text, or a smaller blockSize)`,
  );
}

/** A batch of B windows of T token ids, row-major (B, T). */
export interface Batch {
  x: Int32Array; // (B, T) inputs
  y: Int32Array; // (B, T) targets: y[b, t] = tokens[offset_b + t + 1]
}

/**
 * Fill preallocated x and y (each batchSize*blockSize long) with random windows of `tokens`.
 * Draws exactly batchSize numbers from `rng`, one offset per row, in row order.
 * @example
 * const x = new Int32Array(B * T), y = new Int32Array(B * T);
 * for (let step = 0; step < iters; step++) { fillBatch(x, y, train, B, T, rng); ... }
 */
export function fillBatch(
  x: Int32Array,
  y: Int32Array,
  tokens: ArrayLike<number>,
  batchSize: number,
  blockSize: number,
  rng: Rng,
): void {
  const B = batchSize;
  const T = blockSize;
  if (!(Number.isSafeInteger(B) && B > 0 && Number.isSafeInteger(T) && T > 0))
    throw new ShapeError(`fillBatch: batchSize ${B} and blockSize ${T} must be positive integers`);
  if (x.length !== B * T || y.length !== B * T)
    throw new ShapeError(
      `fillBatch: x has ${x.length} and y ${y.length} elements, need B*T = ${B}*${T} = ${B * T}`,
    );
  const n = tokens.length;
  checkTokenCount(n, T);
  for (let b = 0; b < B; b++) {
    const i = rng.int(n - T); // offsets in [0, n-T): the target window ends at most at token n-1
    const row = b * T;
    for (let t = 0; t < T; t++) {
      x[row + t] = tokens[i + t]!;
      y[row + t] = tokens[i + t + 1]!;
    }
  }
}

/** A fresh batch of random windows (allocates; see `fillBatch` for the training loop). */
export function getBatch(tokens: ArrayLike<number>, batchSize: number, blockSize: number, rng: Rng): Batch {
  const n = batchSize * blockSize;
  const x = new Int32Array(Number.isSafeInteger(n) && n > 0 ? n : 0); // bad sizes: fillBatch says why
  const y = new Int32Array(x.length);
  fillBatch(x, y, tokens, batchSize, blockSize, rng);
  return { x, y };
}
