// Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.
import type { Tensor } from '../tensor.js';
import type { ValuesIndices } from '../ops/reduce.js';
import { Module, freesItsTemporaries } from './module.js';
import * as F from './functional.js';

type Size = number | number[];

function pythonSize(value: Size | (number | null)[]): string {
  return Array.isArray(value) ? `(${value.map((v) => v ?? 'None').join(', ')})` : String(value);
}

export interface MaxPoolLayerOptions {
  /** Default: kernelSize. */
  stride?: Size | null;
  padding?: Size;
  dilation?: Size;
  returnIndices?: boolean;
  ceilMode?: boolean;
}

/**
 * Max over kH×kW windows; with returnIndices the result is [values, indices] (also { values, indices }).
 * The type parameter follows returnIndices, so `pool(x)` is typed Tensor or ValuesIndices without a cast.
 */
export class MaxPool2d<ReturnIndices extends boolean = false> extends Module {
  readonly kernelSize: Size;
  readonly stride: Size;
  readonly padding: Size;
  readonly dilation: Size;
  readonly returnIndices: boolean;
  readonly ceilMode: boolean;

  constructor(kernelSize: Size, options: MaxPoolLayerOptions & { returnIndices?: ReturnIndices } = {}) {
    super();
    const { stride = null, padding = 0, dilation = 1, returnIndices = false, ceilMode = false } = options;
    this.kernelSize = kernelSize;
    this.stride = stride ?? kernelSize;
    this.padding = padding;
    this.dilation = dilation;
    this.returnIndices = returnIndices;
    this.ceilMode = ceilMode;
  }

  override forward(input: Tensor): ReturnIndices extends true ? ValuesIndices : Tensor {
    const options = { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
    const result = this.returnIndices ? F.maxPool2d(input, this.kernelSize, { ...options, returnIndices: true }) : F.maxPool2d(input, this.kernelSize, options);
    return result as ReturnIndices extends true ? ValuesIndices : Tensor;
  }

  override extraRepr(): string {
    return `kernel_size=${pythonSize(this.kernelSize)}, stride=${pythonSize(this.stride)}, padding=${pythonSize(this.padding)}, ` +
      `dilation=${pythonSize(this.dilation)}, ceil_mode=${this.ceilMode ? 'True' : 'False'}`;
  }
}

export interface AvgPoolLayerOptions {
  stride?: Size | null;
  padding?: Size;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

export class AvgPool2d extends Module {
  readonly kernelSize: Size;
  readonly stride: Size;
  readonly padding: Size;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: Size, options: AvgPoolLayerOptions = {}) {
    super();
    const { stride = null, padding = 0, ceilMode = false, countIncludePad = true, divisorOverride = null } = options;
    this.kernelSize = kernelSize;
    this.stride = stride ?? kernelSize;
    this.padding = padding;
    this.ceilMode = ceilMode;
    this.countIncludePad = countIncludePad;
    this.divisorOverride = divisorOverride;
  }

  override forward(input: Tensor): Tensor {
    return F.avgPool2d(input, this.kernelSize, {
      stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad,
      ...(this.divisorOverride !== null ? { divisorOverride: this.divisorOverride } : {}),
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pythonSize(this.kernelSize)}, stride=${pythonSize(this.stride)}, padding=${pythonSize(this.padding)}`;
  }
}

/** Average pooling to a fixed output size (an int, or [h, w] where null keeps that input dim). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number | (number | null)[];
  constructor(outputSize: number | (number | null)[]) {
    super();
    this.outputSize = outputSize;
  }
  override forward(input: Tensor): Tensor { return F.adaptiveAvgPool2d(input, this.outputSize); }
  override extraRepr(): string { return `output_size=${pythonSize(this.outputSize)}`; }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(MaxPool2d, AvgPool2d, AdaptiveAvgPool2d);
