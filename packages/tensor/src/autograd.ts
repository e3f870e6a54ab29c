import { escapeTidy, isGradEnabled, noGrad, tidy } from './engine.js';
import { GradientError, ShapeError } from './errors.js';
import { onesLike } from './ops/creation.js';
import { add } from './ops/elementwise.js';
import { formatShape, shapesEqual } from './shape.js';
import { type Tensor, viewOf } from './tensor.js';

/**
 * The tape. Every op whose inputs require gradients records a node: its vector–Jacobian
 * product (written in other ops) and the tensors it saved. Nodes are reference counted by the
 * tensors and nodes that point at them, so a graph nobody can reach frees its saved tensors,
 * and `backward()` frees each node's saved tensors as soon as it has passed the node.
 */

export interface BackwardOptions {
  /**
   * Called once for each leaf as soon as its gradient is complete (every node that uses it has
   * been passed), with `.grad` in place, while backward goes on. It may use the gradient and free
   * it (`grad.dispose(); leaf.grad = null`): an optimizer updating each parameter here keeps only
   * the gradients still being accumulated alive (`BaseOptimizer.backwardAndStep`). By then no node
   * of this graph holds the leaf's values any more, so the leaf may be updated in place.
   */
  onLeafGradient?: (leaf: Tensor) => void;
}

/** Gradients for each input (null where none flows); `needs[i]` says whether input i wants one. */
export type VJP = (
  dy: Tensor,
  saved: readonly Tensor[],
  needs: readonly boolean[],
) => readonly (Tensor | null)[];

export interface GradNode {
  readonly op: string;
  /** Per input: the node that produced it, or the leaf tensor that accumulates into `.grad`. */
  readonly parents: readonly { node: GradNode | null; leaf: Tensor | null }[];
  readonly vjp: VJP;
  saved: Tensor[];
  refs: number;
  released: boolean;
}

/**
 * Records `output` as the result of `op` over `inputs` if any input requires gradients.
 * `save` lists tensors the VJP needs; they are retained (sharing storage) until the node is freed.
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  output: Tensor,
  vjp: VJP,
  save: readonly Tensor[] = [],
): Tensor {
  if (!isGradEnabled()) return output;
  if (!inputs.some((t) => t.requiresGrad)) return output;
  const parents = inputs.map((t) => {
    if (!t.requiresGrad) return { node: null, leaf: null };
    if (t.gradNode) {
      t.gradNode.refs++;
      return { node: t.gradNode, leaf: null };
    }
    return { node: null, leaf: t };
  });
  const saved = save.map((t) => escapeTidy(viewOf(t, t.shape, op)));
  output.gradNode = { op, parents, vjp, saved, refs: 1, released: false };
  output.requiresGrad = true;
  return output;
}

/** Drops one reference; a node nobody references frees its saved tensors and its parents' references. */
export function releaseNode(node: GradNode): void {
  if (node.released) return;
  if (--node.refs > 0) return;
  freeNode(node);
  for (const p of node.parents) if (p.node) releaseNode(p.node);
}

function freeNode(node: GradNode): void {
  node.released = true;
  for (const t of node.saved) t.dispose();
  node.saved = [];
}

export function backward(root: Tensor, seed?: Tensor, options: BackwardOptions = {}): void {
  assertCanBackward(root, seed);
  const rootNode = root.gradNode;
  const onLeafGradient = options.onLeafGradient;
  noGrad(() => {
    const dy0 = escapeTidy(seed ? seed.detach() : onesLike(root));
    if (!rootNode) {
      accumulate(root, dy0);
      onLeafGradient?.(root);
      return;
    }
    const order = topologicalOrder(rootNode);
    const uses = onLeafGradient ? leafUses(order) : null;
    const grads = new Map<GradNode, Tensor>([[rootNode, dy0]]);
    for (const node of order) {
      const dy = grads.get(node);
      grads.delete(node);
      if (dy) {
        handOut(node, dy, inputGradients(node, dy), grads);
        dy.dispose();
      }
      // Nothing reads this node again: its saved tensors go now, not at the end of the pass.
      freeNode(node);
      if (uses && onLeafGradient) settleLeaves(node, uses, onLeafGradient);
    }
    for (const g of grads.values()) g.dispose();
  });
}

