// Convolution kernels: im2col / col2im around the packed GEMM, layout moves between NCHW and row-major positions, and direct kernels for few input channels.
//
// Geometry descriptor (i32 words at `desc`), for a convolution from X [N, Cin, H, W] to Y [N, Cout, OH, OW]:
//   0 N, 1 Cin, 2 H, 3 W, 4 Cout, 5 kh, 6 kw, 7 strideH, 8 strideW, 9 padTop, 10 padLeft, 11 dilationH,
//   12 dilationW, 13 groups, 14 OH, 15 OW.
// Only the top/left padding is given: the output size fixes the rest, so 'same' with an even kernel (more
// padding after than before, as in PyTorch) needs nothing special.
// The column matrix is [Cin*kh*kw, N*OH*OW]: row (ci, ky, kx), column (n, oy, ox). Every kernel's work items
// write disjoint outputs and sum in a fixed order, so any split across threads gives the same bits.

import { madd, storeTransposed4x4 } from './simd';
import { word, at } from './strided';

/** First output column whose input column ox*stride - offset is >= 0. */
@inline function firstInside(offset: i32, stride: i32): i32 {
  return offset > 0 ? (offset + stride - 1) / stride : 0;
}

/** One past the last output column whose input column ox*stride - offset is < size, at most outSize. */
@inline function endInside(offset: i32, stride: i32, size: i32, outSize: i32): i32 {
  const last = size - 1 + offset;
  if (last < 0) return 0;
  return min(outSize, last / stride + 1);
}

function zeroRange(dst: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(dst, i), zero);
  for (; i < count; i++) store<f32>(at(dst, i), 0);
}

function copyRange(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    v128.store(at(dst, i), v128.load(at(src, i)));
    v128.store(at(dst, i), v128.load(at(src, i), 16), 16);
  }
  for (; i + 4 <= count; i += 4) v128.store(at(dst, i), v128.load(at(src, i)));
  for (; i < count; i++) store<f32>(at(dst, i), load<f32>(at(src, i)));
}

function addRange(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), v128.load(at(src, i))));
  for (; i < count; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)));
}

/**
 * Column matrix rows: work item = (k, n) with k = (ci, ky, kx), writing col[k, n*P .. n*P + P) (P = OH*OW)
 * from image n of x, zeros where the window reads padding.
 */
export function conv_im2col_f32(col: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), strideH = word(desc, 7), strideW = word(desc, 8);
  const padTop = word(desc, 9), padLeft = word(desc, 10), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const outH = word(desc, 14), outW = word(desc, 15);
  const positions = outH * outW;
  for (let item = begin; item < end; item++) {
    const k = item / batch, n = item - k * batch;
    const kx = k % kernelW, ky = (k / kernelW) % kernelH, ci = k / (kernelW * kernelH);
    const plane = at(x, (n * inChannels + ci) * height * width);
    const row = at(col, item * positions);
    const offsetX = padLeft - kx * dilationW;
    const lo = min(firstInside(offsetX, strideW), outW), hi = max(endInside(offsetX, strideW, width, outW), lo);
    for (let oy = 0; oy < outH; oy++) {
      const dst = at(row, oy * outW);
      const y = oy * strideH - padTop + ky * dilationH;
      if (y < 0 || y >= height) { zeroRange(dst, outW); continue; }
      const src = at(plane, y * width - offsetX);
      zeroRange(dst, lo);
      if (strideW == 1) copyRange(at(dst, lo), at(src, lo), hi - lo);
      else for (let ox = lo; ox < hi; ox++) store<f32>(at(dst, ox), load<f32>(at(src, ox * strideW)));
      zeroRange(at(dst, hi), outW - hi);
    }
  }
}

/**
 * The adjoint of im2col: work item = input plane (n, ci); dx = the sum of every column entry that read it,
 * in (ky, kx, oy, ox) order.
 */
