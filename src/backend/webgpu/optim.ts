// WebGPU fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad): one WGSL kernel per step and parameter, in place on the parameter and its state.
import type { Tensor } from '../../tensor.js';
import { DeviceError } from '../../errors.js';
import { webgpu } from './device.js';
import { bufferOf, prelude, scalarBits } from './wgsl.js';

/** Flag bits: the same as src/optim/optimizer.ts (UpdateFlag) and assembly/optim.ts. */
const MAXIMIZE = 1, WEIGHT_DECAY = 2, MOMENTUM = 4, NESTEROV = 8, FIRST_STEP = 16, DECOUPLED_DECAY = 32, AMSGRAD = 64, CENTERED = 128;

export type UpdateKernel = 'sgd' | 'adam' | 'rmsprop' | 'adagrad';

/**
 * The buffers each kernel takes, in the CPU kernel's argument order (param and grad first). A buffer the
 * flags leave out is passed as null: it is neither declared nor bound (with layout 'auto' every declared
 * binding must be used), so its shader is a variant of its own.
 */
const bufferNames: Record<UpdateKernel, readonly string[]> = {
  sgd: ['param', 'grad', 'momentumBuffer'],
  adam: ['param', 'grad', 'expAvg', 'expAvgSq', 'maxExpAvgSq'],
  rmsprop: ['param', 'grad', 'squareAvg', 'gradAvg', 'momentumBuffer'],
  adagrad: ['param', 'grad', 'sum'],
};

/** The flag a buffer slot is used under (0: always): an unused buffer is left unbound even when the state has one. */
const slotFlags: Record<UpdateKernel, readonly number[]> = {
  sgd: [0, 0, MOMENTUM],
  adam: [0, 0, 0, 0, AMSGRAD],
  rmsprop: [0, 0, 0, CENTERED, MOMENTUM],
  adagrad: [0, 0, 0],
};

/** Scalar names, in the CPU kernel's argument order (float32 bits in the parameter block). */
const scalarNames: Record<UpdateKernel, readonly string[]> = {
  sgd: ['negativeLr', 'momentum', 'dampeningComplement', 'weightDecay'],
  adam: ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'weightDecay', 'decayScale', 'negativeStepSize', 'biasCorrection2Sqrt', 'eps'],
  rmsprop: ['alpha', 'oneMinusAlpha', 'eps', 'weightDecay', 'momentum', 'negativeLr'],
  adagrad: ['weightDecay', 'negativeClr', 'eps'],
};

/**
 * The update body, following assembly/optim.ts operation by operation (the CPU kernels follow PyTorch 1.13).
 * `a * b + c` where the CPU kernel writes madd: compilers may fuse it or not, as the CPU builds differ.
 */
function body(kernel: UpdateKernel, flags: number): string {
  const has = (flag: number) => (flags & flag) !== 0;
  const lines: string[] = ['  let p0 = load_param(i);', '  var g = load_grad(i);'];
  if (has(MAXIMIZE)) lines.push('  g = -g;');
  if (has(WEIGHT_DECAY)) lines.push('  g = weightDecay * p0 + g;');
  switch (kernel) {
    case 'sgd':
      lines.push('  var d = g;');
      if (has(MOMENTUM)) {
        lines.push(has(FIRST_STEP) ? '  let b = d;' : '  let b = dampeningComplement * d + load_momentumBuffer(i) * momentum;');
        lines.push('  store_momentumBuffer(i, b);');
        lines.push(has(NESTEROV) ? '  d = momentum * b + d;' : '  d = b;');
      }
      lines.push('  store_param(i, negativeLr * d + p0);');
      break;
    case 'adam':
      // AdamW: the parameter is scaled before the update (the gradient did not see it).
      lines.push(has(DECOUPLED_DECAY) ? '  let p = p0 * decayScale;' : '  let p = p0;');
      lines.push('  let m = oneMinusBeta1 * g + load_expAvg(i) * beta1;');
      lines.push('  let v = (oneMinusBeta2 * g) * g + load_expAvgSq(i) * beta2;');
      lines.push('  store_expAvg(i, m);', '  store_expAvgSq(i, v);');
      if (has(AMSGRAD)) lines.push('  let second = max(load_maxExpAvgSq(i), v);', '  store_maxExpAvgSq(i, second);');
      else lines.push('  let second = v;');
      lines.push('  let denom = sqrt(second) / biasCorrection2Sqrt + eps;');
      lines.push('  store_param(i, p + (negativeStepSize * m) / denom);');
      break;
    case 'rmsprop':
      lines.push('  let square = (oneMinusAlpha * g) * g + load_squareAvg(i) * alpha;', '  store_squareAvg(i, square);');
      if (has(CENTERED)) {
        lines.push('  let mean = oneMinusAlpha * g + load_gradAvg(i) * alpha;', '  store_gradAvg(i, mean);');
        lines.push('  let average = sqrt(-mean * mean + square) + eps;');
      } else {
        lines.push('  let average = sqrt(square) + eps;');
      }
      if (has(MOMENTUM)) {
        lines.push('  let b = load_momentumBuffer(i) * momentum + g / average;', '  store_momentumBuffer(i, b);');
        lines.push('  store_param(i, negativeLr * b + p0);');
      } else {
        lines.push('  store_param(i, p0 + (negativeLr * g) / average);');
      }
      break;
    case 'adagrad':
      lines.push('  let total = g * g + load_sum(i);', '  store_sum(i, total);');
      lines.push('  store_param(i, p0 + (negativeClr * g) / (sqrt(total) + eps));');
      break;
    default:
      return kernel satisfies never;
  }
  return lines.join('\n');
}

