// Looking inside a GPT, for the studio and the lessons: one forward pass that records every
// layer's attention probabilities and activation statistics (through ForwardContext's probe),
// per-parameter weight and gradient statistics, update-to-weight ratios (the "is training
// healthy?" numbers), PCA of an embedding table and the cosine similarity of its rows.
// It reads the model and never changes it. Not here: drawing any of it.

import { noGrad } from '../autograd/engine.js';
import type { FloatArray } from '../backend/backend.js';
import { ShapeError } from '../errors.js';
import { evalContext, type ForwardProbe, type ProbePoint } from '../nn/module.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { GPT } from './gpt.js';

/** Summary of an array of numbers: moments, range and a histogram over [lo, hi]. */
export interface Stats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** counts[i]: values in [lo + i w, lo + (i+1) w), w = (hi - lo) / counts.length; hi is in the last bin */
  histogram: { lo: number; hi: number; counts: number[] };
}

/**
 * Mean, standard deviation (population), range and a histogram of x. The histogram spans
 * `range` when given (values outside it are clamped into the end bins), else [min, max].
 * @example stats([1, 2, 3, 4], 2) // mean 2.5, histogram counts [2, 2]
 */
export function stats(x: ArrayLike<number>, bins = 32, range?: readonly [number, number]): Stats {
  const n = x.length;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (x[i]! - mean) ** 2;
  const std = n > 0 ? Math.sqrt(sq / n) : 0;
  if (n === 0) [min, max] = [0, 0];
  const [lo, hi] = range ?? [min, max];
  const counts = new Array<number>(Math.max(1, bins)).fill(0);
  const w = (hi - lo) / counts.length;
  for (let i = 0; i < n; i++) {
    const k = w > 0 ? Math.floor((x[i]! - lo) / w) : 0;
    counts[Math.min(counts.length - 1, Math.max(0, k))]!++;
  }
  return { count: n, mean, std, min, max, histogram: { lo, hi, counts } };
}

/** What inspect() saw in one forward pass. */
export interface Inspection {
  batch: number;
  /** sequence length */
  t: number;
  nHead: number;
  /**
   * attention[l]: layer l's probabilities (B, NH, T, T), row-major. Row i of a head is how
   * position i spreads its attention over positions 0..i: it sums to 1, and is 0 past i.
   */
  attention: Float32Array[];
  /** statistics of the token + position embedding (the residual stream entering block 0) */
  embedding: Stats;
  /** per block: its MLP's hidden activation (after GELU/ReLU) and its output (the residual stream) */
  layers: { mlp: Stats; block: Stats }[];
  /** the logits forward() returns: (B, T, V) with targets, else the last position's (B, 1, V) */
  logits: Float32Array;
  /** mean cross-entropy against targets, when given */
  loss: number | null;
}

export interface InspectOptions {
  /** sequences in idx (default 1): idx holds batch rows of equal length */
  batch?: number;
  /** next-token targets, same layout as idx: adds the loss and every position's logits */
  targets?: ArrayLike<number>;
  /** histogram bins of the activation statistics (default 32) */
  bins?: number;
  /**
   * histogram range of each kind of activation (default: each array's own [min, max]); one range
   * for all layers puts their histograms on one axis, to compare them
   */
  ranges?: Partial<Record<ProbePoint, readonly [number, number]>>;
}

/**
 * Runs the model on idx (batch rows of token ids, at most blockSize each) without gradients
 * and returns what it computed inside: attention maps of every layer and head, activation
 * statistics, the logits. The model is not changed.
 * @example const { attention } = inspect(model, tok.encode('ROMEO:')); // attention[0]: (1, NH, 6, 6)
 */
