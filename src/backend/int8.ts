// int8 inference, the definition: how a weight matrix becomes int8 (one scale per output row,
// symmetric, round to nearest even), how the activations are quantized on the fly (per row, 7
// bits: see kernels/int8.ts for why), and the linear layer over both, every float step an f32
// operation in a fixed order. The ref backend runs these loops; the wasm kernels
// (kernels/int8.ts) must give the same bits. Not here: which weights a model quantizes
// (src/model/quantize.ts), or training (int8 weights have no gradient).

import { ShapeError } from '../errors.js';
import type { Backend, FloatArray } from './backend.js';

/** A (rows, cols) weight matrix in int8: w[r, c] ~ q[r, c] * scales[r]. */
export interface Int8Weights {
  /** the int8 values, row-major, 4 to an element (backend memory: Backend.alloc('int32')) */
  readonly q: Int32Array;
  /** one scale per row: max |w[r, :]| / 127 */
  readonly scales: Float32Array;
  /** each row's sum of q (takes off the activations' +64 offset) */
  readonly rowSums: Int32Array;
  readonly rows: number;
  readonly cols: number;
}

/** The int8 values of w as a byte view (row r at r * cols). */
export function int8Values(w: Int8Weights): Int8Array {
  return new Int8Array(w.q.buffer, w.q.byteOffset, w.rows * w.cols);
}

/** Rounds half to even, as WebAssembly's nearest does (Math.round rounds half up). */
export function nearestEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const f = Math.fround;

/**
 * Quantizes w (rows, cols) to int8 in `be`'s memory: per row, scale = max|w| / 127 and
 * q = nearest(w * (127 / max|w|)), so q is in [-127, 127] (a zero row: scale 0, q 0).
 * @example const q = quantizeInt8(be, linear.weight.f, oc, c) // then be.linearInt8(out, x, q, bias, n)
 */
export function quantizeInt8(be: Backend, w: ArrayLike<number>, rows: number, cols: number): Int8Weights {
  if (w.length !== rows * cols)
    throw new ShapeError(`quantizeInt8: ${w.length} values for a (${rows}, ${cols}) matrix`);
  const q = be.alloc('int32', Math.ceil((rows * cols) / 4));
  const scales = be.alloc('float32', rows);
  const rowSums = be.alloc('int32', rows);
  const out: Int8Weights = { q, scales, rowSums, rows, cols };
  const bytes = int8Values(out);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let j = 0; j < cols; j++) amax = Math.max(amax, Math.abs(f(w[r * cols + j]!)));
    const inv = amax > 0 ? f(127 / amax) : 0;
    scales[r] = amax > 0 ? f(amax / 127) : 0;
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const v = Math.max(-127, Math.min(127, nearestEven(f(f(w[r * cols + j]!) * inv))));
      bytes[r * cols + j] = v;
      sum += v;
    }
    rowSums[r] = sum;
  }
  return out;
}

/**
 * Rows of x (N, C) quantized to 7 bits, as the kernels do it: xs[r] = max|x[r, :]| / 63,
 * xq[r, j] = nearest(x[r, j] * (63 / max|x[r, :]|)) + 64, in [1, 127].
 */
export function quantizeRowsRef(xq: Uint8Array, xs: Float32Array, x: FloatArray, n: number, c: number): void {
  for (let r = 0; r < n; r++) {
    let amax = 0;
    for (let j = 0; j < c; j++) amax = Math.max(amax, Math.abs(f(x[r * c + j]!)));
    const inv = amax > 0 ? f(63 / amax) : 0;
    xs[r] = amax > 0 ? f(amax / 63) : 0;
    for (let j = 0; j < c; j++) xq[r * c + j] = nearestEven(f(f(x[r * c + j]!) * inv)) + 64;
  }
}

/**
 * The int8 linear layer, the definition: out (N, OC) = x (N, C) @ W^T + bias with W int8 and x
 * quantized per row (quantizeRowsRef):
 *   out[r, o] = f32(w_o . xq_r - 64 * rowSums[o]) * (scales[o] * xs[r]) + bias[o]
 */
export function linearInt8Ref(
  out: FloatArray,
  x: FloatArray,
  w: Int8Weights,
  bias: FloatArray | null,
  n: number,
): void {
  const { rows: oc, cols: c } = w;
  const xq = new Uint8Array(n * c);
  const xs = new Float32Array(n);
  quantizeRowsRef(xq, xs, x, n, c);
  const q = int8Values(w);
  for (let r = 0; r < n; r++)
    for (let o = 0; o < oc; o++) {
      let s = 0; // an exact integer: |s| < 2^31 for any C the models have
      for (let j = 0; j < c; j++) s += q[o * c + j]! * xq[r * c + j]!;
      let y = f(f(s - 64 * w.rowSums[o]!) * f(w.scales[o]! * xs[r]!));
      if (bias) y = f(y + f(bias[o]!));
      out[r * oc + o] = y;
    }
}
