// Convolution kernels: im2col / col2im around the packed GEMM, layout moves between NCHW and channel-major, and direct kernels for few input channels.
//
// Geometry descriptor (i32 words at `desc`), for a convolution from X [N, Cin, H, W] to Y [N, Cout, OH, OW]:
//   0 N, 1 Cin, 2 H, 3 W, 4 Cout, 5 kh, 6 kw, 7 strideH, 8 strideW, 9 padTop, 10 padLeft, 11 dilationH,
//   12 dilationW, 13 groups, 14 OH, 15 OW.
// Only the top/left padding is given: the output size fixes the rest, so 'same' with an even kernel (more
// padding after than before, as in PyTorch) needs nothing special.
// The column matrix is [Cin*kh*kw, N*OH*OW]: row (ci, ky, kx), column (n, oy, ox). Every kernel's work items
// write disjoint outputs and sum in a fixed order, so any split across threads gives the same bits.

@inline function word(desc: usize, index: i32): i32 {
  return load<i32>(desc + (<usize>index << 2));
}

@inline function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

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

/**
 * NCHW from channel-major: work item = (n, c); out[n, c, :] = cm[c, n*P .. n*P + P) (+ bias[c] when hasBias).
 */
export function conv_channels_to_planes_f32(out: usize, cm: usize, bias: usize, hasBias: i32, batch: i32, channels: i32, positions: i32, begin: i32, end: i32): void {
  for (let item = begin; item < end; item++) {
    const n = item / channels, c = item - n * channels;
    const dst = at(out, item * positions), src = at(cm, (c * batch + n) * positions);
    if (hasBias == 0) { copyRange(dst, src, positions); continue; }
    const b = load<f32>(at(bias, c));
    const bv = f32x4.splat(b);
    let i = 0;
    for (; i + 4 <= positions; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(src, i)), bv));
    for (; i < positions; i++) store<f32>(at(dst, i), load<f32>(at(src, i)) + b);
  }
}

/** Channel-major from NCHW: work item = (c, n); cm[c, n*P .. n*P + P) = x[n, c, :]. */
export function conv_planes_to_channels_f32(cm: usize, x: usize, batch: i32, channels: i32, positions: i32, begin: i32, end: i32): void {
  for (let item = begin; item < end; item++) {
    const c = item / batch, n = item - c * batch;
    copyRange(at(cm, item * positions), at(x, (n * channels + c) * positions), positions);
  }
}
