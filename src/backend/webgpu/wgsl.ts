// WGSL shared by the WebGPU kernels: the parameter block, flat thread index, strided offsets, NaN-exact helpers, dtype loads and stores.
import type { Dtype } from '../../dtype.js';
import type { Tensor } from '../../tensor.js';
import { DeviceError } from '../../errors.js';
import { mergeDims } from '../merge-dims.js';

/** Dims a strided kernel takes after merging contiguous runs (the same merge as the CPU descriptor). */
export const maximumStridedRank = 8;

/**
 * The parameter block (binding 0, u32 words; floats as their bits) and the flat index of this thread over a
 * grid that may be two-dimensional (more than 65535 workgroups of 64).
 */
export const prelude = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
fn flatIndex(id: vec3u, groups: vec3u) -> u32 { return id.x + id.y * groups.x * 64u; }
fn paramF32(word: u32) -> f32 { return bitcast<f32>(params[word]); }
fn paramI32(word: u32) -> i32 { return bitcast<i32>(params[word]); }
// WGSL lets compilers assume floats are finite, so NaN and Inf are tested on the bits.
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isInf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
// Private variables, not constants: a constant NaN or Inf is a shader-creation error in WGSL.
var<private> nanBits: u32 = 0x7fc00000u;
var<private> infBits: u32 = 0x7f800000u;
fn nan() -> f32 { return bitcast<f32>(nanBits); }
fn inf() -> f32 { return bitcast<f32>(infBits); }
`;

/**
 * Strided addressing: words [1] rank and [2..9] sizes of the merged dims, then per operand k at 10 + 9k its
 * element offset and its strides (i32). Operand 0 is the output.
 */
export const stridedPrelude = /* wgsl */ `
fn stridedOffset(index: u32, operand: u32) -> u32 {
  let base = 10u + operand * 9u;
  var rest = index;
  var offset = bitcast<i32>(params[base]);
  for (var d = params[1]; d > 0u; d--) {
    let size = params[1u + d];
    offset += i32(rest % size) * bitcast<i32>(params[base + d]);
    rest = rest / size;
  }
  return u32(offset);
}
`;

/** Words used by the strided layout; kernel-specific words follow. */
export const stridedWords = 10 + 4 * 9;

type StridedOperand = { offset: number; strides: readonly number[] };

/** The strided layout's dims after merging (src/backend/merge-dims.ts, the same merge as the CPU descriptor). */
function mergeStrided(shape: readonly number[], operands: readonly StridedOperand[]): { keptShape: number[]; keptStrides: number[][] } {
  const { shape: keptShape, strides: keptStrides } = mergeDims(shape, operands.map((operand) => operand.strides));
  return { keptShape, keptStrides };
}

/**
 * Calls `run` once per dispatch a strided kernel needs: once when the dims merge to at most 8, else once per
 * index of the leading dim (its offset folded into each operand's), recursively. High-rank views (a permuted
 * 9-d tensor) thus still run, contiguous() and reads included, in a few more dispatches.
 */
export function splitStrided(shape: readonly number[], operands: readonly StridedOperand[],
  run: (shape: readonly number[], operands: readonly StridedOperand[]) => void): void {
  if (mergeStrided(shape, operands).keptShape.length <= maximumStridedRank) return run(shape, operands);
  for (let i = 0; i < shape[0]; i++) {
    splitStrided(shape.slice(1), operands.map((operand) => ({ offset: operand.offset + i * operand.strides[0], strides: operand.strides.slice(1) })), run);
  }
}

/**
 * Merges dims that are contiguous for every operand (and drops size-1 dims), as the CPU descriptor does,
 * then writes count, rank, sizes, and each operand's offset and strides into `words`.
 */
export function writeStridedLayout(words: Uint32Array, shape: readonly number[], operands: readonly StridedOperand[]): void {
  const { keptShape, keptStrides } = mergeStrided(shape, operands);
  if (keptShape.length > maximumStridedRank) {
    throw new DeviceError(`webgpu: strided kernels take at most ${maximumStridedRank} non-contiguous dims, got ${keptShape.length} (split the launch with splitStrided)`);
  }
  const signed = new Int32Array(words.buffer, words.byteOffset, words.length);
  let count = 1;
  for (const size of shape) count *= size;
  words[0] = count;
  words[1] = keptShape.length;
  keptShape.forEach((size, d) => { words[2 + d] = size; });
  operands.forEach((operand, k) => {
    signed[10 + 9 * k] = operand.offset;
    keptStrides[k].forEach((stride, d) => { signed[11 + 9 * k + d] = stride; });
  });
}

/** WGSL expression turning the u32 word `word` into a value of `dtype`'s compute type. */
export function load(dtype: Dtype, word: string): string {
  switch (dtype) {
    case 'float32': return `bitcast<f32>(${word})`;
    case 'int32': return `bitcast<i32>(${word})`;
    case 'bool': return `(${word} != 0u)`;
    default: return dtype satisfies never;
  }
}

/** WGSL expression turning a value of `dtype`'s compute type into its stored u32 word. */
export function store(dtype: Dtype, value: string): string {
  switch (dtype) {
    case 'float32': return `bitcast<u32>(${value})`;
    case 'int32': return `bitcast<u32>(${value})`;
    case 'bool': return `select(0u, 1u, ${value})`;
    default: return dtype satisfies never;
  }
}

/** The WGSL scalar type of a dtype. */
export function wgslType(dtype: Dtype): string {
  switch (dtype) {
    case 'float32': return 'f32';
    case 'int32': return 'i32';
    case 'bool': return 'bool';
    default: return dtype satisfies never;
  }
}

/**
 * The GPU buffer of a tensor on 'webgpu' (callers have checked the device). A tensor from a device that was
 * lost (and perhaps replaced since) is refused here, the one place every kernel operand passes.
 */
export function bufferOf(tensor: Tensor): GPUBuffer {
  const storage = tensor.storage;
  storage.gpu!.checkAlive();
  return storage.buffer!;
}

/** The u32 bits of a number stored as `dtype` (scalars travel in the parameter block). */
export function scalarBits(value: number, dtype: Dtype): number {
  switch (dtype) {
    case 'float32': return new Uint32Array(new Float32Array([value]).buffer)[0];
    case 'int32': return (value | 0) >>> 0;
    case 'bool': return value !== 0 ? 1 : 0;
    default: return dtype satisfies never;
  }
}
