// WebGPU index kernels: gather (index_select and embedding go through it) and scatter / scatter_add, with out-of-range indices defined rather than checked.
//
// The CPU validates every index before writing (a synchronous read of the index tensor). A GPU tensor cannot
// be read synchronously, so here an index outside [0, size) is defined instead of refused:
// - gather / index_select read it as NaN for float32 (a loss computed from it is NaN, so the mistake shows),
//   0 for int32 and false for bool;
// - scatter / scatter_add skip it: the element it names does not exist, and nothing else is written.
// Negative indices are out of range here too, as they are on the CPU.
import type { Dtype } from '../../dtype.js';
import type { Tensor } from '../../tensor.js';
import { webgpu } from './device.js';
import { bufferOf, load, prelude, scalarBits, splitStrided, store, stridedPrelude, stridedWords, writeStridedLayout } from './wgsl.js';

/** Words after the strided layout: the indexed dim's size and stride, the index's and source's strides along it, the scalar source. */
const sizeWord = stridedWords, strideWord = stridedWords + 1, indexStrideWord = stridedWords + 2, sourceStrideWord = stridedWords + 3, scalarWord = stridedWords + 4;

function outOfRangeValue(dtype: Dtype): string {
  return dtype === 'float32' ? 'bitcast<u32>(nan())' : '0u';
}

const gatherShaders = new Map<string, string>();

/** Operands: 0 out, 1 index, 2 x with the indexed dim's stride zeroed (the kernel adds index × stride). */
function gatherShader(dtype: Dtype, sharedIndexBuffer: boolean): string {
  const key = `${dtype}-${sharedIndexBuffer}`;
  let code = gatherShaders.get(key);
  if (code !== undefined) return code;
  const indexBuffer = sharedIndexBuffer ? 'x' : 'indices';
  code = `${prelude}${stridedPrelude}
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${sharedIndexBuffer ? '' : '@group(0) @binding(3) var<storage, read> indices: array<u32>;'}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = flatIndex(id, groups);
  if (index >= params[0]) { return; }
  let position = bitcast<i32>(${indexBuffer}[stridedOffset(index, 1u)]);
  var word = ${outOfRangeValue(dtype)};
  if (position >= 0 && position < paramI32(${sizeWord}u)) {
    word = x[u32(i32(stridedOffset(index, 2u)) + position * paramI32(${strideWord}u))];
  }
  output[stridedOffset(index, 0u)] = word;
}`;
  gatherShaders.set(key, code);
  return code;
}

/**
 * out[p] = x[p with dim replaced by index[p]], over out's shape. `indexStrides` read the index over out's
 * shape (index_select broadcasts a vector along dim). Words are copied as they are (out has x's dtype).
 */
export function gather(out: Tensor, x: Tensor, dim: number, index: Tensor, indexStrides: readonly number[]): void {
  const xStrides = x.strides.slice();
  xStrides[dim] = 0;
  const words = new Uint32Array(stridedWords + 2);
  words[sizeWord] = x.shape[dim];
  words[strideWord] = x.strides[dim];
  // An index tensor that is x itself (an int32 tensor indexing itself) shares x's binding: one binding per buffer.
  const shared = bufferOf(index) === bufferOf(x);
  const buffers = shared ? [bufferOf(out), bufferOf(x)] : [bufferOf(out), bufferOf(x), bufferOf(index)];
  splitStrided(out.shape, [
    { offset: out.offset, strides: out.strides }, { offset: index.offset, strides: indexStrides }, { offset: x.offset, strides: xStrides },
  ], (shape, operands) => {
    writeStridedLayout(words, shape, operands);
    webgpu().dispatch(gatherShader(out.dtype, shared), buffers, words, words[0]);
  });
}

const scatterShaders = new Map<string, string>();