/** How many input slots of the walked nodes each leaf fills. */
function leafUses(order: readonly GradNode[]): Map<Tensor, number> {
  const uses = new Map<Tensor, number>();
  for (const node of order)
    for (const { leaf } of node.parents) if (leaf) uses.set(leaf, (uses.get(leaf) ?? 0) + 1);
  return uses;
}

/** Counts off the node's uses of its leaves; a leaf with none left has its complete gradient. */
function settleLeaves(
  node: GradNode,
  uses: Map<Tensor, number>,
  onLeafGradient: (leaf: Tensor) => void,
): void {
  for (const { leaf } of node.parents) {
    if (!leaf) continue;
    const left = uses.get(leaf)! - 1;
    uses.set(leaf, left);
    if (left === 0 && leaf.grad && !leaf.isDisposed) onLeafGradient(leaf);
  }
}

function assertCanBackward(root: Tensor, seed: Tensor | undefined): void {
  const op = 'backward';
  root.storage(op);
  if (!root.requiresGrad) {
    throw new GradientError(
      'this tensor does not require gradients (no input of the computation had requiresGrad)',
      op,
    );
  }
  if (seed && !shapesEqual(seed.shape, root.shape)) {
    throw new ShapeError(
      `seed shape ${formatShape(seed.shape)} differs from the output's ${formatShape(root.shape)}`,
      op,
    );
  }
  if (!seed && root.size !== 1) {
    throw new GradientError(
      `backward() without a seed needs a one-element output, got shape ${formatShape(root.shape)}; pass a seed gradient`,
      op,
    );
  }
  if (root.gradNode?.released) {
    throw new GradientError(
      'the graph of this tensor was already released by a previous backward(); recompute the forward pass',
      op,
    );
  }
}

/** The node's VJP at `dy`: one gradient (or null) per input, outside every scope. */
function inputGradients(node: GradNode, dy: Tensor): (Tensor | null)[] {
  return tidy(() => {
    const result = node.vjp(
      dy,
      node.saved,
      node.parents.map((p) => p.node !== null || p.leaf !== null),
    );
    if (result.length !== node.parents.length) {
      throw new GradientError(
        `VJP returned ${result.length} gradients for ${node.parents.length} inputs`,
        node.op,
      );
    }
    return result.map((g) => (g ? escapeTidy(g) : null));
  });
}

/** Gives each input's gradient to its leaf (`.grad`) or adds it to its node's pending gradient. */
function handOut(
  node: GradNode,
  dy: Tensor,
  inputGrads: readonly (Tensor | null)[],
  grads: Map<GradNode, Tensor>,
): void {
  const handedOut = new Set<Tensor>();
  node.parents.forEach((parent, i) => {
    let g = inputGrads[i];
    if (!g) return;
    // a VJP may pass dy (or one tensor to several inputs) straight through: give each owner its own view
    if (g === dy || handedOut.has(g)) g = escapeTidy(g.detach());
    handedOut.add(g);
    if (parent.leaf) {
      accumulate(parent.leaf, g);
    } else if (parent.node) {
      const before = grads.get(parent.node);
      if (before) {
        grads.set(parent.node, escapeTidy(add(before, g)));
        before.dispose();
        g.dispose();
      } else {
        grads.set(parent.node, g);
      }
    } else {
      g.dispose();
    }
  });
}

function accumulate(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  if (leaf.grad && !leaf.grad.isDisposed) {
    const sum = escapeTidy(add(leaf.grad, g));
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = sum;
  } else {
    leaf.grad = g;
  }
}

/** Nodes reachable from `root`, each after every node that consumes it. */
function topologicalOrder(root: GradNode): GradNode[] {
  const visited = new Set<GradNode>();
  const postOrder: GradNode[] = [];
  const stack: { node: GradNode; next: number }[] = [{ node: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const parent = top.node.parents[top.next++];
    if (parent === undefined) {
      postOrder.push(top.node);
      stack.pop();
    } else if (parent.node && !parent.node.released && !visited.has(parent.node)) {
      visited.add(parent.node);
      stack.push({ node: parent.node, next: 0 });
    }
  }
  return postOrder.reverse();
}
