// WebGPU convolution kernels: the forward convolution, its input gradient (convTranspose2d) and weight gradient as direct per-output-element WGSL, and the bias gradient.
//
// Each kernel runs one thread per element of what it writes and gathers everything that element sums, so no
// thread writes where another does (no atomics, no zeroing pass) and each sum has one fixed order. Stride,
// padding, dilation and groups are index arithmetic in one formula, so every option combination is the same
// code; operands are read through their offsets and strides, so views need no contiguous copy.
import type { Tensor } from '../../tensor.js';
import type { ConvGeometry } from '../../ops/convolution.js';
import { emptyTensor } from '../../ops/support.js';
import { webgpu } from './device.js';
import { bufferOf, prelude } from './wgsl.js';

/** Words [1, 1 + kernelWords) hold the kernel's own sizes; operand k's offset and four strides start at operandWord + 5k. */
const kernelWords = 16;
const operandWord = 20;

/** A 4-D read of a tensor: its offset and strides over four dims (callers put size-1 dims' strides as 0). */
export interface FourDimensionalOperand {
  readonly tensor: Tensor;
  readonly strides: readonly [number, number, number, number];
}

/** An operand read as `tensor`'s own four dims. */
export function asFourDimensional(tensor: Tensor): FourDimensionalOperand {
  const s = tensor.strides;
  return { tensor, strides: [s[0], s[1], s[2], s[3]] };
}

const shaderCache = new Map<string, string>();

/**
 * Records one kernel: `helpers` is module-scope WGSL, `outputs` are fresh contiguous tensors at bindings 1.. (read_write), inputs follow as
 * read-only bindings, one per distinct buffer (a buffer may be bound once per dispatch). `body(reads)` is the
 * WGSL of main after `index` and the i32 sizes s0..s15 (words 1..16) are in scope; it reads input k with
 * `read{k}(a, b, c, d)` (a u32 word). The generated source is cached per kernel and binding layout, so the
 * device's pipeline cache sees the same string.
 */