export function conv_col2im_f32(dx: usize, col: usize, desc: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), strideH = word(desc, 7), strideW = word(desc, 8);
  const padTop = word(desc, 9), padLeft = word(desc, 10), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const outH = word(desc, 14), outW = word(desc, 15);
  const positions = outH * outW;
  for (let item = begin; item < end; item++) {
    const n = item / inChannels, ci = item - n * inChannels;
    const plane = at(dx, item * height * width);
    zeroRange(plane, height * width);
    for (let ky = 0; ky < kernelH; ky++) {
      for (let kx = 0; kx < kernelW; kx++) {
        const k = (ci * kernelH + ky) * kernelW + kx;
        const row = at(col, (k * batch + n) * positions);
        const offsetX = padLeft - kx * dilationW;
        const lo = min(firstInside(offsetX, strideW), outW), hi = max(endInside(offsetX, strideW, width, outW), lo);
        for (let oy = 0; oy < outH; oy++) {
          const y = oy * strideH - padTop + ky * dilationH;
          if (y < 0 || y >= height) continue;
          const dst = at(plane, y * width - offsetX);
          const src = at(row, oy * outW);
          if (strideW == 1) addRange(at(dst, lo), at(src, lo), hi - lo);
          else for (let ox = lo; ox < hi; ox++) store<f32>(at(dst, ox * strideW), load<f32>(at(dst, ox * strideW)) + load<f32>(at(src, ox)));
        }
      }
    }
  }
}

// ---- stride-1 convolutions without padding: im2col and col2im move whole output rows, no window bookkeeping.

/**
 * Column matrix [Cin*kh*kw, N*OH*OW] for stride 1 without padding: work item = (k, n), OH row copies. Every
 * row but the last copies whole vectors, running past its end into the next row, which is written after it.
 */
export function conv_im2col_unpadded_f32(col: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const outH = word(desc, 14), outW = word(desc, 15);
  const rowVectors = (outW + 3) >> 2;
  const srcRowBytes = <usize>width << 2, dstRowBytes = <usize>outW << 2;
  for (let item = begin; item < end; item++) {
    const k = item / batch, n = item - k * batch;
    const kx = k % kernelW, ky = (k / kernelW) % kernelH, ci = k / (kernelW * kernelH);
    let src = at(x, (n * inChannels + ci) * height * width + ky * dilationH * width + kx * dilationW);
    let dst = at(col, item * outH * outW);
    for (let oy = 0; oy < outH - 1; oy++) {
      for (let v = 0; v < rowVectors; v++) v128.store(dst + (<usize>v << 4), v128.load(src + (<usize>v << 4)));
      src += srcRowBytes;
      dst += dstRowBytes;
    }
    copyRange(dst, src, outW);
  }
}

/**
 * The adjoint of conv_im2col_unpadded_f32: work item = input plane (n, ci); for each kernel tap, each output
 * row of the column matrix is added onto its input row (whole vectors, then the last few floats one by one).
 */
export function conv_col2im_unpadded_f32(dx: usize, col: usize, desc: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const outH = word(desc, 14), outW = word(desc, 15);
  const positions = outH * outW, vectorEnd = outW & ~3;
  const dstRowBytes = <usize>width << 2, srcRowBytes = <usize>outW << 2;
  for (let item = begin; item < end; item++) {
    const n = item / inChannels, ci = item - n * inChannels;
    const plane = at(dx, item * height * width);
    zeroRange(plane, height * width);
    for (let ky = 0; ky < kernelH; ky++) {
      for (let kx = 0; kx < kernelW; kx++) {
        const k = (ci * kernelH + ky) * kernelW + kx;
        let src = at(col, (k * batch + n) * positions);
        let dst = at(plane, ky * dilationH * width + kx * dilationW);
        for (let oy = 0; oy < outH; oy++) {
          let ox = 0;
          for (; ox < vectorEnd; ox += 4) {
            const o = <usize>ox << 2;
            v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
          }
          for (; ox < outW; ox++) {
            const o = <usize>ox << 2;
            store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
          }
          src += srcRowBytes;
          dst += dstRowBytes;
        }
      }
    }
  }
}

