// Reductions (sum, mean, prod, max, min, argmax, argmin) over any dims, and softmax / logSoftmax.
import { wasm } from '../backend/wasm/device.js';
import { ReduceOp, type ReduceOpName } from '../backend/wasm/kernels.js';
import { DtypeError, IndexError, ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { compare, convertTensor, fill_ } from './elementwise.js';
import { addressOf, contiguousStrides, describeValue, emptyTensor, isContiguous, normalizeDim, numelOf, formatShape, sameDevice } from './support.js';
import * as gpu from '../backend/webgpu/reduce.js';
import { contiguous } from './shape.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';

export type DimArgument = number | number[] | null | undefined;
export type ReduceArgs = [] | [DimArgument] | [DimArgument, boolean] | [{ dim?: DimArgument; keepdim?: boolean }];
/** A PyTorch (values, indices) tuple: destructure as an object or an array. */
export type ValuesIndices = [Tensor, Tensor] & { values: Tensor; indices: Tensor };

function parseReduceArgs(args: readonly unknown[], where: string): { dim: DimArgument; keepdim: boolean } {
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    const options = args[0] as { dim?: DimArgument; keepdim?: boolean };
    return { dim: options.dim, keepdim: checkKeepdim(options.keepdim, where) };
  }
  return { dim: args[0] as DimArgument, keepdim: checkKeepdim(args[1], where) };
}

function checkKeepdim(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ArgumentError(`${where}: keepdim must be a boolean, got ${describeValue(value)}`);
  return value;
}

/** Sorted, unique reduced dims; null or [] means all dims. */
function reducedDims(dim: DimArgument, rank: number, where: string): number[] {
  if (dim === undefined || dim === null) return Array.from({ length: rank }, (_, d) => d);
  const list = Array.isArray(dim) ? dim : [dim];
  if (list.length === 0) return Array.from({ length: rank }, (_, d) => d);
  const dims = list.map((d) => normalizeDim(d, rank, where));
  if (new Set(dims).size !== dims.length) throw new ArgumentError(`${where}: dim ${formatShape(list)} appears multiple times in the list of dims`);
  return rank === 0 ? [] : dims.sort((a, b) => a - b);
}

/**
 * Runs the reduce kernel: values into `values` and/or argument positions into `indices` (both laid out
 * as the output shape). Reduced dims are the kernel's inner dims; kept dims are its work items.
 */
function runReduce(op: ReduceOpName, x: Tensor, dims: readonly number[], values: Tensor | null, indices: Tensor | null, scale: number): void {
  if (x.device === 'webgpu') return gpu.reduce(op, x, dims, values, indices, scale);
  const reduced = new Set(dims);
  const outerShape: number[] = [], outerStrides: number[] = [], innerShape: number[] = [], innerStrides: number[] = [];
  x.shape.forEach((size, d) => {
    if (reduced.has(d)) { innerShape.push(size); innerStrides.push(x.strides[d]); }
    else { outerShape.push(size); outerStrides.push(x.strides[d]); }
  });
  const outStrides = contiguousStrides(outerShape);
  if (outerShape.length === 0) { outerShape.push(1); outerStrides.push(0); outStrides.push(0); }
  if (innerShape.length === 0) { innerShape.push(1); innerStrides.push(0); }
  const desc = wasm.describeWords([outerShape.length, innerShape.length, ...outerShape, ...outerStrides, ...outStrides, ...innerShape, ...innerStrides]);
  const valuesAddress = values ? addressOf(values) : 0, indicesAddress = indices ? addressOf(indices) : 0;
  const xAddress = addressOf(x), dtype = x.dtype === 'float32' ? 0 : 1, code = ReduceOp[op];
  wasm.launch('reduce', [dtype, code, valuesAddress, indicesAddress, xAddress, desc, scale], numelOf(outerShape), 0.5 * numelOf(innerShape) + 20);
}

function outputShape(shape: readonly number[], dims: readonly number[], keepdim: boolean): number[] {
  const reduced = new Set(dims);
  return keepdim ? shape.map((size, d) => (reduced.has(d) ? 1 : size)) : shape.filter((_, d) => !reduced.has(d));
}

