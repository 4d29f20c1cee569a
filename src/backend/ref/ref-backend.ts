// The ref backend: every kernel of the Backend interface as plain TypeScript loops, llm.c style.
// It is the living definition the WebAssembly kernels are tested against, and fast enough to
// train small models on (cache-friendly loop orders, float64 accumulators, no inner-loop
// allocation). It is deliberately not clever: no SIMD, no threads, no blocking/tiling.

import { ShapeError, shapeStr } from '../../errors.js';
import type { Arena } from '../arena.js';
import type {
  AdamWParams,
  AnyArray,
  Backend,
  BinaryOp,
  DType,
  FloatArray,
  MaskedAttentionParams,
  MatmulParams,
  UnaryOp,
} from '../backend.js';
import { contiguousStrides, dropoutMask, dropoutUniform, sizeOf } from '../backend.js';
import { bf16Values, fromBf16, toBf16 } from '../bf16.js';
import { type Int8Weights, linearInt8Ref } from '../int8.js';
import { gelu, geluGrad, geluTanh, geluTanhGrad } from './math.js';

export class RefBackend implements Backend {
  readonly name = 'ref' as const;
  readonly floatDTypes: readonly DType[] = ['float32', 'float64'];

  // ---------------------------------------------------------------- memory

  alloc(dtype: 'float32', size: number): Float32Array;
  alloc(dtype: 'float64', size: number): Float64Array;
  alloc(dtype: 'int32', size: number): Int32Array;
  alloc(dtype: DType, size: number): AnyArray;
  alloc(dtype: DType, size: number): AnyArray {
    if (this.arena) return this.arena.take(dtype, size);
    // typed arrays are zero-filled by the JS engine
    switch (dtype) {
      case 'float32':
        return new Float32Array(size);
      case 'float64':
        return new Float64Array(size);
      case 'int32':
        return new Int32Array(size);
    }
  }

  free(_arr: AnyArray): void {
    // the garbage collector owns JS memory (an arena's too)
  }

  private arena: Arena | null = null;

  setArena(arena: Arena | null): void {
    this.arena = arena;
  }

  // ---------------------------------------------------------------- elementwise

  fill(out: AnyArray, value: number): void {
    out.fill(value);
  }

  copy(out: AnyArray, x: AnyArray): void {
    if (out.length !== x.length)
      throw new RangeError(`copy: out length ${out.length} != x length ${x.length}`);
    out.set(x);
  }

  unary(op: UnaryOp, out: FloatArray, x: FloatArray): void {
    const n = x.length;
    switch (op) {
      case 'gelu':
        for (let i = 0; i < n; i++) out[i] = gelu(x[i]!);
        return;
      case 'gelu_tanh':
        for (let i = 0; i < n; i++) out[i] = geluTanh(x[i]!);
        return;
      case 'relu':
        for (let i = 0; i < n; i++) out[i] = Math.max(x[i]!, 0);
        return;
      case 'exp':
        for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
        return;
      case 'log':
        for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
        return;
      case 'neg':
        for (let i = 0; i < n; i++) out[i] = -x[i]!;
        return;
      case 'tanh':
        for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
        return;
      case 'sqrt':
        for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
        return;
      case 'sigmoid':
        for (let i = 0; i < n; i++) out[i] = sigmoid(x[i]!);
        return;
      case 'relu2':
        for (let i = 0; i < n; i++) {
          const r = Math.max(x[i]!, 0);
          out[i] = r * r;
        }
        return;
    }
  }

  unaryBackward(op: UnaryOp, dx: FloatArray, x: FloatArray, y: FloatArray, dout: FloatArray): void {
    const n = x.length;
    switch (op) {
      case 'gelu': // y = x Phi(x)
        for (let i = 0; i < n; i++) dx[i] += geluGrad(x[i]!) * dout[i]!;
        return;
      case 'gelu_tanh': // y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        for (let i = 0; i < n; i++) dx[i] += geluTanhGrad(x[i]!) * dout[i]!;
        return;
      case 'relu': // y = max(x, 0); the subgradient at 0 is taken as 0
        for (let i = 0; i < n; i++) if (x[i]! > 0) dx[i] += dout[i]!;
        return;
      case 'exp': // y = exp(x) -> dy/dx = y
        for (let i = 0; i < n; i++) dx[i] += y[i]! * dout[i]!;
        return;
      case 'log': // y = log(x) -> dy/dx = 1/x
        for (let i = 0; i < n; i++) dx[i] += dout[i]! / x[i]!;
        return;
      case 'neg': // y = -x
        for (let i = 0; i < n; i++) dx[i] -= dout[i]!;
        return;
      case 'tanh': // y = tanh(x) -> dy/dx = 1 - y^2
        for (let i = 0; i < n; i++) dx[i] += (1 - y[i]! * y[i]!) * dout[i]!;
        return;
      case 'sqrt': // y = sqrt(x) -> dy/dx = 1 / (2y)
        for (let i = 0; i < n; i++) dx[i] += (0.5 * dout[i]!) / y[i]!;
        return;
      case 'sigmoid': // y = 1 / (1 + exp(-x)) -> dy/dx = y (1 - y)
        for (let i = 0; i < n; i++) dx[i] += y[i]! * (1 - y[i]!) * dout[i]!;
        return;
      case 'relu2': // y = max(x, 0)^2 -> dy/dx = 2 max(x, 0)
        for (let i = 0; i < n; i++) if (x[i]! > 0) dx[i] += 2 * x[i]! * dout[i]!;
        return;
    }
  }

