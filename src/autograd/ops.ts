// The differentiable ops a GPT (and the models before it: src/model/) needs. Each op is one public function that validates its
// arguments, calls the backend's forward kernel, and (when a gradient is needed) records the
// backward closure right beside it. Imported as `F` (as in torch.nn.functional):
//   import * as F from '../autograd/ops.js';
// Not here: kernels (src/backend), parameters and modules (src/nn).

import type { Backend, BinaryOp, FloatArray, UnaryOp } from '../backend/backend.js';
import { contiguousStrides, sizeOf } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { compute, gradOf, needsGrad, record } from './engine.js';
import { embeddingInt8, int8Of, linearInt8 } from './int8.js';

function sameBackend(op: string, ...ts: readonly (Tensor | null)[]): Backend {
  const b = ts[0]!.backend;
  for (const t of ts) {
    if (t && t.backend !== b)
      throw new ShapeError(`${op}: tensors on different backends (${b.name}, ${t.backend.name})`);
    if (t && t.dtype === 'int32') throw new ShapeError(`${op}: expected float tensors, got int32`);
  }
  return b;
}

function sameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtypes differ (${a.dtype}, ${b.dtype})`);
}

/** dst += src, elementwise, same size (the "+=" of every backward). */
function accumulate(dst: Tensor, src: FloatArray): void {
  dst.backend.scale(dst.f, src, 1, true);
}

// ---------------------------------------------------------------------------------------------
// matmul and linear

/**
 * Batched matrix multiply: a (..., M, K) @ b (..., K, N) -> (..., M, N). b may also be a plain
 * (K, N) matrix shared by every batch.
 * @example F.matmul(q, kT) // (B, nh, T, hs) @ (B, nh, hs, T) -> (B, nh, T, T)
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const be = sameBackend('matmul', a, b);
  sameDType('matmul', a, b);
  if (a.ndim < 2 || b.ndim < 2)
    throw new ShapeError(`matmul: a ${shapeStr(a.shape)} @ b ${shapeStr(b.shape)}: both need >= 2 dims`);
  const m = a.dim(-2);
  const k = a.dim(-1);
  const n = b.dim(-1);
  if (b.dim(-2) !== k)
    throw new ShapeError(
      `matmul: a ${shapeStr(a.shape)} @ b ${shapeStr(b.shape)}: inner dims ${k} != ${b.dim(-2)}`,
    );
  const batchShape = a.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const bShared = b.ndim === 2;
  if (!bShared && shapeStr(b.shape.slice(0, -2)) !== shapeStr(batchShape))
    throw new ShapeError(`matmul: a ${shapeStr(a.shape)} @ b ${shapeStr(b.shape)}: batch dims differ`);
  const bStride = bShared ? 0 : k * n;
  const out = new Tensor(be, [...batchShape, m, n], a.dtype);
  // out[i] = a[i] @ b[i]
  const fwd = {
    batch,
    m,
    k,
    n,
    transA: false,
    transB: false,
    accumulate: false,
    aBatchStride: m * k,
    bBatchStride: bStride,
  };
  compute(() => be.matmul(out.f, a.f, b.f, fwd));
  if (!needsGrad(a, b)) return out;
  // da[i] += dout[i] @ b[i]^T   (M, N) @ (N, K)
  const da = {
    batch,
    m,
    k: n,
    n: k,
    transA: false,
    transB: true,
    accumulate: true,
    aBatchStride: m * n,
    bBatchStride: bStride,
  };
  // db[i] += a[i]^T @ dout[i]   (K, M) @ (M, N); a shared b sums over the batch, which is
  // one product with the batch folded into the inner dimension: (K, batch*M) @ (batch*M, N)
  const db = {
    batch: bShared ? 1 : batch,
    m: k,
    k: bShared ? batch * m : m,
    n,
    transA: true,
    transB: false,
    accumulate: true,
    aBatchStride: m * k,
    bBatchStride: m * n,
  };
  return record(out, 'matmul', [a, b], () => {
    if (a.requiresGrad) be.matmul(gradOf(a).f, out.grad!.f, b.f, da);
    if (b.requiresGrad) be.matmul(gradOf(b).f, a.f, out.grad!.f, db);
  });
}

/**
 * y = x @ w^T + bias, with w stored (OC, C) as in PyTorch's nn.Linear.
 * @example F.linear(x, w, b) // (B, T, C) -> (B, T, OC)
 */
export function linear(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const q = int8Of(w); // an int8 model (inference): the weight lives in int8 (int8.ts)
  if (q) return linearInt8(x, q, bias);
  const be = sameBackend('linear', x, w, bias);
  sameDType('linear', x, w);
  const c = x.dim(-1);
  if (w.ndim !== 2 || w.dim(1) !== c)
    throw new ShapeError(
      `linear: x ${shapeStr(x.shape)} @ w^T with w ${shapeStr(w.shape)}: need w (OC, ${c})`,
    );
  const oc = w.dim(0);
  if (bias && (bias.ndim !== 1 || bias.dim(0) !== oc))
    throw new ShapeError(`linear: bias ${shapeStr(bias.shape)} does not match OC ${oc}`);
  const n = x.size / c;
  const out = new Tensor(be, [...x.shape.slice(0, -1), oc], x.dtype);
  // out (N, OC) = x (N, C) @ w^T (C, OC) + bias
  const fwd = {
    batch: 1,
    m: n,
    k: c,
    n: oc,
    transA: false,
    transB: true,
    accumulate: false,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  compute(() => {
    be.matmul(out.f, x.f, w.f, fwd);
    if (bias) be.addBias(out.f, bias.f, n, oc);
  });
  if (!needsGrad(x, w, bias)) return out;
  // dx (N, C) += dout (N, OC) @ w (OC, C)
  const dx = {
    batch: 1,
    m: n,
    k: oc,
    n: c,
    transA: false,
    transB: false,
    accumulate: true,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  // dw (OC, C) += dout^T (OC, N) @ x (N, C)
  const dw = {
    batch: 1,
    m: oc,
    k: n,
    n: c,
    transA: true,
    transB: false,
    accumulate: true,
    aBatchStride: 0,
    bBatchStride: 0,
  };
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(out, 'linear', inputs, () => {
    const dout = out.grad!.f;
    if (x.requiresGrad) be.matmul(gradOf(x).f, dout, w.f, dx);
    if (w.requiresGrad) be.matmul(gradOf(w).f, dout, x.f, dw);
    // dbias (OC) += sum over rows of dout
    if (bias?.requiresGrad) be.biasBackward(gradOf(bias).f, dout, n, oc);
  });
}

// ---------------------------------------------------------------------------------------------
// broadcasting elementwise ops

/** Output shape of broadcasting a with b (numpy rules), and each input's strides within it. */
export function broadcastShapes(
  op: string,
  a: readonly number[],
  b: readonly number[],
): { shape: number[]; aStrides: number[]; bStrides: number[]; aPadded: number[]; bPadded: number[] } {
  const rank = Math.max(a.length, b.length);
  const aPadded = [...new Array<number>(rank - a.length).fill(1), ...a];
  const bPadded = [...new Array<number>(rank - b.length).fill(1), ...b];
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aPadded[i]!;
    const db = bPadded[i]!;
    if (da !== db && da !== 1 && db !== 1)
      throw new ShapeError(
        `${op}: a ${shapeStr(a)} and b ${shapeStr(b)} do not broadcast (dim ${i}: ${da} vs ${db})`,
      );
    shape.push(Math.max(da, db));
  }
  const as = contiguousStrides(aPadded);
  const bs = contiguousStrides(bPadded);
  const aStrides = aPadded.map((d, i) => (d === 1 ? 0 : as[i]!));
  const bStrides = bPadded.map((d, i) => (d === 1 ? 0 : bs[i]!));
  return { shape, aStrides, bStrides, aPadded, bPadded };
}

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const be = sameBackend(op, a, b);
  sameDType(op, a, b);
  const { shape, aStrides, bStrides, aPadded, bPadded } = broadcastShapes(op, a.shape, b.shape);
  const out = new Tensor(be, shape, a.dtype);
  const outStrides = contiguousStrides(shape);
  compute(() => be.binary(op, out.f, a.f, b.f, shape, aStrides, bStrides));
  if (!needsGrad(a, b)) return out;
  // d(input) = sumTo(local gradient), reducing the dims that were broadcast
  const reduceInto = (t: Tensor, padded: readonly number[], g: FloatArray) => {
    if (t.size === out.size) accumulate(gradOf(t), g);
    else be.sumTo(gradOf(t).f, g, shape, padded);
  };
  // scratch for the local gradients, allocated once (freed with the graph); a + b needs none
  const tmp = op === 'add' ? null : (be.alloc(out.dtype, out.size) as FloatArray);
  return record(
    out,
    op,
    [a, b],
    () => {
      const dout = out.grad!.f;
      if (!tmp) {
        // out = a + b: da += dout; db += dout
        if (a.requiresGrad) reduceInto(a, aPadded, dout);
        if (b.requiresGrad) reduceInto(b, bPadded, dout);
      } else if (op === 'sub') {
        // out = a - b: da += dout; db += -dout
        if (a.requiresGrad) reduceInto(a, aPadded, dout);
        if (b.requiresGrad) {
          be.scale(tmp, dout, -1, false);
          reduceInto(b, bPadded, tmp);
        }
      } else if (op === 'mul') {
        // out = a * b: da += dout * b; db += dout * a
        if (a.requiresGrad) {
          be.binary('mul', tmp, dout, b.f, shape, outStrides, bStrides);
          reduceInto(a, aPadded, tmp);
        }
        if (b.requiresGrad) {
          be.binary('mul', tmp, dout, a.f, shape, outStrides, aStrides);
          reduceInto(b, bPadded, tmp);
        }
      } else {
        // out = a / b: da += dout / b; db += -dout * out / b
        if (a.requiresGrad) {
          be.binary('div', tmp, dout, b.f, shape, outStrides, bStrides);
          reduceInto(a, aPadded, tmp);
        }
        if (b.requiresGrad) {
          be.binary('mul', tmp, dout, out.f, shape, outStrides, outStrides);
          be.binary('div', tmp, tmp, b.f, shape, outStrides, bStrides);
          be.scale(tmp, tmp, -1, false);
          reduceInto(b, bPadded, tmp);
        }
      }
    },
    tmp ? [tmp] : [],
  );
}

/** a + b with broadcasting. @example F.add(tokEmb, posEmb) // (B,T,C) + (T,C) */
export const add = (a: Tensor, b: Tensor): Tensor => binaryOp('add', a, b);
/** a - b with broadcasting. */
export const sub = (a: Tensor, b: Tensor): Tensor => binaryOp('sub', a, b);
/** a * b with broadcasting. */
export const mul = (a: Tensor, b: Tensor): Tensor => binaryOp('mul', a, b);
/** a / b with broadcasting. */
export const div = (a: Tensor, b: Tensor): Tensor => binaryOp('div', a, b);

/** x * s for a plain number s. */
export function scale(x: Tensor, s: number): Tensor {
  const be = sameBackend('scale', x);
  const out = new Tensor(be, x.shape, x.dtype);
  compute(() => be.scale(out.f, x.f, s, false));
  if (!needsGrad(x)) return out;
  // dx += dout * s
  return record(out, 'scale', [x], () => be.scale(gradOf(x).f, out.grad!.f, s, true));
}

function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  const be = sameBackend(op, x);
  const out = new Tensor(be, x.shape, x.dtype);
  compute(() => be.unary(op, out.f, x.f));
  if (!needsGrad(x)) return out;
  // dx += f'(x) * dout
  return record(out, op, [x], () => be.unaryBackward(op, gradOf(x).f, x.f, out.f, out.grad!.f));
}

/** Exact GELU, x * Phi(x) (nanoGPT's default). */
export const gelu = (x: Tensor): Tensor => unaryOp('gelu', x);
/** GPT-2's tanh approximation of GELU ("gelu_new" in Hugging Face). */
export const geluTanh = (x: Tensor): Tensor => unaryOp('gelu_tanh', x);
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
/** ReLU squared, max(x, 0)^2 (Primer; the modded-nanogpt speedrun's MLP activation). */
export const relu2 = (x: Tensor): Tensor => unaryOp('relu2', x);
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
export const log = (x: Tensor): Tensor => unaryOp('log', x);
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
/** The logistic function 1 / (1 + exp(-x)): squashes to (0, 1), a gate's "how much". */
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);

// ---------------------------------------------------------------------------------------------
// shapes: reshape, permute/transpose, narrow/split

/** Same data, new shape (one dim may be -1). Shares memory with x. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const infer = shape.indexOf(-1);
  let s = [...shape];
  if (infer >= 0) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    s = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0))
    throw new ShapeError(
      `reshape: cannot view ${shapeStr(x.shape)} (${x.size} elements) as ${shapeStr(shape)}`,
    );
  const out = new Tensor(x.backend, s, x.dtype, x.data);
  if (!needsGrad(x)) return out;
  // dx += dout (same elements, other shape)
  return record(out, 'reshape', [x], () => accumulate(gradOf(x), out.grad!.f));
}

/** Reorders dims: out.shape[i] = x.shape[perm[i]]. Copies. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const be = x.backend;
  if (perm.length !== x.ndim || [...perm].sort().some((p, i) => p !== i))
    throw new ShapeError(`permute: ${shapeStr(perm)} is not a permutation of ${x.ndim} dims`);
  const out = new Tensor(
    be,
    perm.map((p) => x.shape[p]!),
    x.dtype,
  );
  compute(() => be.permute(out.data, x.data, x.shape, perm));
  if (!needsGrad(x)) return out;
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const tmp = be.alloc(x.dtype, x.size) as FloatArray;
  return record(
    out,
    'permute',
    [x],
    () => {
      // dx += permute(dout, inverse perm)
      be.permute(tmp, out.grad!.f, out.shape, inverse);
      accumulate(gradOf(x), tmp);
    },
    [tmp],
  );
}

/** Swaps two dims. @example F.transpose(k, -2, -1) // (B, nh, T, hs) -> (B, nh, hs, T) */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const r = x.ndim;
  const a = d0 < 0 ? r + d0 : d0;
  const b = d1 < 0 ? r + d1 : d1;
  if (a < 0 || b < 0 || a >= r || b >= r)
    throw new ShapeError(`transpose: dims ${d0}, ${d1} out of range for ${shapeStr(x.shape)}`);
  const perm = [...Array(r).keys()];
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/**
 * The slice [start, start+length) of dim `axis`. Copies with a plain loop (not a hot path:
 * the GPT splits q, k, v inside the fused attention kernel).
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const be = x.backend;
  const ax = axis < 0 ? x.ndim + axis : axis;
  const d = x.shape[ax];
  if (d === undefined || start < 0 || length < 0 || start + length > d)
    throw new ShapeError(
      `narrow: [${start}, ${start + length}) out of range for dim ${axis} of ${shapeStr(x.shape)}`,
    );
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const shape = [...x.shape];
  shape[ax] = length;
  const out = new Tensor(be, shape, x.dtype);
  const copy = (dst: Float32Array | Float64Array | Int32Array, src: typeof dst, toOut: boolean) => {
    for (let o = 0; o < outer; o++) {
      const xOff = (o * d + start) * inner;
      const oOff = o * length * inner;
      for (let i = 0; i < length * inner; i++) {
        if (toOut) dst[oOff + i] = src[xOff + i]!;
        else dst[xOff + i]! += src[oOff + i];
      }
    }
  };
  compute(() => copy(out.data, x.data, true));
  if (!needsGrad(x)) return out;
  // dx[.., start:start+length, ..] += dout
  return record(out, 'narrow', [x], () => copy(gradOf(x).data, out.grad!.data, false));
}

/** Splits dim `axis` into pieces of the given sizes. @example F.split(qkv, [C, C, C], -1) */
export function split(x: Tensor, sizes: readonly number[], axis = -1): Tensor[] {
  const total = sizes.reduce((s, v) => s + v, 0);
  if (total !== x.dim(axis))
    throw new ShapeError(`split: sizes ${shapeStr(sizes)} do not sum to ${x.dim(axis)}`);
  let start = 0;
  return sizes.map((len) => {
    const t = narrow(x, axis, start, len);
    start += len;
    return t;
  });
}

// ---------------------------------------------------------------------------------------------
// reductions

/** Sum of all elements, a scalar. */
export function sum(x: Tensor): Tensor {
  const be = sameBackend('sum', x);
  const out = new Tensor(be, [], x.dtype);
  // a sumTo down to a single element (shape of ones)
  const ones = x.shape.map(() => 1);
  compute(() => {
    be.fill(out.f, 0);
    be.sumTo(out.f, x.f, x.shape, ones);
  });
  if (!needsGrad(x)) return out;
  // dx += dout (broadcast)
  const flat = [x.size];
  const [unit, zero] = [[1], [0]];
  return record(out, 'sum', [x], () =>
    be.binary('add', gradOf(x).f, gradOf(x).f, out.grad!.f, flat, unit, zero),
  );
}

/** Mean of all elements, a scalar. */
export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.size);
}

// ---------------------------------------------------------------------------------------------
// transformer layers

/**
 * Token embedding lookup: table (V, C), ids (...) int32 -> (..., C).
 * @example F.embedding(wte, idx) // (V, C), (B, T) -> (B, T, C)
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const q = int8Of(table); // an int8 model: rows dequantized from the int8 table (int8.ts)
  if (q) {
    if (needsGrad(table)) throw new ShapeError('embedding: an int8 table cannot be trained');
    return embeddingInt8(q, ids, table.backend);
  }
  const be = sameBackend('embedding', table);
  if (ids.dtype !== 'int32') throw new ShapeError(`embedding: ids must be int32, got ${ids.dtype}`);
  if (table.ndim !== 2) throw new ShapeError(`embedding: table ${shapeStr(table.shape)} must be (V, C)`);
  const [v, c] = table.shape as [number, number];
  const idArr = ids.data as Int32Array;
  const n = ids.size;
  const out = new Tensor(be, [...ids.shape, c], table.dtype);
  compute(() => {
    for (let i = 0; i < n; i++) {
      const id = idArr[i]!;
      if (id < 0 || id >= v)
        throw new ShapeError(`embedding: id ${id} at position ${i} out of range [0, ${v})`);
    }
    be.embeddingForward(out.f, table.f, idArr, n, c);
  });
  if (!needsGrad(table)) return out;
  // dtable[ids[i]] += dout[i]
  return record(out, 'embedding', [table], () =>
    be.embeddingBackward(gradOf(table).f, out.grad!.f, idArr, n, c),
  );
}

/**
 * LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias.
 * @example F.layerNorm(x, ln.weight, ln.bias) // (B, T, C) -> (B, T, C)
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const be = sameBackend('layerNorm', x, weight, bias);
  const c = x.dim(-1);
  if (weight.size !== c || (bias && bias.size !== c))
    throw new ShapeError(
      `layerNorm: x ${shapeStr(x.shape)} with weight ${shapeStr(weight.shape)}: need (${c})`,
    );
  const n = x.size / c;
  const out = new Tensor(be, x.shape, x.dtype);
  const meanArr = be.alloc(x.dtype, n) as FloatArray;
  const rstd = be.alloc(x.dtype, n) as FloatArray;
  compute(() => be.layerNormForward(out.f, meanArr, rstd, x.f, weight.f, bias ? bias.f : null, n, c, eps));
  if (!needsGrad(x, weight, bias)) {
    be.free(meanArr);
    be.free(rstd);
    return out;
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(
    out,
    'layerNorm',
    inputs,
    () =>
      be.layerNormBackward(
        gradOf(x).f,
        gradOf(weight).f,
        bias ? gradOf(bias).f : null,
        out.grad!.f,
        x.f,
        weight.f,
        meanArr,
        rstd,
        n,
        c,
      ),
    [meanArr, rstd],
  );
}

/** Softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const be = sameBackend('softmax', x);
  const c = x.dim(-1);
  const n = x.size / c;
  const out = new Tensor(be, x.shape, x.dtype);
  compute(() => be.softmaxForward(out.f, x.f, n, c));
  if (!needsGrad(x)) return out;
  // dx += y * (dout - sum(dout * y))
  return record(out, 'softmax', [x], () => be.softmaxBackward(gradOf(x).f, out.grad!.f, out.f, n, c));
}

/**
 * Fused causal self-attention over packed q|k|v: qkv (B, T, 3C) -> (B, T, C) with nHead heads.
 * Each position attends to itself and earlier positions only; scores are scaled by
 * 1/sqrt(hs) so their variance stays ~1 whatever the head size (softmax would saturate);
 * `opts.scale` (> 0) replaces that factor.
 * `onProbs`, when given, is shown the attention probabilities (B, nh, T, T) once the forward has
 * computed them (and not again when a captured step replays).
 * `dropout` (training): nanoGPT's attention dropout on the probabilities with probability p,
 * inverted (kept ones scaled by 1/(1-p)), its mask drawn from `seed` (a function draws a fresh one
 * at every replay) at each probability's index in (B, nh, T, T) (see Backend.attentionForward).
 */
export function causalSelfAttention(
  qkv: Tensor,
  nHead: number,
  onProbs?: (att: FloatArray, shape: readonly [number, number, number, number]) => void,
  opts?: AttentionOptions,
): Tensor {
  const be = sameBackend('causalSelfAttention', qkv);
  if (qkv.ndim !== 3 || qkv.dim(2) % 3 !== 0)
    throw new ShapeError(`causalSelfAttention: qkv ${shapeStr(qkv.shape)} must be (B, T, 3C)`);
  if (opts?.bf16 && needsGrad(qkv) && !onProbs) return attentionBf16(qkv, nHead, opts);
  const dropoutP = opts?.p ?? 0;
  const seed = opts?.seed ?? 0;
  if (!(dropoutP >= 0 && dropoutP < 1))
    throw new ShapeError(`causalSelfAttention: dropout p must be in [0, 1), got ${dropoutP}`);
  const [b, t, c3] = qkv.shape as [number, number, number];
  const c = c3 / 3;
  if (c % nHead !== 0) throw new ShapeError(`causalSelfAttention: C ${c} not divisible by nHead ${nHead}`);
  const scale = scoreScaleOf(opts, c / nHead);
  const out = new Tensor(be, [b, t, c], qkv.dtype);
  const att = be.alloc(qkv.dtype, b * nHead * t * t) as FloatArray; // (B, nh, T, T)
  // the mask's seed, drawn by the forward and read again by the backward (an Int32Array: a
  // replayed step stores into it without allocating)
  const drawn = new Int32Array(1);
  compute(() => {
    if (dropoutP > 0) drawn[0] = typeof seed === 'number' ? seed : seed();
    be.attentionForward(out.f, att, qkv.f, b, t, c, nHead, scale, dropoutP, drawn[0]!);
  });
  onProbs?.(att, [b, nHead, t, t]);
  if (!needsGrad(qkv)) {
    be.free(att);
    return out;
  }
  const datt = be.alloc(qkv.dtype, att.length) as FloatArray; // backward scratch
  return record(
    out,
    'causalSelfAttention',
    [qkv],
    () =>
      be.attentionBackward(
        gradOf(qkv).f,
        datt,
        out.grad!.f,
        qkv.f,
        att,
        b,
        t,
        c,
        nHead,
        scale,
        dropoutP,
        drawn[0]!,
      ),
    [att, datt],
  );
}

/** Options of causalSelfAttention in training. */
export interface AttentionOptions {
  /** attention dropout's probability (default 0: none) */
  p?: number;
  /** its mask's seed, or a function drawing one (a fresh mask at every replay) */
  seed?: number | (() => number);
  /**
   * mixed precision: save the probabilities for the backward as bf16 (src/backend/bf16.ts), half
   * the bytes, on a backend with attentionForwardBf16
   */
  bf16?: boolean;
  /** the scores' scale; > 0 replaces 1/sqrt(hs) (default 0: 1/sqrt(hs)) */
  scale?: number;
}

/** The scores' scale of causalSelfAttention: opts.scale when > 0, else 1/sqrt(hs). */
function scoreScaleOf(opts: AttentionOptions | undefined, hs: number): number {
  const s = opts?.scale ?? 0;
  return s > 0 ? s : 1 / Math.sqrt(hs);
}

/**
 * causalSelfAttention in mixed precision: the same forward, the probabilities it saves for the
 * backward rounded to bf16 (B, nh, T, T, 2 bytes each), and no (B, nh, T, T) scratch for the
 * backward (the kernels keep a head's in their own). The gradient is the float32 one's at
 * bf16-rounded probabilities.
 */
function attentionBf16(qkv: Tensor, nHead: number, opts: AttentionOptions): Tensor {
  const be = qkv.backend;
  if (!be.attentionForwardBf16 || !be.attentionBackwardBf16)
    throw new ShapeError(`causalSelfAttention: the ${be.name} backend has no bf16 attention kernels`);
  const dropoutP = opts.p ?? 0;
  const seed = opts.seed ?? 0;
  if (!(dropoutP >= 0 && dropoutP < 1))
    throw new ShapeError(`causalSelfAttention: dropout p must be in [0, 1), got ${dropoutP}`);
  const [b, t, c3] = qkv.shape as [number, number, number];
  const c = c3 / 3;
  if (c % nHead !== 0) throw new ShapeError(`causalSelfAttention: C ${c} not divisible by nHead ${nHead}`);
  const scale = scoreScaleOf(opts, c / nHead);
  const out = new Tensor(be, [b, t, c], qkv.dtype);
  const att16 = be.alloc('int32', Math.ceil((b * nHead * t * t) / 2)); // (B, nh, T, T) bf16
  const drawn = new Int32Array(1);
  compute(() => {
    if (dropoutP > 0) drawn[0] = typeof seed === 'number' ? seed : seed();
    be.attentionForwardBf16!(out.f, att16, qkv.f, b, t, c, nHead, scale, dropoutP, drawn[0]!);
  });
  return record(
    out,
    'causalSelfAttention',
    [qkv],
    () =>
      be.attentionBackwardBf16!(
        gradOf(qkv).f,
        out.grad!.f,
        qkv.f,
        att16,
        b,
        t,
        c,
        nHead,
        scale,
        dropoutP,
        drawn[0]!,
      ),
    [att16],
  );
}

/** Which keys each query may not see (see attention). */
export interface AttentionMask {
  /** query i sees keys j <= i + (Tk - Tq) only: a decoder does not look ahead */
  causal?: boolean;
  /** (B, Tk) int32, nonzero where key j of sequence b is padding: no query sees it */
  keyPadding?: Tensor | null;
}

/**
 * Multi-head scaled dot-product attention, softmax(q k^T / sqrt(hs) + mask) v per head, with
 * queries from one sequence and keys and values from another: q (B, Tq, C), kv (B, Tk, 2C)
 * holding k | v, -> (B, Tq, C). Self-attention passes projections of the same sequence;
 * cross-attention (a decoder reading the encoder) the decoder's queries and the encoder's keys
 * and values. Masked scores are -inf before the softmax; a query whose keys are all masked
 * gets zeros (and no gradient) rather than the NaN of a softmax over nothing.
 * Not for GPT: its causal self-attention has a fused kernel of its own (causalSelfAttention).
 * @example F.attention(q, kv, nHead, { keyPadding: srcPad }) // (B, Tq, C), (B, Tk, 2C) -> (B, Tq, C)
 */
export function attention(q: Tensor, kv: Tensor, nHead: number, mask: AttentionMask = {}): Tensor {
  const be = sameBackend('attention', q, kv);
  sameDType('attention', q, kv);
  if (q.ndim !== 3 || kv.ndim !== 3 || kv.dim(0) !== q.dim(0) || kv.dim(2) !== 2 * q.dim(2))
    throw new ShapeError(
      `attention: q ${shapeStr(q.shape)}, kv ${shapeStr(kv.shape)}: need q (B, Tq, C) and kv (B, Tk, 2C)`,
    );
  const [b, tq, c] = q.shape as [number, number, number];
  const tk = kv.dim(1);
  if (!(Number.isInteger(nHead) && nHead >= 1 && c % nHead === 0))
    throw new ShapeError(`attention: C ${c} not divisible by nHead ${nHead}`);
  const pad = mask.keyPadding ?? null;
  if (pad && (pad.dtype !== 'int32' || shapeStr(pad.shape) !== shapeStr([b, tk])))
    throw new ShapeError(
      `attention: keyPadding ${shapeStr(pad.shape)} ${pad.dtype}: need (${b}, ${tk}) int32 (B, Tk)`,
    );
  const p = { b, tq, tk, c, nh: nHead, scale: 1 / Math.sqrt(c / nHead), causal: mask.causal ?? false };
  const padArr = pad ? (pad.data as Int32Array) : null;
  const out = new Tensor(be, [b, tq, c], q.dtype);
  const att = be.alloc(q.dtype, b * nHead * tq * tk) as FloatArray; // (B, nh, Tq, Tk) probabilities
  compute(() => be.maskedAttentionForward(out.f, att, q.f, kv.f, padArr, p));
  if (!needsGrad(q, kv)) {
    be.free(att);
    return out;
  }
  const datt = be.alloc(q.dtype, att.length) as FloatArray; // backward scratch
  // dv += att^T dout; dscores = att * (dout v^T - rowsum(att * dout v^T)); dq += scale dscores k;
  // dk += scale dscores^T q (the kernel's comments go line by line)
  return record(
    out,
    'attention',
    [q, kv],
    () =>
      be.maskedAttentionBackward(
        q.requiresGrad ? gradOf(q).f : null,
        kv.requiresGrad ? gradOf(kv).f : null,
        datt,
        out.grad!.f,
        q.f,
        kv.f,
        att,
        p,
      ),
    [att, datt],
  );
}

/**
 * Inverted dropout with probability p: zeroes elements and scales the rest by 1/(1-p), so
 * nothing changes at eval time. `seed` picks the mask (draw it from the training Rng).
 */
export function dropout(x: Tensor, p: number, seed: number | (() => number), training: boolean): Tensor {
  if (!training || p === 0) return x;
  if (!(p > 0 && p < 1)) throw new ShapeError(`dropout: p must be in [0, 1), got ${p}`);
  const be = sameBackend('dropout', x);
  if (be.dropoutApply && be.dropoutBackward) return dropoutRedrawn(x, p, seed);
  const out = new Tensor(be, x.shape, x.dtype);
  const mask = be.alloc(x.dtype, x.size) as FloatArray;
  // a seed function draws a new mask each time the step is replayed
  compute(() => be.dropoutForward(out.f, mask, x.f, p, typeof seed === 'number' ? seed : seed()));
  if (!needsGrad(x)) {
    be.free(mask);
    return out;
  }
  const strides = [1];
  const flat = [x.size];
  const tmp = be.alloc(x.dtype, x.size) as FloatArray;
  return record(
    out,
    'dropout',
    [x],
    () => {
      // dx += dout * mask
      be.binary('mul', tmp, out.grad!.f, mask, flat, strides, strides);
      accumulate(gradOf(x), tmp);
    },
    [mask, tmp],
  );
}

/**
 * dropout() on a backend that redraws the mask in the backward (dropoutApply, dropoutBackward):
 * the same numbers, without a mask or a scratch array per dropout (half a layer's activations).
 */
function dropoutRedrawn(x: Tensor, p: number, seed: number | (() => number)): Tensor {
  const be = x.backend;
  const out = new Tensor(be, x.shape, x.dtype);
  const drawn = new Int32Array(1); // the mask's seed, for the backward (see causalSelfAttention)
  compute(() => {
    drawn[0] = typeof seed === 'number' ? seed : seed();
    be.dropoutApply!(out.f, x.f, p, drawn[0]!);
  });
  if (!needsGrad(x)) return out;
  // dx += dout * mask, the mask drawn again from its seed
  return record(out, 'dropout', [x], () => be.dropoutBackward!(gradOf(x).f, out.grad!.f, p, drawn[0]!));
}

/**
 * Mean cross-entropy of logits (..., V) against int32 targets (...): fused log-softmax + NLL,
 * stable for any logit scale. Targets of -1 are ignored (and not counted in the mean).
 * @example F.crossEntropy(logits, targets) // (B, T, V), (B, T) -> scalar
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const be = sameBackend('crossEntropy', logits);
  if (targets.dtype !== 'int32')
    throw new ShapeError(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  const v = logits.dim(-1);
  const n = logits.size / v;
  if (targets.size !== n)
    throw new ShapeError(
      `crossEntropy: logits ${shapeStr(logits.shape)} vs targets ${shapeStr(targets.shape)}: ${n} rows != ${targets.size}`,
    );
  const tArr = targets.data as Int32Array;
  const losses = be.alloc(logits.dtype, n) as FloatArray;
  const out = new Tensor(be, [], logits.dtype);
  let count = 0; // targets that are not ignored (-1)
  compute(() => {
    count = 0;
    for (let i = 0; i < n; i++) {
      const t = tArr[i]!;
      if (t === -1) continue;
      if (t < 0 || t >= v)
        throw new ShapeError(`crossEntropy: target ${t} at row ${i} out of range [0, ${v})`);
      count++;
    }
    be.crossEntropyForward(losses, logits.f, tArr, n, v);
    let total = 0;
    for (let i = 0; i < n; i++) total += losses[i]!;
    out.data[0] = count > 0 ? total / count : 0;
  });
  if (!needsGrad(logits)) {
    be.free(losses);
    return out;
  }
  return record(
    out,
    'crossEntropy',
    [logits],
    () => {
      // dlogits[row] += (softmax(logits[row]) - onehot(target)) * dout / count. A loop, not
      // be.fill(): a fresh double passed to a call is boxed on the JS heap, once per step
      const dloss = count > 0 ? out.grad!.data[0]! / count : 0;
      for (let i = 0; i < n; i++) losses[i] = dloss;
      be.crossEntropyBackward(gradOf(logits).f, logits.f, tArr, losses, n, v);
    },
    [losses],
  );
}

// ---------------------------------------------------------------------------------------------
// recurrent networks (src/model/rnn.ts) and the MLP language model (src/model/mlp.ts)

/**
 * The slices of x along dim 0, as views (no copy): x (N, ...) -> N tensors (...). A recurrent
 * model runs time-major and takes the input of step t as unbind(x)[t].
 * @example const steps = F.unbind(xw) // (T, B, 4H) -> T x (B, 4H)
 */
export function unbind(x: Tensor): Tensor[] {
  if (x.ndim < 1) throw new ShapeError(`unbind: x ${shapeStr(x.shape)} has no dim 0`);
  const n = x.dim(0);
  const inner = n === 0 ? 0 : x.size / n;
  const shape = x.shape.slice(1);
  const grad = needsGrad(x);
  const out: Tensor[] = [];
  for (let i = 0; i < n; i++) {
    const view = new Tensor(x.backend, shape, x.dtype, x.data.subarray(i * inner, (i + 1) * inner));
    if (!grad) {
      out.push(view);
      continue;
    }
    // dx[i] += dout; the slice of dx is made once, so a replayed step allocates nothing
    let dslice: FloatArray | null = null;
    out.push(
      record(view, 'unbind', [x], () => {
        dslice ??= gradOf(x).f.subarray(i * inner, (i + 1) * inner);
        x.backend.scale(dslice, view.grad!.f, 1, true);
      }),
    );
  }
  return out;
}

/**
 * Stacks same-shaped tensors along a new dim 0 (copies): N x (...) -> (N, ...).
 * @example F.stack(hs) // T x (B, H) -> (T, B, H): a recurrent layer's outputs
 */
export function stack(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new ShapeError('stack: no tensors to stack');
  const first = xs[0]!;
  const be = sameBackend('stack', ...xs);
  for (const x of xs) {
    sameDType('stack', first, x);
    if (shapeStr(x.shape) !== shapeStr(first.shape))
      throw new ShapeError(`stack: shapes differ: ${shapeStr(first.shape)} and ${shapeStr(x.shape)}`);
  }
  const inner = first.size;
  const out = new Tensor(be, [xs.length, ...first.shape], first.dtype);
  const parts = xs.map((_, i) => out.f.subarray(i * inner, (i + 1) * inner)); // made once
  // out[i] = xs[i]
  compute(() => {
    for (let i = 0; i < xs.length; i++) be.copy(parts[i]!, xs[i]!.f);
  });
  if (!needsGrad(...xs)) return out;
  let dparts: FloatArray[] | null = null;
  return record(out, 'stack', xs, () => {
    // dxs[i] += dout[i]
    dparts ??= xs.map((_, i) => out.grad!.f.subarray(i * inner, (i + 1) * inner));
    for (let i = 0; i < xs.length; i++) if (xs[i]!.requiresGrad) accumulate(gradOf(xs[i]!), dparts[i]!);
  });
}

/**
 * One LSTM step, fused (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
 * 2000, as PyTorch's nn.LSTM). xg = W_ih x + b_ih and hg = W_hh hPrev + b_hh (N, 4H) are the
 * gate pre-activations, in the order i | f | g | o:
 *   i, f, o = sigmoid(xg + hg)   g = tanh(xg + hg)   c = f * cPrev + i * g   h = o * tanh(c)
 * Returns the new hidden state h and cell state c (N, H).
 * @example const { h, c } = F.lstmCell(xs[t], F.linear(h, w_hh, b_hh), c)
 */
export function lstmCell(xg: Tensor, hg: Tensor, cPrev: Tensor): { h: Tensor; c: Tensor } {
  const be = sameBackend('lstmCell', xg, hg, cPrev);
  sameDType('lstmCell', xg, hg);
  sameDType('lstmCell', xg, cPrev);
  if (cPrev.ndim !== 2) throw new ShapeError(`lstmCell: cPrev ${shapeStr(cPrev.shape)} must be (N, H)`);
  const [n, hs] = cPrev.shape as [number, number];
  const gates = shapeStr([n, 4 * hs]);
  if (shapeStr(xg.shape) !== gates || shapeStr(hg.shape) !== gates)
    throw new ShapeError(
      `lstmCell: xg ${shapeStr(xg.shape)} and hg ${shapeStr(hg.shape)} must be (N, 4H) = ${gates} for cPrev ${shapeStr(cPrev.shape)}`,
    );
  const h = new Tensor(be, [n, hs], xg.dtype);
  const c = new Tensor(be, [n, hs], xg.dtype);
  const act = be.alloc(xg.dtype, n * 4 * hs) as FloatArray; // i, f, g, o for the backward
  compute(() => be.lstmCellForward(h.f, c.f, act, xg.f, hg.f, cPrev.f, n, hs));
  if (!needsGrad(xg, hg, cPrev)) {
    be.free(act);
    return { h, c };
  }
  // Two outputs, one backward: it sits on c and reads both gradients. h is recorded as computed
  // from c, so backward reaches h (after everything that used h) before c, and h's node makes
  // sure c's gradient exists so that c's node runs even when nothing used c (the last step).
  // dc_total = dc + dh * o * (1 - tanh(c)^2); dgates = (dc_total g, dc_total cPrev, dc_total i,
  // dh tanh(c)) through each gate's nonlinearity; dcPrev += dc_total * f; dxg += dgates, dhg += dgates
  record(
    c,
    'lstmCell',
    [xg, hg, cPrev],
    () =>
      be.lstmCellBackward(
        xg.requiresGrad ? gradOf(xg).f : null,
        hg.requiresGrad ? gradOf(hg).f : null,
        cPrev.requiresGrad ? gradOf(cPrev).f : null,
        gradOf(h).f,
        c.grad!.f,
        act,
        c.f,
        cPrev.f,
        n,
        hs,
      ),
    [act],
  );
  record(h, 'lstmCell.h', [c], () => {
    gradOf(c);
  });
  return { h, c };
}

/**
 * One GRU step, fused (Cho et al. 2014, as PyTorch's nn.GRU). xg = W_ih x + b_ih and
 * hg = W_hh hPrev + b_hh (N, 3H), in the order r | z | n:
 *   r, z = sigmoid(xg + hg)   nn = tanh(xg_n + r * hg_n)   h = (1 - z) * nn + z * hPrev
 * Returns h (N, H).
 * @example h = F.gruCell(xs[t], F.linear(h, w_hh, b_hh), h)
 */
export function gruCell(xg: Tensor, hg: Tensor, hPrev: Tensor): Tensor {
  const be = sameBackend('gruCell', xg, hg, hPrev);
  sameDType('gruCell', xg, hg);
  sameDType('gruCell', xg, hPrev);
  if (hPrev.ndim !== 2) throw new ShapeError(`gruCell: hPrev ${shapeStr(hPrev.shape)} must be (N, H)`);
  const [n, hs] = hPrev.shape as [number, number];
  const gates = shapeStr([n, 3 * hs]);
  if (shapeStr(xg.shape) !== gates || shapeStr(hg.shape) !== gates)
    throw new ShapeError(
      `gruCell: xg ${shapeStr(xg.shape)} and hg ${shapeStr(hg.shape)} must be (N, 3H) = ${gates} for hPrev ${shapeStr(hPrev.shape)}`,
    );
  const h = new Tensor(be, [n, hs], xg.dtype);
  const act = be.alloc(xg.dtype, n * 3 * hs) as FloatArray; // r, z, nn for the backward
  compute(() => be.gruCellForward(h.f, act, xg.f, hg.f, hPrev.f, n, hs));
  if (!needsGrad(xg, hg, hPrev)) {
    be.free(act);
    return h;
  }
  // dnn = dh (1 - z); dz = dh (hPrev - nn); dhPrev += dh z; da_n = dnn (1 - nn^2) goes to
  // xg_n and (times r) to hg_n; dr = da_n hg_n; r and z through sigmoid' to both xg and hg
  return record(
    h,
    'gruCell',
    [xg, hg, hPrev],
    () =>
      be.gruCellBackward(
        xg.requiresGrad ? gradOf(xg).f : null,
        hg.requiresGrad ? gradOf(hg).f : null,
        hPrev.requiresGrad ? gradOf(hPrev).f : null,
        h.grad!.f,
        act,
        hg.f,
        hPrev.f,
        n,
        hs,
      ),
    [act],
  );
}

/**
 * For each position of idx (B, T) int32, the n token ids that end at it: out[b, t, j] =
 * idx[b, t - n + 1 + j], or `pad` where that falls before the window's start. Ids, so not
 * differentiable; computed inside compute() so a replayed step reads the new batch.
 * @example F.contextWindows(idx, 3, V) // (B, T) -> (B, T, 3): what the MLP model reads
 */
export function contextWindows(idx: Tensor, n: number, pad: number): Tensor {
  if (idx.ndim !== 2 || idx.dtype !== 'int32')
    throw new ShapeError(`contextWindows: idx ${shapeStr(idx.shape)} ${idx.dtype}: need (B, T) int32`);
  if (!Number.isInteger(n) || n < 1)
    throw new ShapeError(`contextWindows: n = ${n} must be a positive integer`);
  const [b, t] = idx.shape as [number, number];
  const out = new Tensor(idx.backend, [b, t, n], 'int32');
  const src = idx.data as Int32Array;
  const dst = out.data as Int32Array;
  compute(() => {
    for (let r = 0; r < b; r++)
      for (let p = 0; p < t; p++)
        for (let j = 0; j < n; j++) {
          const from = p - n + 1 + j; // position within the window
          dst[(r * t + p) * n + j] = from < 0 ? pad : src[r * t + from]!;
        }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// architecture variants: RMSNorm, QK-norm, rotary positions, SwiGLU

/**
 * RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * weight. LayerNorm without the mean
 * and the bias (LLaMA's choice): one reduction instead of two, and about as good.
 * @example F.rmsNorm(x, ln.weight) // (B, T, C) -> (B, T, C)
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const be = sameBackend('rmsNorm', x, weight);
  const c = x.dim(-1);
  if (weight.size !== c)
    throw new ShapeError(
      `rmsNorm: x ${shapeStr(x.shape)} with weight ${shapeStr(weight.shape)}: need (${c})`,
    );
  const n = x.size / c;
  const out = new Tensor(be, x.shape, x.dtype);
  const rstd = be.alloc(x.dtype, n) as FloatArray;
  compute(() => be.rmsNormForward(out.f, rstd, x.f, weight.f, n, c, eps));
  if (!needsGrad(x, weight)) {
    be.free(rstd);
    return out;
  }
  // dx += rstd (w dout - norm mean(w dout norm)); dweight += sum over rows of norm dout
  return record(
    out,
    'rmsNorm',
    [x, weight],
    () => be.rmsNormBackward(gradOf(x).f, gradOf(weight).f, out.grad!.f, x.f, weight.f, rstd, n, c),
    [rstd],
  );
}

/** (B, T, 3C) packed q|k|v with C divisible by nHead: its dims, or a ShapeError naming `op`. */
function qkvDims(op: string, qkv: Tensor, nHead: number, evenHead = false): [number, number, number] {
  if (qkv.ndim !== 3 || qkv.dim(2) % 3 !== 0)
    throw new ShapeError(`${op}: qkv ${shapeStr(qkv.shape)} must be (B, T, 3C)`);
  const c = qkv.dim(2) / 3;
  if (!Number.isInteger(nHead) || nHead < 1 || c % nHead !== 0)
    throw new ShapeError(`${op}: C ${c} not divisible by nHead ${nHead}`);
  if (evenHead && (c / nHead) % 2 !== 0)
    throw new ShapeError(`${op}: head size ${c / nHead} must be even (pairs are rotated)`);
  return [qkv.dim(0), qkv.dim(1), c];
}

/**
 * QK-norm: each query and key head of packed qkv (B, T, 3C) divided by its RMS (no gain), v
 * unchanged. Scores q.k are then bounded by the head size, so attention logits cannot blow
 * up however the weights grow, which lets training run at higher learning rates.
 * @example F.qkNorm(qkv, 4) // (B, T, 3C) -> (B, T, 3C)
 */
export function qkNorm(qkv: Tensor, nHead: number, eps = 1e-5): Tensor {
  const be = sameBackend('qkNorm', qkv);
  const [b, t, c] = qkvDims('qkNorm', qkv, nHead);
  const n = b * t;
  const out = new Tensor(be, qkv.shape, qkv.dtype);
  const rstd = be.alloc(qkv.dtype, n * 2 * nHead) as FloatArray; // (N, 2 NH)
  compute(() => be.qkNormForward(out.f, rstd, qkv.f, n, c, nHead, eps));
  if (!needsGrad(qkv)) {
    be.free(rstd);
    return out;
  }
  // per head: dx += rstd (dout - y mean(dout y)); v: dx += dout
  return record(
    out,
    'qkNorm',
    [qkv],
    () => be.qkNormBackward(gradOf(qkv).f, out.grad!.f, out.f, rstd, n, c, nHead),
    [rstd],
  );
}

/**
 * Rotary position embedding (RoFormer): rotates each query and key head of packed qkv
 * (B, T, 3C) pairwise, (x[i], x[i + hs/2]) by the angle (pos0 + t) * theta_i, with the tables
 * cos, sin (maxT, hs/2). A query at position m and a key at n then score q.k as a function of
 * m - n only: attention sees relative positions, and no position embedding is added to x.
 * @example F.rope(qkv, cos, sin, nHead, 0) // (B, T, 3C) -> (B, T, 3C)
 */
export function rope(qkv: Tensor, cos: Tensor, sin: Tensor, nHead: number, pos0: number): Tensor {
  const be = sameBackend('rope', qkv, cos, sin);
  const [b, t, c] = qkvDims('rope', qkv, nHead, true);
  const half = c / nHead / 2;
  if (cos.ndim !== 2 || cos.dim(1) !== half || shapeStr(sin.shape) !== shapeStr(cos.shape))
    throw new ShapeError(
      `rope: tables cos ${shapeStr(cos.shape)}, sin ${shapeStr(sin.shape)}: need (maxT, ${half})`,
    );
  if (!Number.isInteger(pos0) || pos0 < 0 || pos0 + t > cos.dim(0))
    throw new ShapeError(`rope: positions [${pos0}, ${pos0 + t}) outside the table's [0, ${cos.dim(0)})`);
  const out = new Tensor(be, qkv.shape, qkv.dtype);
  compute(() => be.ropeForward(out.f, qkv.f, cos.f, sin.f, b, t, c, nHead, pos0));
  if (!needsGrad(qkv)) return out;
  // out = R x, R orthogonal: dx += R^T dout
  return record(out, 'rope', [qkv], () =>
    be.ropeBackward(gradOf(qkv).f, out.grad!.f, cos.f, sin.f, b, t, c, nHead, pos0),
  );
}

/**
 * SwiGLU (Shazeer 2020): h (..., 2H) holds a | g; out (..., H) = silu(a) * g. A gated MLP:
 * the gate g decides, per unit, how much of silu(a) passes.
 * @example F.swiglu(F.linear(x, cFc, null)) // (B, T, 2H) -> (B, T, H)
 */
export function swiglu(h: Tensor): Tensor {
  const be = sameBackend('swiglu', h);
  const two = h.dim(-1);
  if (two % 2 !== 0) throw new ShapeError(`swiglu: last dim of ${shapeStr(h.shape)} must be even (a | g)`);
  const hidden = two / 2;
  const n = h.size / two;
  const out = new Tensor(be, [...h.shape.slice(0, -1), hidden], h.dtype);
  compute(() => be.swigluForward(out.f, h.f, n, hidden));
  if (!needsGrad(h)) return out;
  // da += dout g silu'(a); dg += dout silu(a)
  return record(out, 'swiglu', [h], () => be.swigluBackward(gradOf(h).f, out.grad!.f, h.f, n, hidden));
}
