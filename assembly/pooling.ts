// Pooling kernels: max pooling with PyTorch's indices (and NaN rule), average and adaptive average pooling, and their backward passes.
//
// Window descriptor (i32 words at `desc`): 0 H, 1 W, 2 OH, 3 OW, 4 kh, 5 kw, 6 strideH, 7 strideW, 8 padTop,
// 9 padLeft, 10 dilationH, 11 dilationW, 12 countIncludePad, 13 divisorOverride (0: none), 14 adaptive.
// Work items are whole planes (n, c): each writes only its own plane, in a fixed order, so any split across
// threads gives the same bits.

import { word, at } from './strided';

function zeroPlane(dst: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(dst, i), zero);
  for (; i < count; i++) store<f32>(at(dst, i), 0);
}

// One scalar output of max pooling, as PyTorch's CPU kernel computes it: -inf start, the first in-range
// position as the index when nothing beats it, a NaN always taken (so the last NaN wins).
@inline function maxWindow(plane: usize, width: i32, ih0: i32, ih1: i32, iw0: i32, iw1: i32, dilationH: i32, dilationW: i32, outValue: usize, outIndex: usize): void {
  let best: f32 = -Infinity;
  let bestIndex = ih0 * width + iw0;
  for (let ih = ih0; ih < ih1; ih += dilationH) {
    for (let iw = iw0; iw < iw1; iw += dilationW) {
      const index = ih * width + iw;
      const value = load<f32>(at(plane, index));
      if (value > best || value != value) { best = value; bestIndex = index; }
    }
  }
  store<f32>(outValue, best);
  store<i32>(outIndex, bestIndex);
}

/** Max pooling: out and indices (int32, flat within the plane) for planes [begin, end). */
export function max_pool2d_f32(out: usize, indices: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  const height = word(desc, 0), width = word(desc, 1), outH = word(desc, 2), outW = word(desc, 3);
  const kernelH = word(desc, 4), kernelW = word(desc, 5), strideH = word(desc, 6), strideW = word(desc, 7);
  const padTop = word(desc, 8), padLeft = word(desc, 9), dilationH = word(desc, 10), dilationW = word(desc, 11);
  const spanW = (kernelW - 1) * dilationW + 1;
  // Output columns whose whole window is inside the row, and whose vector loads (8 floats for stride 2) stay in it.
  const simdStride = strideW == 1 || strideW == 2;
  const insideLo = (padLeft + strideW - 1) / strideW;
  let laneStep = i32x4.splat(0);
  laneStep = i32x4.replace_lane(laneStep, 1, strideW);
  laneStep = i32x4.replace_lane(laneStep, 2, 2 * strideW);
  laneStep = i32x4.replace_lane(laneStep, 3, 3 * strideW);
  const twoByTwo = kernelH == 2 && kernelW == 2 && strideH == 2 && strideW == 2 && padTop == 0 && padLeft == 0 && dilationH == 1 && dilationW == 1;
  for (let plane = begin; plane < end; plane++) {
    const src = at(x, plane * height * width);
    const dstValues = at(out, plane * outH * outW), dstIndices = at(indices, plane * outH * outW);
    if (twoByTwo) {
      maxPool2x2Plane(dstValues, dstIndices, src, height, width, outH, outW);
      continue;
    }
    for (let oy = 0; oy < outH; oy++) {
      let ih0 = oy * strideH - padTop;
      const ih1 = min(ih0 + (kernelH - 1) * dilationH + 1, height);
      while (ih0 < 0) ih0 += dilationH;
      const rowValues = at(dstValues, oy * outW), rowIndices = at(dstIndices, oy * outW);
      let ox = 0;
      for (; ox < outW; ox++) {
        if (simdStride && ox >= insideLo && ox + 4 <= outW) {
          // Four outputs at once while the last lane's window (and the load past it) stays inside the row.
          const lastRead = (ox + 3) * strideW - padLeft + spanW - 1 + (strideW == 2 ? 1 : 0);
          if (lastRead < width) break;
        }
        let iw0 = ox * strideW - padLeft;
        const iw1 = min(iw0 + spanW, width);
        while (iw0 < 0) iw0 += dilationW;
        maxWindow(src, width, ih0, ih1, iw0, iw1, dilationH, dilationW, at(rowValues, ox), at(rowIndices, ox));
      }
      for (; ox + 4 <= outW; ox += 4) {
        const x0 = ox * strideW - padLeft;
        if (x0 + 3 * strideW + spanW - 1 + (strideW == 2 ? 1 : 0) >= width) break;
        let best = f32x4.splat(-Infinity);
        let bestIndex = i32x4.add(i32x4.splat(ih0 * width + x0), laneStep);
        for (let ih = ih0; ih < ih1; ih += dilationH) {
          const rowStart = ih * width;
          for (let kx = 0; kx < kernelW; kx++) {
            const xk = x0 + kx * dilationW;
            let values: v128;
            if (strideW == 1) values = v128.load(at(src, rowStart + xk));
            else {
              const first = at(src, rowStart + xk);
              values = f32x4.shuffle(v128.load(first), v128.load(first, 16), 0, 2, 4, 6);
            }
            const take = v128.or(f32x4.gt(values, best), f32x4.ne(values, values));
            best = v128.bitselect(values, best, take);
            bestIndex = v128.bitselect(i32x4.add(i32x4.splat(rowStart + xk), laneStep), bestIndex, take);
          }
        }
        v128.store(at(rowValues, ox), best);
        v128.store(at(rowIndices, ox), bestIndex);
      }
      for (; ox < outW; ox++) {
        let iw0 = ox * strideW - padLeft;
        const iw1 = min(iw0 + spanW, width);
        while (iw0 < 0) iw0 += dilationW;
        maxWindow(src, width, ih0, ih1, iw0, iw1, dilationH, dilationW, at(rowValues, ox), at(rowIndices, ox));
      }
    }
  }
}