/**
 * NCHW from row-major positions: work item = image n; out[n, c, oy, ox] = rows[(n*OH*rowWidth + oy*rowWidth + ox)*C + c]
 * (+ bias[c]); rows may hold rowWidth >= OW positions per output row, the extra ones skipped. Four channels by four positions at a time
 * through a register transpose when C is a multiple of 4.
 */
export function conv_rows_to_planes_f32(out: usize, rows: usize, bias: usize, hasBias: i32, channels: i32, outH: i32, outW: i32, rowWidth: i32, begin: i32, end: i32): void {
  const imageRows = outH * rowWidth, planeSize = outH * outW;
  const positionBytes = <usize>channels << 2;
  const vectorChannels = channels & ~3;
  for (let n = begin; n < end; n++) {
    const src = at(rows, n * imageRows * channels);
    const dst = at(out, n * channels * planeSize);
    for (let c = 0; c < vectorChannels; c += 4) {
      const b0 = f32x4.splat(hasBias != 0 ? load<f32>(at(bias, c)) : 0), b1 = f32x4.splat(hasBias != 0 ? load<f32>(at(bias, c + 1)) : 0);
      const b2 = f32x4.splat(hasBias != 0 ? load<f32>(at(bias, c + 2)) : 0), b3 = f32x4.splat(hasBias != 0 ? load<f32>(at(bias, c + 3)) : 0);
      const plane0 = at(dst, c * planeSize), planeBytes = <usize>planeSize << 2;
      for (let oy = 0; oy < outH; oy++) {
        const from = at(src, oy * rowWidth * channels + c);
        const to = at(plane0, oy * outW);
        let ox = 0;
        for (; ox + 4 <= outW; ox += 4) {
          const p = from + <usize>ox * positionBytes;
          const v0 = v128.load(p), v1 = v128.load(p + positionBytes), v2 = v128.load(p + 2 * positionBytes), v3 = v128.load(p + 3 * positionBytes);
          const lo01 = f32x4.shuffle(v0, v1, 0, 4, 1, 5), lo23 = f32x4.shuffle(v2, v3, 0, 4, 1, 5);
          const hi01 = f32x4.shuffle(v0, v1, 2, 6, 3, 7), hi23 = f32x4.shuffle(v2, v3, 2, 6, 3, 7);
          const o = to + (<usize>ox << 2);
          if (hasBias != 0) {
            v128.store(o, f32x4.add(f32x4.shuffle(lo01, lo23, 0, 1, 4, 5), b0));
            v128.store(o + planeBytes, f32x4.add(f32x4.shuffle(lo01, lo23, 2, 3, 6, 7), b1));
            v128.store(o + 2 * planeBytes, f32x4.add(f32x4.shuffle(hi01, hi23, 0, 1, 4, 5), b2));
            v128.store(o + 3 * planeBytes, f32x4.add(f32x4.shuffle(hi01, hi23, 2, 3, 6, 7), b3));
          } else {
            v128.store(o, f32x4.shuffle(lo01, lo23, 0, 1, 4, 5));
            v128.store(o + planeBytes, f32x4.shuffle(lo01, lo23, 2, 3, 6, 7));
            v128.store(o + 2 * planeBytes, f32x4.shuffle(hi01, hi23, 0, 1, 4, 5));
            v128.store(o + 3 * planeBytes, f32x4.shuffle(hi01, hi23, 2, 3, 6, 7));
          }
        }
        for (; ox < outW; ox++) {
          const p = from + <usize>ox * positionBytes;
          for (let j = 0; j < 4; j++) {
            const b: f32 = hasBias != 0 ? load<f32>(at(bias, c + j)) : 0;
            const value = load<f32>(at(p, j));
            store<f32>(at(to, j * planeSize + ox), hasBias != 0 ? value + b : value);
          }
        }
      }
    }
    for (let c = vectorChannels; c < channels; c++) {
      const b: f32 = hasBias != 0 ? load<f32>(at(bias, c)) : 0;
      const plane = at(dst, c * planeSize);
      for (let oy = 0; oy < outH; oy++) {
        const from = at(src, oy * rowWidth * channels + c);
        const to = at(plane, oy * outW);
        if (hasBias != 0) for (let ox = 0; ox < outW; ox++) store<f32>(at(to, ox), load<f32>(at(from, ox * channels)) + b);
        else for (let ox = 0; ox < outW; ox++) store<f32>(at(to, ox), load<f32>(at(from, ox * channels)));
      }
    }
  }
}

