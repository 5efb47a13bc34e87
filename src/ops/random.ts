// Random numbers from a counter-based generator (Philox4x32-10): the same seed gives the same tensor on any thread count.
import { wasm } from '../backend/wasm/device.js';
import { ArgumentError, DtypeError } from '../errors.js';
import type { Device, Tensor } from '../tensor.js';
import { convertInto } from './elementwise.js';
import { upload } from './transfer.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { AutogradError } from '../autograd/engine.js';

function checkNotInGraph(target: Tensor, where: string): void {
  if (isGradEnabled() && target.requiresGrad) {
    throw new AutogradError(`${where}: ${target.isLeaf ? 'a leaf Variable that requires grad is being used in an in-place operation' : 'cannot overwrite a tensor of the autograd graph with random numbers'}; ` +
      'initialise parameters inside torch.noGrad(() => ...)');
  }
}
import { addressOf, checkDevice, checkOptions, describeValue, emptyTensor, isContiguous, type Shape } from './support.js';

/** PyTorch's default seed, so an unseeded program is still reproducible run to run. */
const defaultSeed = 67280421310721;
let seed = defaultSeed;
let offset = 0;

export function manualSeed(value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new ArgumentError(`manualSeed: seed must be a non-negative integer below 2^53, got ${String(value)}`);
  }
  seed = value;
  offset = 0;
}

export function initialSeed(): number {
  return seed;
}

/** Reserves counter space for `count` elements (4 per Philox block) and returns the words of seed and offset. */
function nextStream(count: number): [number, number, number, number] {
  const words: [number, number, number, number] = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, offset >>> 0, Math.floor(offset / 2 ** 32) >>> 0];
  offset += Math.ceil(count / 4);
  return words;
}



/**
 * Fills target from the generator's stream with `kernel`, whose arguments after the stream are `parameters`.
 * A GPU target is filled on the CPU from the same stream and uploaded (the lead's choice for the WebGPU
 * device): a seed gives the same numbers on both devices, and the offset advances exactly as on the CPU.
 */
function fillRandom(target: Tensor, kernel: 'random_uniform_f32' | 'random_normal_f32' | 'random_int_i32', parameters: [number, number], nsPerItem: number): void {
  const direct = target.device === 'cpu' && isContiguous(target);
  const out = direct ? target : emptyTensor(target.shape, target.dtype);
  const stream = nextStream(out.numel());
  wasm.launch(kernel, [addressOf(out), ...stream, ...parameters], out.numel(), nsPerItem);
  if (direct) return;
  const staged = target.device === 'webgpu' ? upload(out) : out;
  convertInto(target, staged);
  if (staged !== out) staged.dispose();
  out.dispose();
}

// null or a string would reach the kernel as 0 or NaN: a parameter left out takes its default, one given must be a number.
function checkBound(value: unknown, where: string, name: string): void {
  if (typeof value !== 'number') throw new ArgumentError(`${where}: ${name} must be a number, got ${describeValue(value)}`);
}

export function uniform_(target: Tensor, low = 0, high = 1): void {
  void target.storage;
  checkBound(low, 'uniform_', 'from');
  checkBound(high, 'uniform_', 'to');
  if (target.dtype !== 'float32') throw new DtypeError(`uniform_: expected a float32 tensor, got ${target.dtype}`);
  checkNotInGraph(target, 'uniform_');
  if (!(low <= high)) throw new ArgumentError(`uniform_ expects to return a [from, to) range, but found from=${low} > to=${high}`);
  fillRandom(target, 'random_uniform_f32', [low, high], 5);
  target.storage.version++;
}

export function normal_(target: Tensor, mean = 0, std = 1): void {
  void target.storage;
  checkBound(mean, 'normal_', 'mean');
  checkBound(std, 'normal_', 'std');
  if (target.dtype !== 'float32') throw new DtypeError(`normal_: expected a float32 tensor, got ${target.dtype}`);
  checkNotInGraph(target, 'normal_');
  if (!(std >= 0)) throw new ArgumentError(`normal expects std >= 0.0, but found std ${std}`);
  fillRandom(target, 'random_normal_f32', [mean, std], 15);
  target.storage.version++;
}

export function randomIntegers(shape: Shape, low: number, high: number): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new ArgumentError(`randint: low and high must be integers, got ${low} and ${high}`);
  if (high <= low) throw new ArgumentError(`random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
  const out = emptyTensor(shape, 'int32');
  fillRandom(out, 'random_int_i32', [low, high], 6);
  return out;
}

/**
 * torch.randperm: a random permutation of 0..n-1 (int32, PyTorch's int64 role), by Fisher–Yates driven by
 * the generator's stream, so manualSeed makes it reproducible. Each swap draws 30 bits: the modulo bias is
 * below n / 2^30 (6e-5 for MNIST's 60,000).
 */
export function randperm(n: number, optionsArgument?: { dtype?: 'int32'; device?: Device }): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`randperm: n must be a non-negative integer, got ${String(n)}`);
  const options = checkOptions(optionsArgument, 'randperm', ['dtype', 'device']) as { dtype?: 'int32'; device?: Device };
  if (options.dtype !== undefined && options.dtype !== 'int32') throw new DtypeError(`randperm: dtype must be int32, got ${String(options.dtype)}`);
  if (options.device !== undefined) checkDevice(options.device, 'randperm');
  // Shuffled on the CPU from the generator's stream, then uploaded: the same permutation on every device.
  const permutation = shuffled(n);
  if (options.device !== 'webgpu') return permutation;
  try {
    return upload(permutation);
  } finally {
    permutation.dispose();
  }
}

function shuffled(n: number): Tensor {
  const out = emptyTensor([n], 'int32');
  if (n === 0) return out;
  fillRandom(out, 'random_int_i32', [0, 2 ** 30], 6);
  const words = wasm.i32.subarray(addressOf(out) >>> 2, (addressOf(out) >>> 2) + n);
  const draws = Int32Array.from(words);
  for (let i = 0; i < n; i++) words[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = draws[i] % (i + 1);
    const swap = words[i];
    words[i] = words[j];
    words[j] = swap;
  }
  return out;
}