function reduceWith(op: 'sum' | 'prod' | 'mean', x: Tensor, args: readonly unknown[]): Tensor {
  const device = sameDevice(op, x);
  const { dim, keepdim } = parseReduceArgs(args, op);
  const dims = reducedDims(dim, x.dim(), op);
  if (op === 'mean' && x.dtype !== 'float32') {
    throw new DtypeError(`mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${x.dtype}`);
  }
  const source = x.dtype === 'bool' ? convertTensor(x, 'int32') : x;
  const shape = outputShape(x.shape, dims, keepdim);
  const out = emptyTensor(shape, source.dtype, device);
  const count = dims.reduce((n, d) => n * x.shape[d], 1);
  if (count === 0) fill_(out, op === 'prod' ? 1 : op === 'mean' ? NaN : 0);
  else runReduce(op === 'mean' ? 'sum' : op, source, dims, out, null, op === 'mean' ? 1 / count : 1);
  if (source !== x) source.dispose();
  const variant = dim === undefined || dim === null ? '0' : '1';
  if (op === 'prod') record(`ProdBackward${variant}`, [x], [out], () => derivatives.prod(dims, keepdim), () => [x, out]);
  else record(`${op === 'sum' ? 'Sum' : 'Mean'}Backward${variant}`, [x], [out], () => derivatives.sum(x.shape, dims, keepdim, op === 'mean' ? 1 / count : 1));
  return out;
}

export function sum(x: Tensor, ...args: ReduceArgs): Tensor { return reduceWith('sum', x, args); }
export function mean(x: Tensor, ...args: ReduceArgs): Tensor { return reduceWith('mean', x, args); }
export function prod(x: Tensor, ...args: ReduceArgs): Tensor { return reduceWith('prod', x, args); }

function checkNonEmpty(x: Tensor, dims: readonly number[], where: string): void {
  for (const d of dims) {
    if (x.shape[d] === 0) throw new IndexError(`${where}(): Expected reduction dim ${d} to have non-zero size.`);
  }
  if (x.numel() === 0 && dims.length === x.dim()) {
    throw new IndexError(`${where}(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.`);
  }
}

