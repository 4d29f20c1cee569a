// KVCache: the keys and values every layer has already computed, so that generating one more
// token only runs the new position through the model instead of the whole context again.
// Laid out (B, NH, maxT, HS) per layer, so each head's keys are one contiguous (T, HS) matrix
// that a batched matmul reads directly.

import type { Backend, DType, FloatArray } from '../backend/backend.js';

export class KVCache {
  readonly k: FloatArray[];
  readonly v: FloatArray[];
  /** positions filled so far */
  length = 0;

  constructor(
    readonly backend: Backend,
    dtype: DType,
    readonly nLayer: number,
    readonly batch: number,
    readonly nHead: number,
    readonly headSize: number,
    /** capacity in positions (the model's blockSize) */
    readonly maxT: number,
  ) {
    const size = batch * nHead * maxT * headSize;
    this.k = Array.from({ length: nLayer }, () => backend.alloc(dtype, size) as FloatArray);
    this.v = Array.from({ length: nLayer }, () => backend.alloc(dtype, size) as FloatArray);
  }

  /** Forgets everything (the context window moved). */
  reset(): void {
    this.length = 0;
  }

  dispose(): void {
    for (const a of [...this.k, ...this.v]) this.backend.free(a);
  }
}

/** Which cache and layer an attention call reads and appends to. */
export interface LayerCache {
  cache: KVCache;
  layer: number;
}
