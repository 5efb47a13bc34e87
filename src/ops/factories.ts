// Tensor factories: from JavaScript data, filled, sequences, identity, and random.
import { wasm } from '../backend/wasm/device.js';
import { checkDtype, dtypeCode, type AnyTypedArray, type Dtype } from '../dtype.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { Tensor, type Device, type NestedList, type Scalar } from '../tensor.js';
import { clone, convertInto, fill_ } from './elementwise.js';
import { normal_, randomIntegers, uniform_ } from './random.js';
import { move, writeArray } from './transfer.js';
import { addressOf, checkDevice, checkOptions, checkSize, describeValue, emptyTensor, formatShape, numelOf, viewOf } from './support.js';

export interface FactoryOptions {
  dtype?: Dtype;
  device?: Device;
  requiresGrad?: boolean;
}

function readOptions(options: unknown, where: string): FactoryOptions {
  if (options === undefined) return {};
  // checkOptions takes plain objects only: zeros(2, someTensor) is refused, not read as options making a [2].
  const { dtype, device, requiresGrad } = checkOptions(options, where, ['dtype', 'device', 'requiresGrad']) as FactoryOptions;
  if (device !== undefined) checkDevice(device, where);
  if (requiresGrad !== undefined && typeof requiresGrad !== 'boolean') throw new ArgumentError(`${where}: requiresGrad must be a boolean`);
  return { dtype: dtype === undefined ? undefined : checkDtype(dtype, where), device, requiresGrad };
}

/** Splits `(2, 3, {dtype})` or `([2, 3], {dtype})` into sizes and options. */
function sizesAndOptions(args: readonly unknown[], where: string): { shape: number[]; options: FactoryOptions } {
  let list = args;
  let options: FactoryOptions = {};
  const last = args[args.length - 1];
  if (typeof last === 'object' && last !== null && !Array.isArray(last)) {
    options = readOptions(last, where);
    list = args.slice(0, -1);
  }
  const sizes = list.length === 1 && Array.isArray(list[0]) ? (list[0] as unknown[]) : list;
  return { shape: sizes.map((size) => checkSize(size, where)), options };
}

/**
 * Applies the options every factory shares beyond dtype: { device, requiresGrad }. Factories compute on the
 * CPU and upload, so a seed gives the same numbers on every device.
 */
function finish(built: Tensor, options: FactoryOptions | undefined): Tensor {
  let out = built;
  if (options?.device !== undefined && options.device !== built.device) {
    try {
      out = move(built, options.device);
    } finally {
      built.dispose();
    }
  }
  out.storage.version = 0; // filling a new tensor is not an in-place change anyone saw
  if (options?.requiresGrad) {
    try {
      out.requiresGrad_(true);
    } catch (error) {
      out.dispose();
      throw error;
    }
  }
  return out;
}

function flattenNested(data: unknown, where: string): { shape: number[]; values: (number | boolean)[] } {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) shape.push(level.length);
  const values: (number | boolean)[] = [];
  const walk = (item: unknown, depth: number) => {
    if (depth === shape.length) {
      if (typeof item !== 'number' && typeof item !== 'boolean') {
        throw new ArgumentError(`${where}: expected numbers or booleans, got ${describeValue(item)}`);
      }
      values.push(item);
      return;
    }
    if (!Array.isArray(item) || item.length !== shape[depth]) {
      const got = Array.isArray(item) ? item.length : describeValue(item);
      throw new ShapeError(`${where}: expected sequence of length ${shape[depth]} at dim ${depth} (got ${got})`);
    }
    for (const child of item) walk(child, depth + 1);
  };
  walk(data, 0);
  return { shape, values };
}

/**
 * torch.tensor: numbers become float32 (JavaScript has one number type, so 1 and 1.0 look alike), booleans
 * bool; pass { dtype: 'int32' } for integers. Typed arrays keep their type.
 */
export function tensor(data: NestedList | AnyTypedArray | Tensor, options?: FactoryOptions): Tensor {
  return finish(tensorData(data, options), options);
}

function tensorData(data: NestedList | AnyTypedArray | Tensor, options?: FactoryOptions): Tensor {
  const { dtype } = readOptions(options, 'tensor');
  if (data instanceof Tensor) {
    const copy = clone(data);
    if (!dtype || dtype === copy.dtype) return copy;
    const converted = emptyTensor(copy.shape, dtype);
    convertInto(converted, copy);
    copy.dispose();
    return converted;
  }
  if (ArrayBuffer.isView(data)) return fromArray(data as AnyTypedArray, [(data as AnyTypedArray).length], options);
  const { shape, values } = flattenNested(data, 'tensor');
  const inferred: Dtype = dtype ?? (values.length > 0 && values.every((v) => typeof v === 'boolean') ? 'bool' : 'float32');
  const out = emptyTensor(shape, inferred);
  const numbers = values.map((v) => Number(v));
  if (inferred === 'int32') {
    const bad = numbers.find((v) => !Number.isInteger(v));
    if (bad !== undefined) {
      out.dispose();
      throw new ArgumentError(`tensor: ${bad} is not an integer, but dtype int32 was asked for`);
    }
  }
  writeArray(out, inferred === 'bool' ? numbers.map((v) => (v !== 0 ? 1 : 0)) : numbers);
  return out;
}

