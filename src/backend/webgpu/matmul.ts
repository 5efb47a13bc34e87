// WebGPU matrix products: one tiled WGSL GEMM over strided (transposed, sliced, broadcast) operands and a batch grid.
import type { Tensor } from '../../tensor.js';
import { DeviceError } from '../../errors.js';
import { webgpu } from './device.js';
import { bufferOf, prelude } from './wgsl.js';

/**
 * Each workgroup of 16×16 threads computes a 64×64 block of C, each thread a 4×4 sub-block whose rows and
 * columns are 16 apart (so neighbouring threads read neighbouring shared-memory words). K advances 16 at a
 * time through shared tiles of A and B; elements outside m, n or k load as zeros, so ragged edges need no
 * special case and k = 0 writes zeros.
 */
const tileRows = 64, tileColumns = 64, tileDepth = 16;
/**
 * Shared tiles are stored depth-major with rows padded by one word: a load that walks depth (row-major A,
 * column-major B) then writes 16 different banks instead of one.
 */
const tilePitch = 65;

/** Batch dims the kernel walks itself (after merging); more are looped over in JS, one dispatch each. */
const maximumBatchRank = 4;
const maximumGridZ = 65535;

/**
 * Parameter words: [0] m, [1] n, [2] k, [3] batch rank, [4] first batch index of this dispatch, then offset,
 * row stride and column stride of A [5..7], B [8..10] and C [11..13], then batch sizes [14..17] and batch
 * strides (i32) of A [18..21], B [22..25], C [26..29].
 */
const parameterWords = 30;

function shaderSource(sharedInput: boolean): string {
  const bBuffer = sharedInput ? 'a' : 'b';
  return `${prelude}
@group(0) @binding(1) var<storage, read_write> c: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<u32>;
${sharedInput ? '' : '@group(0) @binding(3) var<storage, read> b: array<u32>;'}
var<workgroup> tileA: array<f32, ${tileDepth * tilePitch}>;
var<workgroup> tileB: array<f32, ${tileDepth * tilePitch}>;

@compute @workgroup_size(16, 16) fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lane: u32) {
  let m = params[0];
  let n = params[1];
  let k = params[2];
  var aBase = paramI32(5u);
  var bBase = paramI32(8u);
  var cBase = paramI32(11u);
  var rest = group.z + params[4];
  for (var d = params[3]; d > 0u; d--) {
    let size = params[13u + d];
    let coordinate = i32(rest % size);
    rest = rest / size;
    aBase += coordinate * paramI32(17u + d);
    bBase += coordinate * paramI32(21u + d);
    cBase += coordinate * paramI32(25u + d);
  }
  let aRow = paramI32(6u);
  let aColumn = paramI32(7u);
  let bRow = paramI32(9u);
  let bColumn = paramI32(10u);
  let rowBase = group.y * ${tileRows}u;
  let columnBase = group.x * ${tileColumns}u;
  // Neighbouring threads load neighbouring elements in memory (coalesced): along depth for a row-major A,
  // along rows for a column-major one (a transpose); likewise for B.
  let aAlongDepth = aColumn == 1;
  let bAlongDepth = bRow == 1 && bColumn != 1;
  var sums = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var k0 = 0u; k0 < k; k0 += ${tileDepth}u) {
    // 256 threads load the 64×16 tile of A and the 16×64 tile of B, four elements each.
    for (var i = 0u; i < 4u; i++) {
      let e = lane + i * 256u;
      let row = select(e % ${tileRows}u, e / ${tileDepth}u, aAlongDepth);
      let depth = select(e / ${tileRows}u, e % ${tileDepth}u, aAlongDepth);
      var value = 0.0;
      if (rowBase + row < m && k0 + depth < k) {
        value = bitcast<f32>(a[u32(aBase + i32(rowBase + row) * aRow + i32(k0 + depth) * aColumn)]);
      }
      tileA[depth * ${tilePitch}u + row] = value;
    }
    for (var i = 0u; i < 4u; i++) {
      let e = lane + i * 256u;
      let depth = select(e / ${tileColumns}u, e % ${tileDepth}u, bAlongDepth);
      let column = select(e % ${tileColumns}u, e / ${tileDepth}u, bAlongDepth);
      var value = 0.0;
      if (columnBase + column < n && k0 + depth < k) {
        value = bitcast<f32>(${bBuffer}[u32(bBase + i32(k0 + depth) * bRow + i32(columnBase + column) * bColumn)]);
      }
      tileB[depth * ${tilePitch}u + column] = value;
    }
    workgroupBarrier();
    for (var depth = 0u; depth < ${tileDepth}u; depth++) {
      let bRowOffset = depth * ${tilePitch}u + local.x;
      let bValues = vec4f(tileB[bRowOffset], tileB[bRowOffset + 16u], tileB[bRowOffset + 32u], tileB[bRowOffset + 48u]);
      let aRowOffset = depth * ${tilePitch}u + local.y;
      for (var i = 0u; i < 4u; i++) {
        sums[i] += tileA[aRowOffset + 16u * i] * bValues;
      }
    }
    workgroupBarrier();
  }
  let cRow = paramI32(12u);
  let cColumn = paramI32(13u);
  for (var i = 0u; i < 4u; i++) {
    let row = rowBase + local.y + 16u * i;
    if (row >= m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let column = columnBase + local.x + 16u * j;
      if (column < n) { c[u32(cBase + i32(row) * cRow + i32(column) * cColumn)] = bitcast<u32>(sums[i][j]); }
    }
  }
}`;
}

