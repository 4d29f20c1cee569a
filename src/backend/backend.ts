// The Backend interface: the short list of kernels every tsgpt engine must implement.
// Kernels are plain functions over flat typed arrays (llm.c order: outputs first, then inputs,
// then dimensions). They know nothing of Tensors, autograd or shapes beyond their arguments.
// `ref/` is the readable definition; `wasm/` must produce the same numbers (to a tolerance).
//
// Conventions shared by every kernel:
// - Arrays are row-major and contiguous. Dimension letters: B T C NH HS V OC N (rows) K M.
// - A kernel whose doc says "accumulates" adds into its output (`+=`); gradients accumulate.
// - Arrays passed to a backend were allocated by that same backend (`alloc`), so a backend may
//   keep them in its own memory (WebAssembly memory for `wasm`).

import type { Arena } from './arena.js';
import type { Int8Weights } from './int8.js';

export type DType = 'float32' | 'float64' | 'int32';
export type FloatArray = Float32Array | Float64Array;
export type AnyArray = Float32Array | Float64Array | Int32Array;
export type BackendName = 'ref' | 'wasm';

export type UnaryOp =
  | 'gelu'
  | 'gelu_tanh'
  | 'relu'
  | 'exp'
  | 'log'
  | 'neg'
  | 'tanh'
  | 'sqrt'
  | 'sigmoid'
  | 'relu2';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** Batched matrix multiply: out[b] (M, N) = op(a[b]) (M, K) @ op(b[b]) (K, N). */
export interface MatmulParams {
  /** number of independent products; a and b advance by their batch strides */
  batch: number;
  m: number;
  k: number;
  n: number;
  /** a is stored (K, M) per batch and used transposed */
  transA: boolean;
  /** b is stored (N, K) per batch and used transposed (a Linear weight (OC, C)) */
  transB: boolean;
  /** out += a @ b instead of out = a @ b */
  accumulate: boolean;
  /** elements between consecutive batches of a (M*K when packed; 0 broadcasts one matrix) */
  aBatchStride: number;
  /** elements between consecutive batches of b (K*N when packed; 0 broadcasts one matrix) */
  bBatchStride: number;
}

export interface Backend {
  readonly name: BackendName;
  /** dtypes this backend computes in; `wasm` is float32 only, `ref` also float64 */
  readonly floatDTypes: readonly DType[];

  // ---- memory ----
  /** A zero-filled array of `size` elements owned by this backend. */
  alloc(dtype: 'float32', size: number): Float32Array;
  alloc(dtype: 'float64', size: number): Float64Array;
  alloc(dtype: 'int32', size: number): Int32Array;
  alloc(dtype: DType, size: number): AnyArray;
  /** Returns an array's memory to the backend; the array must not be used afterwards. */
  free(arr: AnyArray): void;
  /**
   * While an arena is set, alloc() takes from it and free() of its memory does nothing (gradient
   * checkpointing's memory plan, src/backend/arena.ts); null goes back to the backend's own.
   */
  setArena?(arena: Arena | null): void;
  /** Releases what the backend holds beyond memory (the wasm backend's worker threads). */
  dispose?(): Promise<void>;
  /** Threads that take part in parallel kernels, the caller included (absent: 1). */
  readonly threads?: number;
  /**
   * Multi-threaded backends: whether parallel kernels use the worker threads (true, the default)
   * or only the calling thread, while the workers sleep (see src/train/thread-governor.ts).
   */
  setUseWorkers?(on: boolean): void;

  // ---- elementwise ----
  /** out[i] = value */
  fill(out: AnyArray, value: number): void;
  /** out[i] = x[i] (same length) */
  copy(out: AnyArray, x: AnyArray): void;
  /** out[i] = f(x[i]); out may alias x */
  unary(op: UnaryOp, out: FloatArray, x: FloatArray): void;
  /** accumulates dx[i] += f'(x[i]) * dout[i], where y = f(x) (y given for exp/tanh/sqrt/sigmoid) */
  unaryBackward(op: UnaryOp, dx: FloatArray, x: FloatArray, y: FloatArray, dout: FloatArray): void;
  /**
   * Broadcasting binary op over `outShape`: out[i] = a[ia] op b[ib], where ia and ib are
   * computed from the element strides aStrides and bStrides (stride 0 on broadcast dims).
   */
  binary(
    op: BinaryOp,
    out: FloatArray,
    a: FloatArray,
    b: FloatArray,
    outShape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[],
  ): void;
  /** out[i] = x[i] * s + (accumulate ? out[i] : 0); out may alias x */
  scale(out: FloatArray, x: FloatArray, s: number, accumulate: boolean): void;
  /**
   * Sums x (shape xShape) down to outShape (same rank, each dim equal or 1): the backward of a
   * broadcast. Accumulates into out.
   */
  sumTo(out: FloatArray, x: FloatArray, xShape: readonly number[], outShape: readonly number[]): void;
  /** Copies x (shape xShape) to out with axes permuted: out.shape[i] = xShape[perm[i]]. */
  permute(out: AnyArray, x: AnyArray, xShape: readonly number[], perm: readonly number[]): void;
  /**
   * out[0] = sum of x[i]^2, accumulated in float64. Into an array, not returned: the optimizer
   * calls this every step, and V8 boxes a double returned from a call on the JavaScript heap.
   * out is written by the host, so any Float64Array will do (it need not come from alloc).
   */
  sumSquares(out: Float64Array, x: FloatArray): void;

