// Module: a named tree of parameters, like torch.nn.Module, so that parameter names come out
// as GPT-2's (`transformer.h.0.attn.c_attn.weight`) and checkpoints map key by key.
// ParamStore then packs every parameter (and every gradient) into one flat buffer with named
// views, as llm.c does: zeroing grads, the grad norm and AdamW are one pass each.

import type { Backend, DType, FloatArray } from '../backend/backend.js';
import { sizeOf } from '../backend/backend.js';
import { CheckpointError, shapeStr, TsgptError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import type { Rng } from '../util/rng.js';
import type { Checkpointing } from './checkpoint.js';

/** What a forward pass needs besides its input: train/eval mode and dropout randomness. */
export interface ForwardContext {
  readonly training: boolean;
  /** a fresh seed for one dropout mask */
  readonly dropoutSeed: () => number;
  /** gradient checkpointing: recompute each block in the backward, in this memory (checkpoint.ts) */
  readonly checkpoint?: Checkpointing;
  /** mixed precision: 'bf16' saves the attention probabilities for the backward in bf16 */
  readonly precision?: 'fp32' | 'bf16';
  /** someone looking inside this forward pass (src/model/inspect.ts); absent in training */
  readonly probe?: ForwardProbe;
}

/** The points of a layer a probe is shown: the MLP's hidden activation, the block's output. */
export type ProbePoint = 'embedding' | 'mlp' | 'block';

/**
 * Looks at a forward pass while it runs: the model says which block runs, the layers hand over
 * what they compute. Called when a forward's code runs (inspection, evaluation), not when a
 * captured training step is replayed. Arrays are only valid during the call: copy what you keep.
 */
export interface ForwardProbe {
  /** index of the block running now (-1 before the first) */
  layer: number;
  /** the current block's attention probabilities (B, NH, T, T), causal: 0 above the diagonal */
  attention?(probs: FloatArray, shape: readonly [number, number, number, number]): void;
  /** an activation: 'embedding' (layer -1), the current block's 'mlp' hidden layer or 'block' output */
  activation?(point: ProbePoint, x: Tensor): void;
}

export function evalContext(): ForwardContext {
  return { training: false, dropoutSeed: () => 0 };
}

export function trainContext(
  rng: Rng,
  checkpoint?: Checkpointing,
  precision: 'fp32' | 'bf16' = 'fp32',
): ForwardContext {
  // 30 bits: a small integer in V8, never boxed, so drawing a seed allocates nothing
  const dropoutSeed = () => rng.u30();
  const ctx: ForwardContext = checkpoint
    ? { training: true, dropoutSeed, checkpoint }
    : { training: true, dropoutSeed };
  return precision === 'bf16' ? { ...ctx, precision } : ctx;
}

/** How a parameter starts: N(0, std), all zeros, or all ones. */
export type Init = { normal: number } | 'zeros' | 'ones';

export abstract class Module {
  private readonly paramMap = new Map<string, Tensor>();
  private readonly initMap = new Map<string, Init>();
  private readonly childMap = new Map<string, Module>();

  constructor(
    readonly backend: Backend,
    readonly dtype: DType,
  ) {}

  /** Declares a parameter of this module. */
  protected param(name: string, shape: readonly number[], init: Init): Tensor {
    const t = new Tensor(this.backend, shape, this.dtype, undefined, true);
    this.paramMap.set(name, t);
    this.initMap.set(name, init);
    return t;
  }

  /** Changes how a parameter of this module starts (before the model initialises its weights). */
  initAs(name: string, init: Init): void {
    if (!this.initMap.has(name)) throw new TsgptError(`initAs: no parameter named ${name}`);
    this.initMap.set(name, init);
  }

  /** Declares a child module (its parameters are named `name.<param>`). */
  protected child<M extends Module>(name: string, m: M): M {
    this.childMap.set(name, m);
    return m;
  }

  /** Every parameter under its dotted name, in declaration order. */
  namedParameters(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.paramMap) out.set(prefix + n, t);
    for (const [n, m] of this.childMap)
      for (const [k, t] of m.namedParameters(`${prefix}${n}.`)) out.set(k, t);
    return out;
  }

  /** Every parameter's init rule under its dotted name. */
  namedInits(prefix = ''): Map<string, Init> {
    const out = new Map<string, Init>();
    for (const [n, i] of this.initMap) out.set(prefix + n, i);
    for (const [n, m] of this.childMap) for (const [k, i] of m.namedInits(`${prefix}${n}.`)) out.set(k, i);
    return out;
  }
}