/**
 * One thread per target element of self (over self's shape, the non-indexed dims cut to the index's): it
 * walks the index along dim in order and takes the last matching source value (scatter) or adds every
 * matching one in order (scatter_add). No two threads write one element, float atomics are not needed, and
 * the result is the CPU's bit for bit (the CPU writes positions in the same order). The cost is the index's
 * length along dim per target element.
 * Operands: 0 self, 1 index and 2 source (both with dim's stride zeroed), 3 the coordinate along dim.
 */
function scatterShader(dtype: Dtype, accumulate: boolean, scalarSource: boolean): string {
  const key = `${dtype}-${accumulate}-${scalarSource}`;
  let code = scatterShaders.get(key);
  if (code !== undefined) return code;
  const sourceWord = scalarSource ? `params[${scalarWord}u]` : `sourceValues[u32(sourceBase + k * paramI32(${sourceStrideWord}u))]`;
  code = `${prelude}${stridedPrelude}
@group(0) @binding(1) var<storage, read_write> selfValues: array<u32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
${scalarSource ? '' : '@group(0) @binding(3) var<storage, read> sourceValues: array<u32>;'}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = flatIndex(id, groups);
  if (index >= params[0]) { return; }
  let at = stridedOffset(index, 0u);
  let coordinate = i32(stridedOffset(index, 3u));
  let indexBase = i32(stridedOffset(index, 1u));
  let sourceBase = i32(stridedOffset(index, 2u));
  var word = selfValues[at];
  var total = ${accumulate ? load(dtype, 'word') : '0'};
  var matched = false;
  for (var k = 0; k < paramI32(${sizeWord}u); k++) {
    if (bitcast<i32>(indices[u32(indexBase + k * paramI32(${indexStrideWord}u))]) == coordinate) {
      matched = true;
      ${accumulate ? `total = total + ${load(dtype, sourceWord)};` : `word = ${sourceWord};`}
    }
  }
  if (matched) { selfValues[at] = ${accumulate ? store(dtype, 'total') : 'word'}; }
}`;
  scatterShaders.set(key, code);
  return code;
}

/**
 * self[p with dim replaced by index[p]] = source[p] (or += with accumulate) for every position p of the
 * index. `source` is a tensor of self's dtype or a number; callers make sure self, index and source are
 * three different buffers (copying first where they share one), so no thread reads what another writes.
 */
export function scatter(self: Tensor, dim: number, index: Tensor, source: Tensor | number, accumulate: boolean): void {
  const rank = self.dim();
  // index and source have self's rank, or (with a 0-d or 1-d self) rank 0 or 1: then they are a plain list along dim.
  const full = (t: Tensor) => rank > 0 && t.dim() === rank;
  const count = full(index) ? index.shape[dim] : index.numel();
  // The threads' shape: self's, with the non-indexed dims cut to the index's (elements beyond are untouched).
  const shape = self.shape.map((size, k) => (k === dim || !full(index) ? size : index.shape[k]));
  const acrossDims = (t: Tensor) => shape.map((_, k) => (k === dim || !full(t) ? 0 : t.strides[k]));
  const alongDim = (t: Tensor) => (full(t) ? t.strides[dim] : t.dim() === 1 ? t.strides[0] : 0);
  const words = new Uint32Array(stridedWords + 5);
  words[sizeWord] = count;
  words[indexStrideWord] = alongDim(index);
  const buffers = [bufferOf(self), bufferOf(index)];
  if (typeof source === 'number') words[scalarWord] = scalarBits(source, self.dtype);
  else {
    words[sourceStrideWord] = alongDim(source);
    buffers.push(bufferOf(source));
  }
  splitStrided(shape, [
    { offset: self.offset, strides: self.strides },
    { offset: index.offset, strides: acrossDims(index) },
    typeof source === 'number' ? { offset: 0, strides: shape.map(() => 0) } : { offset: source.offset, strides: acrossDims(source) },
    { offset: 0, strides: shape.map((_, k) => (k === dim ? 1 : 0)) },
  ], (threadShape, operands) => {
    writeStridedLayout(words, threadShape, operands);
    webgpu().dispatch(scatterShader(self.dtype, accumulate, typeof source === 'number'), buffers, words, words[0]);
  });
}