  // ---- matmul ----
  matmul(out: FloatArray, a: FloatArray, b: FloatArray, p: MatmulParams): void;
  /** out (N, OC) += bias (OC) broadcast over rows */
  addBias(out: FloatArray, bias: FloatArray, n: number, oc: number): void;
  /** dbias (OC) += column sums of dout (N, OC) */
  biasBackward(dbias: FloatArray, dout: FloatArray, n: number, oc: number): void;

  // ---- transformer layers ----
  /**
   * out (N, C) = (x - mean) * rstd * weight + bias, per row; saves mean (N) and rstd (N).
   * bias may be null (GPTConfig.bias = false).
   */
  layerNormForward(
    out: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    bias: FloatArray | null,
    n: number,
    c: number,
    eps: number,
  ): void;
  /** accumulates dx (N, C), dweight (C), dbias (C, may be null) */
  layerNormBackward(
    dx: FloatArray,
    dweight: FloatArray,
    dbias: FloatArray | null,
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
  ): void;
  /** out (N, C) = softmax over each row of x */
  softmaxForward(out: FloatArray, x: FloatArray, n: number, c: number): void;
  /** accumulates dx (N, C) given y = softmax(x) and dout */
  softmaxBackward(dx: FloatArray, dout: FloatArray, y: FloatArray, n: number, c: number): void;
  /**
   * Causal multi-head self-attention, fused (scores, mask, softmax, weighted sum).
   * qkv (B, T, 3C) holds q | k | v along the last dim, heads NH of size HS = C / NH.
   * out (B, T, C); att (B, NH, T, T) saves the softmax probabilities (0 above the diagonal).
   * scale is usually 1/sqrt(HS).
   * Attention dropout (nanoGPT's attn_dropout, training only): with dropoutP > 0 the weighted sum
   * uses the probabilities after inverted dropout, P * mask, where mask at element i of att
   * (flat index over (B, NH, T, T)) is dropoutMask(seed, i, dropoutP), the draw dropoutForward
   * makes on a tensor of att's shape. att still saves P itself; the backward redraws the mask
   * from the seed (counter-based: nothing else is stored).
   */
  attentionForward(
    out: FloatArray,
    att: FloatArray,
    qkv: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP?: number,
    seed?: number,
  ): void;
  /**
   * accumulates dqkv (B, T, 3C); datt (B, NH, T, T) is scratch (overwritten). dropoutP and seed
   * must be the forward's.
   */
  attentionBackward(
    dqkv: FloatArray,
    datt: FloatArray,
    dout: FloatArray,
    qkv: FloatArray,
    att: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP?: number,
    seed?: number,
  ): void;
  /**
   * Mixed precision (optional): attentionForward that saves the probabilities as bf16 in att16
   * (B, NH, T, T 16-bit values, two to an int32 element: src/backend/bf16.ts), rounded to nearest
   * even; out is computed from the float32 probabilities, as attentionForward's.
   */
  attentionForwardBf16?(
    out: FloatArray,
    att16: Int32Array,
    qkv: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void;
  /** attentionBackward from the bf16 probabilities (widened); needs no (B, NH, T, T) scratch. */
  attentionBackwardBf16?(
    dqkv: FloatArray,
    dout: FloatArray,
    qkv: FloatArray,
    att16: Int32Array,
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void;
  /**
   * Multi-head attention with masks, queries from one sequence and keys/values from another
   * (the same one for self-attention): q (B, Tq, C), kv (B, Tk, 2C) holding k | v along the last
   * dim, heads NH of size HS = C / NH. Query i of batch b sees key j unless
   * keyPadding[b, j] != 0 (keyPadding (B, Tk) int32, may be null) or, when p.causal,
   * j > i + (Tk - Tq). Masked scores are -inf before the softmax; a row with every key masked
   * is all zeros (probabilities and output). out (B, Tq, C); att (B, NH, Tq, Tk) saves the
   * probabilities.
   */
  maskedAttentionForward(
    out: FloatArray,
    att: FloatArray,
    q: FloatArray,
    kv: FloatArray,
    keyPadding: Int32Array | null,
    p: MaskedAttentionParams,
  ): void;
  /**
   * Accumulates dq (B, Tq, C) and dkv (B, Tk, 2C); either may be null (not needed).
   * datt (B, NH, Tq, Tk) is scratch (overwritten).
   */
  maskedAttentionBackward(
    dq: FloatArray | null,
    dkv: FloatArray | null,
    datt: FloatArray,
    dout: FloatArray,
    q: FloatArray,
    kv: FloatArray,
    att: FloatArray,
    p: MaskedAttentionParams,
  ): void;
  /**
   * Fused log-softmax + negative log-likelihood: losses (N) = -log softmax(logits (N, V))[target].
   * A target of -1 is ignored (loss 0).
   */
  crossEntropyForward(
    losses: FloatArray,
    logits: FloatArray,
    targets: Int32Array,
    n: number,
    v: number,
  ): void;
  /** accumulates dlogits (N, V) += (softmax(logits) - onehot(target)) * dlosses[row] */
  crossEntropyBackward(
    dlogits: FloatArray,
    logits: FloatArray,
    targets: Int32Array,
    dlosses: FloatArray,
    n: number,
    v: number,
  ): void;
  /** out (N, C) = table[ids[i]] for each of the N ids; table (V, C) */
  embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, c: number): void;
  /** accumulates dtable[ids[i]] += dout[i] */
  embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, n: number, c: number): void;
  /**
   * Inverted dropout: mask[i] = keep ? 1/(1-p) : 0, out[i] = x[i] * mask[i], where keep is
   * dropoutUniform(seed, i) >= p (see below): every backend draws the same mask for a seed.
   */
  dropoutForward(out: FloatArray, mask: FloatArray, x: FloatArray, p: number, seed: number): void;
  /**
   * dropoutForward without the mask: out[i] = x[i] * dropoutMask(seed, i, p). Optional, with
   * dropoutBackward: the pair saves the mask's memory (the backward redraws it from the seed).
   */
  dropoutApply?(out: FloatArray, x: FloatArray, p: number, seed: number): void;
  /**
   * accumulates dx[i] += dout[i] * m[i], m[i] = dropoutMask(seed, i, p) stored as dx's dtype:
   * the same numbers as multiplying by dropoutForward's saved mask, then accumulating.
   */
  dropoutBackward?(dx: FloatArray, dout: FloatArray, p: number, seed: number): void;

