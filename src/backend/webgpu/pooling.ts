// WebGPU pooling kernels: max pooling with indices, average and adaptive average pooling, and their backward passes, one thread per element written.
//
// The sizes are the CPU kernels' window words (assembly/pooling.ts): 0 H, 1 W, 2 OH, 3 OW, 4 kh, 5 kw,
// 6 strideH, 7 strideW, 8 padTop, 9 padLeft, 10 dilationH, 11 dilationW, 12 countIncludePad,
// 13 divisorOverride, 14 adaptive, then 15 the size of the second leading dim. Forward kernels compute each
// output's window exactly as the CPU does (same order, same NaN rule); backward kernels gather, per input
// position, over the outputs whose windows can contain it, in ascending output order, which is the order the
// CPU's scatter adds in, so the sums match it bit for bit.
import type { Tensor } from '../../tensor.js';
import type { PoolWindows } from '../../ops/pooling.js';
import { emptyTensor } from '../../ops/support.js';
import { launchFourDimensional, type FourDimensionalOperand } from './convolution.js';

const windowLets = /* wgsl */ `
  let height = s0; let width = s1; let outH = s2; let outW = s3; let kernelH = s4; let kernelW = s5;
  let strideH = s6; let strideW = s7; let padTop = s8; let padLeft = s9; let dilationH = s10; let dilationW = s11;
  let countIncludePad = s12; let divisorOverride = s13; let adaptive = s14; let lead1 = s15;
  let flat = i32(index);`;

/** Splits `flat` over [lead0, lead1, rows, columns]: the plane's two leading coordinates and the position. */
const planeLets = (rows: string, columns: string) => /* wgsl */ `
  let column = flat % ${columns}; let row = (flat / ${columns}) % ${rows};
  let plane = flat / (${columns} * ${rows}); let l0 = plane / lead1; let l1 = plane % lead1;`;

// Average windows, as assembly/pooling.ts's windowStart, windowEnd, paddedExtent and divisorOf.
const averageFunctions = /* wgsl */ `
fn windowStart(o: i32, size: i32, outSize: i32, stride: i32, pad: i32, adaptive: bool) -> i32 {
  if (adaptive) { return (o * size) / outSize; }
  return max(o * stride - pad, 0);
}
fn windowEnd(o: i32, size: i32, outSize: i32, kernel: i32, stride: i32, pad: i32, adaptive: bool) -> i32 {
  if (adaptive) { return ((o + 1) * size + outSize - 1) / outSize; }
  return min(o * stride - pad + kernel, size);
}
fn paddedExtent(o: i32, size: i32, kernel: i32, stride: i32, pad: i32) -> i32 {
  let start = o * stride - pad;
  return min(start + kernel, size + pad) - start;
}
fn divisorOf(oy: i32, ox: i32, y0: i32, y1: i32, x0: i32, x1: i32) -> f32 {
  let adaptive = paramI32(15u) != 0;
  if (!adaptive && paramI32(14u) != 0) { return f32(paramI32(14u)); }
  if (!adaptive && paramI32(13u) != 0) {
    return f32(paddedExtent(oy, paramI32(1u), paramI32(5u), paramI32(7u), paramI32(9u)) * paddedExtent(ox, paramI32(2u), paramI32(6u), paramI32(8u), paramI32(10u)));
  }
  return f32((y1 - y0) * (x1 - x0));
}
`;

// One output of max pooling as the CPU's maxWindow: -inf start, the first position read after skipping the
// padding as the index when nothing beats it, a NaN always taken (the last NaN wins). read0 is X.
const maxForwardBody = /* wgsl */ `${windowLets}${planeLets('outH', 'outW')}
  var ih0 = row * strideH - padTop;
  let ih1 = min(ih0 + (kernelH - 1) * dilationH + 1, height);
  if (ih0 < 0) { ih0 += ((-ih0 + dilationH - 1) / dilationH) * dilationH; }
  var iw0 = column * strideW - padLeft;
  let iw1 = min(iw0 + (kernelW - 1) * dilationW + 1, width);
  if (iw0 < 0) { iw0 += ((-iw0 + dilationW - 1) / dilationW) * dilationW; }
  var best = -inf();
  var bestIndex = ih0 * width + iw0;
  for (var ih = ih0; ih < ih1; ih += dilationH) {
    for (var iw = iw0; iw < iw1; iw += dilationW) {
      let value = bitcast<f32>(read0(l0, l1, ih, iw));
      if (isNan(value) || value > best) { best = value; bestIndex = ih * width + iw; }
    }
  }
  output1[index] = bitcast<u32>(best);
  output2[index] = bitcast<u32>(bestIndex);`;

// dX at (row, column) = the sum of the gradients of the outputs whose window spans it and whose index names it
// (read0 G, read1 indices), as PyTorch's CUDA kernel. An index no window spans (a window that reads only
// padding, whose output is -inf) adds nothing; the CPU kernel adds it where it lands inside the plane.
const maxBackwardBody = /* wgsl */ `${windowLets}${planeLets('height', 'width')}
  let spanH = (kernelH - 1) * dilationH + 1; let spanW = (kernelW - 1) * dilationW + 1;
  let oy0 = select(0, (row + padTop - spanH) / strideH + 1, row + padTop >= spanH);
  let oy1 = min((row + padTop) / strideH + 1, outH);
  let ox0 = select(0, (column + padLeft - spanW) / strideW + 1, column + padLeft >= spanW);
  let ox1 = min((column + padLeft) / strideW + 1, outW);
  let position = row * width + column;
  var sum = 0.0;
  for (var oy = oy0; oy < oy1; oy++) {
    for (var ox = ox0; ox < ox1; ox++) {
      if (bitcast<i32>(read1(l0, l1, oy, ox)) == position) { sum += bitcast<f32>(read0(l0, l1, oy, ox)); }
    }
  }
  output1[index] = bitcast<u32>(sum);`;

