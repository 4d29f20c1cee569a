// The basic layers: Linear, Embedding, LayerNorm, RMSNorm. Each is its parameters plus a one-line
// forward over the autograd ops. Weights use PyTorch's layout (Linear weight is (out, in)).

import * as F from '../autograd/ops.js';
import type { Backend, DType } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Init, Module } from './module.js';

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** y = x @ weight^T + bias; weight (nOut, nIn) */
  constructor(backend: Backend, dtype: DType, nIn: number, nOut: number, bias: boolean, std = 0.02) {
    super(backend, dtype);
    this.weight = this.param('weight', [nOut, nIn], { normal: std } satisfies Init);
    this.bias = bias ? this.param('bias', [nOut], 'zeros') : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias); // (..., nIn) -> (..., nOut)
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  /** a lookup table of n vectors of size dim, initialised N(0, std) */
  constructor(backend: Backend, dtype: DType, n: number, dim: number, std = 0.02) {
    super(backend, dtype);
    this.weight = this.param('weight', [n, dim], { normal: std });
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(this.weight, ids); // (...) -> (..., dim)
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** normalises each row to mean 0, variance 1, then scales and shifts (optional bias) */
  constructor(backend: Backend, dtype: DType, dim: number, bias: boolean) {
    super(backend, dtype);
    this.weight = this.param('weight', [dim], 'ones');
    this.bias = bias ? this.param('bias', [dim], 'zeros') : null;
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.weight, this.bias, 1e-5);
  }
}

export class RMSNorm extends Module {
  readonly weight: Tensor;
  /** scales each row to root-mean-square 1, then by a learned gain (no mean, no bias) */
  constructor(backend: Backend, dtype: DType, dim: number) {
    super(backend, dtype);
    this.weight = this.param('weight', [dim], 'ones');
  }
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.weight, 1e-5);
  }
}
