// The autograd engine: graph nodes, saved tensors with version checks, and backward in topological order.
import { DisposedError, ShapeError, TorchError } from '../errors.js';
import { keep, setNodeClock, tidy } from '../scope.js';
import type { Device, Tensor } from '../tensor.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';

/** A gradient flowing into a node's output, or null where none flows. */
export type MaybeTensor = Tensor | null;
export type Hook = (grad: Tensor) => Tensor | void | undefined | null;

/** The place a gradient goes: output `outputNr` of `node` (PyTorch's next_functions entries). */
export type Edge = readonly [Node, number];

export class AutogradError extends TorchError {
  override name = 'AutogradError';
}

let sequence = 0;
setNodeClock(() => sequence);

/** A tensor kept for backward: an alias of its storage plus the version it had when saved. */
export class SavedTensor {
  readonly #alias: Tensor;
  readonly #version: number;
  readonly #origin: string;

  constructor(tensor: Tensor, alias: Tensor) {
    this.#alias = alias;
    this.#version = tensor.storage.version;
    this.#origin = tensor.gradFn ? `output ${tensor.outputNr} of ${tensor.gradFn.name}` : 'a leaf tensor';
  }

  get alias(): Tensor {
    return this.#alias;
  }

  unpack(nodeName: string): Tensor {
    if (this.#alias.isDisposed) {
      throw new DisposedError(`a tensor saved for ${nodeName} was disposed before backward (a torch.tidy ended?): ` +
        'call backward inside the same tidy, or return the output from it so its graph is kept');
    }
    const version = this.#alias.storage.version;
    if (version !== this.#version) {
      throw new AutogradError('one of the variables needed for gradient computation has been modified by an inplace operation: ' +
        `[torch.FloatTensor [${this.#alias.shape.join(', ')}]], which is ${this.#origin}, is at version ${version}; ` +
        `expected version ${this.#version} instead. Hint: the in-place op came after ${nodeName}'s forward; use its out-of-place form or clone() first.`);
    }
    return this.#alias;
  }
}

export interface NodeContext {
  /** Saved tensors, unpacked with their version checked. */
  readonly saved: Tensor[];
  /** Whether each input (in recording order) wants a gradient. */
  readonly needsInputGrad: readonly boolean[];
}

export type BackwardFunction = (grads: Tensor[], context: NodeContext) => MaybeTensor[];

/** A node of the graph: the derivative of one recorded op, with edges to where its input gradients go. */
export class Node {
  readonly name: string;
  readonly nextFunctions: readonly (Edge | null)[];
  readonly sequenceNr = sequence++;
  /** Shapes of the outputs, for zero gradients where an output received none. */
  readonly outputShapes: (readonly number[])[];
  readonly preHooks: Map<number, Hook[]> = new Map();
  /** When false (a Function's ctx.setMaterializeGrads(false)), outputs without a gradient get null, not zeros. */
  materializeGrads = true;
  #backward: BackwardFunction | null;
  #saved: (SavedTensor | null)[];
  #released = false;

  constructor(name: string, nextFunctions: (Edge | null)[], backward: BackwardFunction | null, saved: (SavedTensor | null)[], outputShapes: (readonly number[])[]) {
    this.name = name;
    this.nextFunctions = nextFunctions;
    this.#backward = backward;
    this.#saved = saved;
    this.outputShapes = outputShapes;
  }

  get released(): boolean {
    return this.#released;
  }

  /** @internal */
  setSaved(saved: (SavedTensor | null)[]): void {
    this.#saved = saved;
  }

  /** The aliases this node keeps (tidy keeps them when an output escapes). */
  savedAliases(): Tensor[] {
    return this.#saved.filter((s): s is SavedTensor => s !== null).map((s) => s.alias);
  }