/** Row-major positions from NCHW, the inverse of conv_rows_to_planes_f32 (without bias); positions ox >= OW of a row get 0. */
export function conv_planes_to_rows_f32(rows: usize, x: usize, channels: i32, outH: i32, outW: i32, rowWidth: i32, begin: i32, end: i32): void {
  const imageRows = outH * rowWidth, planeSize = outH * outW;
  const positionBytes = <usize>channels << 2;
  const vectorChannels = channels & ~3;
  for (let n = begin; n < end; n++) {
    const dst = at(rows, n * imageRows * channels);
    const src = at(x, n * channels * planeSize);
    if (rowWidth > outW) {
      for (let oy = 0; oy < outH; oy++) zeroRange(at(dst, (oy * rowWidth + outW) * channels), (rowWidth - outW) * channels);
    }
    for (let c = 0; c < vectorChannels; c += 4) {
      const plane0 = at(src, c * planeSize), planeBytes = <usize>planeSize << 2;
      for (let oy = 0; oy < outH; oy++) {
        const to = at(dst, oy * rowWidth * channels + c);
        const from = at(plane0, oy * outW);
        let ox = 0;
        for (; ox + 4 <= outW; ox += 4) {
          const f = from + (<usize>ox << 2);
          storeTransposed4x4(v128.load(f), v128.load(f + planeBytes), v128.load(f + 2 * planeBytes), v128.load(f + 3 * planeBytes),
            to + <usize>ox * positionBytes, positionBytes);
        }
        for (; ox < outW; ox++) {
          for (let j = 0; j < 4; j++) store<f32>(at(to, ox * channels + j), load<f32>(at(from, j * planeSize + ox)));
        }
      }
    }
    for (let c = vectorChannels; c < channels; c++) {
      const plane = at(src, c * planeSize);
      for (let oy = 0; oy < outH; oy++) {
        const to = at(dst, oy * rowWidth * channels + c);
        const from = at(plane, oy * outW);
        for (let ox = 0; ox < outW; ox++) store<f32>(at(to, ox * channels), load<f32>(at(from, ox)));
      }
    }
  }
}

// ---- direct kernels, for convolutions with few input channels per group (where im2col + GEMM mostly moves
// memory): stride 1, no padding, any dilation. Sums run in a fixed order: (ci, ky, kx) per output, and
// (n, oy, vector column, then the tail) per weight.

