// maxPool2d, avgPool2d and adaptiveAvgPool2d: PyTorch's argument rules, output sizes (ceil mode) and errors, SIMD kernels per plane, and autograd.
import { wasm } from '../backend/wasm/device.js';
import { torchName } from '../dtype.js';
import { ArgumentError, DtypeError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import { noGrad } from '../autograd/grad-mode.js';
import { contiguous } from './shape.js';
import { addressOf, checkOptions, describeValue, emptyTensor, formatShape, numelOf } from './support.js';
import type { ValuesIndices } from './reduce.js';
import * as gpu from '../backend/webgpu/pooling.js';

/**
 * One pooling's windows: the kernel descriptor words (assembly/pooling.ts), the planes it runs over, and
 * the input and output shapes (3-D unbatched or 4-D).
 */
export interface PoolWindows {
  readonly words: readonly number[];
  readonly planes: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
}

// Estimated nanoseconds per float a window reads, for launch's decision to use the pool.
const nsPerRead = 0.4;

/** A contiguous handle on t (a copy the caller releases); the WebGPU kernels read through strides, so a GPU tensor as it is. */
function dense(t: Tensor): Tensor {
  if (t.device === 'webgpu') return t;
  return noGrad(() => contiguous(t));
}

function release(copy: Tensor, original: Tensor): void {
  if (copy !== original) copy.dispose();
}

function checkInput(value: unknown, where: string): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${where}: input must be a tensor, got ${describeValue(value)}`);
  void value.storage;
  if (value.dtype !== 'float32') throw new DtypeError(`${where}: expected a float32 input, got ${torchName(value.dtype)}; convert with .float()`);
  return value;
}

/** An int or a list of one or two ints; with a `fallback`, undefined or an empty list means the fallback (stride defaults to the kernel size). */
function pair(value: unknown, name: string, where: string, fallback?: readonly number[]): number[] {
  if ((value === undefined || (Array.isArray(value) && value.length === 0)) && fallback) return fallback.slice();
  if (typeof value === 'number' && Number.isInteger(value)) return [value, value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isInteger(v)) && (value.length === 1 || value.length === 2)) {
    return value.length === 1 ? [value[0], value[0]] : [value[0], value[1]];
  }
  throw new ArgumentError(`${where}: ${name} must ${fallback ? 'either be omitted, ' : 'either be '}a single int, or a tuple of two ints, got ${describeValue(value)}`);
}

function checkBoolean(value: unknown, name: string, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ArgumentError(`${where}: ${name} must be a boolean, got ${describeValue(value)}`);
  return value;
}

function checkRank(input: Tensor): void {
  if (input.dim() !== 3 && input.dim() !== 4) throw new ShapeError(`non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size ${formatShape(input.shape)}`);
  // Only the batch dim may be empty.
  for (let d = input.dim() === 4 ? 1 : 0; d < input.dim(); d++) {
    if (input.shape[d] === 0) throw new ShapeError(`Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: ${formatShape(input.shape)}`);
  }
}

/** PyTorch's pooling_output_shape: floor or ceil division, and in ceil mode the last window must start inside the input (or left padding). */
function pooledSize(size: number, kernel: number, pad: number, stride: number, dilation: number, ceilMode: boolean): number {
  let out = Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

interface WindowOptions {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  ceilMode: boolean;
  countIncludePad: boolean;
  divisorOverride: number;
}

/** PyTorch's pool2d_shape_check, then the windows. */
function poolWindows(input: Tensor, o: WindowOptions): PoolWindows {
  const [kernelH, kernelW] = o.kernel, [strideH, strideW] = o.stride, [padH, padW] = o.padding, [dilationH, dilationW] = o.dilation;
  if (kernelH <= 0 || kernelW <= 0) throw new ArgumentError(`kernel size should be greater than zero, but got kH: ${kernelH} kW: ${kernelW}`);
  if (strideH <= 0 || strideW <= 0) throw new ArgumentError(`stride should be greater than zero, but got dH: ${strideH} dW: ${strideW}`);
  if (dilationH <= 0 || dilationW <= 0) throw new ArgumentError(`dilation should be greater than zero, but got dilationH: ${dilationH} dilationW: ${dilationW}`);
  if (padH < 0 || padW < 0) throw new ArgumentError(`pad should be non-negative, but got padH: ${padH} padW: ${padW}`);
  if (padH > Math.floor(kernelH / 2) || padW > Math.floor(kernelW / 2)) {
    const [pad, kernel] = padH > Math.floor(kernelH / 2) ? [padH, kernelH] : [padW, kernelW];
    throw new ArgumentError(`pad should be at most half of kernel size, but got pad=${pad} and kernel_size=${kernel}`);
  }
  checkRank(input);
  const [height, width] = input.shape.slice(-2);
  const outH = pooledSize(height, kernelH, padH, strideH, dilationH, o.ceilMode);
  const outW = pooledSize(width, kernelW, padW, strideW, dilationW, o.ceilMode);
  const channels = input.shape[input.dim() - 3];
  if (outH < 1 || outW < 1) {
    throw new ShapeError(`Given input size: (${channels}x${height}x${width}). Calculated output size: (${channels}x${outH}x${outW}). Output size is too small`);
  }
  const lead = input.shape.slice(0, -2);
  return {
    words: [height, width, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, o.countIncludePad ? 1 : 0, o.divisorOverride, 0],
    planes: numelOf(lead), inputShape: input.shape.slice(), outputShape: [...lead, outH, outW],
  };
}

// ---- the recorded computations (inputs already checked)

function maxPoolCpu(input: Tensor, windows: PoolWindows): [Tensor, Tensor] {
  const x = dense(input);
  const out = emptyTensor(windows.outputShape, 'float32'), indices = emptyTensor(windows.outputShape, 'int32');
  const perPlane = numelOf(windows.outputShape.slice(-2)) * windows.words[4] * windows.words[5];
  wasm.launch('max_pool2d_f32', [addressOf(out), addressOf(indices), addressOf(x), wasm.describeWords(windows.words)], windows.planes, perPlane * nsPerRead);
  release(x, input);
  return [out, indices];
}

/** Max pooling of a checked input: values and int32 indices flat within each plane. */
function maxPoolOp(input: Tensor, windows: PoolWindows): [Tensor, Tensor] {
  const [out, indices] = input.device === 'webgpu' ? gpu.maxPool2d(input, windows) : maxPoolCpu(input, windows);
  record('MaxPool2DWithIndicesBackward0', [input], [out], () => derivatives.maxPool2d(windows), () => [indices]);
  return [out, indices];
}

/** The gradient of max pooling: grad scattered (added) to the input positions its indices name. */
export function maxPool2dBackwardOp(grad: Tensor, indices: Tensor, windows: PoolWindows): Tensor {
  const out = grad.device === 'webgpu' ? gpu.maxPool2dBackward(grad, indices, windows) : maxPool2dBackwardCpu(grad, indices, windows);
  record('MaxPool2DWithIndicesBackwardBackward0', [grad], [out], () => derivatives.maxPool2dBackward(), () => [indices]);
  return out;
}

function maxPool2dBackwardCpu(grad: Tensor, indices: Tensor, windows: PoolWindows): Tensor {
  const g = dense(grad);
  const out = emptyTensor(windows.inputShape, 'float32');
  const inputSize = numelOf(windows.inputShape.slice(-2)), outputSize = numelOf(windows.outputShape.slice(-2));
  const [height, width, outH, outW, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW] = windows.words;
  const twoByTwo = kernelH === 2 && kernelW === 2 && strideH === 2 && strideW === 2 && padTop === 0 && padLeft === 0 && dilationH === 1 && dilationW === 1;
  // Whole windows only (ceil mode can add a partial last one); each index lies in its window, as the forward made it.
  if (twoByTwo && 2 * outH <= height && 2 * outW <= width) {
    wasm.launch('max_pool2d_backward_2x2_f32', [addressOf(out), addressOf(g), addressOf(indices), height, width, outH, outW], windows.planes, inputSize * nsPerRead);
  } else {
    wasm.launch('max_pool2d_backward_f32', [addressOf(out), addressOf(g), addressOf(indices), inputSize, outputSize], windows.planes, (inputSize + 2 * outputSize) * nsPerRead);
  }
  release(g, grad);
  return out;
}

/** Average pooling of a checked input (adaptive when the windows say so). */
export function avgPoolOp(input: Tensor, windows: PoolWindows): Tensor {
  const adaptive = windows.words[14] !== 0;
  const out = input.device === 'webgpu' ? gpu.avgPool2d(input, windows) : avgPoolCpu(input, windows, adaptive);
  record(adaptive ? 'AdaptiveAvgPool2DBackward0' : 'AvgPool2DBackward0', [input], [out], () => derivatives.avgPool2d(windows));
  return out;
}

function avgPoolCpu(input: Tensor, windows: PoolWindows, adaptive: boolean): Tensor {
  const x = dense(input);
  const out = emptyTensor(windows.outputShape, 'float32');
  const perPlane = adaptive ? numelOf(windows.inputShape.slice(-2)) * 2 : numelOf(windows.outputShape.slice(-2)) * windows.words[4] * windows.words[5];
  wasm.launch('avg_pool2d_f32', [addressOf(out), addressOf(x), wasm.describeWords(windows.words)], windows.planes, perPlane * nsPerRead);
  release(x, input);
  return out;
}

/** The adjoint of avgPoolOp: each output's gradient spread evenly (by its divisor) over its window. */
export function avgPool2dBackwardOp(grad: Tensor, windows: PoolWindows): Tensor {
  const out = grad.device === 'webgpu' ? gpu.avgPool2dBackward(grad, windows) : avgPool2dBackwardCpu(grad, windows);
  record('AvgPool2DBackwardBackward0', [grad], [out], () => derivatives.avgPool2dBackward(windows));
  return out;
}

function avgPool2dBackwardCpu(grad: Tensor, windows: PoolWindows): Tensor {
  const g = dense(grad);
  const out = emptyTensor(windows.inputShape, 'float32');
  const perPlane = numelOf(windows.inputShape.slice(-2)) * 2 + numelOf(windows.outputShape.slice(-2)) * 4;
  wasm.launch('avg_pool2d_backward_f32', [addressOf(out), addressOf(g), wasm.describeWords(windows.words)], windows.planes, perPlane * nsPerRead);
  release(g, grad);
  return out;
}

// ---- the public functions

export interface MaxPool2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}

/**
 * torch.nn.functional.max_pool2d on [N, C, H, W] or [C, H, W]. Padding reads as -inf; a NaN in a window wins
 * (as in PyTorch). With returnIndices, the result is [output, indices] (also { values, indices }), indices
 * int32, flat within each H x W plane as PyTorch's.
 */
export function maxPool2d(input: Tensor, kernelSize: number | number[], options: MaxPool2dOptions & { returnIndices: true }): ValuesIndices;
export function maxPool2d(input: Tensor, kernelSize: number | number[], options?: MaxPool2dOptions): Tensor;
export function maxPool2d(input: Tensor, kernelSize: number | number[], options?: MaxPool2dOptions): Tensor | ValuesIndices {
  const where = 'max_pool2d';
  const x = checkInput(input, where);
  const o = checkOptions(options, where, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const kernel = pair(kernelSize, 'kernel_size', where);
  const windows = poolWindows(x, {
    kernel, stride: pair(o.stride, 'stride', where, kernel), padding: pair(o.padding ?? 0, 'padding', where),
    dilation: pair(o.dilation ?? 1, 'dilation', where), ceilMode: checkBoolean(o.ceilMode, 'ceilMode', where), countIncludePad: false, divisorOverride: 0,
  });
  const returnIndices = checkBoolean(o.returnIndices, 'returnIndices', where);
  const [values, indices] = maxPoolOp(x, windows);
  if (!returnIndices) {
    indices.dispose();
    return values;
  }
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/** torch.nn.functional.avg_pool2d on [N, C, H, W] or [C, H, W]. */
export function avgPool2d(input: Tensor, kernelSize: number | number[], options?: AvgPool2dOptions): Tensor {
  const where = 'avg_pool2d';
  const x = checkInput(input, where);
  const o = checkOptions(options, where, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const kernel = pair(kernelSize, 'kernel_size', where);
  let divisorOverride = 0;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null) {
    if (typeof o.divisorOverride !== 'number' || !Number.isInteger(o.divisorOverride)) {
      throw new ArgumentError(`${where}: divisorOverride must be an integer, got ${describeValue(o.divisorOverride)}`);
    }
    if (o.divisorOverride === 0) throw new ArgumentError('divisor must be not zero');
    divisorOverride = o.divisorOverride;
  }
  const countIncludePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, 'countIncludePad', where);
  const windows = poolWindows(x, {
    kernel, stride: pair(o.stride, 'stride', where, kernel), padding: pair(o.padding ?? 0, 'padding', where), dilation: [1, 1],
    ceilMode: checkBoolean(o.ceilMode, 'ceilMode', where), countIncludePad, divisorOverride,
  });
  return avgPoolOp(x, windows);
}

/** torch.nn.functional.adaptive_avg_pool2d: outputSize an int or [h, w] where null keeps the input's size. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | (number | null)[]): Tensor {
  const where = 'adaptive_avg_pool2d';
  const x = checkInput(input, where);
  if (x.dim() !== 3 && x.dim() !== 4) throw new ShapeError(`adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got ${formatShape(x.shape)}`);
  for (let d = x.dim() === 4 ? 1 : 0; d < x.dim(); d++) {
    if (x.shape[d] === 0) {
      throw new ShapeError(`adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes ${formatShape(x.shape)} with dimension ${d} being empty`);
    }
  }
  const [height, width] = x.shape.slice(-2);
  const list = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(list) || list.length !== 2 || !list.every((v) => v === null || (typeof v === 'number' && Number.isInteger(v)))) {
    throw new ArgumentError(`${where}: outputSize must be an int or a list of two ints (or null to keep that size), got ${describeValue(outputSize)}`);
  }
  const [outH, outW] = [list[0] ?? height, list[1] ?? width];
  if (outH < 0 || outW < 0) {
    throw new ArgumentError(`adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {${outH}, ${outW}}`);
  }
  const lead = x.shape.slice(0, -2);
  const windows: PoolWindows = {
    words: [height, width, outH, outW, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1],
    planes: numelOf(lead), inputShape: x.shape.slice(), outputShape: [...lead, outH, outW],
  };
  return avgPoolOp(x, windows);
}
