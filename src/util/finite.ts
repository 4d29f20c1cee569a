// Finding NaN and infinite values in float32 weights, fast enough to run on every checkpoint
// load (GPT-2 124M: 124 million values). A weight file with one is damaged (flipped bits) or
// comes from a run that diverged; loading it would only print NaN losses and empty samples.
// Pure: no Node, no backend.

/**
 * Index of the first NaN or ±Infinity in `a`, or -1. It reads the bits through an Int32Array
 * view of the same memory (a float32 is non-finite exactly when its 8 exponent bits are all
 * ones) so the loop is integer work that V8 compiles tight: ~1-3 ns a value on one core,
 * against a file read of about the same cost.
 * @example firstNonFinite(new Float32Array([1, NaN, 2])) // 1
 */
export function firstNonFinite(a: Float32Array): number {
  const bits = new Int32Array(a.buffer, a.byteOffset, a.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** The first non-finite value among named arrays: the name, the index and the value, or null. */
export function findNonFinite(
  arrays: Iterable<readonly [string, Float32Array]>,
): { name: string; index: number; value: number } | null {
  for (const [name, a] of arrays) {
    const i = firstNonFinite(a);
    if (i >= 0) return { name, index: i, value: a[i]! };
  }
  return null;
}