  unpackSaved(): Tensor[] {
    if (this.#released) throw releasedError(this.name);
    // Entries not saved by this op unpack as null; rules only read what they saved.
    return this.#saved.map((s) => (s ? s.unpack(this.name) : null)) as Tensor[];
  }

  apply(grads: Tensor[]): MaybeTensor[] {
    if (this.#released || !this.#backward) throw releasedError(this.name);
    const needsInputGrad = this.nextFunctions.map((edge) => edge !== null);
    return this.#backward(grads, { saved: this.unpackSaved(), needsInputGrad });
  }

  /** Frees the saved tensors: after backward unless the graph is retained. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const saved of this.#saved) saved?.alias.dispose();
    this.#saved = [];
    this.#backward = null;
  }

  toString(): string {
    return `<${this.name}>`;
  }
}

function releasedError(name: string): AutogradError {
  return new AutogradError(`Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed) at ${name}. ` +
    'Saved intermediate values of the graph are freed when you call backward() or autograd.grad(). ' +
    'Pass { retainGraph: true } if you need to backward through the graph a second time or to access saved tensors after calling backward.');
}

/** The node that adds incoming gradients into a leaf's .grad. */
export class AccumulateGrad extends Node {
  readonly variable: Tensor;
  constructor(variable: Tensor) {
    super('AccumulateGrad', [], null, [], [variable.shape]);
    this.variable = variable;
  }
}

/** Where a gradient for `tensor` must go: its gradFn output, its leaf accumulator, or nowhere. */
export function edgeOf(tensor: Tensor): Edge | null {
  if (tensor.gradFn) return [tensor.gradFn, tensor.outputNr];
  if (tensor.requiresGrad) return [tensor.gradAccumulator(), 0];
  return null;
}

/** Whether an op on these inputs records a node now. */
export function shouldRecord(inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const input of inputs) if (input && input.requiresGrad) return true;
  return false;
}

/**
 * Records `outputs` as produced from `inputs` by an op with derivative `backward`; `save` lists the
 * tensors backward will read (version-checked). Call only when shouldRecord(inputs) is true.
 */
export function recordNode(name: string, inputs: readonly (Tensor | null | undefined)[], outputs: readonly Tensor[], backward: BackwardFunction, save: readonly (Tensor | null | undefined)[] = []): Node {
  const node = new Node(name, inputs.map((input) => (input ? edgeOf(input) : null)), backward, [], outputs.map((o) => o.shape));
  outputs.forEach((output, index) => output.setGradFn(node, index));
  // Saved after the outputs got their gradFn: a saved output then carries it, so rules that read their
  // own output (exp, tanh, softmax, ...) stay differentiable under createGraph.
  node.setSaved(save.map((tensor) => (tensor ? new SavedTensor(tensor, tensor.alias()) : null)));
  return node;
}

/**
 * Records a node when grad mode is on, some input requires grad and the output is float32; the rule and
 * the saved tensors are only built then, so ops without autograd pay one check.
 */
export function record(name: string, inputs: readonly (Tensor | null | undefined)[], outputs: readonly Tensor[], backward: () => BackwardFunction, save?: () => readonly (Tensor | null | undefined)[]): void {
  if (!shouldRecord(inputs) || outputs[0].dtype !== 'float32') return;
  recordNode(name, inputs, outputs, backward(), save ? save() : []);
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

interface RunOptions extends BackwardOptions {
  /** autograd.grad: capture the gradients arriving at these edges instead of accumulating into leaves. */
  capture?: (Edge | null)[];
}

function checkGradShape(grad: Tensor, shape: readonly number[], what: string): void {
  if (grad.shape.length !== shape.length || grad.shape.some((s, d) => s !== shape[d])) {
    throw new ShapeError(`${what}: got gradient of shape [${grad.shape.join(', ')}] but expected shape [${shape.join(', ')}]`);
  }
}

/** The gradients of the roots, given or implicit (1 for scalars; PyTorch's error otherwise). */
export function rootGradients(roots: readonly Tensor[], given: readonly (Tensor | null | undefined)[] | undefined, onesLike: (t: Tensor) => Tensor): Tensor[] {
  return roots.map((root, i) => {
    const grad = given?.[i];
    if (grad === undefined || grad === null) {
      if (root.numel() !== 1) throw new AutogradError(`grad can be implicitly created only for scalar outputs (output ${i} has shape [${root.shape.join(', ')}]); pass a gradient of that shape`);
      return onesLike(root);
    }
    checkGradShape(grad, root.shape, `Mismatch in shape for output ${i}`);
    return grad.alias();
  });
}

/**
 * Runs backward from `roots` seeded with `grads` (owned by the engine). Nodes run once each, when every
 * gradient flowing into them has arrived (dependency counts), so the order is topological. Returns the
 * captured gradients in capture mode.
 */
export function runBackward(roots: readonly Tensor[], grads: Tensor[], options: RunOptions, add: (a: Tensor, b: Tensor) => Tensor, zeros: (shape: readonly number[], device: Device) => Tensor): MaybeTensor[] {
  const retainGraph = options.retainGraph ?? options.createGraph ?? false;
  const createGraph = options.createGraph ?? false;
  const rootEdges = roots.map((root, i) => {
    const edge = edgeOf(root);
    if (!edge) {
      for (const g of grads) g.dispose();
      throw new AutogradError(`element ${i} of tensors does not require grad and does not have a gradFn`);
    }
    return edge;
  });

  // Discover the graph and count, for each node, the edges that will deliver a gradient to it.
  const dependencies = new Map<Node, number>();
  const stack: Node[] = [];
  for (const [node] of rootEdges) if (!dependencies.has(node)) { dependencies.set(node, 0); stack.push(node); }
  while (stack.length) {
    const node = stack.pop()!;
    for (const edge of node.nextFunctions) {
      if (!edge) continue;
      const [child] = edge;
      const count = dependencies.get(child);
      if (count === undefined) { dependencies.set(child, 1); stack.push(child); }
      else dependencies.set(child, count + 1);
    }
  }

  // In capture mode, only nodes that lead to a captured edge need to run.
  const capture = options.capture;
  let needed: Set<Node> | null = null;
  if (capture) {
    needed = new Set();
    const targets = new Set(capture.filter((e): e is Edge => e !== null).map(([node]) => node));
    const leadsToTarget = new Map<Node, boolean>();
    // A node runs when a target lies below it; a target itself runs only if another target lies below it.
    // Iterative post-order (deep graphs would overflow a recursive walk).
    for (const start of dependencies.keys()) {
      if (leadsToTarget.has(start)) continue;
      const stack: [Node, boolean][] = [[start, false]];
      while (stack.length) {
        const [node, childrenDone] = stack.pop()!;
        if (!childrenDone) {
          if (leadsToTarget.has(node)) continue;
          leadsToTarget.set(node, targets.has(node));
          stack.push([node, true]);
          for (const edge of node.nextFunctions) if (edge && !leadsToTarget.has(edge[0])) stack.push([edge[0], false]);
          continue;
        }
        let below = false;
        for (const edge of node.nextFunctions) if (edge && leadsToTarget.get(edge[0])) below = true;
        if (below) needed.add(node);
        leadsToTarget.set(node, below || targets.has(node));
      }
    }
  }
  const captured: MaybeTensor[] = capture ? capture.map(() => null) : [];

  const buffers = new Map<Node, MaybeTensor[]>();
  const deliver = (node: Node, index: number, grad: Tensor) => {
    let buffer = buffers.get(node);
    if (!buffer) buffers.set(node, (buffer = new Array(node.outputShapes.length).fill(null)));
    const existing = buffer[index];
    if (!existing) buffer[index] = grad;
    else {
      buffer[index] = tidy(() => withGradMode(createGraph, () => add(existing, grad)));
      existing.dispose();
      grad.dispose();
    }
  };
  rootEdges.forEach(([node, index], i) => deliver(node, index, grads[i]));

  const ready: Node[] = [];
  for (const [node] of rootEdges) if (dependencies.get(node) === 0 && !ready.includes(node)) ready.push(node);
  // Among ready nodes, run the most recently created first (PyTorch's order), which frees memory early.
  const stolen = new Set<Tensor>();
  while (ready.length) {
    let pick = 0;
    for (let i = 1; i < ready.length; i++) if (ready[i].sequenceNr > ready[pick].sequenceNr) pick = i;
    const node = ready.splice(pick, 1)[0];
    const inputs = buffers.get(node) ?? new Array(node.outputShapes.length).fill(null);
    buffers.delete(node);

    // Tensor hooks run on the gradient first; they may replace it.
    for (const [index, hooks] of node.preHooks) {
      for (const hook of hooks) {
        const current = inputs[index];
        if (!current) continue;
        const replaced = tidy(() => {
          const result = withGradMode(createGraph, () => hook(current));
          if (!result || result === current) return null;
          checkGradShape(result, current.shape, `hook on ${node.name}`);
          return keep(result.alias());
        });
        if (replaced) {
          inputs[index] = replaced;
          current.dispose();
        }
      }
    }
    if (capture) {
      capture.forEach((edge, i) => {
        // Created in the caller's scope (not a node's tidy), so an enclosing tidy frees them.
        if (edge && edge[0] === node && inputs[edge[1]]) captured[i] = inputs[edge[1]]!.alias();
      });
    }

    let outputs: MaybeTensor[] = node.nextFunctions.map(() => null);
    if (node instanceof AccumulateGrad) {
      if (!capture && inputs[0]) accumulate(node.variable, inputs[0], createGraph, stolen, add);
    } else if ((!needed || needed.has(node)) && inputs.some((g) => g !== null)) {
      // Missing output gradients are zeros on the device of the ones that arrived (a node runs when one did).
      const device = inputs.find((g) => g)?.device ?? 'cpu';
      const materialized = node.materializeGrads ? inputs.map((g, i) => g ?? zeros(node.outputShapes[i], device)) : (inputs as Tensor[]);
      try {
        // tidy frees what the rule made, its results included; the engine keeps an alias of each result
        // (so results the rule did not create, such as a saved or a user's tensor, are never disposed).
        outputs = tidy(() => withGradMode(createGraph, () => node.apply(materialized)).map((g) => (g ? keep(g.alias()) : null)));
      } catch (error) {
        for (const g of materialized) if (g && !stolen.has(g)) g.dispose();
        for (const buffer of buffers.values()) for (const g of buffer) g?.dispose();
        throw error;
      }
      if (!retainGraph) node.release();
      materialized.forEach((g, i) => { if (g && g !== inputs[i]) g.dispose(); });
    }

    node.nextFunctions.forEach((edge, j) => {
      if (!edge) return;
      const [child, index] = edge;
      const grad = outputs[j];
      if (grad) deliver(child, index, grad);
      const remaining = dependencies.get(child)! - 1;
      dependencies.set(child, remaining);
      if (remaining === 0) ready.push(child);
    });
    // The engine owns the gradients it passed in; the node's results now sit in the buffers.
    for (const g of inputs) if (g && !stolen.has(g)) g.dispose();
  }
  for (const buffer of buffers.values()) for (const g of buffer) g?.dispose();
  return captured;
}

/** Adds a gradient into a leaf's .grad: steals it when nothing else holds its storage, else copies. */
function accumulate(variable: Tensor, grad: Tensor, createGraph: boolean, stolen: Set<Tensor>, add: (a: Tensor, b: Tensor) => Tensor): void {
  const current = variable.grad;
  if (createGraph) {
    // A differentiable copy: an alias would let two leaves share one (possibly expanded) gradient storage.
    variable.setGradInternal(keep(current ? add(current, grad) : grad.clone()));
    return;
  }
  if (!current) {
    if (grad.gradFn === null && grad.storage.references === 1 && grad.isContiguous()) {
      stolen.add(grad);
      variable.setGradInternal(keep(grad));
    } else {
      variable.setGradInternal(keep(withGradMode(false, () => grad.clone())));
    }
    return;
  }
  withGradMode(false, () => current.add_(grad));
}