/**
 * Parameter words: [0] element count, then one element offset per buffer slot [1..5], then the scalars
 * (float32 bits) from word 6.
 */
const offsetWord = 1, scalarWord = 6;

const shaderCache = new Map<string, string>();

function shaderFor(kernel: UpdateKernel, flags: number, present: readonly boolean[]): string {
  const key = `${kernel}/${flags}/${present.map(Number).join('')}`;
  let code = shaderCache.get(key);
  if (code !== undefined) return code;
  const names = bufferNames[kernel];
  let binding = 0;
  const declarations = names.flatMap((name, slot) => {
    if (!present[slot]) return [];
    binding++;
    return [`@group(0) @binding(${binding}) var<storage, ${slot === 1 ? 'read' : 'read_write'}> ${name}: array<u32>;`,
      `fn load_${name}(i: u32) -> f32 { return bitcast<f32>(${name}[params[${offsetWord + slot}u] + i]); }`,
      ...(slot === 1 ? [] : [`fn store_${name}(i: u32, value: f32) { ${name}[params[${offsetWord + slot}u] + i] = bitcast<u32>(value); }`])];
  });
  const scalars = scalarNames[kernel].map((name, s) => `  let ${name} = paramF32(${scalarWord + s}u);`);
  code = `${prelude}
${declarations.join('\n')}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = flatIndex(id, groups);
  if (i >= params[0]) { return; }
${scalars.join('\n')}
${body(kernel, flags)}
}`;
  shaderCache.set(key, code);
  return code;
}

/**
 * One fused update over a contiguous parameter of `count` elements: buffers in the CPU kernel's order
 * (null for one the flags do not use), scalars as the CPU kernel takes them (rounded to float32 here as
 * they are there). Every tensor must be on 'webgpu' and in its own buffer.
 */
export function update(kernel: UpdateKernel, tensors: readonly (Tensor | null)[], scalars: readonly number[], flags: number): void {
  const device = webgpu();
  const param = tensors[0]!;
  const count = param.numel();
  const words = new Uint32Array(scalarWord + scalars.length);
  words[0] = count;
  const buffers: GPUBuffer[] = [];
  const used = bufferNames[kernel].map((_, slot) => slotFlags[kernel][slot] === 0 || (flags & slotFlags[kernel][slot]) !== 0);
  used.forEach((isUsed, slot) => {
    const tensor = tensors[slot] ?? null;
    if (!isUsed) return;
    if (tensor === null) throw new DeviceError(`optimizer step: the ${kernel} update needs its ${bufferNames[kernel][slot]}, which was not given`);
    if (tensor.device !== 'webgpu') {
      throw new DeviceError(`optimizer step: the parameter is on 'webgpu' but its ${bufferNames[kernel][slot]} is on '${tensor.device}'; ` +
        "state and grads must be on the parameter's device");
    }
    const buffer = bufferOf(tensor);
    if (buffers.includes(buffer)) {
      throw new DeviceError(`optimizer step: the ${bufferNames[kernel][slot]} shares a GPU buffer with another tensor of the update ` +
        '(each must be its own tensor: the kernel writes them in place)');
    }
    buffers.push(buffer);
    words[offsetWord + slot] = tensor.offset;
  });
  scalars.forEach((value, s) => { words[scalarWord + s] = scalarBits(value, 'float32'); });
  device.dispatch(shaderFor(kernel, flags, used), buffers, words, count);
}