/** Work item = output plane (n, co): out = bias + sum over (ci, ky, kx) of w * the shifted input plane. */
export function conv_direct_f32(out: usize, x: usize, w: usize, bias: usize, hasBias: i32, desc: usize, begin: i32, end: i32): void {
  const inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3), outChannels = word(desc, 4);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const groups = word(desc, 13), outH = word(desc, 14), outW = word(desc, 15);
  const groupIn = inChannels / groups, groupOut = outChannels / groups, taps = kernelH * kernelW;
  for (let item = begin; item < end; item++) {
    const n = item / outChannels, co = item - n * outChannels;
    const firstIn = (co / groupOut) * groupIn;
    const weights = at(w, co * groupIn * taps);
    const b: f32 = hasBias != 0 ? load<f32>(at(bias, co)) : 0;
    const dst = at(out, item * outH * outW);
    if (groupIn == 1 && kernelH == 3 && kernelW == 3 && outW >= 4) {
      direct3x3Plane(dst, at(x, (n * inChannels + firstIn) * height * width), weights, b, width, outH, outW, dilationH * width, dilationW);
      continue;
    }
    for (let oy = 0; oy < outH; oy++) {
      const to = at(dst, oy * outW);
      let ox = 0;
      for (; ox + 8 <= outW; ox += 8) {
        let sum0 = f32x4.splat(b), sum1 = f32x4.splat(b);
        for (let ci = 0; ci < groupIn; ci++) {
          const plane = at(x, ((n * inChannels + firstIn + ci) * height + oy) * width + ox);
          const tapWeights = at(weights, ci * taps);
          for (let ky = 0; ky < kernelH; ky++) {
            const row = at(plane, ky * dilationH * width);
            for (let kx = 0; kx < kernelW; kx++) {
              const weight = v128.load32_splat(at(tapWeights, ky * kernelW + kx));
              const from = at(row, kx * dilationW);
              sum0 = f32x4.add(sum0, f32x4.mul(weight, v128.load(from)));
              sum1 = f32x4.add(sum1, f32x4.mul(weight, v128.load(from, 16)));
            }
          }
        }
        v128.store(at(to, ox), sum0);
        v128.store(at(to, ox), sum1, 16);
      }
      for (; ox < outW; ox++) {
        let sum = b;
        for (let ci = 0; ci < groupIn; ci++) {
          const plane = at(x, ((n * inChannels + firstIn + ci) * height + oy) * width + ox);
          const tapWeights = at(weights, ci * taps);
          for (let ky = 0; ky < kernelH; ky++) {
            for (let kx = 0; kx < kernelW; kx++) {
              sum += load<f32>(at(tapWeights, ky * kernelW + kx)) * load<f32>(at(plane, ky * dilationH * width + kx * dilationW));
            }
          }
        }
        store<f32>(at(to, ox), sum);
      }
    }
  }
}

/**
 * Weight gradient, work item = (co, ci) within its group: for up to four taps at a time, the sum over
 * (n, oy, ox) of grad[n, co, oy, ox] * x[n, ci, oy + ky*dh, ox + kx*dw].
 */
