// nn.Linear and nn.Identity: the affine layer (initialised as PyTorch 1.13's) and the layer that returns its input.
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { describeValue } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { emptyParameter, type Parameter } from './parameter.js';
import { resetLinearLike } from './init.js';
import * as F from './functional.js';

export function checkFeatureCount(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ArgumentError(`${where}: ${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/** bias given positionally (PyTorch's bias=True) or as { bias }. */
export function readBiasFlag(options: { bias?: boolean } | boolean | undefined, where: string): boolean {
  const bias = typeof options === 'boolean' ? options : options?.bias ?? true;
  if (typeof bias !== 'boolean') throw new ArgumentError(`${where}: bias must be a boolean, got ${describeValue(bias)}`);
  return bias;
}

/** y = x Wᵀ + b with W [outFeatures, inFeatures] from U(±1/√inFeatures) and b likewise (PyTorch's reset_parameters). */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } | boolean = {}) {
    super();
    this.inFeatures = checkFeatureCount(inFeatures, 'Linear', 'inFeatures');
    this.outFeatures = checkFeatureCount(outFeatures, 'Linear', 'outFeatures');
    const bias = readBiasFlag(options, 'Linear');
    this.weight = emptyParameter([outFeatures, inFeatures]);
    this.bias = bias ? emptyParameter([outFeatures]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  override forward(input: Tensor): Tensor {
    return F.linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

/** Returns its input (arguments to the constructor are accepted and ignored, as PyTorch's). */
export class Identity extends Module {
  constructor(..._args: unknown[]) {
    super();
  }

  override forward(input: Tensor): Tensor {
    return input;
  }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(Linear, Identity);
