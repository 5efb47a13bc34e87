// gradcheck: compares autograd's gradients with central finite differences, in float32.
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { AutogradError } from './engine.js';
import { grad } from './backward.js';
import { noGrad } from './grad-mode.js';
import { tidy } from '../scope.js';
import { fromArray } from '../ops/factories.js';

export class GradcheckError extends AutogradError {
  override name = 'GradcheckError';
}

export interface GradcheckOptions {
  /** Finite-difference step. float32 needs a larger step than PyTorch's float64 default (1e-6). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Return false instead of throwing on a mismatch. */
  raiseException?: boolean;
}

type Outputs = Tensor | Tensor[];

function asList(outputs: Outputs): Tensor[] {
  return Array.isArray(outputs) ? outputs : [outputs];
}

/** A 0-d view of element `flat` of x (row-major over x's shape), for reading and nudging one value. */
function elementView(x: Tensor, flat: number): Tensor {
  const index: number[] = [];
  for (let d = x.dim() - 1, rest = flat; d >= 0; d--) {
    index.unshift(rest % x.shape[d]);
    rest = Math.floor(rest / x.shape[d]);
  }
  let view = x.detach();
  for (const i of index) {
    const next = view.select(0, i);
    view.dispose();
    view = next;
  }
  return view;
}

/**
 * Checks the gradient of fn at `inputs` (those that require grad) against central differences over the
 * full Jacobian (one backward per output element, two evaluations per input element: keep inputs small).
 * Throws a GradcheckError naming the input, element and both values on a mismatch.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Outputs, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const { eps = 1e-2, atol = 1e-3, rtol = 1e-2, raiseException = true } = options;
  if (typeof fn !== 'function') throw new ArgumentError('gradcheck expects a function');
  const differentiable = inputs.filter((t) => t instanceof Tensor && t.requiresGrad);
  if (differentiable.length === 0) throw new ArgumentError('gradcheck: at least one input tensor must require grad');

  const reference = tidy(() => asList(fn(...inputs)).map((o) => Array.from(o.toArray())));
  const outputCount = reference.reduce((n, o) => n + o.length, 0);

  // Analytical Jacobian: one backward per output element with a one-hot gradient.
  const analytical = differentiable.map((x) => new Float64Array(x.numel() * outputCount));
  let row = 0;
  reference.forEach((values, outputIndex) => {
    for (let element = 0; element < values.length; element++, row++) {
      tidy(() => {
        const outputs = asList(fn(...inputs));
        const gradOutputs = outputs.map((o, k) => {
          const oneHot = new Float32Array(o.numel());
          if (k === outputIndex) oneHot[element] = 1;
          return fromArray(oneHot, o.shape);
        });
        if (!outputs[outputIndex].requiresGrad) return; // a constant output: its row of the Jacobian is zero
        const live = outputs.map((o, k) => [o, gradOutputs[k]] as const).filter(([o]) => o.requiresGrad);
        const grads = grad(live.map(([o]) => o), differentiable, { gradOutputs: live.map(([, g]) => g), allowUnused: true });
        grads.forEach((g, i) => {
          if (!g) return;
          const values = g.toArray();
          for (let j = 0; j < values.length; j++) analytical[i][j * outputCount + row] = values[j];
        });
      });
    }
  });

  // Numerical Jacobian: nudge each element both ways through a 0-d view, in place, without recording.
  for (let i = 0; i < differentiable.length; i++) {
    const x = differentiable[i];
    for (let j = 0; j < x.numel(); j++) {
      const element = elementView(x, j);
      const original = element.item() as number;
      const evaluate = (value: number) => {
        noGrad(() => element.fill_(value));
        // Grad mode stays on: gradgradcheck's function itself calls autograd.grad.
        return tidy(() => asList(fn(...inputs)).flatMap((o) => Array.from(o.toArray())));
      };
      const plus = evaluate(original + eps), minus = evaluate(original - eps);
      noGrad(() => element.fill_(original));
      element.dispose();
      for (let r = 0; r < outputCount; r++) {
        const numerical = (plus[r] - minus[r]) / (2 * eps);
        const analytic = analytical[i][j * outputCount + r];
        if (!(Math.abs(numerical - analytic) <= atol + rtol * Math.abs(numerical))) {
          if (!raiseException) return false;
          throw new GradcheckError(`Jacobian mismatch for output element ${r} with respect to input ${inputs.indexOf(x)}, element ${j}: ` +
            `numerical ${numerical.toPrecision(6)}, analytical ${analytic.toPrecision(6)} (eps ${eps}, atol ${atol}, rtol ${rtol})`);
        }
      }
    }
  }
  return true;
}

/** Second derivatives: gradcheck of the first-order gradients (computed with createGraph) for fixed random gradOutputs. */
export function gradgradcheck(fn: (...inputs: Tensor[]) => Outputs, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const differentiable = inputs.filter((t) => t.requiresGrad);
  const gradOutputs = tidy(() => asList(fn(...inputs)).map((o) => Array.from(o.toArray(), (_, k) => 0.5 + ((k * 7919) % 13) / 13)));
  const firstOrder = (...xs: Tensor[]) => {
    const outputs = asList(fn(...xs));
    const seeds = outputs.map((o, k) => fromArray(new Float32Array(gradOutputs[k]), o.shape));
    const grads = grad(outputs, xs.filter((x) => differentiable.includes(x) || x.requiresGrad), { gradOutputs: seeds, createGraph: true, allowUnused: true });
    return grads.filter((g): g is Tensor => g !== null);
  };
  return gradcheck(firstOrder, inputs, options);
}
