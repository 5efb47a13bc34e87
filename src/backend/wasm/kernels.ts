// The kernel module's exports as TypeScript sees them, and the op codes the kernels switch on.

/** Pointers are byte addresses in the shared memory; counts and strides are in elements. */
export interface Kernels {
  unary_f32(op: number, out: number, x: number, desc: number, p0: number, p1: number, begin: number, end: number): void;
  unary_i32(op: number, out: number, x: number, desc: number, p0: number, p1: number, begin: number, end: number): void;
  binary_f32(op: number, out: number, a: number, b: number, desc: number, alpha: number, begin: number, end: number): void;
  binary_i32(op: number, out: number, a: number, b: number, desc: number, alpha: number, begin: number, end: number): void;
  compare(dtype: number, op: number, out: number, a: number, b: number, desc: number, begin: number, end: number): void;
  where_select(elementBytes: number, out: number, condition: number, a: number, b: number, desc: number, begin: number, end: number): void;
  convert(fromDtype: number, toDtype: number, out: number, x: number, desc: number, begin: number, end: number): void;
  reduce(dtype: number, op: number, out: number, outIndex: number, x: number, desc: number, scale: number, begin: number, end: number): void;
  softmax_f32(logarithm: number, out: number, x: number, n: number, inner: number, begin: number, end: number): void;
  find_bad_index(index: number, count: number, size: number): number;
  gather(elementBytes: number, out: number, index: number, x: number, desc: number, dimStride: number, begin: number, end: number): void;
  scatter(dtype: number, out: number, index: number, source: number, desc: number, dimStride: number, accumulate: number, begin: number, end: number): void;
  sequence(dtype: number, out: number, start: number, step: number, end: number, count: number, begin: number, endItem: number): void;
  random_uniform_f32(out: number, seedLo: number, seedHi: number, offsetLo: number, offsetHi: number, low: number, high: number, begin: number, end: number): void;
  random_normal_f32(out: number, seedLo: number, seedHi: number, offsetLo: number, offsetHi: number, mean: number, std: number, begin: number, end: number): void;
  random_int_i32(out: number, seedLo: number, seedHi: number, offsetLo: number, offsetHi: number, low: number, high: number, begin: number, end: number): void;
  gemm_f32(m: number, n: number, k: number, a: number, aRowStride: number, aColStride: number, b: number, bRowStride: number, bColStride: number,
    c: number, cRowStride: number, accumulate: number, scratch: number, rowBegin: number, rowEnd: number): void;
  gemm_f32_columns(m: number, n: number, k: number, a: number, aRowStride: number, aColStride: number, b: number, bRowStride: number, bColStride: number,
    c: number, cRowStride: number, accumulate: number, scratch: number, columnBegin: number, columnEnd: number): void;
  gemm_scratch_bytes(): number;
  gemm_row_block(): number;
}

export const UnaryOp = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, sigmoid: 6, tanh: 7, relu: 8, gelu: 9, geluTanh: 10,
  sin: 11, cos: 12, floor: 13, ceil: 14, round: 15, sign: 16, clamp: 17, reciprocal: 18, square: 19, leakyRelu: 20,
  trunc: 21, silu: 22, erf: 23,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, remainder: 7, floorDivide: 8 } as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const CompareOp = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;
export type CompareOpName = keyof typeof CompareOp;

export const ReduceOp = { sum: 0, prod: 1, max: 2, min: 3 } as const;
export type ReduceOpName = keyof typeof ReduceOp;