  binary(
    op: BinaryOp,
    out: FloatArray, // outShape, contiguous
    a: FloatArray, // addressed by aStrides
    b: FloatArray, // addressed by bStrides
    outShape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[],
  ): void {
    const rank = outShape.length;
    const total = sizeOf(outShape);
    if (total === 0) return;
    if (rank === 0) {
      binaryRow(op, out, 0, a, 0, 0, b, 0, 0, 1);
      return;
    }
    const outStrides = contiguousStrides(outShape);
    const aContiguous = sameStrides(aStrides, outStrides, outShape);
    const bContiguous = sameStrides(bStrides, outStrides, outShape);
    // fast path 1: same shapes, all contiguous -> one flat loop
    if (aContiguous && bContiguous) {
      binaryRow(op, out, 0, a, 0, 1, b, 0, 1, total);
      return;
    }
    // the last dim is the inner loop; everything above it is walked by an odometer
    const last = rank - 1;
    const cols = outShape[last]!;
    const rows = total / cols;
    const as = aStrides[last]!;
    const bs = bStrides[last]!;
    // fast path 2: a contiguous, b one row broadcast over all rows (x + bias, x * gain)
    if (aContiguous && bs === 1 && bStrides.every((s, d) => d === last || s === 0 || outShape[d] === 1)) {
      for (let r = 0; r < rows; r++) binaryRow(op, out, r * cols, a, r * cols, 1, b, 0, 1, cols);
      return;
    }
    // general path: odometer over the outer dims, tracking a's and b's offsets incrementally
    const idx = new Array<number>(rank).fill(0);
    let aOff = 0;
    let bOff = 0;
    for (let r = 0; r < rows; r++) {
      binaryRow(op, out, r * cols, a, aOff, as, b, bOff, bs, cols);
      // advance the odometer over dims last-1 .. 0
      for (let d = last - 1; d >= 0; d--) {
        idx[d]!++;
        aOff += aStrides[d]!;
        bOff += bStrides[d]!;
        if (idx[d]! < outShape[d]!) break;
        aOff -= aStrides[d]! * outShape[d]!;
        bOff -= bStrides[d]! * outShape[d]!;
        idx[d] = 0;
      }
    }
  }

  scale(out: FloatArray, x: FloatArray, s: number, accumulate: boolean): void {
    const n = x.length;
    if (accumulate) for (let i = 0; i < n; i++) out[i] += x[i]! * s;
    else for (let i = 0; i < n; i++) out[i] = x[i]! * s;
  }

