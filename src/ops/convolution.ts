// conv1d, conv2d and convTranspose2d: PyTorch's argument rules and errors, im2col + packed GEMM over the whole minibatch (Winograd for 3x3 stride-1 ones), and their autograd.
//
// Three computations share one geometry (a convolution from X [N, Cin, H, W] to Y [N, Cout, OH, OW]):
// the convolution Y = conv(X, W), its input gradient X = convT(Y, W) (which is also convTranspose2d), and its
// weight gradient W = wgrad(X, Y). Each is the adjoint of the others in one argument, so the derivative of any
// of them is written with the other two and createGraph gives higher derivatives.
import { wasm } from '../backend/wasm/device.js';
import { torchName } from '../dtype.js';
import { ArgumentError, DtypeError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { gemm } from './linalg.js';
import { contiguous, reshape, squeeze, unsqueeze } from './shape.js';
import { addressOf, checkOptions, describeValue, emptyTensor, formatShape, sameDevice } from './support.js';
import { fill_ } from './elementwise.js';
import * as gpu from '../backend/webgpu/convolution.js';

/** A convolution's full geometry; padTop/padLeft only, as the output size fixes the padding after. */
export interface ConvGeometry {
  readonly batch: number;
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly groups: number;
  readonly outH: number;
  readonly outW: number;
}

const inputShapeOf = (g: ConvGeometry) => [g.batch, g.inChannels, g.height, g.width];
const outputShapeOf = (g: ConvGeometry) => [g.batch, g.outChannels, g.outH, g.outW];
const weightShapeOf = (g: ConvGeometry) => [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW];

function describeGeometry(g: ConvGeometry): number {
  return wasm.describeWords([g.batch, g.inChannels, g.height, g.width, g.outChannels, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.dilationH, g.dilationW, g.groups, g.outH, g.outW]);
}

// Estimated nanoseconds per work item, for launch's decision to use the pool: moving a float costs ~0.3 ns.
const nsPerFloat = 0.3;
// A SIMD multiply-add on one thread: ~40 GFLOP/s.
const nsPerMultiplyAdd = 0.05;

/**
 * A contiguous float32 handle on t: t itself, or a copy made outside autograd (the caller disposes it). The
 * WebGPU kernels read through strides, so a GPU tensor is used as it is.
 */
function dense(t: Tensor): Tensor {
  if (t.device === 'webgpu') return t;
  return noGrad(() => contiguous(t));
}

function release(copy: Tensor, original: Tensor): void {
  if (copy !== original) copy.dispose();
}

/**
 * How a geometry runs. With stride 1 and no padding, im2col and col2im move whole output rows (no window
 * bookkeeping); with few input channels per group the forward and weight-gradient kernels are direct
 * (im2col + GEMM would mostly move memory). Otherwise the general im2col / col2im.
 */
interface Plan {
  readonly unitStrideUnpadded: boolean;
  readonly direct: boolean;
  /** Forward, input gradient and weight gradient by Winograd F(2x2, 3x3) (assembly/winograd.ts). */
  readonly winograd: boolean;
  readonly groupOut: number;
  readonly groupK: number;
  /** Columns of the column matrix: the output positions N * OH * OW. */
  readonly columns: number;
}

/** At most this many multiply-adds per output (Cin/groups * kh * kw) run on the direct kernels. */
const directLimit = 16;

/**
 * Winograd's 16 products are Cout x Cin each (Cin x Cout for the input gradient): with fewer channels they are
 * too shallow to pay for the transforms.
 */
const winogradMinimumChannels = 8;

function planOf(g: ConvGeometry): Plan {
  const unpadded = g.padTop === 0 && g.padLeft === 0 && g.outH === g.height - g.dilationH * (g.kernelH - 1) && g.outW === g.width - g.dilationW * (g.kernelW - 1);
  const unitStrideUnpadded = unpadded && g.strideH === 1 && g.strideW === 1;
  const groupK = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
  const winograd = winogradEnabled && g.kernelH === 3 && g.kernelW === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1 &&
    g.groups === 1 && g.inChannels >= winogradMinimumChannels && g.outChannels >= winogradMinimumChannels && g.padTop <= 2 && g.padLeft <= 2 &&
    // One image's transforms live in the GEMM's per-thread scratch, for the forward and both gradients.
    Math.max(wasm.kernels.winograd_scratch_floats(g.inChannels, g.outChannels, Math.ceil(g.outH / 2), Math.ceil(g.outW / 2)),
      wasm.kernels.winograd_scratch_floats(g.outChannels, g.inChannels, Math.ceil(g.height / 2), Math.ceil(g.width / 2)),
      wasm.kernels.winograd_weight_scratch_floats(g.inChannels, g.outChannels, Math.ceil(g.outH / 2), Math.ceil(g.outW / 2))) * 4 <= wasm.kernels.gemm_scratch_bytes();
  return {
    unitStrideUnpadded, direct: unitStrideUnpadded && groupK <= directLimit, winograd, groupOut: g.outChannels / g.groups, groupK,
    columns: g.batch * g.outH * g.outW,
  };
}

/** The column matrix [Cin*kh*kw, N*OH*OW] of x (contiguous, X-shaped). */
function im2col(x: Tensor, g: ConvGeometry, plan: Plan): Tensor {
  const rows = g.inChannels * g.kernelH * g.kernelW;
  const col = emptyTensor([rows, plan.columns], 'float32');
  const perItem = g.outH * g.outW * nsPerFloat * (plan.unitStrideUnpadded ? 1 : 3);
  wasm.launch(plan.unitStrideUnpadded ? 'conv_im2col_unpadded_f32' : 'conv_im2col_f32', [addressOf(col), addressOf(x), describeGeometry(g)], rows * g.batch, perItem);
  return col;
}

/** y [N, C, OH, OW] (contiguous) as row-major positions [N*OH*OW, C]: the GEMMs' operand. */
function positionRows(y: Tensor, g: ConvGeometry, plan: Plan): Tensor {
  const rows = emptyTensor([plan.columns, g.outChannels], 'float32');
  wasm.launch('conv_planes_to_rows_f32', [addressOf(rows), addressOf(y), g.outChannels, g.outH, g.outW, g.outW], g.batch,
    g.outChannels * g.outH * g.outW * nsPerFloat * 3);
  return rows;
}

/**
 * Winograd F(2x2, 3x3) (assembly/winograd.ts): out [N, outC, outH, outW] = the stride-1 3x3 convolution of input
 * [N, inC, H, W] with top/left padding `pad`, zeros outside the input, plus bias. `transposed` takes its filters
 * from w as the transpose of w's convolution: w [outC', inC', 3, 3] with outC' = inC, each filter turned 180 degrees.
 * Returns false, with `out` unfinished, when an input or a filter holds an infinity or NaN: the transforms would
 * make NaN of an infinity (inf - inf), so the caller takes the GEMM path.
 */
function winogradConvolution(out: Tensor, input: Tensor, w: Tensor, bias: Tensor | null, pad: [number, number], transposed: boolean): boolean {
  const [batch, inC, height, width] = input.shape, [, outC, outH, outW] = out.shape;
  const tilesH = Math.ceil(outH / 2), tilesW = Math.ceil(outW / 2);
  // U's rows for channels past a multiple of 4 must be zero (assembly/winograd.ts).
  const u = emptyTensor([16 * paddedChannels(inC) * outC], 'float32');
  try {
    if (inC % 4 !== 0) fill_(u, 0);
    return allFinite((status) => {
      wasm.launch('winograd_weights_f32', [addressOf(u), addressOf(w), outC, inC, transposed ? 1 : 0, outC, 1, u.numel() / 16, status], outC * inC, 40 * nsPerFloat);
      // Images are split into bands of tile rows when the batch alone gives fewer than 8 work items (inference on
      // one image would run on one thread); the bits do not depend on it.
      const bands = Math.min(tilesH, Math.ceil(winogradWorkItems / batch)), bandRows = Math.ceil(tilesH / bands);
      const items = batch * Math.ceil(tilesH / bandRows);
      const desc = wasm.describeWords([batch, inC, height, width, outC, outH, outW, pad[0], pad[1], tilesH, tilesW, bandRows]);
      wasm.launch('winograd_conv_f32', [addressOf(out), addressOf(input), addressOf(u), bias ? addressOf(bias) : 0, bias ? 1 : 0, desc, status, 0], items,
        bandRows * tilesW * 16 * outC * inC * nsPerMultiplyAdd, 1, 7);
    });
  } finally {
    u.dispose();
  }
}

/**
 * Winograd's weight gradient (assembly/winograd.ts): partial sums over fixed chunks of images (their count depends
 * on the shapes only, so the bits do not depend on the thread count), then G^T dU G per filter. With `input`, the
 * input gradient too (into input.out), from the same transform of y. Returns false, as winogradConvolution, when
 * x, y or the filters hold an infinity or NaN.
 */
function winogradWeightGradient(out: Tensor, x: Tensor, y: Tensor, g: ConvGeometry, input: { out: Tensor; w: Tensor } | null = null): boolean {
  const tilesH = Math.ceil(g.outH / 2), tilesW = Math.ceil(g.outW / 2);
  const chunkFloats = wasm.kernels.winograd_chunk_floats(g.inChannels, g.outChannels);
  const chunks = weightChunks(g);
  const paddedIn = paddedChannels(g.inChannels), paddedOut = paddedChannels(g.outChannels);
  const partials = emptyTensor([chunks * chunkFloats], 'float32');
  let ut: Tensor | null = null;
  try {
    // The input gradient's filters: U laid out [16][Op][Cp], the entries of padding channels zero.
    if (input) ut = emptyTensor([16 * paddedOut * paddedIn], 'float32');
    if (!allFinite((status) => {
      if (input && ut) {
        if (paddedIn !== g.inChannels || paddedOut !== g.outChannels) fill_(ut, 0);
        wasm.launch('winograd_weights_f32', [addressOf(ut), addressOf(input.w), g.outChannels, g.inChannels, 0, 1, paddedIn, paddedOut * paddedIn, status],
          g.outChannels * g.inChannels, 40 * nsPerFloat);
      }
      const desc = wasm.describeWords([g.batch, g.inChannels, g.height, g.width, g.outChannels, g.outH, g.outW, g.padTop, g.padLeft, tilesH, tilesW, chunks]);
      wasm.launch('winograd_weight_grad_f32', [addressOf(partials), input ? addressOf(input.out) : 0, ut ? addressOf(ut) : 0, addressOf(x), addressOf(y),
        desc, status, 0], chunks, Math.ceil(g.batch / chunks) * tilesH * tilesW * 16 * g.inChannels * g.outChannels * nsPerMultiplyAdd * (input ? 2 : 1), 1, 7);
    })) return false;
    // The chunks are summed in order into the first, four floats per work item (16*Cp*Op floats).
    if (chunks > 1) wasm.launch('winograd_weight_sum_f32', [addressOf(partials), chunks, chunkFloats], (16 * paddedIn * paddedOut) / 4, chunks * 4 * nsPerFloat);
    wasm.launch('winograd_weight_finish_f32', [addressOf(out), addressOf(partials), g.outChannels, g.inChannels], g.outChannels * g.inChannels,
      16 * nsPerFloat);
    return true;
  } finally {
    partials.dispose();
    ut?.dispose();
  }
}

/**
 * Both gradients of a Winograd convolution in one pass over the images (they share the transform of the output
 * gradient, and the input gradient uses the forward's tiling): [dx, dw], or null when an operand holds an infinity
 * or NaN (the caller then computes them apart).
 */
function winogradBackward(grad: Tensor, x: Tensor, w: Tensor, g: ConvGeometry): [Tensor, Tensor] | null {
  const copies: Tensor[] = [], results: Tensor[] = [];
  const denseCopy = (t: Tensor) => { const d = dense(t); if (d !== t) copies.push(d); return d; };
  let done = false;
  try {
    const gradDense = denseCopy(grad), xDense = denseCopy(x), wDense = denseCopy(w);
    const dx = emptyTensor(inputShapeOf(g), 'float32');
    results.push(dx);
    const dw = emptyTensor(weightShapeOf(g), 'float32');
    results.push(dw);
    done = winogradWeightGradient(dw, xDense, gradDense, g, { out: dx, w: wDense });
    return done ? [dx, dw] : null;
  } finally {
    for (const t of copies) t.dispose();
    if (!done) for (const t of results) t.dispose();
  }
}

/**
 * How many chunks of images (as even as integer division makes them) the weight gradient sums the batch in: 8,
 * fewer when the batch is smaller or the layer so wide that 8 partial sums would pass 32 MiB. The shapes alone
 * decide it.
 */
function weightChunks(g: ConvGeometry): number {
  const chunkFloats = wasm.kernels.winograd_chunk_floats(g.inChannels, g.outChannels);
  return Math.max(1, Math.min(winogradWeightChunks, g.batch, Math.floor(winogradPartialFloats / chunkFloats)));
}

/** Channels rounded up to a multiple of 4, as the Winograd kernels lay them out (one vector holds four). */
const paddedChannels = (channels: number) => Math.ceil(channels / 4) * 4;

/** Work items a Winograd convolution is split into at least, where the image rows allow. */
const winogradWorkItems = 8;
/** The weight gradient's images are summed in this many chunks (at most): enough to share among the threads. */
const winogradWeightChunks = 8;
/** ... and their partial sums take at most this many floats (32 MiB), fewer chunks for wide layers. */
const winogradPartialFloats = 8 * 1024 * 1024;

/** Runs `launch` with a zeroed status word that the Winograd kernels set on meeting a non-finite value; true if none did. */
function allFinite(launch: (status: number) => void): boolean {
  const status = emptyTensor([1], 'int32');
  try {
    const word = addressOf(status) >> 2;
    wasm.i32[word] = 0;
    launch(addressOf(status));
    return wasm.i32[word] === 0;
  } finally {
    status.dispose();
  }
}

let winogradEnabled = true;

/**
 * torch.backend.setWinograd: whether 3x3 stride-1 convolutions may run on Winograd F(2x2, 3x3) (the default).
 * false keeps im2col's sums, whose rounding depends only on each output's own 3x3 window. Returns the previous setting.
 */
export function setWinograd(enabled: boolean): boolean {
  if (typeof enabled !== 'boolean') throw new ArgumentError(`setWinograd: expected true or false, got ${describeValue(enabled)}`);
  const previous = winogradEnabled;
  winogradEnabled = enabled;
  return previous;
}

/** Y = conv(X, W) (+ bias). GEMM path: rows [N*OH*OW, Cout] = col^T W^T per group, over the whole minibatch. */
function convolutionRaw(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): { out: Tensor; col: Tensor | null } {
  if (x.device === 'webgpu') return { out: gpu.convolution(x, w, bias, g), col: null };
  const plan = planOf(g);
  const out = emptyTensor(outputShapeOf(g), 'float32');
  const biasArgs = [bias ? addressOf(bias) : 0, bias ? 1 : 0];
  if (plan.winograd && winogradConvolution(out, x, w, bias, [g.padTop, g.padLeft], false)) return { out, col: null };
  if (plan.direct) {
    wasm.launch('conv_direct_f32', [addressOf(out), addressOf(x), addressOf(w), ...biasArgs, describeGeometry(g)], g.batch * g.outChannels,
      g.outH * g.outW * plan.groupK * nsPerFloat);
    return { out, col: null };
  }
  const col = im2col(x, g, plan);
  const { columns } = plan;
  const rows = emptyTensor([columns, g.outChannels], 'float32');
  if (plan.groupK === 0) fill_(rows, 0);
  else {
    for (let group = 0; group < g.groups; group++) {
      gemm(columns, plan.groupOut, plan.groupK, addressOf(col) + 4 * group * plan.groupK * columns, 1, columns,
        addressOf(w) + 4 * group * plan.groupOut * plan.groupK, 1, plan.groupK, addressOf(rows) + 4 * group * plan.groupOut, g.outChannels);
    }
  }
  wasm.launch('conv_rows_to_planes_f32', [addressOf(out), addressOf(rows), ...biasArgs, g.outChannels, g.outH, g.outW, g.outW], g.batch,
    g.outChannels * g.outH * g.outW * nsPerFloat * 3);
  rows.dispose();
  return { out, col };
}

/** X-shaped convT(Y, W): per group, col [K, N*OH*OW] = W^T times Y's position rows transposed, then col2im. */
function convolutionTransposeRaw(y: Tensor, w: Tensor, g: ConvGeometry, givenRows: Tensor | null): Tensor {
  if (y.device === 'webgpu') return gpu.convolutionInputGradient(y, w, g);
  const plan = planOf(g);
  const { columns } = plan;
  const out = emptyTensor(inputShapeOf(g), 'float32');
  if (plan.groupK === 0) return out;
  // The input gradient is itself a 3x3 stride-1 convolution: of y padded by 2 - pad, with w turned and transposed.
  if (plan.winograd && winogradConvolution(out, y, w, null, [2 - g.padTop, 2 - g.padLeft], true)) return out;
  const rows = givenRows ?? positionRows(y, g, plan);
  const col = emptyTensor([g.inChannels * g.kernelH * g.kernelW, columns], 'float32');
  for (let group = 0; group < g.groups; group++) {
    gemm(plan.groupK, columns, plan.groupOut, addressOf(w) + 4 * group * plan.groupOut * plan.groupK, 1, plan.groupK,
      addressOf(rows) + 4 * group * plan.groupOut, 1, g.outChannels, addressOf(col) + 4 * group * plan.groupK * columns, columns);
  }
  if (rows !== givenRows) rows.dispose();
  wasm.launch(plan.unitStrideUnpadded ? 'conv_col2im_unpadded_f32' : 'conv_col2im_f32', [addressOf(out), addressOf(col), describeGeometry(g)],
    g.batch * g.inChannels, g.kernelH * g.kernelW * g.outH * g.outW * nsPerFloat * (plan.unitStrideUnpadded ? 1 : 3));
  col.dispose();
  return out;
}

/** W-shaped wgrad(X, Y): direct, or per group [Cout/groups, K] = Y's position rows transposed times col transposed. */
function convolutionWeightRaw(x: Tensor | null, y: Tensor, g: ConvGeometry, savedCol: Tensor | null, givenRows: Tensor | null): Tensor {
  // The GPU forward keeps no column matrix, so x is always given there.
  if (y.device === 'webgpu') return gpu.convolutionWeightGradient(x!, y, g);
  const plan = planOf(g);
  const out = emptyTensor(weightShapeOf(g), 'float32');
  if (plan.groupOut === 0 || plan.groupK === 0) return out;
  if (plan.columns === 0) { fill_(out, 0); return out; }
  if (plan.winograd && winogradWeightGradient(out, x!, y, g)) return out;
  if (plan.direct) {
    // Tiles at multiples of 2: the 3x3 kernel does two output channels per pass over the input.
    wasm.launch('conv_direct_weight_f32', [addressOf(out), addressOf(x!), addressOf(y), describeGeometry(g)], g.outChannels * (g.inChannels / g.groups),
      g.batch * g.outH * g.outW * g.kernelH * g.kernelW * nsPerFloat, 2);
    return out;
  }
  const { columns } = plan;
  const rows = givenRows ?? positionRows(y, g, plan);
  const col = savedCol ?? im2col(x!, g, plan);
  // W's layout directly: [Cout/groups, K] = (position rows)^T col^T per group; the deep sum over positions is
  // what the GEMM splits between threads (runtime.ts).
  for (let group = 0; group < g.groups; group++) {
    gemm(plan.groupOut, plan.groupK, columns, addressOf(rows) + 4 * group * plan.groupOut, 1, g.outChannels,
      addressOf(col) + 4 * group * plan.groupK * columns, 1, columns, addressOf(out) + 4 * group * plan.groupOut * plan.groupK, plan.groupK);
  }
  if (rows !== givenRows) rows.dispose();
  if (col !== savedCol) col.dispose();
  return out;
}

/**
 * The recorded convolution (x, w, bias already checked, 4-D, float32). The column matrix is kept for the
 * weight gradient when that will be needed, instead of being rebuilt in backward.
 */
export function convolutionOp(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const xDense = dense(x), wDense = dense(w), biasDense = bias ? dense(bias) : null;
  const { out, col } = convolutionRaw(xDense, wDense, biasDense, g);
  release(xDense, x); release(wDense, w);
  if (biasDense && bias) release(biasDense, bias);
  const keepCol = isGradEnabled() && w.requiresGrad;
  record('ConvolutionBackward0', [x, w, bias], [out], () => derivatives.convolution(g, bias !== null), () => [x, w, keepCol ? col : null]);
  col?.dispose();
  return out;
}

/** The recorded convT(y, w): X-shaped; the input gradient of a convolution and convTranspose2d's forward. */
export function convolutionTransposeOp(y: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry, rows: Tensor | null = null, computed: Tensor | null = null): Tensor {
  let out = computed;
  if (!out) {
    // Position rows made by the caller replace y for the GEMM; Winograd reads y itself.
    const yDense = rows && !planOf(g).winograd ? y : dense(y), wDense = dense(w);
    out = convolutionTransposeRaw(yDense, wDense, g, rows);
    release(yDense, y); release(wDense, w);
  }
  if (bias) noGrad(() => { const view = reshape(bias, [[1, -1, 1, 1]]); out.add_(view); view.dispose(); });
  record('ConvolutionBackward0', [y, w, bias], [out], () => derivatives.convolutionTranspose(g, bias !== null), () => [y, w]);
  return out;
}

/** The recorded wgrad(x, y): W-shaped, the weight gradient of a convolution. */
export function convolutionWeightOp(x: Tensor, y: Tensor, g: ConvGeometry, savedCol: Tensor | null = null, rows: Tensor | null = null,
  computed: Tensor | null = null): Tensor {
  let out = computed;
  if (!out) {
    const { direct, winograd } = planOf(g);
    const yDense = rows && !direct && !winograd ? y : dense(y);
    const xDense = savedCol && !direct && !winograd ? null : dense(x);
    out = convolutionWeightRaw(xDense, yDense, g, savedCol, rows);
    release(yDense, y);
    if (xDense) release(xDense, x);
  }
  record('ConvolutionBackwardWeight', [x, y], [out], () => derivatives.convolutionWeight(g), () => [x, y]);
  return out;
}

/**
 * A convolution's input and weight gradients (each when asked for), as the two recorded ops above; the
 * gradient's position rows, which both GEMMs read, are made once, and on Winograd both come from one pass.
 */
export function convolutionBackward(grad: Tensor, x: Tensor, w: Tensor, savedCol: Tensor | null, g: ConvGeometry, needsInput: boolean, needsWeight: boolean): [Tensor | null, Tensor | null] {
  const plan = planOf(g);
  // One pass for both gradients has as many work items as the weight gradient's chunks: taken when that is as many
  // as the input gradient's own launch would have (decided by the shapes, so the bits do not depend on the threads).
  const fused = grad.device === 'cpu' && plan.winograd && needsInput && needsWeight && plan.columns > 0 && weightChunks(g) >= winogradWorkItems;
  const both = fused ? winogradBackward(grad, x, w, g) : null;
  if (both) return [convolutionTransposeOp(grad, w, null, g, null, both[0]), convolutionWeightOp(x, grad, g, null, null, both[1])];
  const shareRows = grad.device === 'cpu' && needsInput && needsWeight && !plan.direct && !plan.winograd && plan.groupK > 0 && plan.groupOut > 0;
  const gradDense = shareRows ? dense(grad) : grad;
  const rows = shareRows ? positionRows(gradDense, g, plan) : null;
  try {
    return [
      needsInput ? convolutionTransposeOp(grad, w, null, g, rows) : null,
      needsWeight ? convolutionWeightOp(x, grad, g, savedCol, rows) : null,
    ];
  } finally {
    rows?.dispose();
    if (shareRows) release(gradDense, grad);
  }
}

/** A convolution's bias gradient, grad.sum([0, 2, 3]) on its own kernel; recorded as that sum, so it stays differentiable. */
export function convolutionBiasGradient(grad: Tensor): Tensor {
  const out = grad.device === 'webgpu' ? gpu.convolutionBiasGradient(grad) : biasGradientCpu(grad);
  record('SumBackward1', [grad], [out], () => derivatives.sum(grad.shape, [0, 2, 3], false, 1));
  return out;
}

function biasGradientCpu(grad: Tensor): Tensor {
  const g = dense(grad);
  const [batch, channels, height, width] = g.shape;
  const out = emptyTensor([channels], 'float32');
  wasm.launch('conv_bias_grad_f32', [addressOf(out), addressOf(g), batch, channels, height * width], channels, batch * height * width * nsPerFloat);
  release(g, grad);
  return out;
}

// ---- argument parsing and PyTorch's checks (all before anything is allocated)

type Sizes = number | readonly number[];

function checkTensor(value: unknown, where: string, name: string): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${where}: ${name} must be a tensor, got ${describeValue(value)}`);
  void value.storage;
  if (value.dtype !== 'float32') throw new DtypeError(`${where}: expected float32 tensors, got ${torchName(value.dtype)} for ${name}; convert with .float()`);
  return value;
}

/** An int or a list of `dims` ints, as PyTorch's expand_param_if_needed. */
export function expandParameter(value: unknown, dims: number, name: string, where: string): number[] {
  const list = typeof value === 'number' ? new Array<number>(dims).fill(value) : value;
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    throw new ArgumentError(`${where}: ${name} must be an integer or a list of ${dims} integers, got ${describeValue(value)}`);
  }
  if (list.length !== dims) {
    throw new ArgumentError(`expected ${name} to be a single integer value or a list of ${dims} values to match the convolution dimensions, but got ${name}=${formatShape(list)}`);
  }
  return list.slice();
}

function checkGroups(value: unknown, where: string): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ArgumentError(`${where}: groups must be an integer, got ${describeValue(value)}`);
  if (value <= 0) throw new ArgumentError('non-positive groups is not supported');
  return value;
}

interface ConvOptions {
  stride?: Sizes;
  padding?: Sizes | 'same' | 'valid';
  dilation?: Sizes;
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number | [number];
  padding?: number | [number] | 'same' | 'valid';
  dilation?: number | [number];
  groups?: number;
}

export interface Conv2dOptions {
  stride?: number | number[];
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  groups?: number;
  dilation?: number | number[];
}

/**
 * Checks a forward convolution of `dims` spatial dims (1 or 2) as PyTorch does and returns its geometry for
 * the batched 4-D form (1-D convolutions get a height of 1).
 */
function convGeometry(input: Tensor, weight: Tensor, bias: Tensor | null, options: ConvOptions, dims: 1 | 2, where: string): ConvGeometry {
  const rank = dims + 2;
  if (input.dim() !== rank && input.dim() !== rank - 1) {
    throw new ShapeError(`Expected ${rank - 1}D (unbatched) or ${rank}D (batched) input to ${where}, but got input of size: ${formatShape(input.shape)}`);
  }
  if (weight.dim() !== rank) {
    throw new ShapeError(`${where}: expected weight to be ${rank}-dimensional [out_channels, in_channels / groups, ${dims === 2 ? 'kH, kW' : 'kW'}], but got weight of size ${formatShape(weight.shape)}`);
  }
  const stride = expandParameter(options.stride ?? 1, dims, 'stride', where);
  const dilation = expandParameter(options.dilation ?? 1, dims, 'dilation', where);
  const groups = checkGroups(options.groups, where);
  const kernel = weight.shape.slice(2);
  checkKernel(kernel);
  let padBefore: number[], padTotal: number[];
  const padding = options.padding ?? 0;
  if (typeof padding === 'string') {
    if (padding === 'valid') { padBefore = new Array<number>(dims).fill(0); padTotal = padBefore.slice(); }
    else if (padding === 'same') {
      if (stride.some((s) => s !== 1)) throw new ArgumentError("padding='same' is not supported for strided convolutions");
      // PyTorch puts the odd extra row/column of an even kernel after the input.
      padTotal = kernel.map((k, d) => dilation[d] * (k - 1));
      padBefore = padTotal.map((total) => Math.floor(total / 2));
    } else throw new ArgumentError(`Invalid padding string: '${padding}' (expected 'same' or 'valid')`);
  } else {
    padBefore = expandParameter(padding, dims, 'padding', where);
    padTotal = padBefore.map((p) => 2 * p);
  }
  if (padBefore.some((p) => p < 0)) throw new ArgumentError('negative padding is not supported');
  if (stride.some((s) => s <= 0)) throw new ArgumentError('non-positive stride is not supported');
  if (dilation.some((d) => d <= 0)) throw new ArgumentError(`dilation should be greater than zero, but got ${formatShape(dilation)}`);
  const outChannels = weight.shape[0];
  if (outChannels < 1) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be at least 1 at dimension 0, but got weight of size ${formatShape(weight.shape)} instead`);
  }
  if (outChannels % groups !== 0) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${formatShape(weight.shape)} instead`);
  }
  const batched = input.dim() === rank;
  const channelsDim = batched ? 1 : 0;
  const batchedShape = batched ? input.shape : [1, ...input.shape];
  if (input.shape[channelsDim] !== weight.shape[1] * groups) {
    throw new ShapeError(`Given groups=${groups}, weight of size ${formatShape(weight.shape)}, expected input${formatShape(batchedShape)} to have ` +
      `${weight.shape[1] * groups} channels, but got ${input.shape[channelsDim]} channels instead`);
  }
  const spatial = batchedShape.slice(2);
  const padded = spatial.map((size, d) => size + padTotal[d]);
  const effectiveKernel = kernel.map((k, d) => dilation[d] * (k - 1) + 1);
  if (padded.some((size, d) => size < effectiveKernel[d])) {
    throw new ShapeError(`Calculated padded input size per channel: (${padded.join(' x ')}). Kernel size: (${effectiveKernel.join(' x ')}). ` +
      "Kernel size can't be greater than actual input size");
  }
  if (bias && (bias.dim() !== 1 || bias.shape[0] !== outChannels)) {
    throw new ShapeError(`Given weight of size ${formatShape(weight.shape)}, expected bias to be 1-dimensional with ${outChannels} elements, but got bias of size ${formatShape(bias.shape)} instead`);
  }
  if (batchedShape.slice(1).some((size) => size === 0)) {
    throw new ShapeError(`${where}: expected non-empty input except for the batch dimension, but got input of size ${formatShape(input.shape)}`);
  }
  const outSize = spatial.map((size, d) => Math.floor((padded[d] - effectiveKernel[d]) / stride[d]) + 1);
  // 1-D convolutions run as 2-D ones of height 1.
  const at = (list: readonly number[], d: 0 | 1, fallback: number) => (dims === 2 ? list[d] : d === 0 ? fallback : list[0]);
  const geometry: ConvGeometry = {
    batch: batchedShape[0], inChannels: batchedShape[1], height: at(spatial, 0, 1), width: at(spatial, 1, 1),
    outChannels, kernelH: at(kernel, 0, 1), kernelW: at(kernel, 1, 1), strideH: at(stride, 0, 1), strideW: at(stride, 1, 1),
    padTop: at(padBefore, 0, 0), padLeft: at(padBefore, 1, 0), dilationH: at(dilation, 0, 1), dilationW: at(dilation, 1, 1),
    groups, outH: at(outSize, 0, 1), outW: at(outSize, 1, 1),
  };
  checkIndexRange(geometry, where);
  return geometry;
}

/** PyTorch's check of a weight's spatial dims (a 1-D kernel is reported with its height of 1, as PyTorch's). */
function checkKernel(kernel: readonly number[]): void {
  const [height, width] = kernel.length === 2 ? kernel : [1, kernel[0]];
  if (height <= 0 || width <= 0) throw new ShapeError(`kernel size should be greater than zero, but got kernel_height: ${height} kernel_width: ${width}`);
}

const int32Max = 2 ** 31 - 1;

/**
 * The kernels index with int32: an input position is oy * stride - pad + ky * dilation, and the window
 * bounds add the stride to the padding. A geometry whose positions leave int32 would wrap there (silently
 * wrong values), so it is refused, before anything is allocated.
 */
function checkIndexRange(g: ConvGeometry, where: string): void {
  const spans = [
    (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH, (g.outW - 1) * g.strideW + (g.kernelW - 1) * g.dilationW,
    g.padTop + g.strideH, g.padLeft + g.strideW, g.height + g.padTop, g.width + g.padLeft,
  ];
  if (spans.some((span) => span > int32Max)) {
    throw new ArgumentError(`${where}: stride ${formatShape([g.strideH, g.strideW])}, padding ${formatShape([g.padTop, g.padLeft])} and dilation ` +
      `${formatShape([g.dilationH, g.dilationW])} reach input positions beyond 2^31 - 1, which wasmtorch's convolution kernels cannot index`);
  }
}