export function launchFourDimensional(kernel: string, helpers: string, body: string, outputs: readonly Tensor[], inputs: readonly FourDimensionalOperand[],
  sizes: readonly number[], invocations: number): void {
  const device = webgpu();
  const buffers = outputs.map(bufferOf);
  const bindingOf = inputs.map(({ tensor }) => {
    const buffer = bufferOf(tensor);
    let position = buffers.indexOf(buffer);
    if (position < 0) position = buffers.push(buffer) - 1;
    return position + 1;
  });
  const words = new Uint32Array(operandWord + 5 * inputs.length);
  const signed = new Int32Array(words.buffer);
  words[0] = invocations;
  sizes.forEach((size, i) => { signed[1 + i] = size; });
  inputs.forEach(({ tensor, strides }, k) => {
    signed[operandWord + 5 * k] = tensor.offset;
    strides.forEach((stride, d) => { signed[operandWord + 5 * k + 1 + d] = stride; });
  });
  const key = `${kernel}|${outputs.length}|${bindingOf.join(',')}`;
  let code = shaderCache.get(key);
  if (code === undefined) {
    const declarations = [
      ...outputs.map((_, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> output${i + 1}: array<u32>;`),
      ...[...new Set(bindingOf)].map((binding) => `@group(0) @binding(${binding}) var<storage, read> input${binding}: array<u32>;`),
    ].join('\n');
    const accessors = bindingOf.map((binding, k) => {
      const base = operandWord + 5 * k;
      return `fn read${k}(a: i32, b: i32, c: i32, d: i32) -> u32 {
  return input${binding}[u32(paramI32(${base}u) + a * paramI32(${base + 1}u) + b * paramI32(${base + 2}u) + c * paramI32(${base + 3}u) + d * paramI32(${base + 4}u))];
}`;
    }).join('\n');
    const sizeLets = Array.from({ length: kernelWords }, (_, i) => `  let s${i} = paramI32(${i + 1}u);`).join('\n');
    code = `${prelude}${helpers}${declarations}
${accessors}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) grid: vec3u) {
  let index = flatIndex(id, grid);
  if (index >= params[0]) { return; }
${sizeLets}
${body}
}`;
    shaderCache.set(key, code);
  }
  device.dispatch(code, buffers, words, invocations);
}

/** The geometry's sixteen words, in ConvGeometry's order, named as the kernels below use them. */
function geometrySizes(g: ConvGeometry): number[] {
  return [g.batch, g.inChannels, g.height, g.width, g.outChannels, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.dilationH, g.dilationW, g.groups, g.outH, g.outW];
}

const geometryLets = /* wgsl */ `
  let batch = s0; let inChannels = s1; let height = s2; let width = s3; let outChannels = s4;
  let kernelH = s5; let kernelW = s6; let strideH = s7; let strideW = s8; let padTop = s9; let padLeft = s10;
  let dilationH = s11; let dilationW = s12; let groupCount = s13; let outH = s14; let outW = s15;
  let groupIn = inChannels / groupCount; let groupOut = outChannels / groupCount;
  let flat = i32(index);`;

// Y[n, co, oy, ox] = bias[co] + sum over the group's input channels and the kernel of X * W (read0 X, read1 W, read2 bias).
const forwardBody = (hasBias: boolean) => /* wgsl */ `${geometryLets}
  let ox = flat % outW; let oy = (flat / outW) % outH; let co = (flat / (outW * outH)) % outChannels; let n = flat / (outW * outH * outChannels);
  let firstIn = (co / groupOut) * groupIn;
  var sum = 0.0;
  for (var cl = 0; cl < groupIn; cl++) {
    for (var ky = 0; ky < kernelH; ky++) {
      let iy = oy * strideH - padTop + ky * dilationH;
      if (iy < 0 || iy >= height) { continue; }
      for (var kx = 0; kx < kernelW; kx++) {
        let ix = ox * strideW - padLeft + kx * dilationW;
        if (ix < 0 || ix >= width) { continue; }
        sum += bitcast<f32>(read0(n, firstIn + cl, iy, ix)) * bitcast<f32>(read1(co, cl, ky, kx));
      }
    }
  }
  ${hasBias ? 'sum += bitcast<f32>(read2(0, 0, 0, co));' : ''}
  output1[index] = bitcast<u32>(sum);`;

// X[n, ci, iy, ix] = sum of Y[n, co, oy, ox] * W[co, cl, ky, kx] over the outputs whose window reads (iy, ix)
// (read0 Y, read1 W): a gather, so positions no window reads (outputPadding, a stride's gaps) get 0.
const inputGradientBody = /* wgsl */ `${geometryLets}
  let ix = flat % width; let iy = (flat / width) % height; let ci = (flat / (width * height)) % inChannels; let n = flat / (width * height * inChannels);
  let firstOut = (ci / groupIn) * groupOut; let cl = ci % groupIn;
  var sum = 0.0;
  for (var ky = 0; ky < kernelH; ky++) {
    let ty = iy + padTop - ky * dilationH;
    if (ty < 0 || ty % strideH != 0 || ty / strideH >= outH) { continue; }
    let oy = ty / strideH;
    for (var kx = 0; kx < kernelW; kx++) {
      let tx = ix + padLeft - kx * dilationW;
      if (tx < 0 || tx % strideW != 0 || tx / strideW >= outW) { continue; }
      let ox = tx / strideW;
      for (var c = 0; c < groupOut; c++) {
        sum += bitcast<f32>(read0(n, firstOut + c, oy, ox)) * bitcast<f32>(read1(firstOut + c, cl, ky, kx));
      }
    }
  }
  output1[index] = bitcast<u32>(sum);`;

// W[co, cl, ky, kx] = sum over the minibatch and output positions of X * Y (read0 X, read1 Y).
const weightGradientBody = /* wgsl */ `${geometryLets}
  let kx = flat % kernelW; let ky = (flat / kernelW) % kernelH; let cl = (flat / (kernelW * kernelH)) % groupIn; let co = flat / (kernelW * kernelH * groupIn);
  let ci = (co / groupOut) * groupIn + cl;
  var sum = 0.0;
  for (var n = 0; n < batch; n++) {
    for (var oy = 0; oy < outH; oy++) {
      let iy = oy * strideH - padTop + ky * dilationH;
      if (iy < 0 || iy >= height) { continue; }
      for (var ox = 0; ox < outW; ox++) {
        let ix = ox * strideW - padLeft + kx * dilationW;
        if (ix < 0 || ix >= width) { continue; }
        sum += bitcast<f32>(read0(n, ci, iy, ix)) * bitcast<f32>(read1(n, co, oy, ox));
      }
    }
  }
  output1[index] = bitcast<u32>(sum);`;

// bias gradient[c] = sum of G[n, c, y, x] (read0 G; s0 batch, s1 height, s2 width).
const biasGradientBody = /* wgsl */ `
  let c = i32(index);
  var sum = 0.0;
  for (var n = 0; n < s0; n++) { for (var y = 0; y < s1; y++) { for (var x = 0; x < s2; x++) { sum += bitcast<f32>(read0(n, c, y, x)); } } }
  output1[index] = bitcast<u32>(sum);`;

const forwardBodies = [forwardBody(false), forwardBody(true)];

/** Y = conv(X, W) (+ bias): X [N, Cin, H, W], W [Cout, Cin/groups, kH, kW], both any strides. */
export function convolution(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const out = emptyTensor([g.batch, g.outChannels, g.outH, g.outW], 'float32', 'webgpu');
  const inputs = [asFourDimensional(x), asFourDimensional(w)];
  if (bias) inputs.push({ tensor: bias, strides: [0, 0, 0, bias.strides[0]] });
  launchFourDimensional(bias ? 'conv-bias' : 'conv', '', forwardBodies[bias ? 1 : 0], [out], inputs, geometrySizes(g), out.numel());
  return out;
}

/** X-shaped convT(Y, W): the input gradient of a convolution, and convTranspose2d without its bias. */
export function convolutionInputGradient(y: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const out = emptyTensor([g.batch, g.inChannels, g.height, g.width], 'float32', 'webgpu');
  launchFourDimensional('conv-input-grad', '', inputGradientBody, [out], [asFourDimensional(y), asFourDimensional(w)], geometrySizes(g), out.numel());
  return out;
}

/** W-shaped wgrad(X, Y): the weight gradient of a convolution (zeros for an empty minibatch). */
export function convolutionWeightGradient(x: Tensor, y: Tensor, g: ConvGeometry): Tensor {
  const out = emptyTensor([g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW], 'float32', 'webgpu');
  launchFourDimensional('conv-weight-grad', '', weightGradientBody, [out], [asFourDimensional(x), asFourDimensional(y)], geometrySizes(g), out.numel());
  return out;
}

/** grad.sum([0, 2, 3]) of a 4-D gradient: one thread per channel. */
export function convolutionBiasGradient(grad: Tensor): Tensor {
  const [batch, channels, height, width] = grad.shape;
  const out = emptyTensor([channels], 'float32', 'webgpu');
  const s = grad.strides;
  launchFourDimensional('conv-bias-grad', '', biasGradientBody, [out], [{ tensor: grad, strides: [s[0], s[1], s[2], s[3]] }],
    [batch, height, width], channels);
  return out;
}
