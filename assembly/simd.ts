// SIMD helpers shared by the kernel files: inlined into each caller, and not kernels (index.ts does not export this file).

/** a * b + c: fused in the relaxed build (one rounding, as FMA kernels elsewhere), else a multiply then an add. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

/**
 * The 4x4 transpose of four vectors, written through `out`, `stride` bytes apart: four rows of four (k steps of a
 * GEMM operand, positions of four channel planes) become four columns.
 */
// @ts-ignore: decorator
@inline export function storeTransposed4x4(v0: v128, v1: v128, v2: v128, v3: v128, out: usize, stride: usize): void {
  const lo01 = f32x4.shuffle(v0, v1, 0, 4, 1, 5);
  const lo23 = f32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const hi01 = f32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const hi23 = f32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(out, f32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
  v128.store(out + stride, f32x4.shuffle(lo01, lo23, 2, 3, 6, 7));
  v128.store(out + 2 * stride, f32x4.shuffle(hi01, hi23, 0, 1, 4, 5));
  v128.store(out + 3 * stride, f32x4.shuffle(hi01, hi23, 2, 3, 6, 7));
}
