// Index kernels: gather (and index_select through it), scatter, and the bounds check that runs before either.
//
// Both walk the index tensor's shape with the strided descriptor (strided.ts). The operand that is indexed
// along `dim` arrives with that dim's stride zeroed; the kernel adds index * dimStride instead.
import { dimSize, rankOf, rowOffset, strideOf, byteAt } from './strided';

/** Position of the first index outside [0, size) in `count` contiguous int32 values, or -1 when all are valid. */
export function find_bad_index(index: usize, count: i32, size: i32): i32 {
  for (let i = 0; i < count; i++) {
    const value = load<i32>(index + (<usize>i << 2));
    if (value < 0 || value >= size) return i;
  }
  return -1;
}

@inline function gatherStrided<T>(out: usize, index: usize, x: usize, desc: usize, dimStride: i32, begin: i32, end: i32): void {
  const shift = <usize>alignof<T>();
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), si = strideOf(desc, 1, rank - 1), sx = strideOf(desc, 2, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, <i32>shift);
    const k = byteAt(index, rowOffset(desc, 1, row) + column * si, 2);
    const xBase = rowOffset(desc, 2, row) + column * sx;
    for (let i = 0; i < count; i++) {
      const at = xBase + i * sx + load<i32>(k + (<usize>(i * si) << 2)) * dimStride;
      store<T>(o + (<usize>(i * so) << shift), load<T>(x + (<usize>at << shift)));
    }
    position += count;
    row++;
    column = 0;
  }
}

/** out[p] = x[p with dim replaced by index[p]] over operands (0 out, 1 index, 2 x with its dim stride zeroed). */
export function gather(elementBytes: i32, out: usize, index: usize, x: usize, desc: usize, dimStride: i32, begin: i32, end: i32): void {
  if (elementBytes == 4) gatherStrided<u32>(out, index, x, desc, dimStride, begin, end);
  else gatherStrided<u8>(out, index, x, desc, dimStride, begin, end);
}

@inline function scatterStrided<T>(out: usize, index: usize, source: usize, desc: usize, dimStride: i32, accumulate: i32, begin: i32, end: i32): void {
  const shift = <usize>alignof<T>();
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), si = strideOf(desc, 1, rank - 1), ss = strideOf(desc, 2, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const outBase = rowOffset(desc, 0, row) + column * so;
    const k = byteAt(index, rowOffset(desc, 1, row) + column * si, 2);
    const s = byteAt(source, rowOffset(desc, 2, row) + column * ss, <i32>shift);
    for (let i = 0; i < count; i++) {
      const target = out + (<usize>(outBase + i * so + load<i32>(k + (<usize>(i * si) << 2)) * dimStride) << shift);
      const value = load<T>(s + (<usize>(i * ss) << shift));
      if (accumulate != 0) store<T>(target, load<T>(target) + value);
      else store<T>(target, value);
    }
    position += count;
    row++;
    column = 0;
  }
}

/**
 * out[p with dim replaced by index[p]] = source[p] (or += when accumulate) over operands (0 out with its dim
 * stride zeroed, 1 index, 2 source). dtype 0 float32, 1 int32, 2 bool. Single-threaded by the runtime:
 * two positions may write one target.
 */
export function scatter(dtype: i32, out: usize, index: usize, source: usize, desc: usize, dimStride: i32, accumulate: i32, begin: i32, end: i32): void {
  if (dtype == 0) scatterStrided<f32>(out, index, source, desc, dimStride, accumulate, begin, end);
  else if (dtype == 1) scatterStrided<i32>(out, index, source, desc, dimStride, accumulate, begin, end);
  else scatterStrided<u8>(out, index, source, desc, dimStride, 0, begin, end);
}
