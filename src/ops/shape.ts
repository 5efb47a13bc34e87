// Shape and view ops: new (shape, strides, offset) over the same storage, copying only where a view is impossible.
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { clone } from './elementwise.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import type { BackwardFunction } from '../autograd/engine.js';
import { checkSize, contiguousStrides, describeValue, formatShape, isContiguous, normalizeDim, numelOf, viewOf, type Shape } from './support.js';

/** A view of x, recorded in the graph with `backward` when x requires grad (the storage then refuses in-place ops under grad). */
function recordedView(name: string, x: Tensor, shape: readonly number[], strides: readonly number[], offset: number, backward: () => BackwardFunction): Tensor {
  const out = viewOf(x, shape, strides, offset);
  record(name, [x], [out], () => {
    x.storage.viewedInGraph = true;
    return backward();
  });
  return out;
}

export function size(x: Tensor, dim?: number): number[] | number {
  if (dim === undefined) return x.shape.slice();
  return x.shape[normalizeDim(dim, x.dim(), 'size')];
}

export function stride(x: Tensor, dim?: number): number[] | number {
  if (dim === undefined) return x.strides.slice();
  return x.strides[normalizeDim(dim, x.dim(), 'stride')];
}

export function isContiguousTensor(x: Tensor): boolean {
  void x.storage;
  return isContiguous(x);
}

/** Itself when already contiguous (as PyTorch returns self), else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  void x.storage;
  return isContiguous(x) ? x : clone(x);
}

/** A new handle on the same data; autograd will not track it. */
export function detach(x: Tensor): Tensor {
  return viewOf(x, x.shape, x.strides, x.offset);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  void x.storage;
  const rank = x.dim();
  const a = normalizeDim(dim0, rank, 'transpose'), b = normalizeDim(dim1, rank, 'transpose');
  if (rank === 0) return recordedView('TransposeBackward0', x, x.shape, x.strides, x.offset, () => derivatives.identity());
  const shape = x.shape.slice(), strides = x.strides.slice();
  [shape[a], shape[b]] = [shape[b], shape[a]];
  [strides[a], strides[b]] = [strides[b], strides[a]];
  return recordedView('TransposeBackward0', x, shape, strides, x.offset, () => derivatives.transpose(a, b));
}

export function t(x: Tensor): Tensor {
  void x.storage;
  if (x.dim() > 2) throw new ShapeError(`t() expects a tensor with <= 2 dimensions, but self is ${x.dim()}D; use transpose(dim0, dim1) or mT`);
  if (x.dim() < 2) return recordedView('TBackward0', x, x.shape, x.strides, x.offset, () => derivatives.identity());
  const shape = [x.shape[1], x.shape[0]], strides = [x.strides[1], x.strides[0]];
  return recordedView('TBackward0', x, shape, strides, x.offset, () => derivatives.transpose(0, 1));
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  void x.storage;
  const rank = x.dim();
  if (dims.length !== rank) {
    throw new ShapeError(`permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = ${rank} is not equal to len(dims) = ${dims.length}`.replace('(sparse_coo)', ''));
  }
  const seen = new Set<number>();
  const normalized = dims.map((d) => normalizeDim(d, rank, 'permute'));
  for (const d of normalized) {
    if (seen.has(d)) throw new ShapeError(`permute: repeated dim ${d} in ${formatShape(dims)}; each dim must appear once`);
    seen.add(d);
  }
  return recordedView('PermuteBackward0', x, normalized.map((d) => x.shape[d]), normalized.map((d) => x.strides[d]), x.offset, () => derivatives.permute(normalized));
}

/** Sizes from varargs or one array, with one -1 inferred from the element count. */
function inferShape(args: readonly unknown[], numel: number, where: string): number[] {
  const list = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as unknown[];
  let inferAt = -1;
  let known = 1;
  const shape = list.map((value, d) => {
    if (value === -1) {
      if (inferAt >= 0) throw new ShapeError(`${where}: only one dimension can be inferred (-1), got ${formatShape(list as number[])}`);
      inferAt = d;
      return -1;
    }
    const sizeValue = checkSize(value, where);
    known *= sizeValue;
    return sizeValue;
  });
  if (inferAt >= 0) {
    if (known === 0 || numel % known !== 0) {
      throw new ShapeError(`${where}: shape '${formatShape(list as number[])}' is invalid for input of size ${numel}`);
    }
    shape[inferAt] = numel / known;
  } else if (known !== numel) {
    throw new ShapeError(`${where}: shape '${formatShape(shape)}' is invalid for input of size ${numel}`);
  }
  return shape;
}