export function conv_direct_weight_f32(dw: usize, x: usize, grad: usize, desc: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), inChannels = word(desc, 1), height = word(desc, 2), width = word(desc, 3), outChannels = word(desc, 4);
  const kernelH = word(desc, 5), kernelW = word(desc, 6), dilationH = word(desc, 11), dilationW = word(desc, 12);
  const groups = word(desc, 13), outH = word(desc, 14), outW = word(desc, 15);
  const groupIn = inChannels / groups, groupOut = outChannels / groups, taps = kernelH * kernelW;
  const vectorEnd = outW & ~3;
  for (let item = begin; item < end; item++) {
    const co = item / groupIn, cg = item - co * groupIn;
    const ci = (co / groupOut) * groupIn + cg;
    const target = at(dw, item * taps);
    if (kernelH == 3 && kernelW == 3) {
      // The next item's channel pair shares this input channel when there is one input channel per group and
      // both output channels are in the same group: one pass serves both (each weight's sum is the same).
      const paired = item + 1 < end && groupIn == 1 && (co + 1) % groupOut != 0;
      direct3x3Weight(target, paired ? at(target, taps) : 0, x, grad, batch, inChannels, outChannels, ci, co, height, width, outH, outW, dilationH * width, dilationW);
      if (paired) item++;
      continue;
    }
    for (let t0 = 0; t0 < taps; t0 += 4) {
      const count = min(4, taps - t0);
      // Input offsets of the (up to) four taps; missing ones repeat the last, and their sums are not stored.
      const o0 = tapOffset(t0, kernelW, dilationH, dilationW, width);
      const o1 = count > 1 ? tapOffset(t0 + 1, kernelW, dilationH, dilationW, width) : o0;
      const o2 = count > 2 ? tapOffset(t0 + 2, kernelW, dilationH, dilationW, width) : o1;
      const o3 = count > 3 ? tapOffset(t0 + 3, kernelW, dilationH, dilationW, width) : o2;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let n = 0; n < batch; n++) {
        const gradPlane = at(grad, (n * outChannels + co) * outH * outW);
        const inputPlane = at(x, (n * inChannels + ci) * height * width);
        for (let oy = 0; oy < outH; oy++) {
          const g = at(gradPlane, oy * outW), row = at(inputPlane, oy * width);
          let ox = 0;
          for (; ox < vectorEnd; ox += 4) {
            const gv = v128.load(at(g, ox));
            const from = at(row, ox);
            a0 = f32x4.add(a0, f32x4.mul(gv, v128.load(at(from, o0))));
            a1 = f32x4.add(a1, f32x4.mul(gv, v128.load(at(from, o1))));
            a2 = f32x4.add(a2, f32x4.mul(gv, v128.load(at(from, o2))));
            a3 = f32x4.add(a3, f32x4.mul(gv, v128.load(at(from, o3))));
          }
          for (; ox < outW; ox++) {
            const gs = load<f32>(at(g, ox));
            const from = at(row, ox);
            s0 += gs * load<f32>(at(from, o0));
            s1 += gs * load<f32>(at(from, o1));
            s2 += gs * load<f32>(at(from, o2));
            s3 += gs * load<f32>(at(from, o3));
          }
        }
      }
      store<f32>(at(target, t0), horizontalSum(a0) + s0);
      if (count > 1) store<f32>(at(target, t0 + 1), horizontalSum(a1) + s1);
      if (count > 2) store<f32>(at(target, t0 + 2), horizontalSum(a2) + s2);
      if (count > 3) store<f32>(at(target, t0 + 3), horizontalSum(a3) + s3);
    }
  }
}

@inline function tapOffset(tap: i32, kernelW: i32, dilationH: i32, dilationW: i32, width: i32): i32 {
  const ky = tap / kernelW, kx = tap - ky * kernelW;
  return ky * dilationH * width + kx * dilationW;
}

@inline function horizontalSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * One output plane of a 3x3 convolution of one input channel, the nine weights held in registers. The last
 * vector of a row overlaps the one before when OW is not a multiple of 4: it recomputes the same values.
 */