  sumTo(out: FloatArray, x: FloatArray, xShape: readonly number[], outShape: readonly number[]): void {
    const rank = xShape.length;
    if (outShape.length !== rank || outShape.some((d, i) => d !== 1 && d !== xShape[i])) {
      throw new ShapeError(`sumTo: cannot sum ${shapeStr(xShape)} to ${shapeStr(outShape)}`);
    }
    const total = sizeOf(xShape);
    if (total === 0) return;
    if (rank === 0) {
      out[0] += x[0]!;
      return;
    }
    // out's strides, 0 along the summed dims: x[idx] lands in out[sum idx[d] * os[d]]
    const os = contiguousStrides(outShape).map((s, d) => (outShape[d] === 1 ? 0 : s));
    // sum in float64 first, then add into out once (float32 out would round on every add)
    const acc = new Float64Array(out.length);
    const last = rank - 1;
    const cols = xShape[last]!;
    const rows = total / cols;
    const osLast = os[last]!;
    const idx = new Array<number>(rank).fill(0);
    let oOff = 0;
    for (let r = 0; r < rows; r++) {
      const xOff = r * cols;
      if (osLast === 0) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += x[xOff + j]!;
        acc[oOff] += s;
      } else {
        for (let j = 0; j < cols; j++) acc[oOff + j] += x[xOff + j]!;
      }
      for (let d = last - 1; d >= 0; d--) {
        idx[d]!++;
        oOff += os[d]!;
        if (idx[d]! < xShape[d]!) break;
        oOff -= os[d]! * xShape[d]!;
        idx[d] = 0;
      }
    }
    for (let i = 0; i < acc.length; i++) out[i] += acc[i]!;
  }

  permute(out: AnyArray, x: AnyArray, xShape: readonly number[], perm: readonly number[]): void {
    const rank = xShape.length;
    const total = sizeOf(xShape);
    if (total === 0) return;
    if (rank === 0) {
      out[0] = x[0]!;
      return;
    }
    const xStrides = contiguousStrides(xShape);
    // walk out in order; out's axis d is x's axis perm[d], so it steps x by xStrides[perm[d]]
    const outShape = perm.map((p) => xShape[p]!);
    const step = perm.map((p) => xStrides[p]!);
    const last = rank - 1;
    const cols = outShape[last]!;
    const rows = total / cols;
    const sLast = step[last]!;
    const idx = new Array<number>(rank).fill(0);
    let xOff = 0;
    for (let r = 0; r < rows; r++) {
      const oOff = r * cols;
      for (let j = 0; j < cols; j++) out[oOff + j] = x[xOff + j * sLast]!;
      for (let d = last - 1; d >= 0; d--) {
        idx[d]!++;
        xOff += step[d]!;
        if (idx[d]! < outShape[d]!) break;
        xOff -= step[d]! * outShape[d]!;
        idx[d] = 0;
      }
    }
  }

  sumSquares(out: Float64Array, x: FloatArray): void {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
    out[0] = s;
  }

  // ---------------------------------------------------------------- matmul

  matmul(
    out: FloatArray, // (batch, M, N), packed
    a: FloatArray, // (M, K) per batch, or (K, M) if transA
    b: FloatArray, // (K, N) per batch, or (N, K) if transB (a Linear weight (OC, C))
    p: MatmulParams,
  ): void {
    const { batch, m, k, n, transA, transB, accumulate, aBatchStride, bBatchStride } = p;
    // op(a)[i][kk] = a[aOff + i*ai + kk*ak]; op(b)[kk][j] = b[bOff + kk*bk + j*bj]
    const ai = transA ? 1 : k;
    const ak = transA ? m : 1;
    const bk = transB ? 1 : n;
    const bj = transB ? k : 1;
    const row = new Float64Array(n); // float64 accumulator for one output row
    for (let bt = 0; bt < batch; bt++) {
      const aOff = bt * aBatchStride;
      const bOff = bt * bBatchStride;
      const oOff = bt * m * n;
      if (!transB) {
        // i-k-j order: the inner loop streams a row of b and a row of out, both contiguous
        for (let i = 0; i < m; i++) {
          row.fill(0);
          const aRow = aOff + i * ai;
          for (let kk = 0; kk < k; kk++) {
            const aik = a[aRow + kk * ak]!;
            const bRow = bOff + kk * bk;
            for (let j = 0; j < n; j++) row[j] += aik * b[bRow + j]!;
          }
          const oRow = oOff + i * n;
          if (accumulate) for (let j = 0; j < n; j++) out[oRow + j] += row[j]!;
          else for (let j = 0; j < n; j++) out[oRow + j] = row[j]!;
        }
      } else {
        // transB: out[i][j] = dot(row i of op(a), row j of b): b's rows are contiguous in K
        for (let i = 0; i < m; i++) {
          const aRow = aOff + i * ai;
          const oRow = oOff + i * n;
          for (let j = 0; j < n; j++) {
            const bRow = bOff + j * bj;
            let s = 0;
            for (let kk = 0; kk < k; kk++) s += a[aRow + kk * ak]! * b[bRow + kk]!;
            if (accumulate) out[oRow + j] += s;
            else out[oRow + j] = s;
          }
        }
      }
    }
  }

  addBias(out: FloatArray, bias: FloatArray, n: number, oc: number): void {
    // out (N, OC), bias (OC)
    for (let i = 0; i < n; i++) {
      const o = i * oc;
      for (let j = 0; j < oc; j++) out[o + j] += bias[j]!;
    }
  }

  biasBackward(dbias: FloatArray, dout: FloatArray, n: number, oc: number): void {
    // forward: out[i][j] += bias[j]  ->  dbias[j] += sum_i dout[i][j]
    // dbias (OC), dout (N, OC); rows summed in float64, row by row for cache order
    const acc = new Float64Array(oc);
    for (let i = 0; i < n; i++) {
      const o = i * oc;
      for (let j = 0; j < oc; j++) acc[j] += dout[o + j]!;
    }
    for (let j = 0; j < oc; j++) dbias[j] += acc[j]!;
  }

  // ---------------------------------------------------------------- transformer layers

  layerNormForward(
    out: FloatArray, // (N, C)
    mean: FloatArray, // (N)
    rstd: FloatArray, // (N)
    x: FloatArray, // (N, C)
    weight: FloatArray, // (C)
    bias: FloatArray | null, // (C)
    n: number,
    c: number,
    eps: number,
  ): void {
    for (let i = 0; i < n; i++) {
      const o = i * c;
      let m = 0;
      for (let j = 0; j < c; j++) m += x[o + j]!;
      m /= c;
      // two-pass (biased, like PyTorch) variance: exact enough, no E[x^2]-E[x]^2 cancellation
      let v = 0;
      for (let j = 0; j < c; j++) {
        const d = x[o + j]! - m;
        v += d * d;
      }
      v /= c;
      const s = 1 / Math.sqrt(v + eps);
      for (let j = 0; j < c; j++) {
        const norm = (x[o + j]! - m) * s;
        out[o + j] = norm * weight[j]! + (bias === null ? 0 : bias[j]!);
      }
      mean[i] = m;
      rstd[i] = s;
    }
  }

  layerNormBackward(
    dx: FloatArray, // (N, C)
    dweight: FloatArray, // (C)
    dbias: FloatArray | null, // (C)
    dout: FloatArray, // (N, C)
    x: FloatArray, // (N, C)
    weight: FloatArray, // (C)
    mean: FloatArray, // (N)
    rstd: FloatArray, // (N)
    n: number,
    c: number,
  ): void {
    // forward: norm = (x - mean) * rstd; out = norm * weight + bias
    for (let i = 0; i < n; i++) {
      const o = i * c;
      const m = mean[i]!;
      const s = rstd[i]!;
      // two reductions: mean of dnorm and mean of dnorm * norm (mean and rstd depend on all of x)
      let dnormMean = 0;
      let dnormNormMean = 0;
      for (let j = 0; j < c; j++) {
        const norm = (x[o + j]! - m) * s;
        const dnorm = weight[j]! * dout[o + j]!;
        dnormMean += dnorm;
        dnormNormMean += dnorm * norm;
      }
      dnormMean /= c;
      dnormNormMean /= c;
      for (let j = 0; j < c; j++) {
        const norm = (x[o + j]! - m) * s;
        const dnorm = weight[j]! * dout[o + j]!;
        if (dbias !== null) dbias[j] += dout[o + j]!;
        dweight[j] += norm * dout[o + j]!;
        // dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
        dx[o + j] += (dnorm - dnormMean - norm * dnormNormMean) * s;
      }
    }
  }

  softmaxForward(out: FloatArray, x: FloatArray, n: number, c: number): void {
    // out (N, C), x (N, C)
    for (let i = 0; i < n; i++) {
      const o = i * c;
      // subtracting the row max changes nothing mathematically but keeps exp from overflowing
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < c; j++) if (x[o + j]! > max) max = x[o + j]!;
      let sum = 0;
      for (let j = 0; j < c; j++) {
        const e = Math.exp(x[o + j]! - max);
        out[o + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < c; j++) out[o + j] *= inv;
    }
  }

  softmaxBackward(dx: FloatArray, dout: FloatArray, y: FloatArray, n: number, c: number): void {
    // forward: y[j] = exp(x[j]) / sum_k exp(x[k])
    // dy[j]/dx[k] = y[j] (delta_jk - y[k])  ->  dx[k] = y[k] (dout[k] - sum_j y[j] dout[j])
    for (let i = 0; i < n; i++) {
      const o = i * c;
      let dot = 0;
      for (let j = 0; j < c; j++) dot += y[o + j]! * dout[o + j]!;
      for (let j = 0; j < c; j++) dx[o + j] += y[o + j]! * (dout[o + j]! - dot);
    }
  }

  attentionForward(
    out: FloatArray, // (B, T, C)
    att: FloatArray, // (B, NH, T, T)
    qkv: FloatArray, // (B, T, 3C): q | k | v
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP = 0,
    seed = 0,
  ): void {
    const hs = c / nh;
    const c3 = 3 * c;
    for (let bb = 0; bb < b; bb++) {
      for (let tq = 0; tq < t; tq++) {
        for (let h = 0; h < nh; h++) {
          const q = bb * t * c3 + tq * c3 + h * hs; // query of token tq, head h
          const attRow = bb * nh * t * t + h * t * t + tq * t;
          const o = bb * t * c + tq * c + h * hs;

          // pass 1: scores q . k * scale for keys tk <= tq (causal), and their max
          let max = Number.NEGATIVE_INFINITY;
          for (let tk = 0; tk <= tq; tk++) {
            const key = bb * t * c3 + tk * c3 + h * hs + c;
            let s = 0;
            for (let i = 0; i < hs; i++) s += qkv[q + i]! * qkv[key + i]!;
            s *= scale;
            att[attRow + tk] = s;
            if (s > max) max = s;
          }
          // pass 2: exp and sum (minus the max for stability)
          let sum = 0;
          for (let tk = 0; tk <= tq; tk++) {
            const e = Math.exp(att[attRow + tk]! - max);
            att[attRow + tk] = e;
            sum += e;
          }
          // pass 3: normalize; the masked future positions are probability 0
          const inv = 1 / sum;
          for (let tk = 0; tk <= tq; tk++) att[attRow + tk] *= inv;
          for (let tk = tq + 1; tk < t; tk++) att[attRow + tk] = 0;

          // pass 4: out = sum_tk drop(att)[tk] * v[tk]; attention dropout (training) zeroes
          // some probabilities and scales the rest by 1/(1-p), mask drawn at att's flat index
          for (let i = 0; i < hs; i++) out[o + i] = 0;
          for (let tk = 0; tk <= tq; tk++) {
            const val = bb * t * c3 + tk * c3 + h * hs + 2 * c;
            const m = dropoutP > 0 ? dropoutMask(seed, attRow + tk, dropoutP) : 1;
            const w = att[attRow + tk]! * m;
            for (let i = 0; i < hs; i++) out[o + i] += w * qkv[val + i]!;
          }
        }
      }
    }
  }

  attentionBackward(
    dqkv: FloatArray, // (B, T, 3C)
    datt: FloatArray, // (B, NH, T, T) scratch
    dout: FloatArray, // (B, T, C)
    qkv: FloatArray, // (B, T, 3C)
    att: FloatArray, // (B, NH, T, T)
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP = 0,
    seed = 0,
  ): void {
    const hs = c / nh;
    const c3 = 3 * c;
    for (let bb = 0; bb < b; bb++) {
      for (let tq = 0; tq < t; tq++) {
        for (let h = 0; h < nh; h++) {
          const q = bb * t * c3 + tq * c3 + h * hs;
          const attRow = bb * nh * t * t + h * t * t + tq * t;
          const o = bb * t * c + tq * c + h * hs;

          // backward pass 4: out[i] += att[tk] * m[tk] * v[tk][i] (m: the dropout mask, 1 without)
          //   -> datt[tk] = dot(v[tk], dout) * m[tk]; dv[tk] += att[tk] * m[tk] * dout
          for (let tk = 0; tk <= tq; tk++) {
            const val = bb * t * c3 + tk * c3 + h * hs + 2 * c;
            const m = dropoutP > 0 ? dropoutMask(seed, attRow + tk, dropoutP) : 1;
            const w = att[attRow + tk]! * m;
            let s = 0;
            for (let i = 0; i < hs; i++) {
              s += qkv[val + i]! * dout[o + i]!;
              dqkv[val + i] += w * dout[o + i]!;
            }
            datt[attRow + tk] = s * m;
          }
          for (let tk = tq + 1; tk < t; tk++) datt[attRow + tk] = 0;

          // backward passes 2-3 (softmax): dpre[tk] = att[tk] * (datt[tk] - sum_j att[j] datt[j]),
          // the O(T) form of llm.c's O(T^2) loop; written in place over datt
          let dot = 0;
          for (let tk = 0; tk <= tq; tk++) dot += att[attRow + tk]! * datt[attRow + tk]!;
          for (let tk = 0; tk <= tq; tk++) datt[attRow + tk] = att[attRow + tk]! * (datt[attRow + tk]! - dot);

          // backward pass 1: pre[tk] = scale * dot(q, k[tk])
          //   -> dq += scale * dpre[tk] * k[tk]; dk[tk] += scale * dpre[tk] * q
          for (let tk = 0; tk <= tq; tk++) {
            const key = bb * t * c3 + tk * c3 + h * hs + c;
            const g = datt[attRow + tk]! * scale;
            for (let i = 0; i < hs; i++) {
              dqkv[q + i] += qkv[key + i]! * g;
              dqkv[key + i] += qkv[q + i]! * g;
            }
          }
        }
      }
    }
  }

  attentionForwardBf16(
    out: FloatArray, // (B, T, C)
    att16: Int32Array, // (B, NH, T, T) bf16
    qkv: FloatArray, // (B, T, 3C)
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void {
    // the float32 forward, then its probabilities rounded to bf16 (the definition the kernels follow)
    const att = new Float32Array(b * nh * t * t);
    this.attentionForward(out, att, qkv, b, t, c, nh, scale, dropoutP, seed);
    const h = bf16Values(att16, att.length);
    for (let i = 0; i < att.length; i++) h[i] = toBf16(att[i]!);
  }

  attentionBackwardBf16(
    dqkv: FloatArray, // (B, T, 3C)
    dout: FloatArray, // (B, T, C)
    qkv: FloatArray, // (B, T, 3C)
    att16: Int32Array, // (B, NH, T, T) bf16
    b: number,
    t: number,
    c: number,
    nh: number,
    scale: number,
    dropoutP: number,
    seed: number,
  ): void {
    // the probabilities widened back to float32, then the float32 backward
    const n = b * nh * t * t;
    const h = bf16Values(att16, n);
    const att = new Float32Array(n);
    for (let i = 0; i < n; i++) att[i] = fromBf16(h[i]!);
    this.attentionBackward(dqkv, new Float32Array(n), dout, qkv, att, b, t, c, nh, scale, dropoutP, seed);
  }

  maskedAttentionForward(
    out: FloatArray, // (B, Tq, C)
    att: FloatArray, // (B, NH, Tq, Tk)
    q: FloatArray, // (B, Tq, C)
    kv: FloatArray, // (B, Tk, 2C): k | v
    keyPadding: Int32Array | null, // (B, Tk), nonzero = masked
    p: MaskedAttentionParams,
  ): void {
    const { b, tq, tk, c, nh, scale, causal } = p;
    const hs = c / nh;
    const c2 = 2 * c;
    for (let bb = 0; bb < b; bb++) {
      for (let i = 0; i < tq; i++) {
        // keys j < visible may be seen (all of them unless causal; then up to the diagonal,
        // shifted by tk - tq when the queries are the last tq of the keys' positions)
        const visible = causal ? Math.max(0, Math.min(tk, i + 1 + tk - tq)) : tk;
        for (let h = 0; h < nh; h++) {
          const qo = (bb * tq + i) * c + h * hs;
          const attRow = ((bb * nh + h) * tq + i) * tk;
          const o = qo;

          // pass 1: scores q . k * scale, -inf where masked, and their max
          let max = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < tk; j++) {
            let s = Number.NEGATIVE_INFINITY;
            if (j < visible && !(keyPadding && keyPadding[bb * tk + j] !== 0)) {
              const ko = (bb * tk + j) * c2 + h * hs;
              s = 0;
              for (let d = 0; d < hs; d++) s += q[qo + d]! * kv[ko + d]!;
              s *= scale;
            }
            att[attRow + j] = s;
            if (s > max) max = s;
          }
          // every key masked: softmax of all -inf is undefined; define it as all zeros
          if (max === Number.NEGATIVE_INFINITY) {
            for (let j = 0; j < tk; j++) att[attRow + j] = 0;
            for (let d = 0; d < hs; d++) out[o + d] = 0;
            continue;
          }
          // pass 2: exp and sum (minus the max for stability); exp(-inf) = 0 for masked keys
          let sum = 0;
          for (let j = 0; j < tk; j++) {
            const e = Math.exp(att[attRow + j]! - max);
            att[attRow + j] = e;
            sum += e;
          }
          // pass 3: normalize
          const inv = 1 / sum;
          for (let j = 0; j < tk; j++) att[attRow + j] *= inv;

          // pass 4: out = sum_j att[j] * v[j]
          for (let d = 0; d < hs; d++) out[o + d] = 0;
          for (let j = 0; j < tk; j++) {
            const w = att[attRow + j]!;
            if (w === 0) continue;
            const vo = (bb * tk + j) * c2 + c + h * hs;
            for (let d = 0; d < hs; d++) out[o + d] += w * kv[vo + d]!;
          }
        }
      }
    }
  }

  maskedAttentionBackward(
    dq: FloatArray | null, // (B, Tq, C)
    dkv: FloatArray | null, // (B, Tk, 2C)
    datt: FloatArray, // (B, NH, Tq, Tk) scratch
    dout: FloatArray, // (B, Tq, C)
    q: FloatArray, // (B, Tq, C)
    kv: FloatArray, // (B, Tk, 2C)
    att: FloatArray, // (B, NH, Tq, Tk)
    p: MaskedAttentionParams,
  ): void {
    const { b, tq, tk, c, nh, scale } = p;
    const hs = c / nh;
    const c2 = 2 * c;
    for (let bb = 0; bb < b; bb++) {
      for (let i = 0; i < tq; i++) {
        for (let h = 0; h < nh; h++) {
          const qo = (bb * tq + i) * c + h * hs;
          const attRow = ((bb * nh + h) * tq + i) * tk;

          // backward pass 4: out[d] += att[j] * v[j][d]
          //   -> datt[j] = dot(v[j], dout); dv[j] += att[j] * dout
          for (let j = 0; j < tk; j++) {
            const vo = (bb * tk + j) * c2 + c + h * hs;
            const w = att[attRow + j]!;
            let s = 0;
            for (let d = 0; d < hs; d++) {
              s += kv[vo + d]! * dout[qo + d]!;
              if (dkv) dkv[vo + d] += w * dout[qo + d]!;
            }
            datt[attRow + j] = s;
          }

          // backward passes 2-3 (softmax): dpre[j] = att[j] * (datt[j] - sum_k att[k] datt[k]);
          // masked keys (att 0) and rows with every key masked (all 0) get no gradient
          let dot = 0;
          for (let j = 0; j < tk; j++) dot += att[attRow + j]! * datt[attRow + j]!;
          for (let j = 0; j < tk; j++) datt[attRow + j] = att[attRow + j]! * (datt[attRow + j]! - dot);

          // backward pass 1: pre[j] = scale * dot(q, k[j])
          //   -> dq += scale * dpre[j] * k[j]; dk[j] += scale * dpre[j] * q
          for (let j = 0; j < tk; j++) {
            const g = datt[attRow + j]! * scale;
            if (g === 0) continue;
            const ko = (bb * tk + j) * c2 + h * hs;
            for (let d = 0; d < hs; d++) {
              if (dq) dq[qo + d] += kv[ko + d]! * g;
              if (dkv) dkv[ko + d] += q[qo + d]! * g;
            }
          }
        }
      }
    }
  }

  crossEntropyForward(
    losses: FloatArray, // (N)
    logits: FloatArray, // (N, V)
    targets: Int32Array, // (N), -1 = ignore
    n: number,
    v: number,
  ): void {
    for (let i = 0; i < n; i++) {
      const tgt = targets[i]!;
      if (tgt === -1) {
        losses[i] = 0;
        continue;
      }
      checkIndex('crossEntropyForward', 'target', tgt, v, i);
      const o = i * v;
      // -log softmax(x)[tgt] = log(sum_j exp(x[j] - max)) + max - x[tgt]
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < v; j++) if (logits[o + j]! > max) max = logits[o + j]!;
      let sum = 0;
      for (let j = 0; j < v; j++) sum += Math.exp(logits[o + j]! - max);
      losses[i] = Math.log(sum) + max - logits[o + tgt]!;
    }
  }

  crossEntropyBackward(
    dlogits: FloatArray, // (N, V)
    logits: FloatArray, // (N, V)
    targets: Int32Array, // (N)
    dlosses: FloatArray, // (N)
    n: number,
    v: number,
  ): void {
    // forward: loss = log(sum_j exp(x[j])) - x[tgt]  ->  dloss/dx[j] = softmax(x)[j] - [j == tgt]
    for (let i = 0; i < n; i++) {
      const tgt = targets[i]!;
      if (tgt === -1) continue;
      checkIndex('crossEntropyBackward', 'target', tgt, v, i);
      const o = i * v;
      const dl = dlosses[i]!;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < v; j++) if (logits[o + j]! > max) max = logits[o + j]!;
      let sum = 0;
      for (let j = 0; j < v; j++) sum += Math.exp(logits[o + j]! - max);
      const inv = 1 / sum;
      for (let j = 0; j < v; j++) {
        const prob = Math.exp(logits[o + j]! - max) * inv;
        dlogits[o + j] += (prob - (j === tgt ? 1 : 0)) * dl;
      }
    }
  }

  embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, c: number): void {
    // out (N, C), table (V, C), ids (N)
    const v = table.length / c;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      checkIndex('embeddingForward', 'id', id, v, i);
      const src = id * c;
      const dst = i * c;
      for (let j = 0; j < c; j++) out[dst + j] = table[src + j]!;
    }
  }

  embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, n: number, c: number): void {
    // forward: out[i] = table[ids[i]]  ->  dtable[ids[i]] += dout[i] (a repeated id sums)
    const v = dtable.length / c;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      checkIndex('embeddingBackward', 'id', id, v, i);
      const dst = id * c;
      const src = i * c;
      for (let j = 0; j < c; j++) dtable[dst + j] += dout[src + j]!;
    }
  }

  dropoutForward(out: FloatArray, mask: FloatArray, x: FloatArray, p: number, seed: number): void {
    // inverted dropout: kept values are scaled by 1/(1-p) so the expected output equals x and
    // evaluation (no dropout) needs no rescaling
    const n = x.length;
    if (p === 0) {
      mask.fill(1);
      out.set(x);
      return;
    }
    const keepScale = 1 / (1 - p);
    for (let i = 0; i < n; i++) {
      const m = dropoutUniform(seed, i) >= p ? keepScale : 0;
      mask[i] = m;
      out[i] = x[i]! * m;
    }
  }

  dropoutApply(out: FloatArray, x: FloatArray, p: number, seed: number): void {
    // dropoutForward's numbers, the mask not kept (dropoutBackward draws it again)
    const n = x.length;
    for (let i = 0; i < n; i++) out[i] = x[i]! * (p === 0 ? 1 : dropoutMask(seed, i, p));
  }

  dropoutBackward(dx: FloatArray, dout: FloatArray, p: number, seed: number): void {
    // out = x * m  ->  dx += dout * m, with m and the product rounded as a stored mask and a
    // multiply into a scratch array of dx's dtype would round them
    const r = dx instanceof Float32Array ? Math.fround : (v: number) => v;
    const n = dx.length;
    for (let i = 0; i < n; i++) {
      const m = r(p === 0 ? 1 : dropoutMask(seed, i, p));
      dx[i] = dx[i]! + r(dout[i]! * m);
    }
  }

  // ---------------------------------------------------------------- int8 inference

  linearInt8(out: FloatArray, x: FloatArray, w: Int8Weights, bias: FloatArray | null, n: number): void {
    linearInt8Ref(out, x, w, bias, n);
  }

  // ---------------------------------------------------------------- recurrent cells

  lstmCellForward(
    h: FloatArray, // (N, HS)
    c: FloatArray, // (N, HS)
    act: FloatArray, // (N, 4HS): i | f | g | o after their nonlinearities
    xg: FloatArray, // (N, 4HS): W_ih x + b_ih
    hg: FloatArray, // (N, 4HS): W_hh hPrev + b_hh
    cPrev: FloatArray, // (N, HS)
    n: number,
    hs: number,
  ): void {
    for (let r = 0; r < n; r++) {
      const g4 = r * 4 * hs; // this row's gates
      const o1 = r * hs; // this row's units
      for (let j = 0; j < hs; j++) {
        const ig = sigmoid(xg[g4 + j]! + hg[g4 + j]!); // input gate: how much of g to write
        const fg = sigmoid(xg[g4 + hs + j]! + hg[g4 + hs + j]!); // forget gate: how much of c to keep
        const gg = Math.tanh(xg[g4 + 2 * hs + j]! + hg[g4 + 2 * hs + j]!); // the candidate value
        const og = sigmoid(xg[g4 + 3 * hs + j]! + hg[g4 + 3 * hs + j]!); // output gate: how much of c to show
        const cn = fg * cPrev[o1 + j]! + ig * gg;
        c[o1 + j] = cn;
        h[o1 + j] = og * Math.tanh(cn);
        act[g4 + j] = ig;
        act[g4 + hs + j] = fg;
        act[g4 + 2 * hs + j] = gg;
        act[g4 + 3 * hs + j] = og;
      }
    }
  }

  lstmCellBackward(
    dxg: FloatArray | null, // (N, 4HS)
    dhg: FloatArray | null, // (N, 4HS)
    dcPrev: FloatArray | null, // (N, HS)
    dh: FloatArray, // (N, HS)
    dc: FloatArray, // (N, HS)
    act: FloatArray, // (N, 4HS)
    c: FloatArray, // (N, HS)
    cPrev: FloatArray, // (N, HS)
    n: number,
    hs: number,
  ): void {
    // forward: c = f cPrev + i g; h = o tanh(c), with i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g)
    for (let r = 0; r < n; r++) {
      const g4 = r * 4 * hs;
      const o1 = r * hs;
      for (let j = 0; j < hs; j++) {
        const ig = act[g4 + j]!;
        const fg = act[g4 + hs + j]!;
        const gg = act[g4 + 2 * hs + j]!;
        const og = act[g4 + 3 * hs + j]!;
        const tc = Math.tanh(c[o1 + j]!);
        // c reaches the loss directly (dc) and through h = o tanh(c)
        const dct = dc[o1 + j]! + dh[o1 + j]! * og * (1 - tc * tc);
        // through each gate's nonlinearity: sigmoid' = s (1 - s), tanh' = 1 - t^2
        const dai = dct * gg * ig * (1 - ig);
        const daf = dct * cPrev[o1 + j]! * fg * (1 - fg);
        const dag = dct * ig * (1 - gg * gg);
        const dao = dh[o1 + j]! * tc * og * (1 - og);
        // gates = xg + hg: both get the same gradient
        if (dxg !== null) {
          dxg[g4 + j] += dai;
          dxg[g4 + hs + j] += daf;
          dxg[g4 + 2 * hs + j] += dag;
          dxg[g4 + 3 * hs + j] += dao;
        }
        if (dhg !== null) {
          dhg[g4 + j] += dai;
          dhg[g4 + hs + j] += daf;
          dhg[g4 + 2 * hs + j] += dag;
          dhg[g4 + 3 * hs + j] += dao;
        }
        if (dcPrev !== null) dcPrev[o1 + j] += dct * fg;
      }
    }
  }

  gruCellForward(
    h: FloatArray, // (N, HS)
    act: FloatArray, // (N, 3HS): r | z | nn
    xg: FloatArray, // (N, 3HS): W_ih x + b_ih
    hg: FloatArray, // (N, 3HS): W_hh hPrev + b_hh
    hPrev: FloatArray, // (N, HS)
    n: number,
    hs: number,
  ): void {
    for (let r = 0; r < n; r++) {
      const g3 = r * 3 * hs;
      const o1 = r * hs;
      for (let j = 0; j < hs; j++) {
        const rg = sigmoid(xg[g3 + j]! + hg[g3 + j]!); // reset gate: how much of h the candidate sees
        const zg = sigmoid(xg[g3 + hs + j]! + hg[g3 + hs + j]!); // update gate: keep h or take nn
        const nn = Math.tanh(xg[g3 + 2 * hs + j]! + rg * hg[g3 + 2 * hs + j]!); // the candidate
        h[o1 + j] = (1 - zg) * nn + zg * hPrev[o1 + j]!;
        act[g3 + j] = rg;
        act[g3 + hs + j] = zg;
        act[g3 + 2 * hs + j] = nn;
      }
    }
  }

  gruCellBackward(
    dxg: FloatArray | null, // (N, 3HS)
    dhg: FloatArray | null, // (N, 3HS)
    dhPrev: FloatArray | null, // (N, HS)
    dh: FloatArray, // (N, HS)
    act: FloatArray, // (N, 3HS)
    hg: FloatArray, // (N, 3HS)
    hPrev: FloatArray, // (N, HS)
    n: number,
    hs: number,
  ): void {
    // forward: h = (1 - z) nn + z hPrev; nn = tanh(a_n), a_n = xg_n + r hg_n; r, z = sigmoid(a_r, a_z)
    for (let r = 0; r < n; r++) {
      const g3 = r * 3 * hs;
      const o1 = r * hs;
      for (let j = 0; j < hs; j++) {
        const rg = act[g3 + j]!;
        const zg = act[g3 + hs + j]!;
        const nn = act[g3 + 2 * hs + j]!;
        const d = dh[o1 + j]!;
        const dan = d * (1 - zg) * (1 - nn * nn);
        const daz = d * (hPrev[o1 + j]! - nn) * zg * (1 - zg);
        const dar = dan * hg[g3 + 2 * hs + j]! * rg * (1 - rg);
        if (dxg !== null) {
          dxg[g3 + j] += dar;
          dxg[g3 + hs + j] += daz;
          dxg[g3 + 2 * hs + j] += dan;
        }
        if (dhg !== null) {
          dhg[g3 + j] += dar;
          dhg[g3 + hs + j] += daz;
          dhg[g3 + 2 * hs + j] += dan * rg; // hg_n enters a_n scaled by r
        }
        if (dhPrev !== null) dhPrev[o1 + j] += d * zg;
      }
    }
  }

  // ---------------------------------------------------------------- architecture variants

  rmsNormForward(
    out: FloatArray, // (N, C)
    rstd: FloatArray, // (N)
    x: FloatArray, // (N, C)
    weight: FloatArray, // (C)
    n: number,
    c: number,
    eps: number,
  ): void {
    for (let i = 0; i < n; i++) {
      const o = i * c;
      let ss = 0;
      for (let j = 0; j < c; j++) ss += x[o + j]! * x[o + j]!;
      const s = 1 / Math.sqrt(ss / c + eps);
      for (let j = 0; j < c; j++) out[o + j] = x[o + j]! * s * weight[j]!;
      rstd[i] = s;
    }
  }

  rmsNormBackward(
    dx: FloatArray, // (N, C)
    dweight: FloatArray, // (C)
    dout: FloatArray, // (N, C)
    x: FloatArray, // (N, C)
    weight: FloatArray, // (C)
    rstd: FloatArray, // (N)
    n: number,
    c: number,
  ): void {
    // forward: norm = x * rstd, rstd = (mean(x^2) + eps)^-1/2; out = norm * weight
    // d rstd / d x[j] = -rstd^3 x[j] / C, so with dnorm = weight * dout:
    //   dx = rstd * (dnorm - norm * mean(dnorm * norm))
    for (let i = 0; i < n; i++) {
      const o = i * c;
      const s = rstd[i]!;
      let dnormNormMean = 0;
      for (let j = 0; j < c; j++) dnormNormMean += weight[j]! * dout[o + j]! * x[o + j]! * s;
      dnormNormMean /= c;
      for (let j = 0; j < c; j++) {
        const norm = x[o + j]! * s;
        dweight[j] += norm * dout[o + j]!;
        dx[o + j] += (weight[j]! * dout[o + j]! - norm * dnormNormMean) * s;
      }
    }
  }

  qkNormForward(
    out: FloatArray, // (N, 3C)
    rstd: FloatArray, // (N, 2 NH)
    qkv: FloatArray, // (N, 3C)
    n: number,
    c: number,
    nh: number,
    eps: number,
  ): void {
    const hs = c / nh;
    for (let i = 0; i < n; i++) {
      const row = i * 3 * c;
      // the 2 NH query and key heads are the first 2C values of the row, HS each
      for (let h = 0; h < 2 * nh; h++) {
        const o = row + h * hs;
        let ss = 0;
        for (let j = 0; j < hs; j++) ss += qkv[o + j]! * qkv[o + j]!;
        const s = 1 / Math.sqrt(ss / hs + eps);
        for (let j = 0; j < hs; j++) out[o + j] = qkv[o + j]! * s;
        rstd[i * 2 * nh + h] = s;
      }
      for (let j = 2 * c; j < 3 * c; j++) out[row + j] = qkv[row + j]!;
    }
  }

  qkNormBackward(
    dqkv: FloatArray, // (N, 3C)
    dout: FloatArray, // (N, 3C)
    out: FloatArray, // (N, 3C)
    rstd: FloatArray, // (N, 2 NH)
    n: number,
    c: number,
    nh: number,
  ): void {
    // rmsNormBackward with weight 1, per head: dx = rstd * (dout - y * mean(dout * y)); v: dx = dout
    const hs = c / nh;
    for (let i = 0; i < n; i++) {
      const row = i * 3 * c;
      for (let h = 0; h < 2 * nh; h++) {
        const o = row + h * hs;
        const s = rstd[i * 2 * nh + h]!;
        let m = 0;
        for (let j = 0; j < hs; j++) m += dout[o + j]! * out[o + j]!;
        m /= hs;
        for (let j = 0; j < hs; j++) dqkv[o + j] += (dout[o + j]! - out[o + j]! * m) * s;
      }
      for (let j = 2 * c; j < 3 * c; j++) dqkv[row + j] += dout[row + j]!;
    }
  }

  ropeForward(
    out: FloatArray, // (B, T, 3C)
    qkv: FloatArray, // (B, T, 3C)
    cos: FloatArray, // (maxT, HS/2)
    sin: FloatArray, // (maxT, HS/2)
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void {
    const half = c / nh / 2;
    for (let r = 0; r < b * t; r++) {
      const row = r * 3 * c;
      const tab = (pos0 + (r % t)) * half; // this position's angles
      for (let h = 0; h < 2 * nh; h++) {
        const o = row + h * 2 * half;
        for (let i = 0; i < half; i++) {
          // rotate the pair (x1, x2) by the angle: [cos -sin; sin cos]
          const x1 = qkv[o + i]!;
          const x2 = qkv[o + half + i]!;
          const co = cos[tab + i]!;
          const si = sin[tab + i]!;
          out[o + i] = x1 * co - x2 * si;
          out[o + half + i] = x2 * co + x1 * si;
        }
      }
      for (let j = 2 * c; j < 3 * c; j++) out[row + j] = qkv[row + j]!;
    }
  }

  ropeBackward(
    dqkv: FloatArray, // (B, T, 3C)
    dout: FloatArray, // (B, T, 3C)
    cos: FloatArray, // (maxT, HS/2)
    sin: FloatArray, // (maxT, HS/2)
    b: number,
    t: number,
    c: number,
    nh: number,
    pos0: number,
  ): void {
    // forward: out = R x with R = [cos -sin; sin cos]  ->  dx += R^T dout (rotate back)
    const half = c / nh / 2;
    for (let r = 0; r < b * t; r++) {
      const row = r * 3 * c;
      const tab = (pos0 + (r % t)) * half;
      for (let h = 0; h < 2 * nh; h++) {
        const o = row + h * 2 * half;
        for (let i = 0; i < half; i++) {
          const d1 = dout[o + i]!;
          const d2 = dout[o + half + i]!;
          const co = cos[tab + i]!;
          const si = sin[tab + i]!;
          dqkv[o + i] += d1 * co + d2 * si;
          dqkv[o + half + i] += d2 * co - d1 * si;
        }
      }
      for (let j = 2 * c; j < 3 * c; j++) dqkv[row + j] += dout[row + j]!;
    }
  }

  swigluForward(out: FloatArray, h: FloatArray, n: number, hidden: number): void {
    // out (N, H), h (N, 2H): a = h[:, :H] (through silu), g = h[:, H:] (the gate's partner)
    for (let i = 0; i < n; i++) {
      const hi = i * 2 * hidden;
      for (let j = 0; j < hidden; j++) {
        const a = h[hi + j]!;
        out[i * hidden + j] = (a / (1 + Math.exp(-a))) * h[hi + hidden + j]!;
      }
    }
  }

  swigluBackward(dh: FloatArray, dout: FloatArray, h: FloatArray, n: number, hidden: number): void {
    // out = silu(a) g: dg += dout silu(a); da += dout g silu'(a), silu'(a) = s (1 + a (1 - s)), s = sigmoid(a)
    for (let i = 0; i < n; i++) {
      const hi = i * 2 * hidden;
      for (let j = 0; j < hidden; j++) {
        const a = h[hi + j]!;
        const g = h[hi + hidden + j]!;
        const d = dout[i * hidden + j]!;
        const s = 1 / (1 + Math.exp(-a));
        dh[hi + j] += d * g * s * (1 + a * (1 - s));
        dh[hi + hidden + j] += d * a * s;
      }
    }
  }

  // ---------------------------------------------------------------- optimizer

  adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, p: AdamWParams): void {
    const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
    // torch.optim.AdamW's order: decay first (decoupled: it does not pass through m and v),
    // then the moments, then the bias-corrected step
    //   denom = sqrt(v) / sqrt(1 - beta2^step) + eps;  p -= lr / (1 - beta1^step) * m / denom
    const decay = 1 - lr * weightDecay;
    const stepSize = lr / (1 - beta1 ** step);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]! * gradScale;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }
}

