// Muon (Keller Jordan, 2024: "MomentUm Orthogonalized by Newton-Schulz") for the 2-D weights of
// the hidden layers, AdamW for the rest (embeddings, the output head, gains and biases).
// Each step a hidden matrix W (rows x cols) moves along the orthogonalised momentum:
//   buf = beta buf + (1 - beta) g;  u = (1 - beta) g + beta buf   (Nesterov)
//   X = u / |u|_F, then 5 steps of X = a X + (b A + c A A) X with A = X X^T  (quintic Newton-Schulz)
//   W = W (1 - lr wd) - lr sqrt(max(1, rows / cols)) X
// Newton-Schulz pushes every singular value of u towards 1 (to within ~0.3: a, b, c are tuned
// for speed, not exactness), so the update has the same size in every direction the gradient
// points to: small directions are not starved by the dominant ones. The iterations are batched
// matmuls on the backend (all matrices of one shape at once). Not here: AdamW (optimizer.ts).

import type { Backend, FloatArray, MatmulParams } from '../backend/backend.js';
import { TsgptError } from '../errors.js';
import { NO_GRADS, type ParamStore } from '../nn/module.js';
import { AdamW, type AdamWConfig, type Optimizer } from './optimizer.js';

/** The quintic's coefficients (Keller Jordan's): the steepest slope at 0 that still converges. */
const NS_A = 3.4445;
const NS_B = -4.775;
const NS_C = 2.0315;

/** The parameters that are not hidden-layer matrices although they have two dimensions. */
const NOT_HIDDEN = new Set(['transformer.wte.weight', 'transformer.wpe.weight', 'lm_head.weight']);

/** Whether Muon updates this parameter: a 2-D weight that is not an embedding or the output head. */
export function isMuonParam(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && !NOT_HIDDEN.has(name);
}

export interface MuonConfig {
  /** momentum coefficient beta (Keller Jordan: 0.95) */
  momentum: number;
  /** Newton-Schulz steps (5) */
  nsSteps: number;
  /** decoupled weight decay of the Muon matrices */
  weightDecay: number;
  /** Muon's learning rate over AdamW's: each step, Muon's lr = lr * lrRatio (the same schedule) */
  lrRatio: number;
}

/** All Muon matrices of one shape: their views and the buffers of their Newton-Schulz steps. */
interface Group {
  rows: number;
  cols: number;
  /** [param, grad, momentum] views, one per matrix */
  mats: [FloatArray, FloatArray, FloatArray][];
  /** the packed iterates (batch, rows, cols), swapped each step, and each one's matrices */
  x: FloatArray;
  xn: FloatArray;
  xViews: FloatArray[];
  xnViews: FloatArray[];
  /** A and b A + c A A (batch, d, d), d = min(rows, cols) */
  a: FloatArray;
  b: FloatArray;
  gram: MatmulParams;
  square: MatmulParams;
  apply: MatmulParams;
}

/**
 * Muon for the hidden matrices (isMuonParam) and AdamW (cfg.adamw) for every other parameter,
 * over one ParamStore. Its state for checkpoints is AdamW's m and v: Muon keeps its momentum
 * in m's slots of its matrices (their v slots stay zero). Gradient clipping (cfg.adamw.gradClip)
 * scales all gradients alike.
 * @example const opt = new Muon(be, model.store, adamwCfg, { momentum: 0.95, nsSteps: 5, weightDecay: 0, lrRatio: 20 });
 */
export class Muon implements Optimizer {
  /** the optimizer of the other parameters; its m and v are this optimizer's state */
  readonly adamw: AdamW;
  lr = 0;
  private readonly groups: Group[] = [];
  private readonly sumSq = new Float64Array(1);

