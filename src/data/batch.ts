// Random training windows, nanoGPT's get_batch: B offsets drawn from the seeded Rng, x the
// T tokens at each offset and y the same window shifted by one (the next-token targets).
// Pure; `fillBatch` writes into caller-owned buffers so the training loop allocates nothing.

import { DataError, ShapeError } from '../errors.js';
import type { Rng } from '../util/rng.js';

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
  if (n < T + 1)
    throw new DataError(
      `${n} tokens are too few for blockSize ${T}: a window needs ${T + 1} (use more data or a smaller blockSize)`,
    );
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
