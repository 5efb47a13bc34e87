// Reductions over any set of dims (sum, prod, max, min with their indices), and softmax / log-softmax along one dim.
//
// Descriptor (i32 words): outer rank R, inner rank Q, outer shape[R], input strides of the outer dims[R],
// output strides[R], inner (reduced) shape[Q], input strides of the inner dims[Q]. Work items [begin, end)
// are output elements, so a split across threads never splits one reduction and results are bitwise stable.
import { exp4, log4 } from './math';
import { word } from './strided';

const SUM = 0, PROD = 1, MAX = 2, MIN = 3;

/** Offset of inner row `row` (all inner dims but the last) in elements. */
function innerRowOffset(desc: usize, row: i32): i32 {
  const outerRank = word(desc, 0), innerRank = word(desc, 1);
  const shapeAt = 2 + 3 * outerRank, strideAt = shapeAt + innerRank;
  let offset = 0;
  for (let d = innerRank - 2; d >= 0; d--) {
    const size = word(desc, shapeAt + d);
    offset += (row % size) * word(desc, strideAt + d);
    row /= size;
  }
  return offset;
}

@inline function sumRowF32(x: usize, stride: i32, n: i32): f64 {
  // float64 accumulation: sums of float32 tensors then match PyTorch's (pairwise) accuracy or better.
  let i = 0;
  let total: f64 = 0;
  if (stride == 1 && n >= 8) {
    let accumulatorLow = f64x2.splat(0), accumulatorHigh = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const values = v128.load(x + (<usize>i << 2));
      accumulatorLow = f64x2.add(accumulatorLow, f64x2.promote_low_f32x4(values));
      accumulatorHigh = f64x2.add(accumulatorHigh, f64x2.promote_low_f32x4(i32x4.shuffle(values, values, 2, 3, 0, 1)));
    }
    const both = f64x2.add(accumulatorLow, accumulatorHigh);
    total = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
  }
  for (; i < n; i++) total += <f64>load<f32>(x + (<usize>(i * stride) << 2));
  return total;
}

@inline function reduceOneF32(op: i32, x: usize, desc: usize, innerRows: i32, n: i32, stride: i32, indexOut: usize, scale: f64): f32 {
  if (op == SUM) {
    let total: f64 = 0;
    for (let row = 0; row < innerRows; row++) total += sumRowF32(x + (<usize>innerRowOffset(desc, row) << 2), stride, n);
    return <f32>(total * scale);
  }
  if (op == PROD) {
    let product: f64 = 1;
    for (let row = 0; row < innerRows; row++) {
      const base = x + (<usize>innerRowOffset(desc, row) << 2);
      for (let i = 0; i < n; i++) product *= <f64>load<f32>(base + (<usize>(i * stride) << 2));
    }
    return <f32>product;
  }
  // max / min: the first extreme wins ties; the first NaN wins over everything, as in PyTorch.
  let best: f32 = load<f32>(x + (<usize>innerRowOffset(desc, 0) << 2));
  let bestIndex = 0;
  let flat = 0;
  for (let row = 0; row < innerRows; row++) {
    const base = x + (<usize>innerRowOffset(desc, row) << 2);
    for (let i = 0; i < n; i++) {
      const value = load<f32>(base + (<usize>(i * stride) << 2));
      if (best != best) return finishExtreme(best, bestIndex, indexOut);
      if (value != value || (op == MAX ? value > best : value < best)) {
        best = value;
        bestIndex = flat;
      }
      flat++;
    }
  }
  return finishExtreme(best, bestIndex, indexOut);
}

@inline function finishExtreme(best: f32, index: i32, indexOut: usize): f32 {
  if (indexOut != 0) store<i32>(indexOut, index);
  return best;
}

@inline function reduceOneI32(op: i32, x: usize, desc: usize, innerRows: i32, n: i32, stride: i32, indexOut: usize): i32 {
  let accumulator: i32 = op == PROD ? 1 : 0;
  let best: i32 = load<i32>(x + (<usize>innerRowOffset(desc, 0) << 2));
  let bestIndex = 0, flat = 0;
  for (let row = 0; row < innerRows; row++) {
    const base = x + (<usize>innerRowOffset(desc, row) << 2);
    for (let i = 0; i < n; i++) {
      const value = load<i32>(base + (<usize>(i * stride) << 2));
      if (op == SUM) accumulator += value;
      else if (op == PROD) accumulator *= value;
      else if (op == MAX ? value > best : value < best) {
        best = value;
        bestIndex = flat;
      }
      flat++;
    }
  }
  if (op == SUM || op == PROD) return accumulator;
  if (indexOut != 0) store<i32>(indexOut, bestIndex);
  return best;
}