/** max() / min(): the 0-d extreme; with a dim, the (values, indices) pair along it. */
export function extreme(which: 'max' | 'min', x: Tensor, dimArgument?: number | { dim: number; keepdim?: boolean }, keepdimArgument?: boolean): Tensor | ValuesIndices {
  const device = sameDevice(which, x);
  const args = dimArgument === undefined ? [] : typeof dimArgument === 'object' ? [dimArgument] : [dimArgument, keepdimArgument];
  if (args.length === 0) {
    checkNonEmpty(x, x.shape.map((_, d) => d), which);
    const source = x.dtype === 'bool' ? convertTensor(x, 'int32') : x;
    const out = emptyTensor([], source.dtype, device);
    runReduce(which, source, x.shape.map((_, d) => d), out, null, 1);
    if (source === x) {
      record(which === 'max' ? 'MaxBackward1' : 'MinBackward1', [x], [out], () => derivatives.extremeAll(), () => [x, out]);
      return out;
    }
    source.dispose();
    const asBool = convertTensor(out, 'bool');
    out.dispose();
    return asBool;
  }
  if (args[0] instanceof Tensor) {
    throw new ArgumentError(`${which}(other) is torch.${which === 'max' ? 'maximum' : 'minimum'}(other) in wasmtorch: max/min take a dim`);
  }
  const { dim, keepdim } = parseReduceArgs(args, which);
  if (typeof dim !== 'number') throw new ArgumentError(`${which}: dim must be an integer, got ${describeValue(dim)}`);
  const d = normalizeDim(dim, x.dim(), which);
  const dims = x.dim() === 0 ? [] : [d];
  checkNonEmpty(x, dims, which);
  const source = x.dtype === 'bool' ? convertTensor(x, 'int32') : x;
  const shape = outputShape(x.shape, dims, keepdim);
  let values = emptyTensor(shape, source.dtype, device);
  const indices = emptyTensor(shape, 'int32', device);
  runReduce(which, source, dims, values, indices, 1);
  if (source !== x) {
    source.dispose();
    const asBool = convertTensor(values, 'bool');
    values.dispose();
    values = asBool;
  } else if (dims.length) {
    record(which === 'max' ? 'MaxBackward0' : 'MinBackward0', [x], [values], () => derivatives.extremeDim(x.shape, d, keepdim), () => [indices]);
  }
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

export function argExtreme(which: 'max' | 'min', x: Tensor, dim?: number | null | { dim?: number | null; keepdim?: boolean }, keepdimArgument?: boolean): Tensor {
  const where = which === 'max' ? 'argmax' : 'argmin';
  const device = sameDevice(where, x);
  // argmax(dim, keepdim) or argmax({ dim, keepdim }), as the signature says.
  const { dim: dimValue, keepdim } = parseReduceArgs(dim === undefined ? [] : keepdimArgument === undefined ? [dim] : [dim, keepdimArgument], where);
  const source = x.dtype === 'bool' ? convertTensor(x, 'int32') : x;
  let dims: number[], shape: number[];
  if (dimValue === undefined || dimValue === null) {
    dims = x.shape.map((_, d) => d);
    shape = keepdim ? x.shape.map(() => 1) : [];
  } else {
    if (typeof dimValue !== 'number') throw new ArgumentError(`${where}: dim must be an integer, got ${describeValue(dimValue)}`);
    const d = normalizeDim(dimValue, x.dim(), where);
    dims = x.dim() === 0 ? [] : [d];
    shape = outputShape(x.shape, dims, keepdim);
  }
  checkNonEmpty(x, dims, where);
  const indices = emptyTensor(shape, 'int32', device);
  runReduce(which, source, dims, null, indices, 1);
  if (source !== x) source.dispose();
  return indices;
}

/** Softmax or log-softmax along dim, computed on a contiguous copy when the input is strided. */
export function softmax(x: Tensor, dimArgument: number | { dim: number }, logarithm: boolean): Tensor {
  const where = logarithm ? 'logSoftmax' : 'softmax';
  const device = sameDevice(where, x);
  const dim = typeof dimArgument === 'object' && dimArgument !== null ? dimArgument.dim : dimArgument;
  if (x.dtype !== 'float32') throw new DtypeError(`${where}: expected a float32 tensor, got ${x.dtype}; convert with .float()`);
  const d = normalizeDim(dim, x.dim(), where);
  const source = isContiguous(x) ? x : contiguous(x);
  const out = emptyTensor(x.shape, 'float32', device);
  const n = x.dim() === 0 ? 1 : x.shape[d];
  const inner = numelOf(x.shape.slice(d + 1));
  const lines = n === 0 ? 0 : x.numel() / n;
  if (device === 'webgpu') gpu.softmax(logarithm, out, source, n, inner, lines);
  else wasm.launch('softmax_f32', [logarithm ? 1 : 0, addressOf(out), addressOf(source), n, inner], lines, 4 * n);
  if (source !== x) source.dispose();
  record(logarithm ? 'LogSoftmaxBackward0' : 'SoftmaxBackward0', [x], [out], () => derivatives.softmax(x.dim() === 0 ? 0 : d, logarithm), () => [out]);
  return out;
}

/** all()/any(): whether every (some) element is non-zero, over all dims or the given ones; bool results. */
export function logical(which: 'all' | 'any', x: Tensor, ...args: ReduceArgs): Tensor {
  const device = sameDevice(which, x);
  const { dim, keepdim } = parseReduceArgs(args, which);
  const dims = reducedDims(dim, x.dim(), which);
  const flags = x.dtype === 'bool' ? x : compare('ne', x, 0);
  const asInt = convertTensor(flags, 'int32');
  if (flags !== x) flags.dispose();
  const shape = outputShape(x.shape, dims, keepdim);
  const result = emptyTensor(shape, 'int32', device);
  if (dims.reduce((n, d) => n * x.shape[d], 1) === 0) fill_(result, which === 'all' ? 1 : 0);
  else runReduce(which === 'all' ? 'min' : 'max', asInt, dims, result, null, 1);
  asInt.dispose();
  const out = convertTensor(result, 'bool');
  result.dispose();
  return out;
}