export function inspect(model: GPT, idx: ArrayLike<number>, opts: InspectOptions = {}): Inspection {
  const b = opts.batch ?? 1;
  if (!(Number.isInteger(b) && b >= 1))
    throw new ShapeError(`inspect: batch ${b} must be a positive integer`);
  if (idx.length === 0 || idx.length % b !== 0)
    throw new ShapeError(`inspect: ${idx.length} token ids do not make ${b} non-empty rows`);
  const t = idx.length / b;
  if (t > model.config.blockSize)
    throw new ShapeError(`inspect: sequence of length ${t} exceeds blockSize ${model.config.blockSize}`);
  const v = model.config.vocabSize;
  for (let i = 0; i < idx.length; i++)
    if (!(Number.isInteger(idx[i]) && idx[i]! >= 0 && idx[i]! < v))
      throw new ShapeError(`inspect: token id ${idx[i]} at ${i} is outside [0, ${v})`);
  if (opts.targets && opts.targets.length !== idx.length)
    throw new ShapeError(`inspect: ${opts.targets.length} targets for ${idx.length} token ids`);
  const bins = opts.bins ?? 32;
  const attention: Float32Array[] = [];
  const layers: { mlp: Stats; block: Stats }[] = [];
  let embedding: Stats | null = null;
  let mlp: Stats | null = null;
  const probe: ForwardProbe = {
    layer: -1,
    attention(probs: FloatArray) {
      attention[this.layer] = Float32Array.from(probs);
    },
    activation(point: ProbePoint, x: Tensor) {
      const s = stats(x.data, bins, opts.ranges?.[point]);
      if (point === 'embedding') embedding = s;
      else if (point === 'mlp') mlp = s;
      else layers[this.layer] = { mlp: mlp!, block: s };
    },
  };
  const be = model.backend;
  return noGrad(() =>
    tidy(() => {
      const x = new Tensor(be, [b, t], 'int32');
      x.data.set(idx);
      let y: Tensor | null = null;
      if (opts.targets) {
        y = new Tensor(be, [b, t], 'int32');
        y.data.set(opts.targets);
      }
      const { logits, loss } = model.forward(x, y, { ...evalContext(), probe });
      return {
        batch: b,
        t,
        nHead: model.config.nHead,
        attention,
        embedding: embedding!,
        layers,
        logits: Float32Array.from(logits.data),
        loss: loss ? loss.item() : null,
      };
    }),
  );
}

/** One parameter's weight statistics, and its gradient's when the model has gradients. */
export interface ParameterStats {
  name: string;
  shape: readonly number[];
  weight: Stats;
  /** statistics of the gradient buffer (the last training step's gradient), or null */
  grad: Stats | null;
}

/**
 * Weight (and gradient) statistics of every parameter, in the model's parameter order. The
 * gradient is whatever the gradient buffer holds: after Trainer.trainStep(), that step's.
 */
export function parameterStats(model: GPT, bins = 32): ParameterStats[] {
  const out: ParameterStats[] = [];
  for (const [name, p] of model.store.params)
    out.push({
      name,
      shape: p.shape,
      weight: stats(p.data, bins),
      grad: p.grad ? stats(p.grad.data, bins) : null,
    });
  return out;
}

/** A copy of all the model's weights (in ParamStore order), to compare after an update. */
export function snapshotWeights(model: GPT): Float32Array {
  return Float32Array.from(model.store.data);
}

/**
 * Update-to-weight ratio per parameter: rms(w - before) / rms(w), where `before` is a
 * snapshotWeights() taken before the update. Around 1e-3 is the usual healthy value (Karpathy's
 * rule of thumb); far above, training is unstable; far below, it barely learns. null for a
 * parameter that is all zero (a bias at its start).
 */
export function updateToWeight(
  model: GPT,
  before: ArrayLike<number>,
): { name: string; ratio: number | null }[] {
  const data = model.store.data;
  if (before.length !== data.length)
    throw new ShapeError(`updateToWeight: snapshot has ${before.length} values, the model ${data.length}`);
  const out: { name: string; ratio: number | null }[] = [];
  let off = 0;
  for (const [name, p] of model.store.params) {
    let dw = 0;
    let w = 0;
    for (let i = off; i < off + p.size; i++) {
      dw += (data[i]! - before[i]!) ** 2;
      w += data[i]! ** 2;
    }
    off += p.size;
    out.push({ name, ratio: w > 0 ? Math.sqrt(dw / w) : null });
  }
  return out;
}

