// Reverse-mode autograd, micrograd-style: each op records a GradNode (its inputs and a
// backward closure); backward() orders the graph topologically and runs the closures in
// reverse, accumulating (+=) into .grad. The sort is iterative: a GPT graph is deep enough to
// overflow a recursive one. Not here: the ops themselves (ops.ts) or any kernel code.

import type { AnyArray } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../errors.js';
import { type GradNode, Tensor } from '../tensor/tensor.js';

let gradEnabled = true;

/**
 * Capture: while a tape is open, every forward computation and every backward closure is also
 * appended to it, in execution order. Replaying the tape later recomputes the same step on the
 * same buffers without building a graph or allocating anything (the steady-state training
 * step). What changes between replays must live in buffers (the input batch) or be drawn inside
 * the closures (dropout seeds).
 */
export interface Tape {
  forward: (() => void)[];
  backward: (() => void)[];
}
let tape: Tape | null = null;

/** Runs fn (one op's forward computation) now, and records it when capturing. */
export function compute(fn: () => void): void {
  fn();
  tape?.forward.push(fn);
}

/** Records everything fn computes (forward and backward) into a new tape. */
export function capture(fn: () => void): Tape {
  if (tape) throw new Error('capture: already capturing');
  const t: Tape = { forward: [], backward: [] };
  tape = t;
  try {
    fn();
  } finally {
    tape = null;
  }
  return t;
}

/**
 * Like capture, but may be called while a capture is open: what fn computes goes to the new tape
 * only, and the open one continues after. Gradient checkpointing records a block's recomputation
 * and backward this way, to replay both from inside one backward closure of the outer step.
 */
export function captureNested(fn: () => void): Tape {
  const outer = tape;
  const t: Tape = { forward: [], backward: [] };
  tape = t;
  try {
    fn();
  } finally {
    tape = outer;
  }
  return t;
}

/** Re-runs a captured step. */
export function replay(fns: readonly (() => void)[]): void {
  for (let i = 0; i < fns.length; i++) fns[i]!();
}

/** Runs fn without recording a graph (inference, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** True when an op on these inputs must record a node. */
export function needsGrad(...inputs: readonly (Tensor | null)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t?.requiresGrad) return true;
  return false;
}

/** Attaches a node to out (called by ops when needsGrad). */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: () => void,
  saved: readonly AnyArray[] = [],
): Tensor {
  out.requiresGrad = true;
  const node: GradNode = { op, inputs, backward, saved };
  out.node = node;
  return out;
}

/** t.grad, allocated as zeros on first use. */
export function gradOf(t: Tensor): Tensor {
  if (!t.grad) {
    const g = new Tensor(t.backend, t.shape, t.dtype);
    t.grad = g;
    // a replayed backward must start this gradient from zero again, before its first use
    tape?.backward.push(() => g.backend.fill(g.data, 0));
  }
  return t.grad;
}

/** Every tensor reachable from root, inputs before the tensors computed from them. */
export function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<number>();
  const stack: Array<[Tensor, boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t.id)) continue;
    visited.add(t.id);
    stack.push([t, true]);
    if (t.node) for (const input of t.node.inputs) if (!visited.has(input.id)) stack.push([input, false]);
  }
  return order;
}

/**
 * Backpropagates from a scalar: root.grad = 1, then each node's backward in reverse
 * topological order. Leaf gradients accumulate across calls (zero them between steps).
 */
export function backward(root: Tensor): void {
  if (root.size !== 1)
    throw new ShapeError(`backward: root must be a scalar, got shape ${shapeStr(root.shape)}`);
  if (!root.requiresGrad)
    throw new ShapeError('backward: root does not require grad (no parameter in its graph?)');
  const order = topoSort(root);
  const seed = gradOf(root);
  const start = () => root.backend.fill(seed.data, 1);
  start();
  tape?.backward.push(start);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    if (t.node && t.grad) {
      t.node.backward();
      tape?.backward.push(t.node.backward);
    }
  }
}

/**
 * Backpropagates into root's graph from a gradient that arrives from outside it: root.grad =
 * dout (same shape; root need not be a scalar), then each node's backward in reverse
 * topological order, as backward() does. Gradient checkpointing's recomputed block takes the
 * gradient of its output this way.
 */
export function backwardFrom(root: Tensor, dout: Tensor): void {
  if (shapeStr(root.shape) !== shapeStr(dout.shape))
    throw new ShapeError(
      `backwardFrom: root ${shapeStr(root.shape)} and dout ${shapeStr(dout.shape)} differ`,
    );
  if (!root.requiresGrad) throw new ShapeError('backwardFrom: root does not require grad');
  const order = topoSort(root);
  const g = gradOf(root);
  const start = () => root.backend.copy(g.data, dout.data);
  start();
  tape?.backward.push(start);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    if (t.node && t.grad) {
      t.node.backward();
      tape?.backward.push(t.node.backward);
    }
  }
}

/**
 * Frees every intermediate tensor of root's graph (data, grad and saved scratch), keeping the
 * leaves (parameters, inputs) and their grads. Call after backward() at the end of a step.
 */
export function disposeGraph(root: Tensor): void {
  for (const t of topoSort(root)) {
    if (!t.node) continue;
    for (const a of t.node.saved) t.backend.free(a);
    t.dispose();
  }
}