// ---------------------------------------------------------------- helpers

/**
 * out[o0 + j] = a[a0 + j*as] op b[b0 + j*bs] for j < n: the inner loop of `binary`.
 * The switch sits outside the loop so each loop body is a single arithmetic op.
 */
function binaryRow(
  op: BinaryOp,
  out: FloatArray,
  o0: number,
  a: FloatArray,
  a0: number,
  as: number,
  b: FloatArray,
  b0: number,
  bs: number,
  n: number,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < n; j++) out[o0 + j] = a[a0 + j * as]! + b[b0 + j * bs]!;
      return;
    case 'sub':
      for (let j = 0; j < n; j++) out[o0 + j] = a[a0 + j * as]! - b[b0 + j * bs]!;
      return;
    case 'mul':
      for (let j = 0; j < n; j++) out[o0 + j] = a[a0 + j * as]! * b[b0 + j * bs]!;
      return;
    case 'div':
      for (let j = 0; j < n; j++) out[o0 + j] = a[a0 + j * as]! / b[b0 + j * bs]!;
      return;
  }
}

/** Whether strides address a contiguous array of `shape` (dims of size 1 may have any stride). */
function sameStrides(
  strides: readonly number[],
  contiguous: readonly number[],
  shape: readonly number[],
): boolean {
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1 && strides[d] !== contiguous[d]) return false;
  return true;
}

/** The logistic function 1 / (1 + e^-x), in (0, 1): a gate's "how much". */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Throws if an id/target is outside [0, limit): it would otherwise read past a row as NaN. */
function checkIndex(kernel: string, what: string, value: number, limit: number, row: number): void {
  if (value < 0 || value >= limit) {
    throw new RangeError(`${kernel}: ${what} ${value} at row ${row} is outside [0, ${limit})`);
  }
}