/** A tensor copied from a typed array: Float32Array → float32, Int32Array → int32, Uint8Array → bool. */
export function fromArray(array: AnyTypedArray, shape?: readonly number[], options?: FactoryOptions): Tensor {
  return finish(fromArrayData(array, shape, options), options);
}

function fromArrayData(array: AnyTypedArray, shape?: readonly number[], options?: FactoryOptions): Tensor {
  const sourceDtype: Dtype | undefined = array instanceof Float32Array ? 'float32' : array instanceof Int32Array ? 'int32' : array instanceof Uint8Array ? 'bool' : undefined;
  if (!sourceDtype) {
    throw new ArgumentError(`fromArray: expected a Float32Array, Int32Array or Uint8Array, got ${describeValue(array)}` +
      ((array as unknown) instanceof Float64Array ? ' (convert with new Float32Array(array))' : ''));
  }
  if (shape !== undefined && shape !== null && !Array.isArray(shape)) throw new ArgumentError(`fromArray: shape must be an array of sizes, got ${describeValue(shape)}`);
  const dims = (shape ?? [array.length]).map((size) => checkSize(size, 'fromArray'));
  if (numelOf(dims) !== array.length) {
    throw new ShapeError(`fromArray: shape ${formatShape(dims)} holds ${numelOf(dims)} elements but the array has ${array.length}`);
  }
  const { dtype } = readOptions(options, 'fromArray');
  const out = emptyTensor(dims, sourceDtype);
  writeArray(out, sourceDtype === 'bool' ? array.map((v) => (v !== 0 ? 1 : 0)) : array);
  if (!dtype || dtype === sourceDtype) return out;
  const converted = emptyTensor(dims, dtype);
  convertInto(converted, out);
  out.dispose();
  return converted;
}

export function empty(...args: unknown[]): Tensor {
  const { shape, options } = sizesAndOptions(args, 'empty');
  return finish(emptyTensor(shape, options.dtype ?? 'float32'), options);
}

export function full(size: readonly number[], value: Scalar, options?: FactoryOptions): Tensor {
  // sizesAndOptions would read an object in the place of the size as options and make a 0-d tensor.
  if (!Array.isArray(size)) throw new ArgumentError(`full: size must be an array of sizes, got ${describeValue(size)}`);
  const { shape, options: parsed } = sizesAndOptions([size, ...(options ? [options] : [])], 'full');
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new ArgumentError(`full: fill value must be a number or boolean, got ${describeValue(value)}`);
  const dtype = parsed.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  const out = emptyTensor(shape, dtype);
  fill_(out, value);
  return finish(out, parsed);
}

export function zeros(...args: unknown[]): Tensor {
  const { shape, options } = sizesAndOptions(args, 'zeros');
  const out = emptyTensor(shape, options.dtype ?? 'float32');
  fill_(out, 0);
  return finish(out, options);
}

export function ones(...args: unknown[]): Tensor {
  const { shape, options } = sizesAndOptions(args, 'ones');
  const out = emptyTensor(shape, options.dtype ?? 'float32');
  fill_(out, 1);
  return finish(out, options);
}

/** The input of a *Like factory: a live tensor (its shape alone would still read after dispose). */
function likeInput(x: unknown, where: string): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${where}: input must be a tensor, got ${describeValue(x)}`);
  void x.storage;
  return x;
}

export function zerosLike(input: Tensor, options?: FactoryOptions): Tensor { const x = likeInput(input, 'zerosLike'); return zeros(x.shape, { ...readOptions(options, 'zerosLike'), dtype: options?.dtype ?? x.dtype, device: options?.device ?? x.device }); }
export function onesLike(input: Tensor, options?: FactoryOptions): Tensor { const x = likeInput(input, 'onesLike'); return ones(x.shape, { ...readOptions(options, 'onesLike'), dtype: options?.dtype ?? x.dtype, device: options?.device ?? x.device }); }
export function emptyLike(input: Tensor, options?: FactoryOptions): Tensor { const x = likeInput(input, 'emptyLike'); return empty(x.shape, { ...readOptions(options, 'emptyLike'), dtype: options?.dtype ?? x.dtype, device: options?.device ?? x.device }); }
export function fullLike(input: Tensor, value: Scalar, options?: FactoryOptions): Tensor { const x = likeInput(input, 'fullLike'); return full(x.shape, value, { ...readOptions(options, 'fullLike'), dtype: options?.dtype ?? x.dtype, device: options?.device ?? x.device }); }
export function randLike(input: Tensor, options?: FactoryOptions): Tensor { const x = likeInput(input, 'randLike'); return rand(x.shape, { device: x.device, ...readOptions(options, 'randLike') }); }
export function randnLike(input: Tensor, options?: FactoryOptions): Tensor { const x = likeInput(input, 'randnLike'); return randn(x.shape, { device: x.device, ...readOptions(options, 'randnLike') }); }

function checkNumber(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${where}: ${name} must be a number, got ${describeValue(value)}`);
  return value;
}

