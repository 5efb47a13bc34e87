// Convolution layers: Conv1d, Conv2d (stride, padding incl. 'same'/'valid', dilation, groups) and ConvTranspose2d.
import { ArgumentError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describeValue, formatShape } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { emptyParameter, pythonTuple, type Parameter } from './parameter.js';
import { checkFeatureCount } from './linear.js';
import { resetLinearLike } from './init.js';
import * as F from './functional.js';

export interface ConvLayerOptions {
  stride?: number | number[];
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
  /** Only 'zeros' is implemented; 'reflect', 'replicate' and 'circular' throw. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

export interface ConvTransposeLayerOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  groups?: number;
  bias?: boolean;
  dilation?: number | number[];
  paddingMode?: 'zeros';
}

/** An int or a list of `dims` non-negative ints (minimum `least`), as PyTorch's _single/_pair. */
function tupleOf(value: unknown, dims: number, name: string, where: string, least = 0): number[] {
  const list = typeof value === 'number' ? new Array<number>(dims).fill(value) : value;
  if (!Array.isArray(list) || list.length !== dims || !list.every((v) => Number.isInteger(v) && v >= least)) {
    throw new ArgumentError(`${where}: ${name} must be an integer ≥ ${least} or a list of ${dims} such integers, got ${describeValue(value)}`);
  }
  return list.slice();
}

/** The common part of the convolutions (PyTorch's _ConvNd): checks, parameters, initialisation, repr. */
abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: string;
  readonly transposed: boolean;
  weight: Parameter;
  bias: Parameter | null;

  constructor(dims: number, transposed: boolean, inChannels: number, outChannels: number, kernelSize: number | number[],
    options: ConvLayerOptions & { outputPadding?: number | number[] }) {
    super();
    const where = this.constructor.name;
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, paddingMode = 'zeros', outputPadding = 0 } = options;
    this.inChannels = checkFeatureCount(inChannels, where, 'inChannels');
    this.outChannels = checkFeatureCount(outChannels, where, 'outChannels');
    if (!Number.isInteger(groups) || groups <= 0) throw new ArgumentError(`${where}: groups must be a positive integer, got ${describeValue(groups)}`);
    if (inChannels % groups !== 0) throw new ArgumentError(`${where}: in_channels must be divisible by groups (got ${inChannels} and ${groups})`);
    if (outChannels % groups !== 0) throw new ArgumentError(`${where}: out_channels must be divisible by groups (got ${outChannels} and ${groups})`);
    this.kernelSize = tupleOf(kernelSize, dims, 'kernelSize', where, 1);
    this.stride = tupleOf(stride, dims, 'stride', where, 1);
    this.dilation = tupleOf(dilation, dims, 'dilation', where, 1);
    this.outputPadding = tupleOf(outputPadding, dims, 'outputPadding', where);
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid') throw new ArgumentError(`${where}: Invalid padding string '${padding}', should be one of ['valid', 'same']`);
      if (transposed) throw new ArgumentError(`${where}: padding must be an integer or a list of integers, not '${padding}'`);
      if (padding === 'same' && this.stride.some((s) => s !== 1)) throw new ArgumentError(`${where}: padding='same' is not supported for strided convolutions`);
      this.padding = padding;
    } else {
      this.padding = tupleOf(padding, dims, 'padding', where);
    }
    if (paddingMode !== 'zeros') {
      const known = ['reflect', 'replicate', 'circular'].includes(paddingMode);
      throw new ArgumentError(`${where}: paddingMode ${describeValue(paddingMode)} is ${known ? 'not supported yet' : 'not a padding mode'}; only 'zeros' is implemented`);
    }
    if (typeof bias !== 'boolean') throw new ArgumentError(`${where}: bias must be a boolean, got ${describeValue(bias)}`);
    this.groups = groups;
    this.paddingMode = paddingMode;
    this.transposed = transposed;
    const weightShape = transposed ? [inChannels, outChannels / groups, ...this.kernelSize] : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = emptyParameter(weightShape);
    this.bias = bias ? emptyParameter([outChannels]) : null;
    this.resetParameters();
  }

  /** PyTorch 1.13's _ConvNd.reset_parameters (fan-in from the weight's dim 1, for transposed ones too). */
  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** Checks rank and channels so the error names this layer, the weight and the input. */
  protected checkInput(input: Tensor, dims: number): void {
    if (!(input instanceof Tensor)) throw new ArgumentError(`expected a tensor input, got ${describeValue(input)}`);
    if (input.dim() !== dims + 1 && input.dim() !== dims + 2) {
      throw new ShapeError(`Expected ${dims + 1}D (unbatched) or ${dims + 2}D (batched) input, but got input of size: ${formatShape(input.shape)}`);
    }
    const channels = input.shape[input.dim() - dims - 1];
    if (channels !== this.inChannels) {
      throw new ShapeError(`Given groups=${this.groups}, weight of size ${formatShape(this.weight.shape)}, expected input${formatShape(input.shape)} to have ${this.inChannels} channels, but got ${channels} channels instead`);
    }
  }

  override extraRepr(): string {
    const zeros = (list: number[], value: number) => list.every((v) => v === value);
    let text = `${this.inChannels}, ${this.outChannels}, kernel_size=${pythonTuple(this.kernelSize)}, stride=${pythonTuple(this.stride)}`;
    if (typeof this.padding === 'string') text += `, padding=${this.padding}`;
    else if (!zeros(this.padding, 0)) text += `, padding=${pythonTuple(this.padding)}`;
    if (!zeros(this.dilation, 1)) text += `, dilation=${pythonTuple(this.dilation)}`;
    if (!zeros(this.outputPadding, 0)) text += `, output_padding=${pythonTuple(this.outputPadding)}`;
    if (this.groups !== 1) text += `, groups=${this.groups}`;
    if (!this.bias) text += ', bias=False';
    return text;
  }
}

