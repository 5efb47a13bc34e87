// nn.Parameter: a leaf tensor that a Module registers as one of its weights when it is assigned to a field.
import { ArgumentError } from '../errors.js';
import { empty } from '../ops/factories.js';
import { keep } from '../scope.js';
import { Tensor } from '../tensor.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * A Tensor subclass, as in PyTorch: `new nn.Parameter(data)` is a new handle on data's storage (data stays
 * the caller's: dispose it when it is a temporary), a leaf with requiresGrad true unless asked otherwise.
 * A parameter belongs to its module, not to the torch.tidy it was made in: tidy never frees it.
 */
export class Parameter extends Tensor {
  constructor(data?: Tensor, requiresGrad = true) {
    if (data !== undefined && !(data instanceof Tensor)) {
      throw new ArgumentError(`Parameter: data must be a tensor, got ${typeof data}`);
    }
    if (typeof requiresGrad !== 'boolean') throw new ArgumentError(`Parameter: requiresGrad must be a boolean, got ${typeof requiresGrad}`);
    const source = data ?? empty(0);
    super(source.storage, source.shape.slice(), source.strides.slice(), source.offset, source.dtype);
    if (data === undefined) source.dispose();
    keep(this);
    if (requiresGrad) this.requiresGrad_(true);
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }

  [inspectSymbol](): string {
    return this.isDisposed ? 'Parameter(<disposed>)' : this.toString();
  }
}

/** A new parameter of the given shape whose values an initialiser writes next (no temporary survives). */
export function emptyParameter(shape: readonly number[], requiresGrad = true): Parameter {
  const data = empty([...shape]);
  try {
    return new Parameter(data, requiresGrad);
  } finally {
    data.dispose();
  }
}

/** Python's repr of a float, as PyTorch's extra_repr prints it (1e-05, 0.1, 1.0). */
export function pythonFloat(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return value.toFixed(1);
  if (value !== 0 && Math.abs(value) < 1e-4) {
    const [mantissa, exponent] = value.toExponential().split('e');
    const sign = exponent.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  return String(value);
}

/** Python's repr of a size tuple: (3,) or (3, 3). */
export function pythonTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}
