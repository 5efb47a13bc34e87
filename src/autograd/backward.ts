// The public entry points into the engine: tensor.backward, autograd.grad, and retainGrad's store.
import { ArgumentError } from '../errors.js';
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';
import * as elementwise from '../ops/elementwise.js';
import { emptyTensor } from '../ops/support.js';
import { AutogradError, edgeOf, rootGradients, runBackward, type BackwardOptions, type MaybeTensor } from './engine.js';
import { noGrad } from './grad-mode.js';
import { zeros } from './tensor-ops.js';

const add = (a: Tensor, b: Tensor) => a.add(b);
const onesLike = (t: Tensor) => {
  const out = emptyTensor(t.shape, 'float32', t.device);
  elementwise.fill_(out, 1);
  return out;
};

function checkTensors(value: unknown, where: string, name: string): Tensor[] {
  const list = Array.isArray(value) ? value : [value];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: ${name}[${i}] must be a tensor`);
    void t.storage;
  });
  return list as Tensor[];
}

export function backward(roots: Tensor[], gradients: (Tensor | null | undefined)[] | undefined, options: BackwardOptions & { inputs?: Tensor[] } = {}): void {
  roots.forEach((root, i) => {
    void root.storage;
    if (!root.requiresGrad) throw new AutogradError(`element ${i} of tensors does not require grad and does not have a gradFn`);
  });
  if (options.inputs) {
    // backward(inputs=...) accumulates only into the given tensors.
    const inputs = checkTensors(options.inputs, 'backward', 'inputs');
    const grads = grad(roots, inputs, { gradOutputs: gradients, retainGraph: options.retainGraph, createGraph: options.createGraph, allowUnused: true });
    noGrad(() => inputs.forEach((input, i) => {
      const g = grads[i];
      if (!g) return;
      if (input.grad) { input.grad.add_(g); g.dispose(); }
      else input.setGradInternal(keep(g));
    }));
    return;
  }
  const seeds = rootGradients(roots, gradients, onesLike);
  runBackward(roots, seeds, options, add, zeros);
}

export interface GradOptions {
  gradOutputs?: (Tensor | null | undefined)[] | Tensor | null;
  retainGraph?: boolean;
  createGraph?: boolean;
  allowUnused?: boolean;
}

/** torch.autograd.grad: gradients of outputs w.r.t. inputs, returned rather than accumulated into .grad. */
export function grad(outputsArgument: Tensor | Tensor[], inputsArgument: Tensor | Tensor[], options: GradOptions = {}): MaybeTensor[] {
  const outputs = checkTensors(outputsArgument, 'autograd.grad', 'outputs');
  const inputs = checkTensors(inputsArgument, 'autograd.grad', 'inputs');
  inputs.forEach((input, i) => {
    if (!input.requiresGrad) throw new AutogradError(`autograd.grad: inputs[${i}] does not require grad`);
  });
  outputs.forEach((output, i) => {
    if (!output.requiresGrad) throw new AutogradError(`element ${i} of tensors does not require grad and does not have a gradFn`);
  });
  const given = options.gradOutputs === undefined || options.gradOutputs === null ? undefined
    : Array.isArray(options.gradOutputs) ? options.gradOutputs : [options.gradOutputs];
  if (given && given.length !== outputs.length) {
    throw new ArgumentError(`autograd.grad: gradOutputs has ${given.length} entries but there are ${outputs.length} outputs`);
  }
  const seeds = rootGradients(outputs, given, onesLike);
  const captured = runBackward(outputs, seeds, { retainGraph: options.retainGraph, createGraph: options.createGraph, capture: inputs.map(edgeOf) }, add, zeros);
  captured.forEach((g, i) => {
    if (!g && !options.allowUnused) {
      for (const c of captured) c?.dispose();
      throw new AutogradError(`One of the differentiated Tensors (inputs[${i}]) appears to not have been used in the graph. Set allowUnused: true if this is the desired behavior.`);
    }
  });
  return captured;
}

/** Stores a non-leaf's gradient for retainGrad(), adding to what earlier backward calls left. */
export function retainGradient(tensor: Tensor, gradient: Tensor): void {
  const current = tensor.grad;
  noGrad(() => {
    if (current) current.add_(gradient);
    else tensor.setGradInternal(keep(gradient.clone()));
  });
}
