// wasmtorch: PyTorch's programming model for JavaScript. `import * as torch from 'wasmtorch'` is ready once imported.
import { wasm } from './backend/wasm/device.js';
import { setWinograd } from './ops/convolution.js';
import { Tensor, type Scalar, type TensorOrScalar } from './tensor.js';
import type { ReduceArgs, ValuesIndices } from './ops/reduce.js';
import * as elementwise from './ops/elementwise.js';
import { ArgumentError } from './errors.js';
import { checkOptions, describeValue } from './ops/support.js';

/** The input of a function form (torch.add(input, ...)): a tensor, or a named error instead of a TypeError ('abc'.sub would even run String.prototype.sub). */
function tensorInput(value: unknown, where: string, name = 'input'): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${where}: ${name} must be a tensor, got ${describeValue(value)}`);
  return value;
}

export { Tensor } from './tensor.js';
export type { Scalar, TensorOrScalar, NestedList, Device } from './tensor.js';
export type { Dtype } from './dtype.js';
export { dtypes } from './dtype.js';
export * from './errors.js';
export { tidy, keep } from './scope.js';
import { tidy } from './scope.js';
export * as autograd from './autograd/index.js';
export { noGrad, enableGrad, setGradEnabled, isGradEnabled } from './autograd/grad-mode.js';
export { AutogradError } from './autograd/engine.js';
export { memory, type MemoryInfo } from './storage.js';
export { manualSeed, initialSeed, randperm } from './ops/random.js';
export {
  tensor, fromArray, empty, zeros, ones, full, zerosLike, onesLike, emptyLike, fullLike, randLike, randnLike,
  arange, linspace, eye, rand, randn, randint, type FactoryOptions,
} from './ops/factories.js';
export { cat, stack } from './ops/indexing.js';
export { mm, matmul, bmm } from './ops/linalg.js';
export { conv1d, conv2d, convTranspose2d, type Conv1dOptions, type Conv2dOptions, type ConvTranspose2dOptions } from './ops/convolution.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './ops/pooling.js';
export type { ReduceArgs, ValuesIndices } from './ops/reduce.js';

export const float32 = 'float32', int32 = 'int32', bool = 'bool';
export const version = '0.1.0';

/** Facts about the WebAssembly backend in use: SIMD, relaxed SIMD, threads, memory, and why anything is missing. */
export const backend = {
  info: () => wasm.info(),
  /** Resolves once every worker thread asked for is running. */
  ready: () => wasm.pool.ready(),
  /**
   * For tests of fault handling: the next parallel op makes worker `index` throw ('fail') or stop mid-tile
   * ('die'); `stallTimeoutMs` is how long a worker may make no progress before it is declared dead.
   */
  injectWorkerFault: (kind: 'fail' | 'die', index = 0, stallTimeoutMs?: number) => {
    if (stallTimeoutMs !== undefined) wasm.pool.stallTimeoutMs = stallTimeoutMs;
    wasm.pool.injectFault(kind, index);
  },
  /**
   * Frees now the storage of every tensor whose handle was garbage-collected (Node: a synchronous GC; the
   * allocator also does this before it grows the memory). Returns false where the engine cannot.
   */
  collectGarbage: () => wasm.reclaimer.reclaim(),
  /**
   * Whether 3x3 stride-1 convolutions with 8+ channels may run on Winograd F(2x2, 3x3) (default true; see
   * FEATURES.md for its numerics). Returns the previous setting. Like `torch.backends.cudnn.enabled = False`.
   */
  setWinograd,
};

/**
 * torch.set_num_threads: threads for kernels, the calling thread included (default: the cores available).
 * Workers start in the background; await the result to know they run.
 */
export function setNumThreads(threads: number): Promise<void> {
  if (!Number.isInteger(threads) || threads < 1) throw new ArgumentError(`setNumThreads: expected a positive integer, got ${String(threads)}`);
  if (threads > 1 && wasm.info().notes.some((n) => n.includes('one thread'))) return Promise.resolve();
  return wasm.pool.resize(threads);
}

/** torch.get_num_threads: the threads asked for (backend.info().threads says how many run now). */
export function getNumThreads(): number {
  return wasm.pool.requested;
}

export { WorkerError } from './backend/wasm/pool.js';
export { DeviceLostError } from './backend/webgpu/device.js';
import { currentWebgpu, isAvailable as webgpuIsAvailable, webgpu as webgpuDevice, webgpuUnavailableReason } from './backend/webgpu/device.js';

/** The WebGPU device (DESIGN.md §5): probe it once with `await torch.webgpu.isAvailable()`, then use device 'webgpu'. */
export const webgpu = {
  /** Finds an adapter and opens a device (cached; after a device loss it opens a new one). */
  isAvailable: webgpuIsAvailable,
  /** Why isAvailable() resolved to false ('' when a device is open). */
  unavailableReason: webgpuUnavailableReason,
  /** The adapter's description, e.g. "google swiftshader" (throws when no device is open). */
  adapterInfo: () => webgpuDevice().adapterInfo,
  /** Resolves when every kernel recorded so far has run on the GPU: for timing. */
  synchronize: () => currentWebgpu()?.synchronize() ?? Promise.resolve(),
  /** Frees the GPU buffers kept for reuse. */
  emptyCache: () => currentWebgpu()?.releasePool(),
  /** The GPUDevice itself, for interop and for tests of device loss (device.destroy()). */
  device: () => webgpuDevice().device,
};

/** Disposes every tensor in a (nested) array or object. */
export function dispose(...values: unknown[]): void {
  const visit = (value: unknown) => {
    if (value instanceof Tensor) value.dispose();
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  values.forEach(visit);
}

export const all = (input: Tensor, ...args: ReduceArgs) => tensorInput(input, 'all').all(...args);
export const any = (input: Tensor, ...args: ReduceArgs) => tensorInput(input, 'any').any(...args);

/** torch.isclose: |a - b| <= atol + rtol * |b| elementwise; equal values (infinities too) are close, NaN only with equalNan. */
export function isclose(a: Tensor, b: Tensor, options: { rtol?: number; atol?: number; equalNan?: boolean } = {}): Tensor {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = checkOptions(options, 'isclose', ['rtol', 'atol', 'equalNan']) as { rtol?: number; atol?: number; equalNan?: boolean };
  tensorInput(a, 'isclose', 'a');
  tensorInput(b, 'isclose', 'b');
  return tidy(() => {
    // bool + bool is logical or.
    const close = a.eq(b).add(a.sub(b).abs().le(b.abs().mul(rtol).add(atol)));
    return equalNan ? close.add(a.ne(a).mul(b.ne(b))) : close;
  });
}

/** torch.allclose: isclose everywhere (shapes broadcast). */
export function allclose(a: Tensor, b: Tensor, options?: { rtol?: number; atol?: number; equalNan?: boolean }): boolean {
  return tidy(() => isclose(a, b, options).all().item() as boolean);
}

/** torch.equal: same shape and the same values. */
export function equal(a: Tensor, b: Tensor): boolean {
  tensorInput(a, 'equal', 'a');
  tensorInput(b, 'equal', 'b');
  void a.storage, void b.storage;
  if (a.shape.length !== b.shape.length || a.shape.some((s, d) => s !== b.shape[d])) return false;
  return tidy(() => a.eq(b).all().item() as boolean);
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

// Function forms of the tensor methods, as torch.add(a, b) etc.
export const add = (input: Tensor, other: TensorOrScalar, options?: { alpha?: number }) => tensorInput(input, 'add').add(other, options);
export const sub = (input: Tensor, other: TensorOrScalar, options?: { alpha?: number }) => tensorInput(input, 'sub').sub(other, options);
export const mul = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'mul').mul(other);
export const div = (input: Tensor, other: TensorOrScalar, options?: { roundingMode?: 'trunc' | 'floor' | null }) => tensorInput(input, 'div').div(other, options);
export const pow = (input: Tensor | number, exponent: TensorOrScalar) =>
  input instanceof Tensor ? input.pow(exponent) : elementwise.binary('pow', input, exponent);
export const remainder = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'remainder').remainder(other);
export const floorDivide = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'floorDivide').floorDivide(other);
export const maximum = (input: Tensor, other: Tensor) => tensorInput(input, 'maximum').maximum(other);
export const minimum = (input: Tensor, other: Tensor) => tensorInput(input, 'minimum').minimum(other);
export const neg = (input: Tensor) => tensorInput(input, 'neg').neg();
export const abs = (input: Tensor) => tensorInput(input, 'abs').abs();
export const exp = (input: Tensor) => tensorInput(input, 'exp').exp();
export const log = (input: Tensor) => tensorInput(input, 'log').log();
export const sqrt = (input: Tensor) => tensorInput(input, 'sqrt').sqrt();
export const rsqrt = (input: Tensor) => tensorInput(input, 'rsqrt').rsqrt();
export const sigmoid = (input: Tensor) => tensorInput(input, 'sigmoid').sigmoid();
export const tanh = (input: Tensor) => tensorInput(input, 'tanh').tanh();
export const relu = (input: Tensor) => tensorInput(input, 'relu').relu();
export const gelu = (input: Tensor, options?: { approximate?: 'none' | 'tanh' }) => tensorInput(input, 'gelu').gelu(options);
export const silu = (input: Tensor) => tensorInput(input, 'silu').silu();
export const sin = (input: Tensor) => tensorInput(input, 'sin').sin();
export const cos = (input: Tensor) => tensorInput(input, 'cos').cos();
export const floor = (input: Tensor) => tensorInput(input, 'floor').floor();
export const ceil = (input: Tensor) => tensorInput(input, 'ceil').ceil();
export const round = (input: Tensor) => tensorInput(input, 'round').round();
export const trunc = (input: Tensor) => tensorInput(input, 'trunc').trunc();
export const sign = (input: Tensor) => tensorInput(input, 'sign').sign();
export const reciprocal = (input: Tensor) => tensorInput(input, 'reciprocal').reciprocal();
export const square = (input: Tensor) => tensorInput(input, 'square').square();
export const clamp = (input: Tensor, min?: number | null | { min?: number | null; max?: number | null }, max?: number | null) => tensorInput(input, 'clamp').clamp(min, max);
export const clip = clamp;
export const eq = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'eq').eq(other);
export const ne = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'ne').ne(other);
export const lt = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'lt').lt(other);
export const le = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'le').le(other);
export const gt = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'gt').gt(other);
export const ge = (input: Tensor, other: TensorOrScalar) => tensorInput(input, 'ge').ge(other);
export const where = (condition: Tensor, input: TensorOrScalar, other: TensorOrScalar) => elementwise.where(condition, input, other);
export const maskedFill = (input: Tensor, mask: Tensor, value: Scalar | Tensor) => tensorInput(input, 'maskedFill').maskedFill(mask, value);
export const sum = (input: Tensor, ...args: ReduceArgs) => tensorInput(input, 'sum').sum(...args);
export const mean = (input: Tensor, ...args: ReduceArgs) => tensorInput(input, 'mean').mean(...args);
export const prod = (input: Tensor, ...args: ReduceArgs) => tensorInput(input, 'prod').prod(...args);
export function max(input: Tensor): Tensor;
export function max(input: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(input: Tensor, dim?: number, keepdim?: boolean): Tensor | ValuesIndices { const self = tensorInput(input, 'max'); return dim === undefined ? self.max() : self.max(dim, keepdim); }
export function min(input: Tensor): Tensor;
export function min(input: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(input: Tensor, dim?: number, keepdim?: boolean): Tensor | ValuesIndices { const self = tensorInput(input, 'min'); return dim === undefined ? self.min() : self.min(dim, keepdim); }
export const argmax = (input: Tensor, dim?: number | null, keepdim?: boolean) => tensorInput(input, 'argmax').argmax(dim, keepdim);
export const argmin = (input: Tensor, dim?: number | null, keepdim?: boolean) => tensorInput(input, 'argmin').argmin(dim, keepdim);
export const softmax = (input: Tensor, dim: number) => tensorInput(input, 'softmax').softmax(dim);
export const logSoftmax = (input: Tensor, dim: number) => tensorInput(input, 'logSoftmax').logSoftmax(dim);
export const t = (input: Tensor) => tensorInput(input, 't').t();
export const transpose = (input: Tensor, dim0: number, dim1: number) => tensorInput(input, 'transpose').transpose(dim0, dim1);
export const permute = (input: Tensor, dims: number[]) => tensorInput(input, 'permute').permute(dims);
export const reshape = (input: Tensor, shape: number[]) => tensorInput(input, 'reshape').reshape(shape);
export const flatten = (input: Tensor, startDim?: number, endDim?: number) => tensorInput(input, 'flatten').flatten(startDim, endDim);
export const squeeze = (input: Tensor, dim?: number | number[]) => tensorInput(input, 'squeeze').squeeze(dim);
export const unsqueeze = (input: Tensor, dim: number) => tensorInput(input, 'unsqueeze').unsqueeze(dim);
export const narrow = (input: Tensor, dim: number, start: number, length: number) => tensorInput(input, 'narrow').narrow(dim, start, length);
export const chunk = (input: Tensor, chunks: number, dim?: number) => tensorInput(input, 'chunk').chunk(chunks, dim);
export const split = (input: Tensor, splitSizeOrSections: number | number[], dim?: number) => tensorInput(input, 'split').split(splitSizeOrSections, dim);
export const unbind = (input: Tensor, dim?: number) => tensorInput(input, 'unbind').unbind(dim);
export const indexSelect = (input: Tensor, dim: number, index: Tensor) => tensorInput(input, 'indexSelect').indexSelect(dim, index);
export const gather = (input: Tensor, dim: number, index: Tensor) => tensorInput(input, 'gather').gather(dim, index);
export const scatter = (input: Tensor, dim: number, index: Tensor, src: Tensor | Scalar) => tensorInput(input, 'scatter').scatter(dim, index, src);
export const scatterAdd = (input: Tensor, dim: number, index: Tensor, src: Tensor) => tensorInput(input, 'scatterAdd').scatterAdd(dim, index, src);
export const clone = (input: Tensor) => tensorInput(input, 'clone').clone();
export const detach = (input: Tensor) => tensorInput(input, 'detach').detach();
export const numel = (input: Tensor) => tensorInput(input, 'numel').numel();
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { save, load, loadMetadata, type SaveOptions } from './serialize/safetensors.js';
