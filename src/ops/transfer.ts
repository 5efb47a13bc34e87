// Moving tensors between devices: uploads into GPU buffers (synchronous) and reads back from them (asynchronous only).
import type { AnyTypedArray } from '../dtype.js';
import { DeviceError } from '../errors.js';
import type { Device } from '../storage.js';
import type { Tensor } from '../tensor.js';
import { wasm } from '../backend/wasm/device.js';
import { webgpu } from '../backend/webgpu/device.js';
import { bufferOf } from '../backend/webgpu/wgsl.js';
import * as gpuElementwise from '../backend/webgpu/elementwise.js';
import { toArray } from './read.js';
import { addressOf, emptyTensor, isContiguous } from './support.js';

/** Writes values of the right element type (bool as 0/1) into a contiguous CPU tensor. */
export function writeArray(out: Tensor, values: ArrayLike<number>): void {
  const address = addressOf(out);
  if (out.dtype === 'float32') wasm.f32.set(values, address >>> 2);
  else if (out.dtype === 'int32') wasm.i32.set(values, address >>> 2);
  else wasm.u8.set(values, address);
}

/** A contiguous copy of a CPU tensor in a new GPU buffer (bool as one u32 per element). */
export function upload(x: Tensor): Tensor {
  const values = toArray(x);
  const out = emptyTensor(x.shape, x.dtype, 'webgpu');
  try {
    webgpu().write(bufferOf(out), 0, x.dtype === 'bool' ? Uint32Array.from(values) : values);
  } catch (error) {
    out.dispose();
    throw error;
  }
  return out;
}

/** The elements of a GPU tensor in row-major order, as a typed array of its dtype (bool as 0/1 bytes). */
export async function download(x: Tensor): Promise<AnyTypedArray> {
  let source = x;
  if (!isContiguous(x)) {
    source = emptyTensor(x.shape, x.dtype, 'webgpu');
    gpuElementwise.convert(source, x, x.dtype);
  }
  const count = x.numel();
  const read = webgpu().read(bufferOf(source), source.offset * 4, count * 4);
  // The copy is recorded before the read; freeing it now only returns its buffer to the pool after that.
  if (source !== x) source.dispose();
  const bytes = await read;
  switch (x.dtype) {
    case 'float32': return new Float32Array(bytes);
    case 'int32': return new Int32Array(bytes);
    case 'bool': return Uint8Array.from(new Uint32Array(bytes));
    default: return x.dtype satisfies never;
  }
}

/** A copy of `x` on `device`; a GPU → CPU copy is asynchronous by nature, so only `moveAsync` does it. */
export function move(x: Tensor, device: Device): Tensor {
  if (x.device === device) return x;
  if (device === 'webgpu') return upload(x);
  throw new DeviceError(`to('cpu'): a tensor on '${x.device}' is read back asynchronously: use await t.toAsync('cpu') ` +
    '(or await t.data(), t.tolistAsync(), t.itemAsync())');
}

export async function moveAsync(x: Tensor, device: Device): Promise<Tensor> {
  if (x.device === device || device === 'webgpu') return move(x, device);
  const values = await download(x);
  const out = emptyTensor(x.shape, x.dtype);
  writeArray(out, values);
  return out;
}