function checkBias(bias: unknown, where: string): Tensor | null {
  return bias === undefined || bias === null ? null : checkTensor(bias, where, 'bias');
}

/**
 * Runs `compute` on the batched 4-D forms of input and weight (unsqueezing an unbatched input and, for 1-D
 * convolutions, a height of 1), then returns its result in the caller's form. The views are recorded, so
 * gradients flow back through them.
 */
function inFourDimensions(input: Tensor, weight: Tensor, batched: boolean, oneDimensional: boolean, compute: (x: Tensor, w: Tensor) => Tensor): Tensor {
  const made: Tensor[] = [];
  const view = (t: Tensor, dim: number) => { const v = unsqueeze(t, dim); made.push(v); return v; };
  let x = batched ? input : view(input, 0);
  let w = weight;
  if (oneDimensional) { x = view(x, 2); w = view(weight, 2); }
  let out = compute(x, w);
  if (oneDimensional) { made.push(out); out = squeeze(out, 2); }
  if (!batched) { made.push(out); out = squeeze(out, 0); }
  for (const t of made) t.dispose();
  return out;
}

/** torch.conv2d: input [N, Cin, H, W] or [Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv2dOptions): Tensor {
  const x = checkTensor(input, 'conv2d', 'input'), w = checkTensor(weight, 'conv2d', 'weight'), b = checkBias(bias, 'conv2d');
  const parsed = checkOptions(options, 'conv2d', ['stride', 'padding', 'dilation', 'groups']) as ConvOptions;
  sameDevice('conv2d', x, w, b);
  const g = convGeometry(x, w, b, parsed, 2, 'conv2d');
  return inFourDimensions(x, w, x.dim() === 4, false, (x4, w4) => convolutionOp(x4, w4, b, g));
}

/** torch.conv1d: input [N, Cin, L] or [Cin, L], weight [Cout, Cin/groups, k], bias [Cout]. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv1dOptions): Tensor {
  const x = checkTensor(input, 'conv1d', 'input'), w = checkTensor(weight, 'conv1d', 'weight'), b = checkBias(bias, 'conv1d');
  const parsed = checkOptions(options, 'conv1d', ['stride', 'padding', 'dilation', 'groups']) as ConvOptions;
  sameDevice('conv1d', x, w, b);
  const g = convGeometry(x, w, b, parsed, 1, 'conv1d');
  return inFourDimensions(x, w, x.dim() === 3, true, (x4, w4) => convolutionOp(x4, w4, b, g));
}

/**
 * torch.conv_transpose2d: input [N, Cin, H, W] or [Cin, H, W], weight [Cin, Cout/groups, kH, kW] (PyTorch's
 * layout), bias [Cout]; the gradient of conv2d with respect to its input.
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvTranspose2dOptions): Tensor {
  const where = 'conv_transpose2d';
  const x = checkTensor(input, where, 'input'), w = checkTensor(weight, where, 'weight'), b = checkBias(bias, where);
  const parsed = checkOptions(options, where, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  sameDevice(where, x, w, b);
  if (x.dim() !== 4 && x.dim() !== 3) {
    throw new ShapeError(`Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: ${formatShape(x.shape)}`);
  }
  if (w.dim() !== 4) {
    throw new ShapeError(`${where}: expected weight to be 4-dimensional [in_channels, out_channels / groups, kH, kW], but got weight of size ${formatShape(w.shape)}`);
  }
  if (typeof parsed.padding === 'string') {
    throw new ArgumentError(`${where}: padding must be an integer or a list of 2 integers, not the string '${parsed.padding}'`);
  }
  checkKernel(w.shape.slice(2));
  const stride = expandParameter(parsed.stride ?? 1, 2, 'stride', where);
  const padding = expandParameter(parsed.padding ?? 0, 2, 'padding', where);
  const outputPadding = expandParameter(parsed.outputPadding ?? 0, 2, 'outputPadding', where);
  const dilation = expandParameter(parsed.dilation ?? 1, 2, 'dilation', where);
  const groups = checkGroups(parsed.groups, where);
  if (padding.some((p) => p < 0)) throw new ArgumentError('negative padding is not supported');
  if (outputPadding.some((p) => p < 0)) throw new ArgumentError('negative output_padding is not supported');
  if (stride.some((s) => s <= 0)) throw new ArgumentError('non-positive stride is not supported');
  if (dilation.some((d) => d <= 0)) throw new ArgumentError(`dilation should be greater than zero, but got ${formatShape(dilation)}`);
  if (outputPadding.some((p, d) => p >= stride[d] && p >= dilation[d])) {
    throw new ArgumentError(`output padding must be smaller than either stride or dilation, but got output_padding_height: ${outputPadding[0]} ` +
      `output_padding_width: ${outputPadding[1]} stride_height: ${stride[0]} stride_width: ${stride[1]} dilation_height: ${dilation[0]} dilation_width: ${dilation[1]}`);
  }
  const inChannels = w.shape[0];
  if (inChannels < 1) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be at least 1 at dimension 0, but got weight of size ${formatShape(w.shape)} instead`);
  }
  if (inChannels % groups !== 0) {
    throw new ShapeError(`Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${formatShape(w.shape)} instead`);
  }
  const batched = x.dim() === 4;
  const batchedShape = batched ? x.shape : [1, ...x.shape];
  if (batchedShape[1] !== inChannels) {
    throw new ShapeError(`Given transposed=1, weight of size ${formatShape(w.shape)}, expected input${formatShape(batchedShape)} to have ${inChannels} channels, ` +
      `but got ${batchedShape[1]} channels instead`);
  }
  const outChannels = w.shape[1] * groups;
  if (b && (b.dim() !== 1 || b.shape[0] !== outChannels)) {
    throw new ShapeError(`Given transposed=1, weight of size ${formatShape(w.shape)}, expected bias to be 1-dimensional with ${outChannels} elements, ` +
      `but got bias of size ${formatShape(b.shape)} instead`);
  }
  if (batchedShape.slice(1).some((size) => size === 0)) {
    throw new ShapeError(`${where}: expected non-empty input except for the batch dimension, but got input of size ${formatShape(x.shape)}`);
  }
  const spatial = batchedShape.slice(2), kernel = w.shape.slice(2);
  const outSize = spatial.map((size, d) => (size - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + outputPadding[d] + 1);
  if (outSize.some((size) => size < 1)) {
    throw new ShapeError(`Given input size per channel: (${spatial.join(' x ')}). Calculated output size per channel: (${outSize.join(' x ')}). Output size is too small`);
  }
  // The convolution this transposes: from the output [N, Cout, outSize] back to the input [N, Cin, spatial].
  const g: ConvGeometry = {
    batch: batchedShape[0], inChannels: outChannels, height: outSize[0], width: outSize[1], outChannels: inChannels,
    kernelH: kernel[0], kernelW: kernel[1], strideH: stride[0], strideW: stride[1], padTop: padding[0], padLeft: padding[1],
    dilationH: dilation[0], dilationW: dilation[1], groups, outH: spatial[0], outW: spatial[1],
  };
  checkIndexRange(g, where);
  return inFourDimensions(x, w, batched, false, (x4, w4) => convolutionTransposeOp(x4, w4, b, g));
}