const shaderCache = new Map<boolean, string>();

function shaderFor(sharedInput: boolean): string {
  let code = shaderCache.get(sharedInput);
  if (code === undefined) shaderCache.set(sharedInput, (code = shaderSource(sharedInput)));
  return code;
}

/** A matrix operand: its tensor (for the buffer), element offset, row and column strides, and per-batch-dim strides. */
interface Operand {
  tensor: Tensor;
  offset: number;
  row: number;
  column: number;
  batchStrides: number[];
}

/** The operand's strides over the output's batch dims (right-aligned; broadcast dims read stride 0). */
function operandOf(tensor: Tensor, batch: readonly number[]): Operand {
  const rank = tensor.dim();
  const lead = batch.length - (rank - 2);
  const batchStrides = batch.map((_, d) => (d < lead || tensor.shape[d - lead] === 1 ? 0 : tensor.strides[d - lead]));
  return { tensor, offset: tensor.offset, row: tensor.strides[rank - 2], column: tensor.strides[rank - 1], batchStrides };
}

/**
 * out[..., m, n] = left[..., m, k] @ right[..., k, n], batch dims of left and right broadcast to out's (all
 * at least 2-D; out is contiguous and on 'webgpu', as are the operands). Operands are read in place
 * through their strides, so transposes and slices cost no copy.
 */
export function matmul(out: Tensor, left: Tensor, right: Tensor): void {
  const device = webgpu();
  const rank = out.dim();
  const m = out.shape[rank - 2], n = out.shape[rank - 1], k = left.shape[left.dim() - 1];
  const batch = out.shape.slice(0, -2);
  if (m === 0 || n === 0 || out.numel() === 0) return;
  const operands = [operandOf(left, batch), operandOf(right, batch), operandOf(out, batch)];
  // Batch dims: size-1 dims dropped, runs contiguous for all three operands merged (fewer dims to walk).
  const sizes: number[] = [];
  const strides: number[][] = [[], [], []];
  batch.forEach((size, d) => {
    if (size === 1) return;
    const last = sizes.length - 1;
    if (last >= 0 && operands.every((operand, o) => strides[o][last] === operand.batchStrides[d] * size)) {
      sizes[last] *= size;
      operands.forEach((operand, o) => { strides[o][last] = operand.batchStrides[d]; });
      return;
    }
    sizes.push(size);
    operands.forEach((operand, o) => strides[o].push(operand.batchStrides[d]));
  });
  const outerRank = Math.max(0, sizes.length - maximumBatchRank);
  const innerSizes = sizes.slice(outerRank);
  let innerCount = 1;
  for (const size of innerSizes) innerCount *= size;
  let outerCount = 1;
  for (let d = 0; d < outerRank; d++) outerCount *= sizes[d];

  const leftBuffer = bufferOf(left), rightBuffer = bufferOf(right), outBuffer = bufferOf(out);
  if (leftBuffer === outBuffer || rightBuffer === outBuffer) {
    throw new DeviceError('webgpu matmul: the output shares a buffer with an operand (it must be a new tensor)');
  }
  const sharedInput = leftBuffer === rightBuffer;
  const buffers = sharedInput ? [outBuffer, leftBuffer] : [outBuffer, leftBuffer, rightBuffer];
  const code = shaderFor(sharedInput);
  const groupsX = Math.ceil(n / tileColumns), groupsY = Math.ceil(m / tileRows);
  const words = new Uint32Array(parameterWords);
  const signed = new Int32Array(words.buffer);
  words[0] = m;
  words[1] = n;
  words[2] = k;
  words[3] = innerSizes.length;
  innerSizes.forEach((size, d) => { words[14 + d] = size; });
  operands.forEach((operand, o) => {
    signed[6 + 3 * o] = operand.row;
    signed[7 + 3 * o] = operand.column;
    strides[o].slice(outerRank).forEach((stride, d) => { signed[18 + 4 * o + d] = stride; });
  });
  for (let outer = 0; outer < outerCount; outer++) {
    // Offsets of this outer batch index (dims the kernel does not walk), per operand.
    const offsets = operands.map((operand) => operand.offset);
    for (let d = outerRank - 1, rest = outer; d >= 0; d--) {
      const coordinate = rest % sizes[d];
      rest = Math.floor(rest / sizes[d]);
      for (let o = 0; o < 3; o++) offsets[o] += coordinate * strides[o][d];
    }
    offsets.forEach((offset, o) => { signed[5 + 3 * o] = offset; });
    for (let first = 0; first < innerCount; first += maximumGridZ) {
      words[4] = first;
      device.dispatchGroups(code, buffers, words, groupsX, groupsY, Math.min(maximumGridZ, innerCount - first));
    }
  }
}
