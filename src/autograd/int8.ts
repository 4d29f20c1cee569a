// int8 weights for inference: which weight tensors have an int8 twin (src/backend/int8.ts), and
// the two ops that use one: the linear layer (the backend's linearInt8) and the embedding lookup
// (rows dequantized: a token's embedding is one row of the same int8 matrix the tied output
// layer scores with). ops.ts's linear and embedding turn to these when their weight has a twin,
// so a model runs int8 without changing a line of its forward. Not here: which weights a model
// quantizes (src/model/quantize.ts). No gradients: an int8 weight cannot be trained.

import type { FloatArray } from '../backend/backend.js';
import { type Int8Weights, int8Values } from '../backend/int8.js';
import { ShapeError, shapeStr, TsgptError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { compute, isGradEnabled } from './engine.js';

const twins = new WeakMap<Tensor, Int8Weights>();

/** Gives weight tensor w (rows, cols) the int8 twin q: linear and embedding use q from now on. */
export function setInt8(w: Tensor, q: Int8Weights): void {
  if (w.ndim !== 2 || w.dim(0) !== q.rows || w.dim(1) !== q.cols)
    throw new ShapeError(`setInt8: weight ${shapeStr(w.shape)} vs int8 (${q.rows}, ${q.cols})`);
  twins.set(w, q);
}

/** w's int8 twin, or undefined. */
export function int8Of(w: Tensor): Int8Weights | undefined {
  return twins.get(w);
}

const NO_TRAINING =
  'int8 weights are for inference only (sampling, evaluation): train the float32 model they came from';

/** y = x @ W^T + bias with W int8 (x quantized per row on the fly). x (..., C) -> (..., OC). */
export function linearInt8(x: Tensor, q: Int8Weights, bias: Tensor | null): Tensor {
  const be = x.backend;
  if (isGradEnabled() && (x.requiresGrad || bias?.requiresGrad)) throw new TsgptError(NO_TRAINING);
  if (!be.linearInt8) throw new TsgptError(`the ${be.name} backend has no int8 linear layer`);
  const c = x.dim(-1);
  if (c !== q.cols)
    throw new ShapeError(`linear (int8): x ${shapeStr(x.shape)} @ w^T with w (${q.rows}, ${q.cols})`);
  const n = x.size / c;
  const out = new Tensor(be, [...x.shape.slice(0, -1), q.rows], x.dtype);
  const b: FloatArray | null = bias ? bias.f : null;
  compute(() => be.linearInt8!(out.f, x.f, q, b, n));
  return out;
}

/** Rows `ids` (...) of the int8 table (V, C), dequantized: (..., C). */
export function embeddingInt8(q: Int8Weights, ids: Tensor, backend: Tensor['backend']): Tensor {
  if (ids.dtype !== 'int32') throw new ShapeError(`embedding (int8): ids must be int32, got ${ids.dtype}`);
  const { rows: v, cols: c } = q;
  const out = new Tensor(backend, [...ids.shape, c], 'float32');
  const idArr = ids.data as Int32Array;
  compute(() => {
    const bytes = int8Values(q);
    const o = out.f;
    for (let i = 0; i < idArr.length; i++) {
      const id = idArr[i]!;
      if (id < 0 || id >= v)
        throw new ShapeError(`embedding: id ${id} at position ${i} out of range [0, ${v})`);
      const s = q.scales[id]!;
      for (let j = 0; j < c; j++) o[i * c + j] = bytes[id * c + j]! * s;
    }
  });
  return out;
}
