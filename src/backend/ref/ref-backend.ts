// The ref backend: every kernel of the Backend interface as plain TypeScript loops, llm.c style.
// It is the living definition the WebAssembly kernels are tested against, and fast enough to
// train small models on (cache-friendly loop orders, float64 accumulators, no inner-loop
// allocation). It is deliberately not clever: no SIMD, no threads, no blocking/tiling.

import { ShapeError, shapeStr } from '../../errors.js';
import type {
  AdamWParams,
  AnyArray,
  Backend,
  BinaryOp,
  DType,
  FloatArray,
  MatmulParams,
  UnaryOp,
} from '../backend.js';
import { contiguousStrides, dropoutUniform, sizeOf } from '../backend.js';
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
    // the garbage collector owns JS memory
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

          // pass 4: out = sum_tk att[tk] * v[tk]
          for (let i = 0; i < hs; i++) out[o + i] = 0;
          for (let tk = 0; tk <= tq; tk++) {
            const val = bb * t * c3 + tk * c3 + h * hs + 2 * c;
            const w = att[attRow + tk]!;
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
  ): void {
    const hs = c / nh;
    const c3 = 3 * c;
    for (let bb = 0; bb < b; bb++) {
      for (let tq = 0; tq < t; tq++) {
        for (let h = 0; h < nh; h++) {
          const q = bb * t * c3 + tq * c3 + h * hs;
          const attRow = bb * nh * t * t + h * t * t + tq * t;
          const o = bb * t * c + tq * c + h * hs;

          // backward pass 4: out[i] += att[tk] * v[tk][i]
          //   -> datt[tk] = dot(v[tk], dout); dv[tk] += att[tk] * dout
          for (let tk = 0; tk <= tq; tk++) {
            const val = bb * t * c3 + tk * c3 + h * hs + 2 * c;
            const w = att[attRow + tk]!;
            let s = 0;
            for (let i = 0; i < hs; i++) {
              s += qkv[val + i]! * dout[o + i]!;
              dqkv[val + i] += w * dout[o + i]!;
            }
            datt[attRow + tk] = s;
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

/** Throws if an id/target is outside [0, limit): it would otherwise read past a row as NaN. */
function checkIndex(kernel: string, what: string, value: number, limit: number, row: number): void {
  if (value < 0 || value >= limit) {
    throw new RangeError(`${kernel}: ${what} ${value} at row ${row} is outside [0, ${limit})`);
  }
}
