// Index ops: indexSelect, gather, scatter (checked before any write), cat and stack.
import { wasm } from '../backend/wasm/device.js';
import { dtypeCode, promoteTypes, torchName, type Dtype } from '../dtype.js';
import { ArgumentError, DtypeError, IndexError, ShapeError } from '../errors.js';
import { Tensor, type Scalar } from '../tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { clone, convertInto } from './elementwise.js';
import { contiguous, narrow, unsqueeze } from './shape.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import { inPlaceTracked } from './elementwise.js';
import { addressOf, describeValue, emptyTensor, formatShape, normalizeDim, sameDevice } from './support.js';
import * as gpu from '../backend/webgpu/indexing.js';

function checkIndexTensor(index: unknown, where: string): Tensor {
  if (!(index instanceof Tensor)) throw new ArgumentError(`${where}: index must be an int32 tensor, got ${describeValue(index)}`);
  if (index.dtype !== 'int32') throw new DtypeError(`${where}(): Expected dtype int32 for index (wasmtorch's int64), got ${torchName(index.dtype)}`);
  void index.storage;
  return index;
}

/**
 * Throws an IndexError naming the first index outside [0, size); runs before anything is written. On the GPU
 * this would need a synchronous read, so it is skipped there and the kernels define what such an index does
 * (src/backend/webgpu/indexing.ts: gather reads NaN / 0 / false, scatter skips it).
 */
function checkIndexRange(index: Tensor, size: number, dim: number, where: string): void {
  if (index.numel() === 0 || index.device === 'webgpu') return;
  const packed = contiguous(index);
  const bad = wasm.kernels.find_bad_index(addressOf(packed), index.numel(), size);
  if (bad >= 0) {
    const value = wasm.i32[(addressOf(packed) >>> 2) + bad];
    if (packed !== index) packed.dispose();
    throw new IndexError(`${where}: index ${value} is out of bounds for dimension ${dim} with size ${size}`);
  }
  if (packed !== index) packed.dispose();
}

function runGather(out: Tensor, x: Tensor, dim: number, index: Tensor, indexStrides: number[]): void {
  if (out.device === 'webgpu') return gpu.gather(out, x, dim, index, indexStrides);
  const indexAddress = addressOf(index);
  const xStrides = x.strides.slice();
  xStrides[dim] = 0;
  const desc = wasm.describe(out.shape, [out.strides as number[], indexStrides, xStrides]);
  const outAddress = addressOf(out), xAddress = addressOf(x), bytes = x.dtype === 'bool' ? 1 : 4, dimStride = x.strides[dim];
  wasm.launch('gather', [bytes, outAddress, indexAddress, xAddress, desc, dimStride], out.numel(), 1);
}