/** A list of modules named 0, 1, 2, ... (GPT-2's `h`). */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];
  constructor(backend: Backend, dtype: DType, items: readonly M[]) {
    super(backend, dtype);
    this.items = items;
    for (const [i, m] of items.entries()) this.child(String(i), m);
  }
}

/** What training a weights-only model says. */
export const NO_GRADS = 'this model was built without gradients (grads: false, for sampling and evaluation)';

/**
 * All parameters of a model in one flat buffer, and all gradients in another, with each
 * parameter tensor a named view. Matrices (>= 2 dims, which get weight decay) come first, so
 * AdamW runs as two calls: decayed, then not decayed.
 * It takes freshly declared parameters, all zero, and does not copy their values: the model
 * initialises or loads its weights once the store holds them (GPT's constructor). Not copying
 * leaves the store's new memory untouched until the weights arrive (GPT-2-124M loads ~3 s
 * faster and peaks ~350 MiB lower).
 */
export class ParamStore {
  readonly names: readonly string[];
  readonly params: ReadonlyMap<string, Tensor>;
  readonly data: FloatArray;
  /** the gradients, or an empty array when the store holds weights only (see hasGrads) */
  readonly grad: FloatArray;
  /** false: weights only (sampling, evaluation): no gradient buffer, parameters need no grad */
  readonly hasGrads: boolean;
  /** number of leading elements (the matrices) that get weight decay */
  readonly decaySize: number;
  readonly size: number;

  constructor(backend: Backend, dtype: DType, named: ReadonlyMap<string, Tensor>, grads = true) {
    const entries = [...named];
    const decayed = entries.filter(([, t]) => t.ndim >= 2);
    const plain = entries.filter(([, t]) => t.ndim < 2);
    const ordered = [...decayed, ...plain];
    this.names = ordered.map(([n]) => n);
    this.params = new Map(ordered);
    this.size = ordered.reduce((s, [, t]) => s + t.size, 0);
    this.decaySize = decayed.reduce((s, [, t]) => s + t.size, 0);
    this.data = backend.alloc(dtype, this.size) as FloatArray;
    this.hasGrads = grads;
    this.grad = grads
      ? (backend.alloc(dtype, this.size) as FloatArray)
      : dtype === 'float64'
        ? new Float64Array(0)
        : new Float32Array(0);
    let off = 0;
    for (const [, t] of ordered) {
      const n = sizeOf(t.shape);
      const view = this.data.subarray(off, off + n); // zero, as t.data is
      backend.free(t.data);
      t.data = view;
      t.isView = true;
      if (grads) t.grad = new Tensor(backend, t.shape, dtype, this.grad.subarray(off, off + n));
      else t.requiresGrad = false;
      off += n;
    }
  }

  get(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`no parameter named ${name}`);
    return t;
  }

  zeroGrad(backend: Backend): void {
    if (!this.hasGrads) throw new TsgptError(NO_GRADS);
    backend.fill(this.grad, 0);
  }
}

/** A parameter as checkpoints carry it: a shape and its values. */
export interface NamedWeights {
  shape: readonly number[];
  data: FloatArray;
}

/**
 * A model's parameters by name (views into the store's flat buffer), for the models that keep
 * their parameters in a ParamStore (the encoder-decoder; GPT has the same as its own method).
 */
export function stateDictOf(store: ParamStore): Map<string, NamedWeights> {
  const out = new Map<string, NamedWeights>();
  for (const [name, t] of store.params) out.set(name, { shape: t.shape, data: t.f });
  return out;
}

/** Copies weights in by name; every parameter must be present with the right shape, and no other. */
export function loadStateDictInto(
  store: ParamStore,
  dict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>,
): void {
  for (const [name, t] of store.params) {
    const src = dict.get(name);
    if (!src) throw new CheckpointError(`weights: missing tensor ${name}`);
    if (shapeStr(src.shape) !== shapeStr(t.shape))
      throw new CheckpointError(
        `weights: ${name} has shape ${shapeStr(src.shape)}, the config needs ${shapeStr(t.shape)}`,
      );
  }
  for (const name of dict.keys())
    if (!store.params.has(name)) throw new CheckpointError(`weights: unexpected tensor ${name}`);
  for (const [name, t] of store.params) t.data.set(dict.get(name)!.data);
}

/** Each parameter of module by its Init rule, N(0, std) drawn from rng in declaration order. */
export function initParams(module: Module, store: ParamStore, rng: Rng): void {
  for (const [name, init] of module.namedInits()) {
    const data = store.get(name).data;
    if (init === 'zeros') data.fill(0);
    else if (init === 'ones') data.fill(1);
    else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * init.normal;
  }
}
