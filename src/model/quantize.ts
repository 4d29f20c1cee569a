// int8 models, for inference: every matrix a linear layer multiplies by (each block's c_attn,
// attn.c_proj, c_fc, mlp.c_proj) and the token embedding (also the tied output layer, GPT-2's
// biggest matrix) become int8 with one scale per output row (src/backend/int8.ts); the position
// embeddings, LayerNorms and biases stay float32 (small). The float32 copies are then dropped:
// a quarter of the memory, and a quarter of the bytes each generated token streams through.
// Not here: the kernels (src/backend/), the checkpoint format (src/train/checkpoint.ts).

import { int8Of, setInt8 } from '../autograd/int8.js';
import { type Int8Weights, int8Values, quantizeInt8 } from '../backend/int8.js';
import { CheckpointError } from '../errors.js';
import type { Int8Tensor } from '../util/safetensors.js';
import type { GPT } from './gpt.js';

/** The quantization an int8 checkpoint records (CheckpointMeta.quantization). */
export const INT8_ROWWISE = 'int8-rowwise';

/** The parameters an int8 model keeps in int8: the 2-D ones except the position embedding. */
export function int8ParamNames(model: GPT): string[] {
  const names: string[] = [];
  for (const [name, t] of model.namedParameters())
    if (t.ndim === 2 && name !== 'transformer.wpe.weight') names.push(name);
  return names;
}

/**
 * Turns `model` (float32 weights, any) into an int8 model in place: each of int8ParamNames
 * quantized and given to the ops as an int8 twin, then its float32 storage dropped. For
 * sampling and evaluation only.
 * @example quantizeModel(model); generate(model, prompt, 100, opts, rng, onToken)
 */
export function quantizeModel(model: GPT): void {
  const names = int8ParamNames(model);
  for (const name of names) {
    const t = model.namedParameters().get(name)!;
    if (int8Of(t)) throw new CheckpointError(`quantizeModel: ${name} is int8 already`);
    setInt8(t, quantizeInt8(model.backend, t.f, t.dim(0), t.dim(1)));
  }
  model.releaseParams(new Set(names));
}

/** An int8 model's int8 tensors for a checkpoint: `name` (I8, rows x cols) and `name.scale`. */
export function int8Tensors(model: GPT): Map<string, Int8Tensor | { shape: number[]; data: Float32Array }> {
  const out = new Map<string, Int8Tensor | { shape: number[]; data: Float32Array }>();
  for (const name of int8ParamNames(model)) {
    const q = int8Of(model.namedParameters().get(name)!);
    if (!q) throw new CheckpointError(`int8 checkpoint: ${name} has no int8 weights (quantizeModel first)`);
    out.set(name, { dtype: 'I8', shape: [q.rows, q.cols], data: Int8Array.from(int8Values(q)) });
    out.set(`${name}.scale`, { shape: [q.rows], data: Float32Array.from(q.scales) });
  }
  return out;
}

/**
 * Loads an int8 checkpoint's int8 tensors (int8Tensors' layout) into `model`, built without
 * those weights' values (init: false), then drops their float32 storage.
 */
export function loadInt8(
  model: GPT,
  int8: ReadonlyMap<string, Int8Tensor>,
  scales: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  source: string,
): void {
  const names = int8ParamNames(model);
  for (const name of names) {
    const t = model.namedParameters().get(name)!;
    const q = int8.get(name);
    const s = scales.get(`${name}.scale`);
    const [rows, cols] = [t.dim(0), t.dim(1)];
    if (!q || !s) throw new CheckpointError(`${source}: int8 checkpoint lacks ${q ? `${name}.scale` : name}`);
    if (q.data.length !== rows * cols || s.data.length !== rows)
      throw new CheckpointError(`${source}: ${name} is not (${rows}, ${cols}) int8 with ${rows} scales`);
    setInt8(t, fromValues(model, q.data, s.data, rows, cols));
  }
  model.releaseParams(new Set(names));
}

/** int8 weights in the backend's memory from stored values (row sums recomputed). */
function fromValues(
  model: GPT,
  values: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
): Int8Weights {
  const be = model.backend;
  const w: Int8Weights = {
    q: be.alloc('int32', Math.ceil((rows * cols) / 4)),
    scales: be.alloc('float32', rows),
    rowSums: be.alloc('int32', rows),
    rows,
    cols,
  };
  int8Values(w).set(values);
  w.scales.set(scales);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += values[r * cols + j]!;
    w.rowSums[r] = sum;
  }
  return w;
}