/**
 * arange(end), arange(start, end, step = 1): int32 when start, end and step are all integers (PyTorch's
 * int64 for Python ints), else float32; pass { dtype } to choose.
 */
export function arange(...args: unknown[]): Tensor {
  const options = typeof args[args.length - 1] === 'object' ? readOptions(args.pop(), 'arange') : {};
  if (args.length < 1 || args.length > 3) throw new ArgumentError(`arange: expected (end), (start, end) or (start, end, step), got ${args.length} numbers`);
  const [start, end, step] = args.length === 1 ? [0, checkNumber(args[0], 'arange', 'end'), 1]
    : [checkNumber(args[0], 'arange', 'start'), checkNumber(args[1], 'arange', 'end'), args.length === 3 ? checkNumber(args[2], 'arange', 'step') : 1];
  if (step === 0) throw new ArgumentError('arange: step must be nonzero');
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ArgumentError(`arange: unsupported range: ${start} -> ${end}`);
  if ((end - start) / step < 0) throw new ArgumentError(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const count = Math.ceil((end - start) / step);
  const out = emptyTensor([count], dtype);
  const address = addressOf(out), code = dtypeCode(dtype);
  wasm.launch('sequence', [code, address, start, step, end, 0], count, 1);
  return finish(out, options);
}

export function linspace(start: number, end: number, steps: number, options?: FactoryOptions): Tensor {
  checkNumber(start, 'linspace', 'start');
  checkNumber(end, 'linspace', 'end');
  const count = checkSize(steps, 'linspace');
  const dtype = readOptions(options, 'linspace').dtype ?? 'float32';
  const out = emptyTensor([count], dtype);
  const address = addressOf(out), code = dtypeCode(dtype);
  wasm.launch('sequence', [code, address, start, 0, end, count], count, 1);
  return finish(out, options);
}

export function eye(n: number, m?: number | FactoryOptions, options?: FactoryOptions): Tensor {
  // eye(n, null) is eye(n), as PyTorch's m=None.
  if (m === null) m = undefined;
  if (typeof m === 'object') [m, options] = [undefined, m];
  const parsed = readOptions(options, 'eye');
  const rows = checkSize(n, 'eye'), columns = m === undefined ? rows : checkSize(m, 'eye');
  const out = zeros([rows, columns], { dtype: parsed.dtype });
  const diagonal = viewOf(out, [Math.min(rows, columns)], [columns + 1], 0);
  fill_(diagonal, 1);
  diagonal.dispose();
  return finish(out, parsed);
}

export function rand(...args: unknown[]): Tensor {
  const { shape, options } = sizesAndOptions(args, 'rand');
  const out = emptyTensor(shape, options.dtype ?? 'float32');
  uniform_(out, 0, 1);
  out.storage.version = 0;
  return finish(out, options);
}

export function randn(...args: unknown[]): Tensor {
  const { shape, options } = sizesAndOptions(args, 'randn');
  const out = emptyTensor(shape, options.dtype ?? 'float32');
  normal_(out, 0, 1);
  out.storage.version = 0;
  return finish(out, options);
}

/** randint(high, size) or randint(low, high, size): int32 values in [low, high). */
export function randint(...args: unknown[]): Tensor {
  const options = typeof args[args.length - 1] === 'object' && !Array.isArray(args[args.length - 1]) ? readOptions(args.pop(), 'randint') : {};
  const size = args.pop();
  if (!Array.isArray(size)) throw new ArgumentError(`randint: size must be an array of sizes, got ${describeValue(size)}`);
  const [low, high] = args.length === 1 ? [0, args[0]] : args;
  const shape = size.map((s) => checkSize(s, 'randint'));
  const out = randomIntegers(shape, checkNumber(low, 'randint', 'low'), checkNumber(high, 'randint', 'high'));
  if (options.dtype && options.dtype !== 'int32') {
    const converted = emptyTensor(shape, options.dtype);
    convertInto(converted, out);
    out.dispose();
    return finish(converted, { device: options.device });
  }
  return finish(out, { device: options.device });
}
