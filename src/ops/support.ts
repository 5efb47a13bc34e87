// Helpers every op shares: shape arithmetic, argument checks, and making output tensors.
import { ArgumentError, DeviceError, IndexError, ShapeError } from '../errors.js';
import { elementBytes, type Dtype } from '../dtype.js';
import { Storage, type Device } from '../storage.js';
import { Tensor } from '../tensor.js';
import { gpuElementBytes } from '../backend/webgpu/device.js';

export type Shape = readonly number[];

export function numelOf(shape: Shape): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** A new contiguous tensor; its contents are undefined until a kernel writes them. */
export function emptyTensor(shape: Shape, dtype: Dtype, device: Device = 'cpu'): Tensor {
  const bytes = numelOf(shape) * (device === 'webgpu' ? gpuElementBytes : elementBytes(dtype));
  const storage = new Storage(bytes, dtype, device);
  return new Tensor(storage, shape.slice(), contiguousStrides(shape), 0, dtype);
}

/** A view sharing `base`'s storage. */
export function viewOf(base: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(base.storage, shape.slice(), strides.slice(), offset, base.dtype);
}

export function isContiguous(tensor: Tensor): boolean {
  let expected = 1;
  for (let d = tensor.shape.length - 1; d >= 0; d--) {
    if (tensor.shape[d] !== 1 && tensor.strides[d] !== expected) return false;
    expected *= tensor.shape[d];
  }
  return true;
}

/**
 * Byte address of a tensor's first element in the WebAssembly memory. A tensor on another device reaching a
 * CPU kernel means that op has no kernel for its device: said here, once, for every op.
 */
export function addressOf(tensor: Tensor): number {
  const storage = tensor.storage;
  if (storage.device !== 'cpu') {
    throw new DeviceError(`this operation has no ${storage.device} kernel yet (a tensor of shape ${formatShape(tensor.shape)} on '${storage.device}' ` +
      "reached a CPU kernel); move its inputs with .to('cpu') first (FEATURES.md lists the ops each device has)");
  }
  return storage.pointer + tensor.offset * elementBytes(tensor.dtype);
}

/**
 * A device argument: 'cpu' or 'webgpu'. `where` prefixes the message; modules raise a DeviceError, ops an
 * ArgumentError, as each did before this check had one place.
 */
export function checkDevice(value: unknown, where: string, ErrorClass: new (message: string) => Error = ArgumentError): Device {
  if (value === 'cpu' || value === 'webgpu') return value;
  throw new ErrorClass(`${where}: unknown device ${JSON.stringify(value)}, expected 'cpu' or 'webgpu'`);
}

/**
 * The one device all tensor operands of an op are on; numbers go anywhere. Mixing devices is refused
 * naming both, as PyTorch does ("Expected all tensors to be on the same device").
 */
export function sameDevice(where: string, ...values: readonly unknown[]): Device {
  let device: Device | undefined;
  for (const value of values) {
    if (!(value instanceof Tensor)) continue;
    const own = value.storage.device;
    if (device !== undefined && own !== device) {
      throw new DeviceError(`${where}: expected all tensors to be on the same device, but found at least two devices, '${device}' and '${own}'; ` +
        "move one with .to(device) first");
    }
    device = own;
  }
  return device ?? 'cpu';
}

/** PyTorch's dim wrapping: dims in [-rank, rank-1]; a 0-d tensor accepts -1 and 0. */
export function normalizeDim(dim: unknown, rank: number, where = 'dim'): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim)) {
    throw new ArgumentError(`${where}: dim must be an integer, got ${describeValue(dim)}`);
  }
  const extent = Math.max(rank, 1);
  if (dim < -extent || dim >= extent) {
    throw new IndexError(`${where}: Dimension out of range (expected to be in range of [${-extent}, ${extent - 1}], but got ${dim})`);
  }
  return dim < 0 ? dim + extent : dim;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array [${value.map(describeValue).join(', ')}]`;
  if (value instanceof Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function checkSize(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ArgumentError(`${where}: sizes must be integers, got ${describeValue(value)}`);
  }
  if (value < 0) throw new ArgumentError(`${where}: sizes must be non-negative, got ${value}`);
  return value;
}

/** Sizes given as varargs `(2, 3)` or one array `([2, 3])`. */
export function parseSizes(args: readonly unknown[], where: string): number[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  return list.map((size) => checkSize(size, where));
}

/** NumPy broadcasting; the message names both shapes as PyTorch does. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const sizeA = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const sizeB = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (sizeA !== sizeB && sizeA !== 1 && sizeB !== 1) {
      throw new ShapeError(`The size of tensor a (${sizeA}) must match the size of tensor b (${sizeB}) at non-singleton dimension ${i}: ` +
        `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
    }
    out[i] = sizeA === 1 ? sizeB : sizeA;
  }
  return out;
}

/** The tensor's strides when read as `shape` (right-aligned; broadcast dims get stride 0). */
export function broadcastStrides(tensor: Tensor, shape: Shape): number[] {
  const rank = shape.length;
  const offset = rank - tensor.shape.length;
  const strides = new Array<number>(rank);
  for (let d = 0; d < rank; d++) {
    strides[d] = d < offset || tensor.shape[d - offset] === 1 ? 0 : tensor.strides[d - offset];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((size, d) => size === b[d]);
}

const noOptions: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A trailing options object: undefined means none; any key not in `allowed` is refused by name. Hot ops
 * (add, sub) call it on every use, so the usual case, no options, allocates nothing.
 */
export function checkOptions(options: unknown, where: string, allowed: readonly string[]): Readonly<Record<string, unknown>> {
  if (options === undefined) return noOptions;
  const prototype = typeof options === 'object' && options !== null ? Object.getPrototypeOf(options) : undefined;
  // A plain object only: a tensor or an array in the options position is a misplaced argument, not options.
  if (prototype !== Object.prototype && prototype !== null) {
    throw new ArgumentError(`${where}: options must be an object such as { ${allowed[0] ?? 'key'}: ... }, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options as object)) {
    if (!allowed.includes(key)) throw new ArgumentError(`${where}: unknown option '${key}' (expected one of ${allowed.join(', ')})`);
  }
  return options as Readonly<Record<string, unknown>>;
}