/** Principal components of a (rows, cols) matrix's rows. */
export interface PCA {
  /** (k, cols): the unit directions, largest variance first */
  components: Float64Array;
  /** (rows, k): each row's coordinates along them (after centring) */
  projected: Float64Array;
  /** share of the total variance along each component */
  explained: number[];
}

/**
 * The first k principal components of the rows of x (rows, cols), by power iteration on the
 * centred data (X^T X v, never forming the covariance) with deflation. Deterministic: a fixed
 * start vector, and each component's sign chosen so its largest entry is positive.
 * @example pca(model.stateDict().get('transformer.wte.weight')!.data, vocabSize, nEmbd) // 2-D map of tokens
 */
export function pca(x: ArrayLike<number>, rows: number, cols: number, k = 2, iters = 300): PCA {
  if (x.length !== rows * cols) throw new ShapeError(`pca: ${x.length} values are not (${rows}, ${cols})`);
  if (!(k >= 1 && k <= cols)) throw new ShapeError(`pca: k = ${k} must be in [1, ${cols}]`);
  const c = new Float64Array(rows * cols); // centred copy
  let total = 0;
  for (let j = 0; j < cols; j++) {
    let m = 0;
    for (let i = 0; i < rows; i++) m += x[i * cols + j]!;
    m /= rows;
    for (let i = 0; i < rows; i++) {
      const d = x[i * cols + j]! - m;
      c[i * cols + j] = d;
      total += d * d;
    }
  }
  const components = new Float64Array(k * cols);
  const projected = new Float64Array(rows * k);
  const explained: number[] = [];
  const rng = new Rng(1);
  const xv = new Float64Array(rows);
  for (let comp = 0; comp < k; comp++) {
    let v = new Float64Array(cols).map(() => rng.normal());
    let lambda = 0;
    for (let it = 0; it < iters; it++) {
      // w = X^T (X v), then remove the components already found (deflation)
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += c[i * cols + j]! * v[j]!;
        xv[i] = s;
      }
      const w = new Float64Array(cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[j]! += c[i * cols + j]! * xv[i]!;
      for (let p = 0; p < comp; p++) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += w[j]! * components[p * cols + j]!;
        for (let j = 0; j < cols; j++) w[j]! -= dot * components[p * cols + j]!;
      }
      let norm = 0;
      for (let j = 0; j < cols; j++) norm += w[j]! * w[j]!;
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      let delta = 0;
      for (let j = 0; j < cols; j++) {
        w[j]! /= norm;
        delta = Math.max(delta, Math.abs(w[j]! - v[j]!));
      }
      v = w;
      lambda = norm;
      if (delta < 1e-10) break;
    }
    let big = 0;
    for (let j = 0; j < cols; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    const sign = v[big]! < 0 ? -1 : 1;
    for (let j = 0; j < cols; j++) components[comp * cols + j] = sign * v[j]!;
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += c[i * cols + j]! * components[comp * cols + j]!;
      projected[i * k + comp] = s;
    }
    explained.push(total > 0 ? lambda / total : 0);
  }
  return { components, projected, explained };
}

/**
 * Cosine similarity of every pair of rows of x (rows, cols): out (rows, rows), 1 on the
 * diagonal. For learned position embeddings it shows which positions the model treats alike.
 */
export function cosineSimilarity(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  if (x.length !== rows * cols)
    throw new ShapeError(`cosineSimilarity: ${x.length} values are not (${rows}, ${cols})`);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[i * cols + j]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const out = new Float32Array(rows * rows);
  for (let a = 0; a < rows; a++)
    for (let b = a; b < rows; b++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += x[a * cols + j]! * x[b * cols + j]!;
      const d = norms[a]! * norms[b]!;
      const sim = d > 0 ? s / d : 0;
      out[a * rows + b] = sim;
      out[b * rows + a] = sim;
    }
  return out;
}
