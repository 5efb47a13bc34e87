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
  gemm_f32_k_parts(m: number, n: number, k: number, a: number, aRowStride: number, aColStride: number, b: number, bRowStride: number, bColStride: number,
    c: number, cRowStride: number, accumulate: number, scratch: number, partials: number, itemBegin: number, itemEnd: number): void;
  gemm_add_partials(m: number, n: number, c: number, cRowStride: number, partials: number, parts: number): void;
  gemm_scratch_bytes(): number;
  gemm_row_block(): number;
  gemm_k_blocks(k: number): number;
  conv_im2col_f32(col: number, x: number, desc: number, begin: number, end: number): void;
  conv_col2im_f32(dx: number, col: number, desc: number, begin: number, end: number): void;
  conv_im2col_unpadded_f32(col: number, x: number, desc: number, begin: number, end: number): void;
  conv_col2im_unpadded_f32(dx: number, col: number, desc: number, begin: number, end: number): void;
  conv_rows_to_planes_f32(out: number, rows: number, bias: number, hasBias: number, channels: number, outH: number, outW: number, rowWidth: number, begin: number, end: number): void;
  conv_planes_to_rows_f32(rows: number, x: number, channels: number, outH: number, outW: number, rowWidth: number, begin: number, end: number): void;
  conv_direct_f32(out: number, x: number, w: number, bias: number, hasBias: number, desc: number, begin: number, end: number): void;
  conv_direct_weight_f32(dw: number, x: number, grad: number, desc: number, begin: number, end: number): void;
  conv_bias_grad_f32(out: number, grad: number, batch: number, channels: number, positions: number, begin: number, end: number): void;
  winograd_weights_f32(u: number, w: number, outChannels: number, inChannels: number, transposed: number, inputStride: number, outputStride: number,
    planeFloats: number, status: number, begin: number, end: number): void;
  winograd_conv_f32(y: number, x: number, u: number, bias: number, hasBias: number, desc: number, status: number, scratch: number, begin: number, end: number): void;
  winograd_scratch_floats(channels: number, outChannels: number, tilesH: number, tilesW: number): number;
  winograd_weight_grad_f32(partials: number, dx: number, ut: number, x: number, dy: number, desc: number, status: number, scratch: number, begin: number, end: number): void;
  winograd_weight_sum_f32(partials: number, chunks: number, chunkFloats: number, begin: number, end: number): void;
  winograd_weight_finish_f32(dw: number, partials: number, outChannels: number, channels: number, begin: number, end: number): void;
  winograd_chunk_floats(channels: number, outChannels: number): number;
  winograd_weight_scratch_floats(channels: number, outChannels: number, tilesH: number, tilesW: number): number;
  max_pool2d_f32(out: number, indices: number, x: number, desc: number, begin: number, end: number): void;
  max_pool2d_backward_f32(dx: number, grad: number, indices: number, inputSize: number, outputSize: number, begin: number, end: number): void;
  max_pool2d_backward_2x2_f32(dx: number, grad: number, indices: number, height: number, width: number, outH: number, outW: number, begin: number, end: number): void;
  avg_pool2d_f32(out: number, x: number, desc: number, begin: number, end: number): void;
  avg_pool2d_backward_f32(dx: number, grad: number, desc: number, begin: number, end: number): void;
  sgd_f32(param: number, grad: number, buffer: number, negativeLr: number, momentum: number, dampeningComplement: number,
    weightDecay: number, flags: number, begin: number, end: number): void;
  adam_f32(param: number, grad: number, expAvg: number, expAvgSq: number, maxExpAvgSq: number, beta1: number, oneMinusBeta1: number,
    beta2: number, oneMinusBeta2: number, weightDecay: number, decayScale: number, negativeStepSize: number, biasCorrection2Sqrt: number,
    eps: number, flags: number, begin: number, end: number): void;
  rmsprop_f32(param: number, grad: number, squareAvg: number, gradAvg: number, buffer: number, alpha: number, oneMinusAlpha: number,
    eps: number, weightDecay: number, momentum: number, negativeLr: number, flags: number, begin: number, end: number): void;
  adagrad_f32(param: number, grad: number, sum: number, weightDecay: number, negativeClr: number, eps: number, flags: number, begin: number, end: number): void;
}

export const UnaryOp = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, sigmoid: 6, tanh: 7, relu: 8, gelu: 9, geluTanh: 10,
  sin: 11, cos: 12, floor: 13, ceil: 14, round: 15, sign: 16, clamp: 17, reciprocal: 18, square: 19, leakyRelu: 20,
  trunc: 21, silu: 22, erf: 23,
} as const;
export type UnaryOpName = keyof typeof UnaryOp;

export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, remainder: 7, floorDivide: 8,
  // Internal: the gradients of relu and clamp(min), a masked by b against alpha (derivative rules use them).
  thresholdBackward: 9, clampMinBackward: 10,
} as const;
export type BinaryOpName = keyof typeof BinaryOp;

export const CompareOp = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;
export type CompareOpName = keyof typeof CompareOp;

export const ReduceOp = { sum: 0, prod: 1, max: 2, min: 3 } as const;
export type ReduceOpName = keyof typeof ReduceOp;
