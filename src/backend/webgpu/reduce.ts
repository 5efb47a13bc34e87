// WebGPU reductions (sum, prod, max, min with their indices) over any dims, and softmax / log-softmax along one dim.
import { DeviceError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { emptyTensor } from '../../ops/support.js';
import { webgpu } from './device.js';
import { bufferOf, load, prelude, scalarBits, store, wgslType } from './wgsl.js';

export type GpuReduceOp = 'sum' | 'prod' | 'max' | 'min';

/** Threads of one workgroup; the tree reduction below assumes a power of two. */
const groupSize = 64;
/**
 * A reduction this long or longer gets a workgroup per output (threads stride over it, then a tree in
 * shared memory); shorter ones get one thread per output, which keeps many short rows (softmax over a few
 * classes, a sum over dim 1 of [4096, 8]) from idling 63 of 64 threads.
 */
const workgroupThreshold = 256;
/**
 * A reduction this long over this few outputs is split in two passes: workgroups over chunks of each row
 * write partial candidates, then a second pass combines them. One workgroup per row would leave all but a
 * few of the GPU's cores idle on a full reduction of a large tensor.
 */
const splitThreshold = 16384, splitRowsBelow = 1024, chunkLength = 4096, maximumChunks = 1024;
/** Words before the dims: outer count, inner count, outer rank, inner rank, input offset, scale, chunks per row, chunk length. */
const headerWords = 8;
const maximumParamWords = 128;

/**
 * Merges adjacent dims that are contiguous with each other (row-major order kept, so flat positions over the
 * merged dims equal those over the original ones) and drops size-1 dims.
 */
function mergeDims(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const merged: number[] = [], mergedStrides: number[] = [];
  shape.forEach((size, d) => {
    if (size === 1) return;
    const last = merged.length - 1;
    if (last >= 0 && mergedStrides[last] === strides[d] * size) {
      merged[last] *= size;
      mergedStrides[last] = strides[d];
      return;
    }
    merged.push(size);
    mergedStrides.push(strides[d]);
  });
  return { shape: merged, strides: mergedStrides };
}

/**
 * How two (value, flat position) candidates combine. max/min match the CPU kernel exactly whatever the order
 * of combination: a NaN beats any number (the first NaN among NaNs), otherwise the larger (smaller) value,
 * and ties go to the lower position. Position 0xffffffff marks "no candidate yet".
 */
function combineFunction(op: GpuReduceOp, type: string): string {
  if (op === 'sum' || op === 'prod') {
    return `fn combine(a: ${type}, ai: u32, b: ${type}, bi: u32) -> Candidate { return Candidate(a ${op === 'sum' ? '+' : '*'} b, 0u); }`;
  }
  const better = op === 'max' ? '>' : '<';
  const nanRule = type === 'f32' ? `
  let aNan = isNan(a); let bNan = isNan(b);
  if (aNan != bNan) { if (aNan) { return Candidate(a, ai); } return Candidate(b, bi); }
  if (aNan) { if (ai <= bi) { return Candidate(a, ai); } return Candidate(b, bi); }` : '';
  return `fn combine(a: ${type}, ai: u32, b: ${type}, bi: u32) -> Candidate {
  if (bi == 0xffffffffu) { return Candidate(a, ai); }
  if (ai == 0xffffffffu) { return Candidate(b, bi); }${nanRule}
  if (a == b) { if (ai <= bi) { return Candidate(a, ai); } return Candidate(b, bi); }
  if (a ${better} b) { return Candidate(a, ai); }
  return Candidate(b, bi);
}`;
}

interface ReduceVariant {
  op: GpuReduceOp;
  dtype: 'float32' | 'int32';
  values: boolean;
  indices: boolean;
  perWorkgroup: boolean;
  /**
   * 'whole': each output from its row of x. 'partial': each workgroup reduces one chunk of a row into
   * candidate g (unscaled). 'combine': each output from its row of candidates (values, and positions for max/min).
   */
  stage: 'whole' | 'partial' | 'combine';
}

const reduceShaders = new Map<string, string>();

function reduceShader(variant: ReduceVariant): string {
  const key = JSON.stringify(variant);
  const cached = reduceShaders.get(key);
  if (cached !== undefined) return cached;
  const { op, dtype, values, indices, perWorkgroup, stage } = variant;
  const extreme = op === 'max' || op === 'min';
  const type = wgslType(dtype);
  const identity = op === 'sum' ? `${type}(0)` : op === 'prod' ? `${type}(1)` : `${type}(0)`;
  // Extremes start with no candidate (position 0xffffffff); sums and products with their identity.
  const startIndex = op === 'sum' || op === 'prod' ? '0u' : '0xffffffffu';
  const scaled = op === 'sum' && dtype === 'float32' && stage !== 'partial' ? 'best.value * paramF32(5u)' : 'best.value';
  const candidateIndices = stage === 'combine' && extreme;
  let binding = candidateIndices ? 3 : 2;
  const outputs = [
    candidateIndices ? '@group(0) @binding(2) var<storage, read> candidateIndices: array<u32>;' : '',
    values ? `@group(0) @binding(${binding++}) var<storage, read_write> valuesOut: array<u32>;` : '',
    indices ? `@group(0) @binding(${binding++}) var<storage, read_write> indicesOut: array<u32>;` : '',
  ].join('\n');
  const target = stage === 'partial' ? 'group' : 'outIndex';
  const write = [
    values ? `valuesOut[${target}] = ${store(dtype, scaled)};` : '',
    indices ? `indicesOut[${target}] = best.index;` : '',
  ].join(' ');
  // Where row outIndex starts, its i-th element and that element's position over the reduced dims.
  const access = stage === 'combine' ? `
fn rowBase(outIndex: u32) -> i32 { return i32(outIndex * params[1]); }
fn element(base: i32, i: u32) -> ${type} { return ${load(dtype, 'input[u32(base) + i]')}; }
fn position(base: i32, i: u32) -> u32 { return ${candidateIndices ? 'candidateIndices[u32(base) + i]' : 'i'}; }` : `
fn rowBase(outIndex: u32) -> i32 { return outerOffset(outIndex); }
fn element(base: i32, i: u32) -> ${type} { return ${load(dtype, 'input[u32(base + innerOffset(i))]')}; }
fn position(base: i32, i: u32) -> u32 { return i; }`;
  const common = `${prelude}
@group(0) @binding(1) var<storage, read> input: array<u32>;
${outputs}
struct Candidate { value: ${type}, index: u32 }
${combineFunction(op, type)}
// Offset of output element outIndex's first input (its kept coordinates through the outer strides).
fn outerOffset(outIndex: u32) -> i32 {
  let rank = params[2];
  var rest = outIndex;
  var offset = bitcast<i32>(params[4]);
  for (var d = rank; d > 0u; d--) {
    let size = params[${headerWords}u + d - 1u];
    offset += i32(rest % size) * bitcast<i32>(params[${headerWords}u + rank + d - 1u]);
    rest = rest / size;
  }
  return offset;
}
// Offset of flat position i over the reduced dims, relative to the output element's first input.
fn innerOffset(i: u32) -> i32 {
  let base = ${headerWords}u + 2u * params[2];
  let rank = params[3];
  var rest = i;
  var offset = 0;
  for (var d = rank; d > 0u; d--) {
    let size = params[base + d - 1u];
    offset += i32(rest % size) * bitcast<i32>(params[base + rank + d - 1u]);
    rest = rest / size;
  }
  return offset;
}
${access}
`;
  let code: string;
  if (!perWorkgroup) {
    code = `${common}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let outIndex = flatIndex(id, groups);
  if (outIndex >= params[0]) { return; }
  let base = rowBase(outIndex);
  var best = Candidate(${identity}, ${startIndex});
  for (var i = 0u; i < params[1]; i++) { best = combine(best.value, best.index, element(base, i), position(base, i)); }
  ${write}
}`;
  } else {
    code = `${common}
var<workgroup> sharedValues: array<${type}, ${groupSize}>;
var<workgroup> sharedIndices: array<u32, ${groupSize}>;
@compute @workgroup_size(${groupSize}) fn main(@builtin(workgroup_id) groupId: vec3u, @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32) {
  // One workgroup per output element (per chunk of one in the partial stage); the grid may be two-dimensional
  // past 65535 groups. Every thread reaches every barrier (the guard only skips loads and the store), as
  // WGSL's uniformity rules require.
  let group = groupId.x + groupId.y * groups.x;
  let chunks = ${stage === 'partial' ? 'params[6]' : '1u'};
  let outIndex = group / chunks;
  let inRange = outIndex < params[0];
  let begin = ${stage === 'partial' ? '(group % chunks) * params[7]' : '0u'};
  let end = ${stage === 'partial' ? 'min(begin + params[7], params[1])' : 'params[1]'};
  var best = Candidate(${identity}, ${startIndex});
  if (inRange) {
    let base = rowBase(outIndex);
    for (var i = begin + lane; i < end; i += ${groupSize}u) { best = combine(best.value, best.index, element(base, i), position(base, i)); }
  }
  sharedValues[lane] = best.value;
  sharedIndices[lane] = best.index;
  for (var width = ${groupSize / 2}u; width > 0u; width = width / 2u) {
    workgroupBarrier();
    if (lane < width) {
      let merged = combine(sharedValues[lane], sharedIndices[lane], sharedValues[lane + width], sharedIndices[lane + width]);
      sharedValues[lane] = merged.value;
      sharedIndices[lane] = merged.index;
    }
  }
  workgroupBarrier();
  if (inRange && lane == 0u) {
    best = Candidate(sharedValues[0], sharedIndices[0]);
    ${write}
  }
}`;
  }
  reduceShaders.set(key, code);
  return code;
}

/** A workgroup per row (the grid goes two-dimensional past 65535 rows), or a thread per row. */
function dispatchRows(code: string, buffers: GPUBuffer[], words: Uint32Array, rows: number, perWorkgroup: boolean): void {
  const device = webgpu();
  if (!perWorkgroup) return device.dispatch(code, buffers, words, rows);
  const limit = 65535;
  device.dispatchGroups(code, buffers, words, Math.min(rows, limit), Math.ceil(rows / limit));
}

/**
 * Reduces x over `dims` (sorted) into `values` and/or `indices` (contiguous, laid out as the kept dims in
 * order; indices are flat positions over the reduced dims, as on the CPU). `scale` multiplies float sums
 * (mean). The reduced count must be non-zero (callers fill empty reductions themselves).
 */
export function reduce(op: GpuReduceOp, x: Tensor, dims: readonly number[], values: Tensor | null, indices: Tensor | null, scale: number): void {
  const reduced = new Set(dims);
  const outerShape: number[] = [], outerStrides: number[] = [], innerShape: number[] = [], innerStrides: number[] = [];
  x.shape.forEach((size, d) => {
    if (reduced.has(d)) { innerShape.push(size); innerStrides.push(x.strides[d]); }
    else { outerShape.push(size); outerStrides.push(x.strides[d]); }
  });
  const outer = mergeDims(outerShape, outerStrides), inner = mergeDims(innerShape, innerStrides);
  const outerCount = outerShape.reduce((n, s) => n * s, 1), innerCount = innerShape.reduce((n, s) => n * s, 1);
  if (outerCount === 0) return;
  const words = new Uint32Array(headerWords + 2 * (outer.shape.length + inner.shape.length));
  if (words.length > maximumParamWords) {
    throw new DeviceError(`webgpu: a reduction over ${x.dim()} dims that do not merge exceeds the parameter block; make the tensor contiguous first`);
  }
  const signed = new Int32Array(words.buffer);
  words[0] = outerCount;
  words[1] = innerCount;
  words[2] = outer.shape.length;
  words[3] = inner.shape.length;
  signed[4] = x.offset;
  words[5] = scalarBits(scale, 'float32');
  let at = headerWords;
  for (const size of outer.shape) words[at++] = size;
  for (const stride of outer.strides) signed[at++] = stride;
  for (const size of inner.shape) words[at++] = size;
  for (const stride of inner.strides) signed[at++] = stride;
  const dtype = x.dtype === 'float32' ? 'float32' : 'int32';
  const extreme = op === 'max' || op === 'min';
  if (innerCount < splitThreshold || outerCount >= splitRowsBelow) {
    const perWorkgroup = innerCount >= workgroupThreshold;
    const code = reduceShader({ op, dtype, values: values !== null, indices: indices !== null, perWorkgroup, stage: 'whole' });
    dispatchRows(code, [bufferOf(x), ...(values ? [bufferOf(values)] : []), ...(indices ? [bufferOf(indices)] : [])], words, outerCount, perWorkgroup);
    return;
  }
  const length = Math.max(chunkLength, Math.ceil(innerCount / maximumChunks));
  const chunks = Math.ceil(innerCount / length);
  words[6] = chunks;
  words[7] = length;
  const candidates = emptyTensor([outerCount * chunks], dtype, 'webgpu');
  const candidatePositions = extreme ? emptyTensor([outerCount * chunks], 'int32', 'webgpu') : null;
  const partial = reduceShader({ op, dtype, values: true, indices: extreme, perWorkgroup: true, stage: 'partial' });
  dispatchRows(partial, [bufferOf(x), bufferOf(candidates), ...(candidatePositions ? [bufferOf(candidatePositions)] : [])], words, outerCount * chunks, true);
  const combineWords = new Uint32Array(headerWords);
  combineWords[0] = outerCount;
  combineWords[1] = chunks;
  combineWords[5] = words[5];
  const perWorkgroup = chunks >= workgroupThreshold;
  const combine = reduceShader({ op, dtype, values: values !== null, indices: indices !== null, perWorkgroup, stage: 'combine' });
  dispatchRows(combine, [bufferOf(candidates), ...(candidatePositions ? [bufferOf(candidatePositions)] : []),
    ...(values ? [bufferOf(values)] : []), ...(indices ? [bufferOf(indices)] : [])], combineWords, outerCount, perWorkgroup);
  // Recorded work runs before the buffers are reused (one queue, in order), so they go back to the pool now.
  candidates.dispose();
  candidatePositions?.dispose();
}

const softmaxShaders = new Map<string, string>();

/**
 * Softmax and log-softmax of a contiguous [outer, n, inner] tensor along n, one line per output (outer ×
 * inner lines), with the CPU kernel's special cases: a line holding NaN or +inf, or only -inf, is all NaN;
 * -inf entries give 0 (log: -inf). The line's max is subtracted before exp, so any finite logits work.
 */
function softmaxShader(logarithm: boolean, perWorkgroup: boolean): string {
  const key = `${logarithm}-${perWorkgroup}`;
  const cached = softmaxShaders.get(key);
  if (cached !== undefined) return cached;
  const write = logarithm
    ? 'output[at] = bitcast<u32>(select(shifted(x, shift) - logTotal, -inf(), isInf(x)));'
    : 'output[at] = bitcast<u32>(exponent(x, shift) * inverse);';
  const finish = logarithm ? 'let logTotal = log(total);' : 'let inverse = 1.0 / total;';
  const common = `${prelude}
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> output: array<u32>;
fn maxNan(a: f32, b: f32) -> f32 { return select(max(a, b), nan(), isNan(a) || isNan(b)); }
// Entries are finite or -inf here (a NaN or +inf made the line NaN before): -inf gives exp 0 exactly.
fn shifted(x: f32, shift: f32) -> f32 { return x - shift; }
fn exponent(x: f32, shift: f32) -> f32 { return select(exp(x - shift), 0.0, isInf(x)); }
// Words: [0] lines, [1] n, [2] inner, [3] the input's offset (the output is a new tensor).
fn lineBase(line: u32) -> u32 { return (line / params[2]) * params[1] * params[2] + line % params[2]; }
// NaN, +inf or an all -inf line (largest -inf) poison the whole line, as on the CPU.
fn poisoned(largest: f32) -> bool { return isNan(largest) || isInf(largest); }
`;
  let code: string;
  if (!perWorkgroup) {
    code = `${common}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let line = flatIndex(id, groups);
  if (line >= params[0]) { return; }
  let base = lineBase(line);
  let n = params[1]; let stride = params[2];
  var largest = -inf();
  for (var i = 0u; i < n; i++) { largest = maxNan(largest, bitcast<f32>(input[params[3] + base + i * stride])); }
  if (poisoned(largest)) {
    for (var i = 0u; i < n; i++) { output[base + i * stride] = bitcast<u32>(nan()); }
    return;
  }
  let shift = largest;
  var total = 0.0;
  for (var i = 0u; i < n; i++) { total += exponent(bitcast<f32>(input[params[3] + base + i * stride]), shift); }
  ${finish}
  for (var i = 0u; i < n; i++) {
    let at = base + i * stride;
    let x = bitcast<f32>(input[params[3] + at]);
    ${write}
  }
}`;
  } else {
    code = `${common}
var<workgroup> partials: array<f32, ${groupSize}>;
@compute @workgroup_size(${groupSize}) fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32) {
  let line = group.x + group.y * groups.x;
  let inRange = line < params[0];
  let base = lineBase(line);
  let n = params[1]; let stride = params[2];
  var largest = -inf();
  if (inRange) { for (var i = lane; i < n; i += ${groupSize}u) { largest = maxNan(largest, bitcast<f32>(input[params[3] + base + i * stride])); } }
  partials[lane] = largest;
  for (var width = ${groupSize / 2}u; width > 0u; width = width / 2u) {
    workgroupBarrier();
    if (lane < width) { partials[lane] = maxNan(partials[lane], partials[lane + width]); }
  }
  workgroupBarrier();
  let shift = partials[0];
  workgroupBarrier();
  var total = 0.0;
  if (inRange && !poisoned(shift)) { for (var i = lane; i < n; i += ${groupSize}u) { total += exponent(bitcast<f32>(input[params[3] + base + i * stride]), shift); } }
  partials[lane] = total;
  for (var width = ${groupSize / 2}u; width > 0u; width = width / 2u) {
    workgroupBarrier();
    if (lane < width) { partials[lane] = partials[lane] + partials[lane + width]; }
  }
  workgroupBarrier();
  total = partials[0];
  if (!inRange) { return; }
  ${finish}
  for (var i = lane; i < n; i += ${groupSize}u) {
    let at = base + i * stride;
    let x = bitcast<f32>(input[params[3] + at]);
    if (poisoned(shift)) { output[at] = bitcast<u32>(nan()); } else { ${write} }
  }
}`;
  }
  softmaxShaders.set(key, code);
  return code;
}

/** out = softmax (log-softmax) of the contiguous x viewed as [lines / inner, n, inner], along n. */
export function softmax(logarithm: boolean, out: Tensor, x: Tensor, n: number, inner: number, lines: number): void {
  if (lines === 0) return;
  if (out.offset !== 0) throw new DeviceError('webgpu: softmax writes a new tensor, which starts at its buffer');
  const words = new Uint32Array([lines, n, inner, x.offset]);
  const perWorkgroup = n >= workgroupThreshold;
  const code = softmaxShader(logarithm, perWorkgroup);
  const buffers = [bufferOf(x), bufferOf(out)];
  dispatchRows(code, buffers, words, lines, perWorkgroup);
}