/** 1-D convolution of [N, C, L] (or [C, L]); weight [outChannels, inChannels/groups, k]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(1, false, inChannels, outChannels, kernelSize, options);
  }

  override forward(input: Tensor): Tensor {
    this.checkInput(input, 1);
    return F.conv1d(input, this.weight, this.bias, {
      stride: this.stride as [number], padding: typeof this.padding === 'string' ? this.padding : this.padding as [number],
      dilation: this.dilation as [number], groups: this.groups,
    });
  }
}

/** 2-D convolution of [N, C, H, W] (or [C, H, W]); weight [outChannels, inChannels/groups, kH, kW]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(2, false, inChannels, outChannels, kernelSize, options);
  }

  override forward(input: Tensor): Tensor {
    this.checkInput(input, 2);
    return F.conv2d(input, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/** Transposed 2-D convolution; weight [inChannels, outChannels/groups, kH, kW] (PyTorch's layout). */
export class ConvTranspose2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeLayerOptions = {}) {
    super(2, true, inChannels, outChannels, kernelSize, options);
  }

  /** outputSize ([H, W], or with batch and channel dims in front) picks the output padding, as PyTorch's. */
  override forward(input: Tensor, outputSize?: number[] | null): Tensor {
    this.checkInput(input, 2);
    const outputPadding = outputSize ? this.#outputPaddingFor(input, outputSize) : this.outputPadding;
    return F.convTranspose2d(input, this.weight, this.bias, {
      stride: this.stride, padding: this.padding as number[], outputPadding, groups: this.groups, dilation: this.dilation,
    });
  }

  #outputPaddingFor(input: Tensor, outputSize: number[]): number[] {
    // PyTorch's rule: [H, W], or the full output shape of the input's rank (4 for batched, 3 for unbatched).
    const fullLength = input.dim();
    if (outputSize.length !== 2 && outputSize.length !== fullLength) {
      throw new ArgumentError(`ConvTranspose2d: for ${fullLength}D input, output_size must have 2 or ${fullLength} elements (got ${outputSize.length})`);
    }
    const spatial = outputSize.slice(-2);
    const padding = this.padding as number[];
    return spatial.map((size, d) => {
      const extent = input.shape[input.dim() - 2 + d];
      const smallest = (extent - 1) * this.stride[d] - 2 * padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      const largest = smallest + this.stride[d] - 1;
      if (size < smallest || size > largest) {
        throw new ShapeError(`ConvTranspose2d: requested an output size of ${formatShape(spatial)}, but valid sizes range from [${smallest}..${largest}] for dim ${d} of input ${formatShape(input.shape)}`);
      }
      return size - smallest;
    });
  }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(Conv1d, Conv2d, ConvTranspose2d);
