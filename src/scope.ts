// torch.tidy: frees every tensor a function created except those it returns.
import { ArgumentError } from './errors.js';

interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

/** What tidy needs of a graph node: the aliases it saved, its edges, and (for leaves) the variable. */
interface GraphNode {
  savedAliases(): Disposable[];
  readonly nextFunctions: readonly (readonly [GraphNode, number] | null)[];
  readonly variable?: Disposable;
  /** Creation order: a node only points to nodes older than itself. */
  readonly sequenceNr: number;
}

const scopes: Set<Disposable>[] = [];
let TensorClass: (new (...args: never[]) => Disposable) | undefined;

/** Called by Tensor's module so tidy can recognise tensors in results without importing it (no cycle). */
export function setTensorClass(cls: new (...args: never[]) => Disposable): void {
  TensorClass = cls;
}

let nextNodeNumber: () => number = () => 0;

/** Called by the autograd engine: the sequence number its next node will get. */
export function setNodeClock(clock: () => number): void {
  nextNodeNumber = clock;
}

export function trackInScope(tensor: Disposable): void {
  if (scopes.length) scopes[scopes.length - 1].add(tensor);
}

/** Exempts a tensor from the innermost tidy (it is then the caller's to dispose). */
export function keep<T extends Disposable>(tensor: T): T {
  for (const scope of scopes) scope.delete(tensor);
  return tensor;
}

/**
 * Adds to `found` the tensors reachable from `value`. The graph walk stops at nodes older than `oldestNode`:
 * such a node, and everything it points to, existed before the scope began, so no tensor it holds is the
 * scope's to free. Without that bound, every tidy inside a deep model (each module call) would walk the whole
 * graph behind its result, quadratic in depth.
 */
function collectTensors(value: unknown, found: Set<Disposable>, seen: Set<unknown>, oldestNode: number): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (TensorClass && value instanceof TensorClass) {
    found.add(value);
    // A returned tensor keeps its graph: the tensors its nodes saved and the leaves they accumulate into.
    const root = (value as unknown as { gradFn: GraphNode | null }).gradFn;
    const nodes: GraphNode[] = root ? [root] : [];
    while (nodes.length) {
      const node = nodes.pop()!;
      if (seen.has(node) || node.sequenceNr < oldestNode) continue;
      seen.add(node);
      for (const alias of node.savedAliases()) found.add(alias);
      if (node.variable) found.add(node.variable);
      for (const edge of node.nextFunctions) if (edge) nodes.push(edge[0]);
    }
    return;
  }
  if (Array.isArray(value)) for (const item of value) collectTensors(item, found, seen, oldestNode);
  else if (value instanceof Map) for (const item of value.values()) collectTensors(item, found, seen, oldestNode);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const item of Object.values(value)) collectTensors(item, found, seen, oldestNode);
}

/**
 * Runs fn and disposes every tensor created inside it, except tensors reachable from its result (arrays,
 * plain objects and Maps are searched) which move to the enclosing scope. Synchronous functions only.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`torch.tidy expects a function, got ${typeof fn}`);
  const scope = new Set<Disposable>();
  const oldestNode = nextNodeNumber();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const tensor of scope) tensor.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const tensor of scope) tensor.dispose();
    throw new ArgumentError('torch.tidy cannot track an async function: its tensors are created after tidy returns; ' +
      'call tidy inside the async function, around each synchronous step');
  }
  const kept = new Set<Disposable>();
  collectTensors(result, kept, new Set(), oldestNode);
  const parent = scopes.length ? scopes[scopes.length - 1] : undefined;
  for (const tensor of scope) {
    if (kept.has(tensor)) { parent?.add(tensor); continue; }
    // A returned .grad outlives the leaf that owns it: detach it before the leaf's dispose frees it.
    const owner = tensor as unknown as { grad?: Disposable | null; setGradInternal?: (g: null) => void };
    if (owner.grad && kept.has(owner.grad)) owner.setGradInternal?.(null);
    tensor.dispose();
  }
  return result;
}