  // ---- int8 inference (optional) ----
  /**
   * out (N, OC) = x (N, C) @ W^T + bias with W int8 (src/backend/int8.ts: one scale per row) and
   * x quantized per row on the fly; bias may be null. The definition is linearInt8Ref; a backend
   * without it cannot run int8 models.
   */
  linearInt8?(out: FloatArray, x: FloatArray, w: Int8Weights, bias: FloatArray | null, n: number): void;

  // ---- recurrent cells (src/model/rnn.ts) ----
  /**
   * One LSTM step for N rows of HS units, fused. gates = xg + hg (N, 4HS), in PyTorch's order
   * i | f | g | o: i, f, o = sigmoid, g = tanh; c = f * cPrev + i * g; h = o * tanh(c).
   * h, c, cPrev (N, HS); act (N, 4HS) saves i, f, g, o (after their nonlinearities) for the backward.
   */
  lstmCellForward(
    h: FloatArray,
    c: FloatArray,
    act: FloatArray,
    xg: FloatArray,
    hg: FloatArray,
    cPrev: FloatArray,
    n: number,
    hs: number,
  ): void;
  /**
   * Backward of lstmCellForward given dh and dc (N, HS): accumulates dgates (N, 4HS) into dxg and
   * into dhg, and dcPrev (N, HS); a null output is skipped (an input that needs no gradient).
   */
  lstmCellBackward(
    dxg: FloatArray | null,
    dhg: FloatArray | null,
    dcPrev: FloatArray | null,
    dh: FloatArray,
    dc: FloatArray,
    act: FloatArray,
    c: FloatArray,
    cPrev: FloatArray,
    n: number,
    hs: number,
  ): void;
  /**
   * One GRU step for N rows of HS units, fused, as PyTorch's nn.GRU: xg = W_ih x + b_ih and
   * hg = W_hh h + b_hh (N, 3HS) in the order r | z | n; r = sigmoid(xg_r + hg_r),
   * z = sigmoid(xg_z + hg_z), nn = tanh(xg_n + r * hg_n), h = (1 - z) * nn + z * hPrev.
   * act (N, 3HS) saves r, z, nn for the backward.
   */
  gruCellForward(
    h: FloatArray,
    act: FloatArray,
    xg: FloatArray,
    hg: FloatArray,
    hPrev: FloatArray,
    n: number,
    hs: number,
  ): void;
  /**
   * Backward of gruCellForward given dh (N, HS): accumulates dxg, dhg (N, 3HS) and dhPrev (N, HS);
   * a null output is skipped.
   */
  gruCellBackward(
    dxg: FloatArray | null,
    dhg: FloatArray | null,
    dhPrev: FloatArray | null,
    dh: FloatArray,
    act: FloatArray,
    hg: FloatArray,
    hPrev: FloatArray,
    n: number,
    hs: number,
  ): void;

