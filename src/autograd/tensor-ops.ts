// Small helpers the derivative rules use: op forms that accept numbers on either side, zeros, and embedInZeros.
import { Tensor, type Device } from '../tensor.js';
import * as elementwise from '../ops/elementwise.js';
import { emptyTensor } from '../ops/support.js';
import { record } from './engine.js';
import { derivatives } from './derivatives.js';
import { noGrad } from './grad-mode.js';

type Operand = Tensor | number;

export function mul(a: Operand, b: Operand): Operand {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  return elementwise.binary('mul', a, b);
}
export function pow(base: Operand, exponent: Operand): Tensor {
  return elementwise.binary('pow', base, exponent);
}
export function floorDivide(a: Operand, b: Operand): Tensor | number {
  if (typeof a === 'number' && typeof b === 'number') return Math.floor(a / b);
  return elementwise.binary('floorDivide', a, b);
}
/** g masked by values against threshold in one kernel: relu's (zero where values <= threshold) or clamp(min)'s (kept where values >= threshold). */
export function maskGradient(op: 'thresholdBackward' | 'clampMinBackward', g: Tensor, values: Tensor, threshold: number): Tensor {
  return elementwise.binary(op, g, values, threshold);
}
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  return elementwise.where(condition, a, b);
}
const flipped = { eq: 'eq', lt: 'gt', gt: 'lt' } as const;
function compare(op: 'eq' | 'lt' | 'gt', a: Operand, b: Operand): Tensor {
  if (a instanceof Tensor) return elementwise.compare(op, a, b);
  return elementwise.compare(flipped[op], b as Tensor, a);
}
export const eq = (a: Operand, b: Operand) => compare('eq', a, b);
export const lt = (a: Operand, b: Operand) => compare('lt', a, b);
export const gt = (a: Operand, b: Operand) => compare('gt', a, b);

export function zeros(shape: readonly number[], device: Device = 'cpu'): Tensor {
  const out = emptyTensor(shape, 'float32', device);
  elementwise.fill_(out, 0);
  return out;
}
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, t.device);
}

/** zeros(shape) with `view(zeros)` set to g: the backward of narrow/slice/select, itself differentiable. */
export function embedInZeros(g: Tensor, shape: readonly number[], view: (t: Tensor) => Tensor): Tensor {
  const out = zeros(shape, g.device);
  noGrad(() => {
    const target = view(out);
    elementwise.convertInto(target, g);
    target.dispose();
  });
  record('EmbedBackward', [g], [out], () => derivatives.viewOfGradient(view));
  return out;
}
