// Reverse-mode autograd, micrograd-style: each op records a GradNode (its inputs and a
// backward closure); backward() orders the graph topologically and runs the closures in
// reverse, accumulating (+=) into .grad. The sort is iterative: a GPT graph is deep enough to
// overflow a recursive one. Not here: the ops themselves (ops.ts) or any kernel code.

import type { AnyArray } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../errors.js';
import { type GradNode, Tensor } from '../tensor/tensor.js';

let gradEnabled = true;

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
  if (!t.grad) t.grad = new Tensor(t.backend, t.shape, t.dtype);
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
  root.backend.fill(gradOf(root).data, 1);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    if (t.node && t.grad) t.node.backward();
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