function direct3x3Plane(dst: usize, plane: usize, weights: usize, b: f32, width: i32, outH: i32, outW: i32, rowStep: i32, dilationW: i32): void {
  const w00 = v128.load32_splat(weights), w01 = v128.load32_splat(weights, 4), w02 = v128.load32_splat(weights, 8);
  const w10 = v128.load32_splat(weights, 12), w11 = v128.load32_splat(weights, 16), w12 = v128.load32_splat(weights, 20);
  const w20 = v128.load32_splat(weights, 24), w21 = v128.load32_splat(weights, 28), w22 = v128.load32_splat(weights, 32);
  const bv = f32x4.splat(b);
  const step1 = <usize>dilationW << 2, step2 = step1 << 1, rowBytes = <usize>rowStep << 2;
  // Without row dilation, two output rows per pass: they share two input rows, and their sums are two independent
  // chains (each in the same tap order as one row alone, so the bits do not depend on the pairing).
  let oy = 0;
  if (rowStep == width) for (; oy + 2 <= outH; oy += 2) {
    const row0 = at(plane, oy * width), row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
    const to = at(dst, oy * outW), below = to + (<usize>outW << 2);
    for (let ox = 0; ox < outW; ox += 4) {
      if (ox + 4 > outW) ox = outW - 4;
      const o = <usize>ox << 2;
      let x = v128.load(row0 + o);
      let sum = madd(w00, x, bv);
      x = v128.load(row0 + o + step1); sum = madd(w01, x, sum);
      x = v128.load(row0 + o + step2); sum = madd(w02, x, sum);
      x = v128.load(row1 + o); sum = madd(w10, x, sum); let next = madd(w00, x, bv);
      x = v128.load(row1 + o + step1); sum = madd(w11, x, sum); next = madd(w01, x, next);
      x = v128.load(row1 + o + step2); sum = madd(w12, x, sum); next = madd(w02, x, next);
      x = v128.load(row2 + o); sum = madd(w20, x, sum); next = madd(w10, x, next);
      x = v128.load(row2 + o + step1); sum = madd(w21, x, sum); next = madd(w11, x, next);
      x = v128.load(row2 + o + step2); sum = madd(w22, x, sum); next = madd(w12, x, next);
      x = v128.load(row3 + o); next = madd(w20, x, next);
      x = v128.load(row3 + o + step1); next = madd(w21, x, next);
      x = v128.load(row3 + o + step2); next = madd(w22, x, next);
      v128.store(to + o, sum);
      v128.store(below + o, next);
    }
  }
  for (; oy < outH; oy++) {
    const row0 = at(plane, oy * width), row1 = row0 + rowBytes, row2 = row1 + rowBytes;
    const to = at(dst, oy * outW);
    for (let ox = 0; ox < outW; ox += 4) {
      if (ox + 4 > outW) ox = outW - 4;
      const o = <usize>ox << 2;
      let sum = madd(w00, v128.load(row0 + o), bv);
      sum = madd(w01, v128.load(row0 + o + step1), sum);
      sum = madd(w02, v128.load(row0 + o + step2), sum);
      sum = madd(w10, v128.load(row1 + o), sum);
      sum = madd(w11, v128.load(row1 + o + step1), sum);
      sum = madd(w12, v128.load(row1 + o + step2), sum);
      sum = madd(w20, v128.load(row2 + o), sum);
      sum = madd(w21, v128.load(row2 + o + step1), sum);
      sum = madd(w22, v128.load(row2 + o + step2), sum);
      v128.store(to + o, sum);
    }
  }
}

/**
 * The nine weight gradients of one (co, ci) pair of a 3x3 convolution, and of (co + 1, ci) too when
 * `secondTarget` is not 0: one kernel row (three vector sums per output channel) per pass over the gradient,
 * so the sums, the gradient vectors and the loads fit in registers, each input load serving both channels.
 * A row's last few columns come from a vector overlapping the one before (its reads stay inside the rows),
 * with the lanes already counted masked out of the products.
 */
