// Shared test helpers: seeded random tensors and a central finite-difference gradient check.

import * as assert from 'node:assert/strict';
import { backward, disposeGraph } from '../src/autograd/engine.js';
import * as F from '../src/autograd/ops.js';
import type { Backend, DType } from '../src/backend/backend.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';
import { Rng } from '../src/util/rng.js';

export function randn(
  be: Backend,
  shape: readonly number[],
  rng: Rng,
  dtype: DType = 'float64',
  scale = 1,
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    be,
    Array.from({ length: n }, () => rng.normal() * scale),
    shape,
    dtype,
    true,
  );
}

export function randInts(be: Backend, shape: readonly number[], hi: number, rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    be,
    Array.from({ length: n }, () => rng.int(hi)),
    shape,
    'int32',
  );
}

/**
 * Checks analytic gradients of f at inputs against central differences
 * (f(x + h) - f(x - h)) / 2h. Non-scalar outputs are reduced with fixed random weights, so
 * every element of dout is exercised. Returns the worst relative error.
 */
export function gradCheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { h?: number; tol?: number; seed?: number; maxPerInput?: number } = {},
): number {
  const h = opts.h ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const be = inputs[0]!.backend;
  const rng = new Rng(opts.seed ?? 7);
  let weights: Tensor | null = null;
  const loss = () => {
    const out = f(...inputs);
    if (out.size === 1) return out;
    weights ??= randn(be, out.shape, rng, out.dtype);
    weights.requiresGrad = false;
    return F.sum(F.mul(out, weights));
  };
  for (const x of inputs) x.grad = null;
  const l = loss();
  backward(l);
  disposeGraph(l);
  let worst = 0;
  for (const x of inputs) {
    if (!x.requiresGrad) continue;
    const analytic = x.grad ? Array.from(x.grad.data) : new Array<number>(x.size).fill(0);
    const n = x.size;
    const step = Math.max(1, Math.floor(n / (opts.maxPerInput ?? 64)));
    for (let i = 0; i < n; i += step) {
      const orig = x.data[i]!;
      x.data[i] = orig + h;
      const lp = loss().item();
      x.data[i] = orig - h;
      const lm = loss().item();
      x.data[i] = orig;
      const numeric = (lp - lm) / (2 * h);
      const a = analytic[i]!;
      const err = Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric));
      worst = Math.max(worst, err);
      assert.ok(
        err < tol,
        `grad mismatch at element ${i}: analytic ${a}, numeric ${numeric} (rel err ${err})`,
      );
    }
  }
  return worst;
}