/** PyTorch's computeStride: strides that view `shape` over the existing layout, or null when impossible. */
function viewStrides(oldShape: Shape, oldStrides: readonly number[], newShape: Shape): number[] | null {
  if (numelOf(oldShape) === 0 || oldShape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewDim = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1, viewNumel = 1;
  for (let tensorDim = oldShape.length - 1; tensorDim >= 0; tensorDim--) {
    tensorNumel *= oldShape[tensorDim];
    if (tensorDim === 0 || (oldShape[tensorDim - 1] !== 1 && oldStrides[tensorDim - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewDim >= 0 && (viewNumel < tensorNumel || newShape[viewDim] === 1)) {
        newStrides[viewDim] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewDim];
        viewDim--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (tensorDim > 0) {
        chunkBaseStride = oldStrides[tensorDim - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewDim === -1 ? newStrides : null;
}

export function view(x: Tensor, args: readonly unknown[]): Tensor {
  void x.storage;
  const shape = inferShape(args, x.numel(), 'view');
  const strides = viewStrides(x.shape, x.strides, shape);
  if (!strides) {
    throw new ShapeError(`view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces): ` +
      `cannot view shape ${formatShape(x.shape)} with strides ${formatShape(x.strides)} as ${formatShape(shape)}. Use .reshape(...) instead.`);
  }
  return recordedView('ViewBackward0', x, shape, strides, x.offset, () => derivatives.reshape(x.shape));
}

/** A view when the layout allows, else a contiguous copy, like PyTorch's reshape. */
export function reshape(x: Tensor, args: readonly unknown[]): Tensor {
  void x.storage;
  const shape = inferShape(args, x.numel(), 'reshape');
  const strides = viewStrides(x.shape, x.strides, shape);
  if (strides) return recordedView('ViewBackward0', x, shape, strides, x.offset, () => derivatives.reshape(x.shape));
  const copy = clone(x);
  const reshaped = recordedView('UnsafeViewBackward0', copy, shape, contiguousStrides(shape), 0, () => derivatives.reshape(x.shape));
  copy.dispose();
  return reshaped;
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  void x.storage;
  if (x.dim() === 0) return reshape(x, [[1]]);
  const start = normalizeDim(startDim, x.dim(), 'flatten'), end = normalizeDim(endDim, x.dim(), 'flatten');
  if (start > end) throw new ShapeError(`flatten() has invalid args: start_dim (${startDim}) cannot come after end_dim (${endDim})`);
  const shape = [...x.shape.slice(0, start), numelOf(x.shape.slice(start, end + 1)), ...x.shape.slice(end + 1)];
  return reshape(x, [shape]);
}

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  void x.storage;
  const rank = x.dim();
  const dims = dim === undefined ? x.shape.map((_, d) => d) : (Array.isArray(dim) ? dim : [dim]).map((d) => normalizeDim(d, rank, 'squeeze'));
  const drop = new Set(dims.filter((d) => x.shape[d] === 1));
  return recordedView(dim === undefined ? 'SqueezeBackward0' : 'SqueezeBackward1', x, x.shape.filter((_, d) => !drop.has(d)), x.strides.filter((_, d) => !drop.has(d)), x.offset,
    () => derivatives.reshape(x.shape));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  void x.storage;
  const d = normalizeDim(dim, x.dim() + 1, 'unsqueeze');
  const shape = x.shape.slice(), strides = x.strides.slice();
  const strideHere = d < x.dim() ? x.shape[d] * x.strides[d] : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, strideHere);
  return recordedView('UnsqueezeBackward0', x, shape, strides, x.offset, () => derivatives.reshape(x.shape));
}

export function expand(x: Tensor, args: readonly unknown[]): Tensor {
  void x.storage;
  const sizes = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as unknown[];
  if (sizes.length < x.dim()) {
    throw new ShapeError(`expand: the number of sizes provided (${sizes.length}) must be greater or equal to the number of dimensions in the tensor (${x.dim()})`);
  }
  const lead = sizes.length - x.dim();
  const shape: number[] = [], strides: number[] = [];
  sizes.forEach((value, d) => {
    const existing = d >= lead ? x.shape[d - lead] : 1;
    const target = value === -1 && d >= lead ? existing : checkSize(value, 'expand');
    if (d < lead) {
      shape.push(target);
      strides.push(0);
    } else if (existing === target) {
      shape.push(target);
      strides.push(x.strides[d - lead]);
    } else if (existing === 1) {
      shape.push(target);
      strides.push(0);
    } else {
      throw new ShapeError(`The expanded size of the tensor (${target}) must match the existing size (${existing}) at non-singleton dimension ${d}.  ` +
        `Target sizes: ${formatShape(sizes as number[])}.  Tensor sizes: ${formatShape(x.shape)}`);
    }
  });
  return recordedView('ExpandBackward0', x, shape, strides, x.offset, () => derivatives.expand(x.shape));
}

function checkInteger(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ArgumentError(`${where}: ${name} must be an integer, got ${describeValue(value)}`);
  return value;
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  void x.storage;
  if (x.dim() === 0) throw new ShapeError('narrow() cannot be applied to a 0-dim tensor.');
  const d = normalizeDim(dim, x.dim(), 'narrow');
  const sizeHere = x.shape[d];
  let begin = checkInteger(start, 'narrow', 'start');
  const count = checkInteger(length, 'narrow', 'length');
  if (begin < -sizeHere || begin > sizeHere) {
    throw new IndexError(`narrow: start out of range (expected to be in range of [${-sizeHere}, ${sizeHere}], but got ${begin})`);
  }
  if (begin < 0) begin += sizeHere;
  if (count < 0 || begin + count > sizeHere) {
    throw new IndexError(`narrow: start (${begin}) + length (${count}) exceeds dimension size (${sizeHere}).`);
  }
  const shape = x.shape.slice();
  shape[d] = count;
  return recordedView('SliceBackward0', x, shape, x.strides, x.offset + begin * x.strides[d],
    () => derivatives.embed(x.shape, (t) => narrow(t, d, begin, count)));
}

/** Python's x[..., start:end:step] along dim, with the same clamping of out-of-range bounds. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  void x.storage;
  const d = normalizeDim(dim, x.dim(), 'slice');
  const sizeHere = x.shape[d];
  if (checkInteger(step, 'slice', 'step') <= 0) throw new ArgumentError(`slice: step must be greater than zero, got ${step}`);
  const clampIndex = (value: number | null | undefined, absent: number) => {
    if (value === undefined || value === null) return absent;
    checkInteger(value, 'slice', 'start/end');
    const wrapped = value < 0 ? value + sizeHere : value;
    return Math.min(Math.max(wrapped, 0), sizeHere);
  };
  const begin = clampIndex(start, 0);
  const stop = Math.max(clampIndex(end, sizeHere), begin);
  const shape = x.shape.slice(), strides = x.strides.slice();
  shape[d] = Math.ceil((stop - begin) / step);
  strides[d] = x.strides[d] * step;
  return recordedView('SliceBackward0', x, shape, strides, x.offset + begin * x.strides[d],
    () => derivatives.embed(x.shape, (t) => slice(t, d, begin, stop, step)));
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  void x.storage;
  if (x.dim() === 0) throw new IndexError('select() cannot be applied to a 0-dim tensor.');
  const d = normalizeDim(dim, x.dim(), 'select');
  const sizeHere = x.shape[d];
  checkInteger(index, 'select', 'index');
  if (index < -sizeHere || index >= sizeHere) {
    throw new IndexError(`select(): index ${index} out of range for tensor of size ${formatShape(x.shape)} at dimension ${d}`);
  }
  const at = index < 0 ? index + sizeHere : index;
  return recordedView('SelectBackward0', x, x.shape.filter((_, k) => k !== d), x.strides.filter((_, k) => k !== d), x.offset + at * x.strides[d],
    () => derivatives.embed(x.shape, (t) => select(t, d, at)));
}

export function split(x: Tensor, sizeOrSections: number | number[], dim = 0): Tensor[] {
  void x.storage;
  const d = normalizeDim(dim, x.dim(), 'split');
  const total = x.shape[d];
  let sizes: number[];
  if (Array.isArray(sizeOrSections)) {
    sizes = sizeOrSections.map((s) => checkSize(s, 'split'));
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sum !== total) {
      throw new ShapeError(`split_with_sizes expects split_sizes to sum exactly to ${total} (input tensor's size at dimension ${d}), but got split_sizes=${formatShape(sizes)}`);
    }
  } else {
    const chunk = checkSize(sizeOrSections, 'split');
    if (chunk === 0 && total !== 0) throw new ArgumentError('split: split_size can only be 0 if dimension size is 0');
    sizes = [];
    for (let at = 0; at < total || (total === 0 && sizes.length === 0); at += Math.max(chunk, 1)) sizes.push(Math.min(chunk, total - at));
  }
  const pieces: Tensor[] = [];
  let at = 0;
  for (const piece of sizes) {
    pieces.push(narrow(x, d, at, piece));
    at += piece;
  }
  return pieces;
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  void x.storage;
  if (checkInteger(chunks, 'chunk', 'chunks') <= 0) throw new ArgumentError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
  const d = normalizeDim(dim, x.dim(), 'chunk');
  const pieceSize = Math.ceil(x.shape[d] / chunks);
  return split(x, pieceSize, d);
}

export function unbind(x: Tensor, dim = 0): Tensor[] {
  void x.storage;
  const d = normalizeDim(dim, x.dim(), 'unbind');
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}