function direct3x3Weight(target: usize, secondTarget: usize, x: usize, grad: usize, batch: i32, inChannels: i32, outChannels: i32, ci: i32, co: i32,
  height: i32, width: i32, outH: i32, outW: i32, rowStep: i32, dilationW: i32): void {
  const step1 = <usize>dilationW << 2, step2 = step1 << 1;
  const vectorEnd = outW & ~3, rest = outW - vectorEnd;
  const overlap = rest != 0 && outW >= 4;
  const lastVector = <usize>(outW - 4) << 2;
  // Without a second channel, the second sums repeat the first channel's (and are not stored).
  const secondPlane: usize = secondTarget != 0 ? <usize>(outH * outW) << 2 : 0;
  // Lanes l >= 4 - rest of the last vector are the columns not yet counted.
  let restMask = i32x4.splat(0);
  if (rest >= 1) restMask = i32x4.replace_lane(restMask, 3, -1);
  if (rest >= 2) restMask = i32x4.replace_lane(restMask, 2, -1);
  if (rest >= 3) restMask = i32x4.replace_lane(restMask, 1, -1);
  for (let ky = 0; ky < 3; ky++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0);
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, t0: f32 = 0, t1: f32 = 0, t2: f32 = 0;
    for (let n = 0; n < batch; n++) {
      const gradPlane = at(grad, (n * outChannels + co) * outH * outW);
      const inputRows = at(x, (n * inChannels + ci) * height * width + ky * rowStep);
      for (let oy = 0; oy < outH; oy++) {
        const g = at(gradPlane, oy * outW), h = g + secondPlane, row = at(inputRows, oy * width);
        for (let ox = 0; ox < vectorEnd; ox += 4) {
          const o = <usize>ox << 2;
          const gv = v128.load(g + o), hv = v128.load(h + o);
          const x0 = v128.load(row + o), x1 = v128.load(row + o + step1), x2 = v128.load(row + o + step2);
          a0 = madd(gv, x0, a0); a1 = madd(gv, x1, a1); a2 = madd(gv, x2, a2);
          d0 = madd(hv, x0, d0); d1 = madd(hv, x1, d1); d2 = madd(hv, x2, d2);
        }
        if (overlap) {
          const gv = v128.load(g + lastVector), hv = v128.load(h + lastVector);
          const x0 = v128.load(row + lastVector), x1 = v128.load(row + lastVector + step1), x2 = v128.load(row + lastVector + step2);
          a0 = f32x4.add(a0, v128.and(f32x4.mul(gv, x0), restMask));
          a1 = f32x4.add(a1, v128.and(f32x4.mul(gv, x1), restMask));
          a2 = f32x4.add(a2, v128.and(f32x4.mul(gv, x2), restMask));
          d0 = f32x4.add(d0, v128.and(f32x4.mul(hv, x0), restMask));
          d1 = f32x4.add(d1, v128.and(f32x4.mul(hv, x1), restMask));
          d2 = f32x4.add(d2, v128.and(f32x4.mul(hv, x2), restMask));
        } else {
          for (let ox = vectorEnd; ox < outW; ox++) {
            const o = <usize>ox << 2;
            const gs = load<f32>(g + o), hs = load<f32>(h + o);
            const x0 = load<f32>(row + o), x1 = load<f32>(row + o + step1), x2 = load<f32>(row + o + step2);
            s0 += gs * x0; s1 += gs * x1; s2 += gs * x2;
            t0 += hs * x0; t1 += hs * x1; t2 += hs * x2;
          }
        }
      }
    }
    const out = at(target, ky * 3);
    store<f32>(out, horizontalSum(a0) + s0);
    store<f32>(out, horizontalSum(a1) + s1, 4);
    store<f32>(out, horizontalSum(a2) + s2, 8);
    if (secondTarget != 0) {
      const second = at(secondTarget, ky * 3);
      store<f32>(second, horizontalSum(d0) + t0);
      store<f32>(second, horizontalSum(d1) + t1, 4);
      store<f32>(second, horizontalSum(d2) + t2, 8);
    }
  }
}

/** Bias gradient: work item = channel c; the sum over images and positions of grad[n, c, :], four vector sums then lanes. */
export function conv_bias_grad_f32(out: usize, grad: usize, batch: i32, channels: i32, positions: i32, begin: i32, end: i32): void {
  const vectorEnd = positions & ~15;
  for (let c = begin; c < end; c++) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let tail: f32 = 0;
    for (let n = 0; n < batch; n++) {
      const plane = at(grad, (n * channels + c) * positions);
      let i = 0;
      for (; i < vectorEnd; i += 16) {
        const p = at(plane, i);
        s0 = f32x4.add(s0, v128.load(p));
        s1 = f32x4.add(s1, v128.load(p, 16));
        s2 = f32x4.add(s2, v128.load(p, 32));
        s3 = f32x4.add(s3, v128.load(p, 48));
      }
      for (; i < positions; i++) tail += load<f32>(at(plane, i));
    }
    store<f32>(at(out, c), horizontalSum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3))) + tail);
  }
}
