// Dtypes, their storage widths and kernel codes, and PyTorch's type promotion over them.
import { ArgumentError } from './errors.js';

/** int32 plays the role of PyTorch's int64 (indices, integer tensors): WebAssembly SIMD is 32-bit. */
export type Dtype = 'float32' | 'int32' | 'bool';
export const dtypes: readonly Dtype[] = ['float32', 'int32', 'bool'];

export type TypedArrayFor<D extends Dtype> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint8Array;

/** Code passed to kernels: 0 float32, 1 int32, 2 bool. */
export function dtypeCode(dtype: Dtype): number {
  switch (dtype) {
    case 'float32': return 0;
    case 'int32': return 1;
    case 'bool': return 2;
    default: return dtype satisfies never;
  }
}

export function elementBytes(dtype: Dtype): number {
  return dtype === 'bool' ? 1 : 4;
}

/** log2 of the element width, for turning element offsets into byte offsets. */
export function elementShift(dtype: Dtype): number {
  return dtype === 'bool' ? 0 : 2;
}

export function checkDtype(value: unknown, where: string): Dtype {
  if (value === 'float32' || value === 'int32' || value === 'bool') return value;
  const hint = value === 'float64' || value === 'float' ? " (wasmtorch computes in float32: use 'float32')"
    : value === 'int64' || value === 'long' || value === 'int' ? " (wasmtorch's integer dtype is 'int32')" : '';
  throw new ArgumentError(`${where}: unknown dtype ${JSON.stringify(value)}, expected one of 'float32', 'int32', 'bool'${hint}`);
}

const category: Record<Dtype, number> = { bool: 0, int32: 1, float32: 2 };

/** PyTorch's promotion with one dtype per category: the higher category wins (bool < integer < float). */
export function promoteTypes(a: Dtype, b: Dtype): Dtype {
  return category[a] >= category[b] ? a : b;
}

/** The dtype a JS number or boolean takes part in promotion as (a Python scalar's role). */
export function scalarDtype(value: number | boolean): Dtype {
  if (typeof value === 'boolean') return 'bool';
  return Number.isInteger(value) ? 'int32' : 'float32';
}

export function isFloating(dtype: Dtype): boolean {
  return dtype === 'float32';
}

/** Whether a result of dtype `from` may be written into a tensor of dtype `to` (PyTorch's canCast). */
export function canCast(from: Dtype, to: Dtype): boolean {
  return category[from] <= category[to];
}

/** PyTorch's spelling, for messages and printing. */
export function torchName(dtype: Dtype): string {
  return `torch.${dtype}`;
}