export function indexSelect(x: Tensor, dim: number, indexArgument: unknown): Tensor {
  const index = checkIndexTensor(indexArgument, 'index_select');
  const device = sameDevice('index_select', x, index);
  if (index.dim() > 1) throw new ShapeError(`index_select(): Index is supposed to be a vector, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim(dim, x.dim(), 'index_select');
  const sizeHere = x.dim() === 0 ? 1 : x.shape[d];
  checkIndexRange(index, sizeHere, d, 'index_select(): index out of range in self');
  if (x.dim() === 0) return clone(x);
  const shape = x.shape.slice();
  shape[d] = index.numel();
  const out = emptyTensor(shape, x.dtype, device);
  // The index, read as a tensor of out's shape that varies only along dim: gather does the rest.
  const indexStrides = shape.map((_, k) => (k === d && index.dim() === 1 ? index.strides[0] : 0));
  runGather(out, x, d, index, indexStrides);
  record('IndexSelectBackward0', [x], [out], () => derivatives.indexSelect(x.shape, d), () => [index]);
  return out;
}

function checkGatherShapes(x: Tensor, index: Tensor, d: number, where: string): void {
  if (index.dim() !== x.dim() && !(index.dim() <= 1 && x.dim() <= 1)) {
    throw new ShapeError(`${where}(): Index tensor must have the same number of dimensions as input tensor (index ${formatShape(index.shape)}, input ${formatShape(x.shape)})`);
  }
  index.shape.forEach((size, k) => {
    if (k !== d && size > x.shape[k]) {
      throw new ShapeError(`${where}(): Size does not match at dimension ${k} expected index ${formatShape(index.shape)} to be smaller than self ${formatShape(x.shape)} apart from dimension ${d}`);
    }
  });
}

export function gather(x: Tensor, dim: number, indexArgument: unknown): Tensor {
  const index = checkIndexTensor(indexArgument, 'gather');
  const device = sameDevice('gather', x, index);
  const d = normalizeDim(dim, x.dim(), 'gather');
  checkGatherShapes(x, index, d, 'gather');
  checkIndexRange(index, x.dim() === 0 ? 1 : x.shape[d], d, 'gather(): index out of range');
  const out = emptyTensor(index.shape, x.dtype, device);
  if (x.dim() === 0) {
    convertInto(out, x);
    return out;
  }
  runGather(out, x, d, index, index.strides as number[]);
  record('GatherBackward0', [x], [out], () => derivatives.gather(x.shape, d), () => [index]);
  return out;
}

export function scatterInPlace(self: Tensor, dim: number, indexArgument: unknown, source: Tensor | Scalar, accumulate: boolean): void {
  const where = accumulate ? 'scatter_add' : 'scatter';
  const index = checkIndexTensor(indexArgument, where);
  const device = sameDevice(where, self, index, source);
  const d = normalizeDim(dim, self.dim(), where);
  checkGatherShapes(self, index, d, where);
  if (source instanceof Tensor) {
    void source.storage;
    if (source.dtype !== self.dtype) {
      throw new DtypeError(`${where}(): Expected self.dtype to be equal to src.dtype (got ${torchName(self.dtype)} and ${torchName(source.dtype)})`);
    }
    if (source.dim() !== index.dim() || index.shape.some((size, k) => size > source.shape[k])) {
      throw new ShapeError(`${where}(): Expected index ${formatShape(index.shape)} to be smaller than src ${formatShape(source.shape)} in every dimension`);
    }
  } else if (typeof source !== 'number' && typeof source !== 'boolean') {
    throw new ArgumentError(`${where}: src must be a tensor or a number, got ${describeValue(source)}`);
  } else if (accumulate) {
    throw new ArgumentError('scatter_add: src must be a tensor');
  }
  if (accumulate && self.dtype === 'bool') throw new DtypeError('scatter_add: not supported for bool tensors');
  checkIndexRange(index, self.dim() === 0 ? 1 : self.shape[d], d, `${where}(): index out of range`);
  if (inPlaceTracked(self, [source], `${where}_`, (snapshot) => scatter(snapshot, dim, index, source, accumulate))) return;
  if (index.numel() === 0) return;
  if (device === 'webgpu') {
    // Three separate buffers, so no thread reads what another writes (the kernel loops over the index per target).
    const separateIndex = index.storage === self.storage ? clone(index) : index;
    const separateSource = source instanceof Tensor && (source.storage === self.storage || source.storage === index.storage) ? clone(source) : source;
    gpu.scatter(self, self.dim() ? d : 0, separateIndex, separateSource instanceof Tensor ? separateSource : Number(separateSource), accumulate);
    if (separateIndex !== index) separateIndex.dispose();
    if (separateSource instanceof Tensor && separateSource !== source) separateSource.dispose();
    self.storage.version++;
    return;
  }
  const separate = source instanceof Tensor && source.storage === self.storage ? clone(source) : source;
  const outStrides = self.strides.slice();
  if (outStrides.length) outStrides[d] = 0;
  const sourceAddress = separate instanceof Tensor ? addressOf(separate) : wasm.scalar(Number(separate), dtypeCode(self.dtype), 0);
  const sourceStrides = separate instanceof Tensor ? separate.strides.slice(0, index.dim()) as number[] : index.shape.map(() => 0);
  const desc = wasm.describe(index.shape, [outStrides, index.strides as number[], sourceStrides]);
  // One call on this thread: two positions may target one element, so tiles must not race.
  wasm.kernels.scatter(dtypeCode(self.dtype), addressOf(self), addressOf(index), sourceAddress, desc, self.dim() ? self.strides[d] : 0, accumulate ? 1 : 0, 0, index.numel());
  if (separate instanceof Tensor && separate !== source) separate.dispose();
  self.storage.version++;
}

export function scatter(self: Tensor, dim: number, index: unknown, source: Tensor | Scalar, accumulate: boolean): Tensor {
  void self.storage;
  const out = noGrad(() => clone(self));
  try {
    noGrad(() => scatterInPlace(out, dim, index, source, accumulate));
  } catch (error) {
    out.dispose();
    throw error;
  }
  const d = normalizeDim(dim, self.dim(), 'scatter');
  record(accumulate ? 'ScatterAddBackward0' : 'ScatterBackward0', [self, source instanceof Tensor ? source : null], [out],
    () => derivatives.scatter(d, accumulate, source instanceof Tensor ? source.shape : null), () => [index as Tensor]);
  return out;
}

function checkTensorList(tensors: unknown, where: string): Tensor[] {
  if (!Array.isArray(tensors)) throw new ArgumentError(`${where}: expected an array of tensors, got ${describeValue(tensors)}`);
  if (tensors.length === 0) throw new ArgumentError(`${where}(): expected a non-empty list of Tensors`);
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`${where}: element ${i} is ${describeValue(t)}, expected a tensor`);
    void t.storage;
  });
  return tensors as Tensor[];
}

export function cat(tensorsArgument: unknown, dim = 0, nodeName = 'CatBackward0'): Tensor {
  const tensors = checkTensorList(tensorsArgument, 'cat');
  // PyTorch skips 1-D empty tensors whatever the others' shapes (legacy behaviour).
  const parts = tensors.filter((t) => !(t.dim() === 1 && t.numel() === 0));
  const device = sameDevice('cat', ...tensors);
  const dtype = tensors.map((t) => t.dtype).reduce<Dtype>((a, b) => promoteTypes(a, b), tensors[0].dtype);
  if (parts.length === 0) return emptyTensor([0], dtype, device);
  const reference = parts[0];
  if (reference.dim() === 0) throw new ShapeError('zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normalizeDim(dim, reference.dim(), 'cat');
  parts.forEach((t, i) => {
    if (t.dim() !== reference.dim()) {
      throw new ShapeError(`Tensors must have same number of dimensions: got ${reference.dim()} and ${t.dim()} (tensor ${i} has shape ${formatShape(t.shape)})`);
    }
    t.shape.forEach((size, k) => {
      if (k !== d && size !== reference.shape[k]) {
        throw new ShapeError(`Sizes of tensors must match except in dimension ${d}. Expected size ${reference.shape[k]} but got size ${size} for tensor number ${i} in the list (shapes ${formatShape(reference.shape)} and ${formatShape(t.shape)}).`);
      }
    });
  });
  const shape = reference.shape.slice();
  shape[d] = parts.reduce((total, t) => total + t.shape[d], 0);
  const out = emptyTensor(shape, dtype, device);
  let at = 0;
  for (const part of parts) {
    const target = noGrad(() => narrow(out, d, at, part.shape[d]));
    convertInto(target, part);
    target.dispose();
    at += part.shape[d];
  }
  record(nodeName, tensors, [out], () => derivatives.cat(d, tensors.map((t) => (parts.includes(t) ? t.shape[d] : null))));
  return out;
}

export function stack(tensorsArgument: unknown, dim = 0): Tensor {
  const tensors = checkTensorList(tensorsArgument, 'stack');
  const reference = tensors[0];
  tensors.forEach((t, i) => {
    if (t.shape.length !== reference.shape.length || t.shape.some((size, k) => size !== reference.shape[k])) {
      throw new ShapeError(`stack expects each tensor to be equal size, but got ${formatShape(reference.shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`);
    }
  });
  const d = normalizeDim(dim, reference.dim() + 1, 'stack');
  const expanded = tensors.map((t) => unsqueeze(t, d));
  const out = cat(expanded, d, 'StackBackward0');
  for (const t of expanded) t.dispose();
  return out;
}
