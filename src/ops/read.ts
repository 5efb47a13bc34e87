// Reading tensor data back into JavaScript: typed arrays, nested lists, scalars.
import { wasm } from '../backend/wasm/device.js';
import type { AnyTypedArray } from '../dtype.js';
import { ArgumentError, DeviceError } from '../errors.js';
import type { NestedList, Tensor } from '../tensor.js';
import { clone } from './elementwise.js';
import { addressOf, isContiguous } from './support.js';
import { download } from './transfer.js';

/** A copy of the elements in row-major order, as a typed array of the tensor's dtype (bool as 0/1 bytes). */
export function toArray(x: Tensor): AnyTypedArray {
  if (x.storage.device !== 'cpu') {
    throw new DeviceError(`a tensor on '${x.storage.device}' cannot be read synchronously: use await t.data() ` +
      "(or await t.tolistAsync(), await t.itemAsync(), await t.toAsync('cpu'))");
  }
  const source = isContiguous(x) ? x : clone(x);
  const count = x.numel(), address = addressOf(source);
  let result: AnyTypedArray;
  if (x.dtype === 'float32') result = wasm.f32.slice(address >>> 2, (address >>> 2) + count);
  else if (x.dtype === 'int32') result = wasm.i32.slice(address >>> 2, (address >>> 2) + count);
  else result = wasm.u8.slice(address, address + count);
  if (source !== x) source.dispose();
  return result;
}

/** toArray on any device: GPU tensors are read back once their kernels have run. */
export async function toArrayAsync(x: Tensor): Promise<AnyTypedArray> {
  return x.storage.device === 'cpu' ? toArray(x) : download(x);
}

function checkItem(x: Tensor): void {
  void x.storage;
  if (x.numel() !== 1) throw new ArgumentError(`a Tensor with ${x.numel()} elements cannot be converted to Scalar`);
}

export function item(x: Tensor): number | boolean {
  checkItem(x);
  const value = toArray(x)[0];
  return x.dtype === 'bool' ? value !== 0 : value;
}

export async function itemAsync(x: Tensor): Promise<number | boolean> {
  checkItem(x);
  const value = (await toArrayAsync(x))[0];
  return x.dtype === 'bool' ? value !== 0 : value;
}

export function tolist(x: Tensor): NestedList {
  return nest(x, toArray(x));
}

export async function tolistAsync(x: Tensor): Promise<NestedList> {
  return nest(x, await toArrayAsync(x));
}

function nest(x: Tensor, flat: AnyTypedArray): NestedList {
  const values: (number | boolean)[] = x.dtype === 'bool' ? Array.from(flat, (v) => v !== 0) : Array.from(flat);
  if (x.dim() === 0) return values[0];
  let position = 0;
  const build = (d: number): NestedList[] => {
    const list: NestedList[] = [];
    for (let i = 0; i < x.shape[d]; i++) list.push(d === x.dim() - 1 ? values[position++] : build(d + 1));
    return list;
  };
  return build(0);
}