/**
 * The common 2x2, stride 2 case: four outputs from two rows of eight floats, split into even and odd columns
 * by shuffles, compared in PyTorch's window order.
 */
function maxPool2x2Plane(dstValues: usize, dstIndices: usize, src: usize, height: i32, width: i32, outH: i32, outW: i32): void {
  let laneStep = i32x4.splat(0);
  laneStep = i32x4.replace_lane(laneStep, 1, 2);
  laneStep = i32x4.replace_lane(laneStep, 2, 4);
  laneStep = i32x4.replace_lane(laneStep, 3, 6);
  const one = i32x4.splat(1), down = i32x4.splat(width);
  const rowBytes = <usize>width << 2;
  for (let oy = 0; oy < outH; oy++) {
    const row0 = at(src, 2 * oy * width), row1 = row0 + rowBytes;
    const rowValues = at(dstValues, oy * outW), rowIndices = at(dstIndices, oy * outW);
    let ox = 0;
    // A partial last row (ceil mode) goes through the scalar windows. When every window is whole, the last
    // vector overlaps the one before instead of leaving a scalar tail (it recomputes the same outputs).
    const fullRow = 2 * oy + 2 <= height;
    const overlap = outW >= 4 && 2 * outW <= width;
    for (; fullRow && ox < outW; ox += 4) {
      if (ox + 4 > outW || 2 * ox + 8 > width) {
        if (!overlap) break;
        ox = outW - 4;
      }
      const o = <usize>ox << 3;
      const a = v128.load(row0 + o), b = v128.load(row0 + o, 16), c = v128.load(row1 + o), d = v128.load(row1 + o, 16);
      const topLeft = i32x4.add(i32x4.splat(2 * oy * width + 2 * ox), laneStep);
      let best = f32x4.shuffle(a, b, 0, 2, 4, 6);
      let bestIndex = topLeft;
      let value = f32x4.shuffle(a, b, 1, 3, 5, 7);
      let take = v128.or(f32x4.gt(value, best), f32x4.ne(value, value));
      best = v128.bitselect(value, best, take);
      bestIndex = v128.bitselect(i32x4.add(topLeft, one), bestIndex, take);
      value = f32x4.shuffle(c, d, 0, 2, 4, 6);
      take = v128.or(f32x4.gt(value, best), f32x4.ne(value, value));
      best = v128.bitselect(value, best, take);
      bestIndex = v128.bitselect(i32x4.add(topLeft, down), bestIndex, take);
      value = f32x4.shuffle(c, d, 1, 3, 5, 7);
      take = v128.or(f32x4.gt(value, best), f32x4.ne(value, value));
      best = v128.bitselect(value, best, take);
      bestIndex = v128.bitselect(i32x4.add(i32x4.add(topLeft, down), one), bestIndex, take);
      v128.store(at(rowValues, ox), best);
      v128.store(at(rowIndices, ox), bestIndex);
    }
    for (; ox < outW; ox++) {
      maxWindow(src, width, 2 * oy, min(2 * oy + 2, height), 2 * ox, min(2 * ox + 2, width), 1, 1, at(rowValues, ox), at(rowIndices, ox));
    }
  }
}