// One output of average pooling: the float32 sum of its clipped window in row-major order, then one division (read0 X).
const averageForwardBody = /* wgsl */ `${windowLets}${planeLets('outH', 'outW')}
  let isAdaptive = adaptive != 0;
  let y0 = windowStart(row, height, outH, strideH, padTop, isAdaptive);
  let y1 = windowEnd(row, height, outH, kernelH, strideH, padTop, isAdaptive);
  let x0 = windowStart(column, width, outW, strideW, padLeft, isAdaptive);
  let x1 = windowEnd(column, width, outW, kernelW, strideW, padLeft, isAdaptive);
  var sum = 0.0;
  for (var y = y0; y < y1; y++) { for (var x = x0; x < x1; x++) { sum += bitcast<f32>(read0(l0, l1, y, x)); } }
  output1[index] = bitcast<u32>(sum / divisorOf(row, column, y0, y1, x0, x1));`;

// dX at (row, column) = the sum of grad / divisor over the outputs whose clipped window contains it (read0 G).
// Candidates: along a dim, o with o*stride - pad <= p < o*stride - pad + kernel, or for adaptive windows
// floor(p*out/size) <= o < ceil((p+1)*out/size); each is checked against its window before it adds.
const averageBackwardBody = /* wgsl */ `${windowLets}${planeLets('height', 'width')}
  let isAdaptive = adaptive != 0;
  var oy0: i32; var oy1: i32; var ox0: i32; var ox1: i32;
  if (isAdaptive) {
    oy0 = (row * outH) / height; oy1 = ((row + 1) * outH + height - 1) / height;
    ox0 = (column * outW) / width; ox1 = ((column + 1) * outW + width - 1) / width;
  } else {
    oy0 = select(0, (row + padTop - kernelH + strideH) / strideH, row + padTop - kernelH + 1 > 0);
    oy1 = (row + padTop) / strideH + 1;
    ox0 = select(0, (column + padLeft - kernelW + strideW) / strideW, column + padLeft - kernelW + 1 > 0);
    ox1 = (column + padLeft) / strideW + 1;
  }
  oy1 = min(oy1, outH); ox1 = min(ox1, outW);
  var sum = 0.0;
  for (var oy = oy0; oy < oy1; oy++) {
    let y0 = windowStart(oy, height, outH, strideH, padTop, isAdaptive);
    let y1 = windowEnd(oy, height, outH, kernelH, strideH, padTop, isAdaptive);
    if (row < y0 || row >= y1) { continue; }
    for (var ox = ox0; ox < ox1; ox++) {
      let x0 = windowStart(ox, width, outW, strideW, padLeft, isAdaptive);
      let x1 = windowEnd(ox, width, outW, kernelW, strideW, padLeft, isAdaptive);
      if (column < x0 || column >= x1) { continue; }
      sum += bitcast<f32>(read0(l0, l1, oy, ox)) / divisorOf(oy, ox, y0, y1, x0, x1);
    }
  }
  output1[index] = bitcast<u32>(sum);`;

/** A 3-D [C, H, W] or 4-D [N, C, H, W] tensor read as 4-D (a 3-D one gets a leading dim of 1). */
function planesOf(tensor: Tensor): FourDimensionalOperand {
  const s = tensor.strides;
  return { tensor, strides: tensor.dim() === 4 ? [s[0], s[1], s[2], s[3]] : [0, s[0], s[1], s[2]] };
}

function sizesOf(windows: PoolWindows): number[] {
  const lead = windows.inputShape.slice(0, -2);
  return [...windows.words, lead[lead.length - 1]];
}

/** Max pooling: values and int32 indices flat within each plane. */
export function maxPool2d(x: Tensor, windows: PoolWindows): [Tensor, Tensor] {
  const out = emptyTensor(windows.outputShape, 'float32', 'webgpu'), indices = emptyTensor(windows.outputShape, 'int32', 'webgpu');
  launchFourDimensional('max-pool', '', maxForwardBody, [out, indices], [planesOf(x)], sizesOf(windows), out.numel());
  return [out, indices];
}

/** The gradient of max pooling from the output gradient and the forward's indices. */
export function maxPool2dBackward(grad: Tensor, indices: Tensor, windows: PoolWindows): Tensor {
  const out = emptyTensor(windows.inputShape, 'float32', 'webgpu');
  launchFourDimensional('max-pool-backward', '', maxBackwardBody, [out], [planesOf(grad), planesOf(indices)], sizesOf(windows), out.numel());
  return out;
}

/** Average pooling (adaptive when the windows say so). */
export function avgPool2d(x: Tensor, windows: PoolWindows): Tensor {
  const out = emptyTensor(windows.outputShape, 'float32', 'webgpu');
  launchFourDimensional('avg-pool', averageFunctions, averageForwardBody, [out], [planesOf(x)], sizesOf(windows), out.numel());
  return out;
}

/** The adjoint of avgPool2d. */
export function avgPool2dBackward(grad: Tensor, windows: PoolWindows): Tensor {
  const out = emptyTensor(windows.inputShape, 'float32', 'webgpu');
  launchFourDimensional('avg-pool-backward', averageFunctions, averageBackwardBody, [out], [planesOf(grad)], sizesOf(windows), out.numel());
  return out;
}