/**
 * Reduces each output element [begin, end) over the inner dims. dtype 0 float32, 1 int32. `out` (values) and
 * `outIndex` (int32 positions of the extreme, flattened over the inner dims) may each be 0 to skip it; both
 * use the descriptor's output strides. `scale` multiplies float sums (mean).
 */
export function reduce(dtype: i32, op: i32, out: usize, outIndex: usize, x: usize, desc: usize, scale: f64, begin: i32, end: i32): void {
  const outerRank = word(desc, 0), innerRank = word(desc, 1);
  const innerShapeAt = 2 + 3 * outerRank;
  const n = word(desc, innerShapeAt + innerRank - 1);
  const stride = word(desc, innerShapeAt + 2 * innerRank - 1);
  let innerRows = 1;
  for (let d = 0; d < innerRank - 1; d++) innerRows *= word(desc, innerShapeAt + d);
  for (let item = begin; item < end; item++) {
    let inOffset = 0, outOffset = 0, rest = item;
    for (let d = outerRank - 1; d >= 0; d--) {
      const size = word(desc, 2 + d);
      const coordinate = rest % size;
      rest /= size;
      inOffset += coordinate * word(desc, 2 + outerRank + d);
      outOffset += coordinate * word(desc, 2 + 2 * outerRank + d);
    }
    const indexOut: usize = outIndex == 0 ? 0 : outIndex + (<usize>outOffset << 2);
    if (dtype == 0) {
      const value = reduceOneF32(op, x + (<usize>inOffset << 2), desc, innerRows, n, stride, indexOut, scale);
      if (out != 0) store<f32>(out + (<usize>outOffset << 2), value);
    } else {
      const value = reduceOneI32(op, x + (<usize>inOffset << 2), desc, innerRows, n, stride, indexOut);
      if (out != 0) store<i32>(out + (<usize>outOffset << 2), value);
    }
  }
}

/**
 * Softmax (or log-softmax when `logarithm` != 0) of a contiguous [outer, n, inner] tensor along the middle
 * dim. Work items are the outer*inner lines. Subtracting the line's max keeps exp finite for any logits.
 */
export function softmax_f32(logarithm: i32, out: usize, x: usize, n: i32, inner: i32, begin: i32, end: i32): void {
  for (let line = begin; line < end; line++) {
    const base = <usize>((line / inner) * n * inner + line % inner) << 2;
    const stride = <usize>inner << 2;
    const input = x + base, output = out + base;
    let largest: f32 = -Infinity;
    for (let i = 0; i < n; i++) largest = max(largest, load<f32>(input + <usize>i * stride));
    // A line of -inf (or any NaN) gives NaN, as in PyTorch; an all-(-inf) line must not shift by -inf.
    const shift = largest == -Infinity ? <f32>0 : largest;
    const shiftVector = f32x4.splat(shift);
    let total: f64 = 0;
    let i = 0;
    if (inner == 1) {
      for (; i + 4 <= n; i += 4) {
        const e = exp4(f32x4.sub(v128.load(input + (<usize>i << 2)), shiftVector));
        if (logarithm == 0) v128.store(output + (<usize>i << 2), e);
        total += <f64>f32x4.extract_lane(e, 0) + <f64>f32x4.extract_lane(e, 1) + <f64>f32x4.extract_lane(e, 2) + <f64>f32x4.extract_lane(e, 3);
      }
    }
    for (; i < n; i++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(input + <usize>i * stride) - shift)), 0);
      if (logarithm == 0) store<f32>(output + <usize>i * stride, e);
      total += <f64>e;
    }
    if (logarithm == 0) {
      const inverse = f32x4.splat(<f32>(1.0 / total));
      i = 0;
      if (inner == 1) for (; i + 4 <= n; i += 4) v128.store(output + (<usize>i << 2), f32x4.mul(v128.load(output + (<usize>i << 2)), inverse));
      for (; i < n; i++) store<f32>(output + <usize>i * stride, load<f32>(output + <usize>i * stride) * f32x4.extract_lane(inverse, 0));
    } else {
      // (x - max) - log(sum), in that order: x - (max + log(sum)) loses the digits of large logits.
      const logTotal = log4(f32x4.splat(<f32>total));
      i = 0;
      if (inner == 1) {
        for (; i + 4 <= n; i += 4) {
          const shifted = f32x4.sub(v128.load(input + (<usize>i << 2)), shiftVector);
          v128.store(output + (<usize>i << 2), f32x4.sub(shifted, logTotal));
        }
      }
      for (; i < n; i++) store<f32>(output + <usize>i * stride, (load<f32>(input + <usize>i * stride) - shift) - f32x4.extract_lane(logTotal, 0));
    }
  }
}