  constructor(
    private readonly backend: Backend,
    store: ParamStore,
    adamw: AdamWConfig,
    readonly cfg: MuonConfig,
  ) {
    if (!store.hasGrads) throw new TsgptError(NO_GRADS);
    if (!(Number.isInteger(cfg.nsSteps) && cfg.nsSteps >= 1))
      throw new TsgptError(`Muon: nsSteps ${cfg.nsSteps} must be a positive integer`);
    const names = store.names.filter((n) => isMuonParam(n, store.get(n).shape));
    this.adamw = new AdamW(backend, store, adamw, new Set(names));
    const dtype = store.data instanceof Float64Array ? 'float64' : 'float32';
    const offset = (a: FloatArray) => (a.byteOffset - store.data.byteOffset) / a.BYTES_PER_ELEMENT;
    const byShape = new Map<string, { rows: number; cols: number; names: string[] }>();
    for (const n of names) {
      const [rows, cols] = store.get(n).shape as [number, number];
      const key = `${rows}x${cols}`;
      const g = byShape.get(key) ?? { rows, cols, names: [] };
      g.names.push(n);
      byShape.set(key, g);
    }
    for (const { rows, cols, names: group } of byShape.values()) {
      const k = group.length;
      const d = Math.min(rows, cols);
      const size = rows * cols;
      const mats = group.map((n): [FloatArray, FloatArray, FloatArray] => {
        const p = store.get(n);
        const o = offset(p.data as FloatArray);
        return [p.data as FloatArray, store.grad.subarray(o, o + size), this.adamw.m.subarray(o, o + size)];
      });
      const mm = (m: number, kk: number, n: number, transA: boolean, transB: boolean, acc: boolean) => ({
        batch: k,
        m,
        k: kk,
        n,
        transA,
        transB,
        accumulate: acc,
        aBatchStride: 0,
        bBatchStride: 0,
      });
      const wide = rows <= cols;
      // wide: A = X X^T (rows x rows), X' = a X + B X.  tall: A = X^T X (cols x cols), X' = a X + X B
      const gram = wide ? mm(rows, cols, rows, false, true, false) : mm(cols, rows, cols, true, false, false);
      gram.aBatchStride = size;
      gram.bBatchStride = size;
      const square = mm(d, d, d, false, false, false);
      square.aBatchStride = d * d;
      square.bBatchStride = d * d;
      const apply = wide
        ? mm(rows, rows, cols, false, false, true)
        : mm(rows, cols, cols, false, false, true);
      apply.aBatchStride = wide ? d * d : size;
      apply.bBatchStride = wide ? size : d * d;
      const x = backend.alloc(dtype, k * size) as FloatArray;
      const xn = backend.alloc(dtype, k * size) as FloatArray;
      const views = (a: FloatArray) => group.map((_, i) => a.subarray(i * size, (i + 1) * size));
      this.groups.push({
        rows,
        cols,
        mats,
        x,
        xn,
        xViews: views(x),
        xnViews: views(xn),
        a: backend.alloc(dtype, k * d * d) as FloatArray,
        b: backend.alloc(dtype, k * d * d) as FloatArray,
        gram,
        square,
        apply,
      });
    }
  }

  get m(): FloatArray {
    return this.adamw.m;
  }

  get v(): FloatArray {
    return this.adamw.v;
  }

  get step(): number {
    return this.adamw.step;
  }

  set step(s: number) {
    this.adamw.step = s;
  }

  get gradNorm(): number {
    return this.adamw.gradNorm;
  }

  /** Matrices updated by Muon, and their parameter count. */
  get muonParams(): { matrices: number; size: number } {
    let matrices = 0;
    let size = 0;
    for (const g of this.groups) {
      matrices += g.mats.length;
      size += g.mats.length * g.rows * g.cols;
    }
    return { matrices, size };
  }

  /** One step: AdamW on the other parameters (which measures and clips the gradient), then Muon. */
  update(): void {
    this.adamw.lr = this.lr;
    this.adamw.update();
    const lr = this.lr * this.cfg.lrRatio;
    for (let i = 0; i < this.groups.length; i++) this.updateGroup(this.groups[i]!, lr);
  }

  private updateGroup(g: Group, lr: number): void {
    const be = this.backend;
    const beta = this.cfg.momentum;
    const gs = (1 - beta) * this.adamw.gradScale;
    // momentum and the Nesterov update u, normalised, into the packed iterate x
    for (let i = 0; i < g.mats.length; i++) {
      const [, grad, buf] = g.mats[i]!;
      const u = g.xViews[i]!;
      be.scale(buf, buf, beta, false); // buf = beta buf + (1 - beta) g
      be.scale(buf, grad, gs, true);
      be.scale(u, grad, gs, false); // u = (1 - beta) g + beta buf
      be.scale(u, buf, beta, true);
      be.sumSquares(this.sumSq, u);
      be.scale(u, u, 1 / (Math.sqrt(this.sumSq[0]!) + 1e-7), false);
    }
    let x = g.x;
    let xn = g.xn;
    const wide = g.rows <= g.cols;
    for (let s = 0; s < this.cfg.nsSteps; s++) {
      be.matmul(g.a, x, x, g.gram); // A = X X^T (wide) or X^T X (tall)
      be.matmul(g.b, g.a, g.a, g.square); // B = c A A + b A
      be.scale(g.b, g.b, NS_C, false);
      be.scale(g.b, g.a, NS_B, true);
      be.scale(xn, x, NS_A, false); // X' = a X + B X (wide) or a X + X B (tall)
      if (wide) be.matmul(xn, g.b, x, g.apply);
      else be.matmul(xn, x, g.b, g.apply);
      const t = x;
      x = xn;
      xn = t;
    }
    // W = W (1 - lr wd) - lr sqrt(max(1, rows / cols)) X
    const step = -lr * Math.sqrt(Math.max(1, g.rows / g.cols));
    const decay = 1 - lr * this.cfg.weightDecay;
    const final = x === g.x ? g.xViews : g.xnViews;
    for (let i = 0; i < g.mats.length; i++) {
      const p = g.mats[i]![0];
      if (decay !== 1) be.scale(p, p, decay, false);
      be.scale(p, final[i]!, step, true);
    }
  }
}