/**
 * The gradient of max pooling: each plane of dx is zeroed, then each output's gradient added at its index.
 * A dilated window can read only padding: its output is -inf and its index (PyTorch's: the first position the
 * window would read after skipping the padding) can lie past the plane, so such an index adds nothing.
 */
export function max_pool2d_backward_f32(dx: usize, grad: usize, indices: usize, inputSize: i32, outputSize: i32, begin: i32, end: i32): void {
  for (let plane = begin; plane < end; plane++) {
    const dst = at(dx, plane * inputSize);
    zeroPlane(dst, inputSize);
    const g = at(grad, plane * outputSize), index = at(indices, plane * outputSize);
    for (let i = 0; i < outputSize; i++) {
      const position = load<i32>(at(index, i));
      if (<u32>position >= <u32>inputSize) continue;
      const target = at(dst, position);
      store<f32>(target, load<f32>(target) + load<f32>(at(g, i)));
    }
  }
}

/**
 * The gradient of 2x2, stride 2 max pooling, written rather than accumulated: each window's four positions
 * get the gradient where the index points and 0 elsewhere (windows do not overlap), four outputs at a time;
 * a last row or column no window covers is zeroed.
 */
export function max_pool2d_backward_2x2_f32(dx: usize, grad: usize, indices: usize, height: i32, width: i32, outH: i32, outW: i32, begin: i32, end: i32): void {
  let laneStep = i32x4.splat(0);
  laneStep = i32x4.replace_lane(laneStep, 1, 2);
  laneStep = i32x4.replace_lane(laneStep, 2, 4);
  laneStep = i32x4.replace_lane(laneStep, 3, 6);
  const one = i32x4.splat(1), down = i32x4.splat(width);
  const rowBytes = <usize>width << 2;
  for (let plane = begin; plane < end; plane++) {
    const dst = at(dx, plane * height * width);
    const g = at(grad, plane * outH * outW), index = at(indices, plane * outH * outW);
    for (let oy = 0; oy < outH; oy++) {
      const row0 = at(dst, 2 * oy * width), row1 = row0 + rowBytes;
      const gRow = at(g, oy * outW), indexRow = at(index, oy * outW);
      let ox = 0;
      // The last vector overlaps the one before when OW is not a multiple of 4 (it rewrites the same values).
      for (; ox < outW; ox += 4) {
        if (ox + 4 > outW) {
          if (outW < 4) break;
          ox = outW - 4;
        }
        const gv = v128.load(at(gRow, ox)), iv = v128.load(at(indexRow, ox));
        const topLeft = i32x4.add(i32x4.splat(2 * oy * width + 2 * ox), laneStep);
        const v00 = v128.and(gv, i32x4.eq(iv, topLeft));
        const v01 = v128.and(gv, i32x4.eq(iv, i32x4.add(topLeft, one)));
        const v10 = v128.and(gv, i32x4.eq(iv, i32x4.add(topLeft, down)));
        const v11 = v128.and(gv, i32x4.eq(iv, i32x4.add(i32x4.add(topLeft, down), one)));
        const o = <usize>ox << 3;
        v128.store(row0 + o, f32x4.shuffle(v00, v01, 0, 4, 1, 5));
        v128.store(row0 + o, f32x4.shuffle(v00, v01, 2, 6, 3, 7), 16);
        v128.store(row1 + o, f32x4.shuffle(v10, v11, 0, 4, 1, 5));
        v128.store(row1 + o, f32x4.shuffle(v10, v11, 2, 6, 3, 7), 16);
      }
      for (; ox < outW; ox++) {
        const gs = load<f32>(at(gRow, ox)), target = load<i32>(at(indexRow, ox));
        const first = 2 * oy * width + 2 * ox;
        store<f32>(at(row0, 2 * ox), target == first ? gs : 0);
        store<f32>(at(row0, 2 * ox + 1), target == first + 1 ? gs : 0);
        store<f32>(at(row1, 2 * ox), target == first + width ? gs : 0);
        store<f32>(at(row1, 2 * ox + 1), target == first + width + 1 ? gs : 0);
      }
      for (let x = 2 * outW; x < width; x++) { store<f32>(at(row0, x), 0); store<f32>(at(row1, x), 0); }
    }
    for (let y = 2 * outH; y < height; y++) zeroPlane(at(dst, y * width), width);
  }
}

