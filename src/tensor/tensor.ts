// Tensor: a shape, a dtype and a flat row-major array owned by a Backend, plus the two
// fields reverse-mode autograd needs (grad, and the node that produced it).
// It holds no kernels and no op logic: ops live in src/autograd/ops.ts.

import type { AnyArray, Backend, DType, FloatArray } from '../backend/backend.js';
import { sizeOf } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../errors.js';

/** What autograd records for a tensor computed by an op. */
export interface GradNode {
  /** op name, for error messages and debugging */
  readonly op: string;
  /** tensors this one was computed from */
  readonly inputs: readonly Tensor[];
  /** reads out.grad and accumulates into the inputs' grads */
  readonly backward: () => void;
  /** scratch arrays saved by the forward (freed with the graph) */
  readonly saved: readonly AnyArray[];
}

let nextId = 0;

/** Open tidy() scopes: each collects the tensors that allocate memory while it is open. */
const scopes: Tensor[][] = [];

/**
 * Runs fn and frees every tensor it allocated except those in what it returns (TensorFlow.js's
 * tidy). Inference and evaluation use it so a backend with its own memory (wasm) does not
 * fill up with intermediate activations.
 * @example const logits = tidy(() => model.forward(idx, null).logits)
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  const collect = (v: unknown) => {
    if (v instanceof Tensor) keep.add(v);
    else if (Array.isArray(v)) for (const x of v) collect(x);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
  };
  collect(result);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keep.has(t)) outer?.push(t);
    else if (!t.requiresGrad || t.node) t.dispose(); // never a parameter
  }
  return result;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly backend: Backend;
  data: AnyArray;
  grad: Tensor | null = null;
  requiresGrad: boolean;
  node: GradNode | null = null;
  /** a view into another tensor's memory (a named parameter inside one flat buffer) */
  isView: boolean;

  constructor(
    backend: Backend,
    shape: readonly number[],
    dtype: DType,
    data?: AnyArray,
    requiresGrad = false,
  ) {
    for (const d of shape)
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`tensor: bad shape ${shapeStr(shape)}`);
    const size = sizeOf(shape);
    if (data && data.length !== size)
      throw new ShapeError(`tensor: data of length ${data.length} does not fit shape ${shapeStr(shape)}`);
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.isView = data !== undefined;
    this.data = data ?? backend.alloc(dtype, size);
    this.requiresGrad = requiresGrad;
    if (!data) scopes[scopes.length - 1]?.push(this);
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The data as a float array (throws for int32 tensors). */
  get f(): FloatArray {
    if (this.dtype === 'int32') throw new ShapeError('tensor: expected a float tensor, got int32');
    return this.data as FloatArray;
  }

  /** Size of dimension i (negative counts from the end). */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new ShapeError(`tensor: no dim ${i} in shape ${shapeStr(this.shape)}`);
    return d;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new ShapeError(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements`);
    return this.data[0]!;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Frees this tensor's memory (and its grad's) back to the backend. */
  dispose(): void {
    if (!this.isView && this.data.length > 0) this.backend.free(this.data);
    this.data = emptyLike(this.data);
    if (this.grad) this.grad.dispose();
    this.grad = null;
    this.node = null;
  }

  toString(): string {
    return `Tensor${shapeStr(this.shape)} ${this.dtype} on ${this.backend.name}`;
  }
}

function emptyLike(a: AnyArray): AnyArray {
  if (a instanceof Float64Array) return new Float64Array(0);
  if (a instanceof Int32Array) return new Int32Array(0);
  return new Float32Array(0);
}

// ---- creation helpers ----

export function zeros(backend: Backend, shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return new Tensor(backend, shape, dtype);
}

/** A tensor holding a copy of values (a nested array is not accepted: pass flat values + shape). */
export function tensor(
  backend: Backend,
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'float32',
  requiresGrad = false,
): Tensor {
  const t = new Tensor(backend, shape, dtype, undefined, requiresGrad);
  if (values.length !== t.size)
    throw new ShapeError(`tensor: ${values.length} values do not fit shape ${shapeStr(shape)}`);
  t.data.set(values);
  return t;
}
