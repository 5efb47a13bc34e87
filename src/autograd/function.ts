// autograd.Function: user-written forward/backward pairs, recorded as one node like any built-in op.
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { AutogradError, SavedTensor, recordNode, shouldRecord, type MaybeTensor } from './engine.js';
import { noGrad } from './grad-mode.js';

/** The ctx a Function's forward fills and its backward reads; user attributes may be set on it too. */
export class Ctx {
  /** For each forward argument: whether it is a tensor that requires grad. */
  needsInputGrad: boolean[] = [];
  #saved: SavedTensor[] = [];
  #released = false;
  #materializeGrads = true;
  #dirty = new Set<Tensor>();
  #nonDifferentiable = new Set<Tensor>();
  [attribute: string]: unknown;

  /** Keeps tensors for backward; reading them back checks they were not modified in place since. */
  saveForBackward(...tensors: (Tensor | null | undefined)[]): void {
    this.#saved = tensors.map((t) => {
      if (t !== null && t !== undefined && !(t instanceof Tensor)) throw new ArgumentError('saveForBackward takes tensors (or null)');
      return t ? new SavedTensor(t, t.alias()) : (null as unknown as SavedTensor);
    });
  }

  get savedTensors(): Tensor[] {
    if (this.#released) {
      throw new AutogradError('Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). ' +
        'Pass { retainGraph: true } if you need to backward through the graph a second time or to access saved tensors after calling backward.');
    }
    return this.#saved.map((s) => (s ? s.unpack('a custom Function') : null)) as Tensor[];
  }

  /** Declares inputs the forward modified in place. */
  markDirty(...tensors: Tensor[]): void { for (const t of tensors) this.#dirty.add(t); }
  /** Declares outputs that have no gradient (indices, masks). */
  markNonDifferentiable(...tensors: Tensor[]): void { for (const t of tensors) this.#nonDifferentiable.add(t); }
  /** With false, backward receives null (not zeros) for outputs that got no gradient. */
  setMaterializeGrads(value: boolean): void { this.#materializeGrads = value; }

  /** @internal */ get dirty(): Set<Tensor> { return this.#dirty; }
  /** @internal */ get nonDifferentiable(): Set<Tensor> { return this.#nonDifferentiable; }
  /** @internal */ get materializeGrads(): boolean { return this.#materializeGrads; }
  /** @internal */ savedAliases(): Tensor[] { return this.#saved.filter(Boolean).map((s) => s.alias); }
  /** @internal */ release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const s of this.#saved) s?.alias.dispose();
    this.#saved = [];
  }
}

type FunctionClass = {
  name: string;
  forward(ctx: Ctx, ...args: unknown[]): Tensor | Tensor[];
  backward(ctx: Ctx, ...grads: MaybeTensor[]): MaybeTensor | MaybeTensor[];
};

/**
 * Subclass with static forward(ctx, ...args) and backward(ctx, ...grads), then call F.apply(...args).
 * forward runs without recording; backward runs with grad mode on only under createGraph.
 */
export class Function {
  static forward(_ctx: Ctx, ..._args: unknown[]): Tensor | Tensor[] {
    throw new AutogradError(`${this.name} must implement static forward(ctx, ...args)`);
  }

  static backward(_ctx: Ctx, ..._grads: MaybeTensor[]): MaybeTensor | MaybeTensor[] {
    throw new AutogradError(`${this.name} must implement static backward(ctx, ...gradOutputs)`);
  }

  /**
   * F.apply(...args) runs forward and records backward. A getter returning a bound function, so the
   * lecture's `const relu = MyReLU.apply; relu(x)` works as in PyTorch.
   */
  static get apply(): <T extends Tensor | Tensor[] = Tensor>(...args: unknown[]) => T {
    return (...args: unknown[]) => applyFunction(this as unknown as FunctionClass, args);
  }
}

function applyFunction<T>(cls: FunctionClass, args: unknown[]): T {
  const ctx = new Ctx();
  ctx.needsInputGrad = args.map((a) => a instanceof Tensor && a.requiresGrad);
  const tensorArguments = args.map((a, i) => (a instanceof Tensor ? i : -1)).filter((i) => i >= 0);
  const inputs = tensorArguments.map((i) => args[i] as Tensor);
  const result = noGrad(() => cls.forward(ctx, ...args));
  const multiple = Array.isArray(result);
  const rawOutputs = (multiple ? result : [result]) as unknown[];
  rawOutputs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new AutogradError(`${cls.name}.forward must return a tensor or an array of tensors; output ${i} is not a tensor`);
  });
  if (!shouldRecord(inputs)) return result as T;

  // An input returned as-is becomes a new handle, so giving it a gradFn does not rewrite the input.
  const outputs = (rawOutputs as Tensor[]).map((o) => (inputs.includes(o) && !ctx.dirty.has(o) ? o.alias() : o));
  const isDifferentiable = (o: Tensor, i: number) => !ctx.nonDifferentiable.has(o) && !ctx.nonDifferentiable.has(rawOutputs[i] as Tensor) && o.dtype === 'float32';
  const name = `${cls.name}Backward`;
  // Every output keeps its slot (backward receives one gradient per output); non-differentiable ones get no gradFn.
  const node = recordNode(name, inputs, outputs, (grads) => {
    const given: MaybeTensor[] = ctx.materializeGrads ? grads : grads.map((g) => g);
    const returned = cls.backward(ctx, ...given);
    const list = Array.isArray(returned) ? returned : [returned];
    if (list.length < args.length || list.slice(args.length).some((g) => g !== null && g !== undefined)) {
      throw new AutogradError(`function ${name} returned an incorrect number of gradients (expected ${args.length}, got ${list.length})`);
    }
    return tensorArguments.map((argumentIndex) => {
      const g = list[argumentIndex] ?? null;
      const input = args[argumentIndex] as Tensor;
      if (g === null) return null;
      if (!(g instanceof Tensor)) throw new AutogradError(`function ${name} returned a non-tensor gradient at index ${argumentIndex}`);
      if (g.shape.length !== input.shape.length || g.shape.some((s, d) => s !== input.shape[d])) {
        throw new AutogradError(`Function ${name} returned an invalid gradient at index ${argumentIndex} - got [${g.shape.join(', ')}] but expected shape compatible with [${input.shape.join(', ')}]`);
      }
      return g;
    });
  }, []);
  outputs.forEach((o, i) => { if (!isDifferentiable(o, i)) o.setGradFn(null); });
  node.materializeGrads = ctx.materializeGrads;
  // The ctx's saved tensors belong to this node: tidy keeps them with the graph, backward releases them.
  const release = node.release.bind(node);
  node.release = () => { release(); ctx.release(); };
  const aliases = node.savedAliases.bind(node);
  node.savedAliases = () => [...aliases(), ...ctx.savedAliases()];
  if (!multiple) return outputs[0] as T;
  return outputs as T;
}