// The window of output (oy, ox) along one dim, as [start, end) clipped to the input, and the divisor's factor
// along that dim. Average pooling: the unclipped window runs to at most size + pad, and counts padding when
// countIncludePad. Adaptive: [floor(o*size/outSize), ceil((o+1)*size/outSize)).
@inline function windowStart(o: i32, size: i32, outSize: i32, kernel: i32, stride: i32, pad: i32, adaptive: i32): i32 {
  if (adaptive != 0) return (o * size) / outSize;
  return max(o * stride - pad, 0);
}
@inline function windowEnd(o: i32, size: i32, outSize: i32, kernel: i32, stride: i32, pad: i32, adaptive: i32): i32 {
  if (adaptive != 0) return ((o + 1) * size + outSize - 1) / outSize;
  return min(o * stride - pad + kernel, size);
}
@inline function paddedExtent(o: i32, size: i32, kernel: i32, stride: i32, pad: i32): i32 {
  const start = o * stride - pad;
  return min(start + kernel, size + pad) - start;
}

@inline function divisorOf(desc: usize, oy: i32, ox: i32, y0: i32, y1: i32, x0: i32, x1: i32): f32 {
  const divisorOverride = word(desc, 13);
  if (word(desc, 14) == 0 && divisorOverride != 0) return <f32>divisorOverride;
  if (word(desc, 14) == 0 && word(desc, 12) != 0) {
    return <f32>(paddedExtent(oy, word(desc, 0), word(desc, 4), word(desc, 6), word(desc, 8)) *
      paddedExtent(ox, word(desc, 1), word(desc, 5), word(desc, 7), word(desc, 9)));
  }
  return <f32>((y1 - y0) * (x1 - x0));
}

/** Average pooling (adaptive when desc says so) for planes [begin, end): float32 sums in row-major order, then one division. */
export function avg_pool2d_f32(out: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  const height = word(desc, 0), width = word(desc, 1), outH = word(desc, 2), outW = word(desc, 3);
  const kernelH = word(desc, 4), kernelW = word(desc, 5), strideH = word(desc, 6), strideW = word(desc, 7);
  const padTop = word(desc, 8), padLeft = word(desc, 9), adaptive = word(desc, 14);
  for (let plane = begin; plane < end; plane++) {
    const src = at(x, plane * height * width), dst = at(out, plane * outH * outW);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = windowStart(oy, height, outH, kernelH, strideH, padTop, adaptive);
      const y1 = windowEnd(oy, height, outH, kernelH, strideH, padTop, adaptive);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = windowStart(ox, width, outW, kernelW, strideW, padLeft, adaptive);
        const x1 = windowEnd(ox, width, outW, kernelW, strideW, padLeft, adaptive);
        let sum: f32 = 0;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) sum += load<f32>(at(src, y * width + xx));
        store<f32>(at(dst, oy * outW + ox), sum / divisorOf(desc, oy, ox, y0, y1, x0, x1));
      }
    }
  }
}

/** The adjoint of avg_pool2d_f32: each plane of dx is zeroed, then grad/divisor added over each output's window. */
export function avg_pool2d_backward_f32(dx: usize, grad: usize, desc: usize, begin: i32, end: i32): void {
  const height = word(desc, 0), width = word(desc, 1), outH = word(desc, 2), outW = word(desc, 3);
  const kernelH = word(desc, 4), kernelW = word(desc, 5), strideH = word(desc, 6), strideW = word(desc, 7);
  const padTop = word(desc, 8), padLeft = word(desc, 9), adaptive = word(desc, 14);
  for (let plane = begin; plane < end; plane++) {
    const dst = at(dx, plane * height * width), src = at(grad, plane * outH * outW);
    zeroPlane(dst, height * width);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = windowStart(oy, height, outH, kernelH, strideH, padTop, adaptive);
      const y1 = windowEnd(oy, height, outH, kernelH, strideH, padTop, adaptive);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = windowStart(ox, width, outW, kernelW, strideW, padLeft, adaptive);
        const x1 = windowEnd(ox, width, outW, kernelW, strideW, padLeft, adaptive);
        const share = load<f32>(at(src, oy * outW + ox)) / divisorOf(desc, oy, ox, y0, y1, x0, x1);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const target = at(dst, y * width + xx);
            store<f32>(target, load<f32>(target) + share);
          }
        }
      }
    }
  }
}