  // ---- architecture variants (the speedrun options: RMSNorm, QK-norm, rotary positions, SwiGLU) ----
  /** out (N, C) = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps) per row, saved in rstd (N) */
  rmsNormForward(
    out: FloatArray,
    rstd: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    n: number,
    c: number,
    eps: number,
  ): void;
  /** accumulates dx (N, C) and dweight (C) */
  rmsNormBackward(
    dx: FloatArray,
    dweight: FloatArray,
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
  ): void;
  /**
   * QK-norm on packed q|k|v rows, qkv (N, 3C) with NH heads of HS = C / NH: out (N, 3C) holds
   * each query and key head divided by its RMS (no gain), rstd (N, 2 NH) saved, v copied.
   */
  qkNormForward(
    out: FloatArray,
    rstd: FloatArray,
    qkv: FloatArray,
    n: number,
    c: number,
    nh: number,
    eps: number,
  ): void;
  /** accumulates dqkv (N, 3C) given out (the normalised rows) and rstd of the forward */
  qkNormBackward(
    dqkv: FloatArray,
    dout: FloatArray,
    out: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
    nh: number,
  ): void;
  /**
   * Rotary position embedding on packed q|k|v, qkv (B, T, 3C): each query and key head (HS) is
   * rotated pairwise, (x[i], x[i + HS/2]) by angle pos * theta_i (pos = pos0 + t), with the
   * tables cos, sin (maxT, HS/2); v is copied. out (B, T, 3C).
   */
  ropeForward(
    out: FloatArray,
    qkv: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void;
  /** accumulates dqkv (B, T, 3C): the inverse rotation of dout (rotations are orthogonal) */
  ropeBackward(
    dqkv: FloatArray,
    dout: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void;
  /** SwiGLU: h (N, 2H) = a | g per row, out (N, H) = silu(a) * g, silu(a) = a / (1 + exp(-a)) */
  swigluForward(out: FloatArray, h: FloatArray, n: number, hidden: number): void;
  /** accumulates dh (N, 2H) */
  swigluBackward(dh: FloatArray, dout: FloatArray, h: FloatArray, n: number, hidden: number): void;

  // ---- optimizer ----
  /**
   * One AdamW step in place (decoupled weight decay, bias-corrected moments), p.step >= 1:
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; param -= lr (mhat / (sqrt(vhat) + eps) + wd param).
   */
  adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, p: AdamWParams): void;
}

/** The sizes of one maskedAttentionForward / maskedAttentionBackward call. */
export interface MaskedAttentionParams {
  b: number;
  /** query positions */
  tq: number;
  /** key (and value) positions */
  tk: number;
  /** model width; heads nh of size c / nh */
  c: number;
  nh: number;
  /** multiplies the scores, usually 1/sqrt(c / nh) */
  scale: number;
  /** query i sees keys j <= i + (tk - tq) only (a decoder's self-attention when tq = tk) */
  causal: boolean;
}

/**
 * The numbers of one AdamW step. An object (like MatmulParams) that the optimizer refills each
 * step: as separate arguments, each double would be boxed on the JavaScript heap at every call.
 */
export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** the step being taken, from 1 (bias correction) */
  step: number;
  /** multiplies the gradient first (clipping by global norm without an extra pass) */
  gradScale: number;
}

/**
 * The shared dropout draw: a counter-based hash of (seed, i) to a uniform in [0, 1), kept iff
 * u >= p. Integer-only, so every backend (and the browser) gets identical masks.
 */
export function dropoutUniform(seed: number, i: number): number {
  // lowbias32 hash of (seed * golden + i)
  let x = (Math.imul(seed | 0, 0x9e3779b9) + (i | 0)) | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 8) / 16777216;
}

/**
 * The inverted-dropout multiplier of element i for a seed: 1/(1-p) (a float64, as every backend
 * applies it) when kept (dropoutUniform(seed, i) >= p), else 0. dropoutForward's mask and the
 * attention kernels' both come from it.
 */
export function dropoutMask(seed: number, i: number, p: number): number {
  return dropoutUniform(seed, i) >= p ? 1 / (1 - p) : 0;
}

/** Element strides of a contiguous row-major shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sizeOf(shape: readonly number[]): number {
  // an index loop: for-of would allocate an iterator in kernels' hot paths
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}
