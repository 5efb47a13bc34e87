// Tensor: a view (shape, strides, offset) over reference-counted Storage, with PyTorch's methods in camelCase.
import { ArgumentError, DisposedError } from './errors.js';
import { AccumulateGrad, AutogradError, type Hook, type Node } from './autograd/engine.js';
import * as engineCalls from './autograd/backward.js';
import type { Dtype, AnyTypedArray } from './dtype.js';
import { registerHandle, unregisterHandle, type Device, type Storage } from './storage.js';
import { setTensorClass, trackInScope } from './scope.js';
import * as elementwise from './ops/elementwise.js';
import * as reduction from './ops/reduce.js';
import * as shapeOps from './ops/shape.js';
import * as indexing from './ops/indexing.js';
import * as linalg from './ops/linalg.js';
import * as random from './ops/random.js';
import * as read from './ops/read.js';
import { formatTensor } from './format.js';
import { checkOptions, describeValue } from './ops/support.js';
import type { ReduceArgs, ValuesIndices } from './ops/reduce.js';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type NestedList = number | boolean | NestedList[];
export type { Device } from './storage.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** The { alpha } of add/sub: a string or a tensor in its place is refused, not read as "no alpha". */
function alphaOf(options: unknown, where: string): number | undefined {
  return checkOptions(options, where, ['alpha']).alpha as number | undefined;
}

/** The shape of viewAs/reshapeAs/expandAs's argument: a live tensor (a disposed one's shape still reads). */
function shapeOfOther(other: unknown, where: string): number[] {
  if (!(other instanceof Tensor)) throw new ArgumentError(`${where}: other must be a tensor, got ${describeValue(other)}`);
  void other.storage;
  return other.shape.slice();
}

export class Tensor {
  readonly #storage: Storage;
  /** Sizes of each dim (PyTorch's `shape`). Do not mutate. */
  readonly shape: readonly number[];
  /** Elements to step in storage per index of each dim. */
  readonly strides: readonly number[];
  /** Index of the first element in storage, in elements. */
  readonly offset: number;
  readonly dtype: Dtype;
  #disposed = false;
  // Autograd state: a leaf's flag, or the node (and which of its outputs) that produced this tensor.
  #requiresGrad = false;
  #gradFn: Node | null = null;
  #outputNr = 0;
  #grad: Tensor | null = null;
  #accumulator: AccumulateGrad | null = null;
  /** For aliases of a leaf: the leaf whose accumulator gradients go to. */
  #leafSource: Tensor | null = null;
  #retainsGrad = false;

  /** @internal Tensors are made by factories (torch.tensor, zeros, ...) and ops, not with `new`. */
  constructor(storage: Storage, shape: readonly number[], strides: readonly number[], offset: number, dtype: Dtype) {
    this.#storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    registerHandle(this, storage);
    trackInScope(this);
  }

  /** @internal The storage behind this view; throws once disposed. */
  get storage(): Storage {
    if (this.#disposed) {
      throw new DisposedError(`this tensor (shape [${this.shape.join(', ')}], ${this.dtype}) was disposed and cannot be used; ` +
        'keep it alive by not disposing it, returning it from torch.tidy, or cloning it first');
    }
    return this.#storage;
  }

  get device(): Device { return this.#storage.device; }
  get ndim(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.#disposed; }
  /** The storage's in-place write counter (PyTorch's `_version`). */
  get version(): number { return this.storage.version; }

  dim(): number { return this.shape.length; }
  numel(): number { let n = 1; for (const s of this.shape) n *= s; return n; }
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number { return shapeOps.size(this, dim); }
  stride(): number[];
  stride(dim: number): number;
  stride(dim?: number): number[] | number { return shapeOps.stride(this, dim); }
  storageOffset(): number { return this.offset; }
  isContiguous(): boolean { return shapeOps.isContiguousTensor(this); }
  elementSize(): number { return this.dtype === 'bool' ? 1 : 4; }

  /** Frees this handle's reference to the storage; harmless to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    unregisterHandle(this, this.#storage);
    // A leaf's .grad belongs to it (aliases never own one).
    this.#grad?.dispose();
    this.#grad = null;
  }
  [Symbol.dispose](): void { this.dispose(); }

  // ---- autograd
  /** Whether gradients flow to this tensor: a leaf that asked for them, or a result of ops on such tensors. */
  get requiresGrad(): boolean { return this.#gradFn !== null || this.#requiresGrad; }
  set requiresGrad(value: boolean) { this.requiresGrad_(value); }
  get gradFn(): Node | null { return this.#gradFn; }
  /** Which output of gradFn this tensor is. */
  get outputNr(): number { return this.#outputNr; }
  get isLeaf(): boolean { return this.#gradFn === null; }
  /** The accumulated gradient (leaves, and non-leaves after retainGrad()). */
  get grad(): Tensor | null { return this.#grad; }
  set grad(value: Tensor | null) {
    if (value !== null && !(value instanceof Tensor)) throw new ArgumentError('grad must be a tensor or null');
    if (value && (value.shape.length !== this.shape.length || value.shape.some((s, d) => s !== this.shape[d]))) {
      throw new AutogradError(`assigned grad has data of a different size: [${value.shape.join(', ')}] for a tensor of shape [${this.shape.join(', ')}]`);
    }
    this.#grad = value;
  }

  requiresGrad_(requiresGrad = true): this {
    void this.storage;
    if (typeof requiresGrad !== 'boolean') throw new ArgumentError(`requiresGrad_ expects a boolean, got ${typeof requiresGrad}`);
    if (!this.isLeaf) {
      if (requiresGrad) return this;
      throw new AutogradError("you can only change requiresGrad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use varNoGrad = x.detach().");
    }
    if (requiresGrad && this.dtype !== 'float32') {
      throw new AutogradError(`only Tensors of floating point dtype can require gradients (this one is ${this.dtype})`);
    }
    this.#requiresGrad = requiresGrad;
    return this;
  }

  /** Computes the gradient of this tensor w.r.t. graph leaves and accumulates it into their .grad. */
  backward(gradient?: Tensor | null | { retainGraph?: boolean; createGraph?: boolean; inputs?: Tensor[] }, options?: { retainGraph?: boolean; createGraph?: boolean; inputs?: Tensor[] }): void {
    if (gradient !== null && gradient !== undefined && !(gradient instanceof Tensor)) {
      // backward({ retainGraph: true }): options without a gradient. Anything else in that place (a number, a
      // string) is refused here rather than read as "no options" and reported as a missing gradient.
      if (typeof gradient !== 'object' || Array.isArray(gradient)) {
        throw new ArgumentError(`backward: gradient must be a tensor, null or an options object, got ${describeValue(gradient)}`);
      }
      checkOptions(gradient, 'backward', ['retainGraph', 'createGraph', 'inputs']);
      options = gradient;
      gradient = undefined;
    }
    engineCalls.backward([this], gradient === undefined || gradient === null ? undefined : [gradient], options);
  }

  /** Keeps .grad for this non-leaf tensor during backward (leaves always keep it). */
  retainGrad(): void {
    void this.storage;
    if (!this.requiresGrad) throw new AutogradError("can't retainGrad on a tensor that has requiresGrad=false");
    if (this.isLeaf || this.#retainsGrad) return;
    this.#retainsGrad = true;
    this.registerHook((grad) => {
      engineCalls.retainGradient(this, grad);
    });
  }
  get retainsGrad(): boolean { return this.#retainsGrad; }

  /** Calls hook(grad) each time a gradient for this tensor is computed; a returned tensor replaces it. */
  registerHook(hook: Hook): { remove(): void } {
    void this.storage;
    if (typeof hook !== 'function') throw new ArgumentError('registerHook expects a function');
    if (!this.requiresGrad) throw new AutogradError("cannot register a hook on a tensor that doesn't require gradient");
    const node: Node = this.#gradFn ?? this.gradAccumulator();
    const index = this.#gradFn ? this.#outputNr : 0;
    let hooks = node.preHooks.get(index);
    if (!hooks) node.preHooks.set(index, (hooks = []));
    hooks.push(hook);
    return { remove: () => { const at = hooks!.indexOf(hook); if (at >= 0) hooks!.splice(at, 1); } };
  }

  /** @internal The leaf's gradient accumulator (one per leaf, shared by its aliases). */
  gradAccumulator(): AccumulateGrad {
    if (this.#leafSource) return this.#leafSource.gradAccumulator();
    return (this.#accumulator ??= new AccumulateGrad(this));
  }

  /** @internal Set by the engine when an op records this tensor as output `outputNr` of `node`. */
  setGradFn(node: Node | null, outputNr = 0): void {
    this.#gradFn = node;
    this.#outputNr = outputNr;
    if (node) this.#requiresGrad = false;
  }

  /** @internal The engine's write of .grad. */
  setGradInternal(grad: Tensor | null): void {
    this.#grad = grad;
  }

  /**
   * @internal A second handle on the same view with the same autograd identity (gradFn, or the same leaf):
   * what saved tensors and gradients in flight hold, so user disposal never frees them.
   */
  alias(): Tensor {
    const alias = new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
    alias.#gradFn = this.#gradFn;
    alias.#outputNr = this.#outputNr;
    if (this.#gradFn === null && this.requiresGrad) {
      alias.#requiresGrad = true;
      alias.#leafSource = this.#leafSource ?? this;
    }
    return alias;
  }

  // ---- reading
  item(): number | boolean { return read.item(this); }
  tolist(): NestedList { return read.tolist(this); }
  toArray(): AnyTypedArray { return read.toArray(this); }
  /** The elements as a typed array; the read every device has (GPU tensors are only read asynchronously). */
  async data(): Promise<AnyTypedArray> { return read.toArrayAsync(this); }
  async tolistAsync(): Promise<NestedList> { return read.tolistAsync(this); }
  async itemAsync(): Promise<number | boolean> { return read.itemAsync(this); }
  toString(): string { return formatTensor(this); }
  [inspectSymbol](): string { return this.#disposed ? 'tensor(<disposed>)' : formatTensor(this); }

  // ---- conversion and copies
  to(dtypeOrDevice: Dtype | Device | Tensor | { dtype?: Dtype; device?: Device }): Tensor { return elementwise.to(this, dtypeOrDevice); }
  /** to(device) for any pair of devices: a GPU → CPU copy waits for the GPU. */
  async toAsync(device: Device): Promise<Tensor> { return elementwise.toAsync(this, device); }
  cpu(): Tensor { return elementwise.to(this, 'cpu'); }
  float(): Tensor { return elementwise.to(this, 'float32'); }
  int(): Tensor { return elementwise.to(this, 'int32'); }
  bool(): Tensor { return elementwise.to(this, 'bool'); }
  contiguous(): Tensor { return shapeOps.contiguous(this); }
  clone(): Tensor { return elementwise.clone(this); }
  detach(): Tensor { return shapeOps.detach(this); }

  // ---- elementwise math
  add(other: TensorOrScalar, options?: { alpha?: number }): Tensor { return elementwise.binary('add', this, other, alphaOf(options, 'add')); }
  sub(other: TensorOrScalar, options?: { alpha?: number }): Tensor { return elementwise.binary('sub', this, other, alphaOf(options, 'sub')); }
  mul(other: TensorOrScalar): Tensor { return elementwise.binary('mul', this, other); }
  div(other: TensorOrScalar, options?: { roundingMode?: 'trunc' | 'floor' | null }): Tensor { return elementwise.divide(this, other, checkOptions(options, 'div', ['roundingMode']).roundingMode as 'trunc' | 'floor' | null | undefined); }
  pow(exponent: TensorOrScalar): Tensor { return elementwise.binary('pow', this, exponent); }
  remainder(other: TensorOrScalar): Tensor { return elementwise.binary('remainder', this, other); }
  floorDivide(other: TensorOrScalar): Tensor { return elementwise.binary('floorDivide', this, other); }
  maximum(other: Tensor): Tensor { return elementwise.binary('maximum', this, other); }
  minimum(other: Tensor): Tensor { return elementwise.binary('minimum', this, other); }
  neg(): Tensor { return elementwise.unary('neg', this); }
  abs(): Tensor { return elementwise.unary('abs', this); }
  exp(): Tensor { return elementwise.unary('exp', this); }
  log(): Tensor { return elementwise.unary('log', this); }
  sqrt(): Tensor { return elementwise.unary('sqrt', this); }
  rsqrt(): Tensor { return elementwise.unary('rsqrt', this); }
  sigmoid(): Tensor { return elementwise.unary('sigmoid', this); }
  tanh(): Tensor { return elementwise.unary('tanh', this); }
  relu(): Tensor { return elementwise.unary('relu', this); }
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor { return elementwise.gelu(this, options); }
  silu(): Tensor { return elementwise.unary('silu', this); }
  erf(): Tensor { return elementwise.unary('erf', this); }
  sin(): Tensor { return elementwise.unary('sin', this); }
  cos(): Tensor { return elementwise.unary('cos', this); }
  floor(): Tensor { return elementwise.unary('floor', this); }
  ceil(): Tensor { return elementwise.unary('ceil', this); }
  round(): Tensor { return elementwise.unary('round', this); }
  trunc(): Tensor { return elementwise.unary('trunc', this); }
  sign(): Tensor { return elementwise.unary('sign', this); }
  reciprocal(): Tensor { return elementwise.unary('reciprocal', this); }
  square(): Tensor { return elementwise.unary('square', this); }
  clamp(min?: number | null | { min?: number | null; max?: number | null }, max?: number | null): Tensor { return elementwise.clamp(this, min, max); }
  clip(min?: number | null | { min?: number | null; max?: number | null }, max?: number | null): Tensor { return elementwise.clamp(this, min, max); }

  // ---- comparisons (bool results)
  eq(other: TensorOrScalar): Tensor { return elementwise.compare('eq', this, other); }
  ne(other: TensorOrScalar): Tensor { return elementwise.compare('ne', this, other); }
  lt(other: TensorOrScalar): Tensor { return elementwise.compare('lt', this, other); }
  le(other: TensorOrScalar): Tensor { return elementwise.compare('le', this, other); }
  gt(other: TensorOrScalar): Tensor { return elementwise.compare('gt', this, other); }
  ge(other: TensorOrScalar): Tensor { return elementwise.compare('ge', this, other); }

  // ---- selection
  where(condition: Tensor, other: TensorOrScalar): Tensor { return elementwise.where(condition, this, other); }
  maskedFill(mask: Tensor, value: Scalar | Tensor): Tensor { return elementwise.maskedFill(this, mask, value); }

  // ---- reductions
  sum(...args: ReduceArgs): Tensor { return reduction.sum(this, ...args); }
  mean(...args: ReduceArgs): Tensor { return reduction.mean(this, ...args); }
  prod(...args: ReduceArgs): Tensor { return reduction.prod(this, ...args); }
  all(...args: ReduceArgs): Tensor { return reduction.logical('all', this, ...args); }
  any(...args: ReduceArgs): Tensor { return reduction.logical('any', this, ...args); }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  max(options: { dim: number; keepdim?: boolean }): ValuesIndices;
  max(dim?: number | { dim: number; keepdim?: boolean }, keepdim?: boolean): Tensor | ValuesIndices { return reduction.extreme('max', this, dim, keepdim); }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  min(options: { dim: number; keepdim?: boolean }): ValuesIndices;
  min(dim?: number | { dim: number; keepdim?: boolean }, keepdim?: boolean): Tensor | ValuesIndices { return reduction.extreme('min', this, dim, keepdim); }
  argmax(dim?: number | null | { dim?: number | null; keepdim?: boolean }, keepdim?: boolean): Tensor { return reduction.argExtreme('max', this, dim, keepdim); }
  argmin(dim?: number | null | { dim?: number | null; keepdim?: boolean }, keepdim?: boolean): Tensor { return reduction.argExtreme('min', this, dim, keepdim); }
  softmax(dim: number | { dim: number }): Tensor { return reduction.softmax(this, dim, false); }
  logSoftmax(dim: number | { dim: number }): Tensor { return reduction.softmax(this, dim, true); }

  // ---- linear algebra
  mm(mat2: Tensor): Tensor { return linalg.mm(this, mat2); }
  matmul(other: Tensor): Tensor { return linalg.matmul(this, other); }
  bmm(mat2: Tensor): Tensor { return linalg.bmm(this, mat2); }

  // ---- shape and views
  t(): Tensor { return shapeOps.t(this); }
  get T(): Tensor { return shapeOps.permute(this, this.shape.map((_, d) => this.shape.length - 1 - d)); }
  transpose(dim0: number, dim1: number): Tensor { return shapeOps.transpose(this, dim0, dim1); }
  permute(...dims: number[] | [number[]]): Tensor { return shapeOps.permute(this, dims.length === 1 && Array.isArray(dims[0]) ? dims[0] : dims as number[]); }
  reshape(...shape: number[] | [number[]]): Tensor { return shapeOps.reshape(this, shape); }
  view(...shape: number[] | [number[]]): Tensor { return shapeOps.view(this, shape); }
  viewAs(other: Tensor): Tensor { return shapeOps.view(this, [shapeOfOther(other, 'viewAs')]); }
  reshapeAs(other: Tensor): Tensor { return shapeOps.reshape(this, [shapeOfOther(other, 'reshapeAs')]); }
  flatten(startDim = 0, endDim = -1): Tensor { return shapeOps.flatten(this, startDim, endDim); }
  squeeze(dim?: number | number[]): Tensor { return shapeOps.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return shapeOps.unsqueeze(this, dim); }
  expand(...sizes: number[] | [number[]]): Tensor { return shapeOps.expand(this, sizes); }
  expandAs(other: Tensor): Tensor { return shapeOps.expand(this, [shapeOfOther(other, 'expandAs')]); }
  narrow(dim: number, start: number, length: number): Tensor { return shapeOps.narrow(this, dim, start, length); }
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor { return shapeOps.slice(this, dim, start, end, step); }
  select(dim: number, index: number): Tensor { return shapeOps.select(this, dim, index); }
  chunk(chunks: number, dim = 0): Tensor[] { return shapeOps.chunk(this, chunks, dim); }
  split(splitSizeOrSections: number | number[], dim = 0): Tensor[] { return shapeOps.split(this, splitSizeOrSections, dim); }
  unbind(dim = 0): Tensor[] { return shapeOps.unbind(this, dim); }

  // ---- indexing
  indexSelect(dim: number, index: Tensor): Tensor { return indexing.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return indexing.gather(this, dim, index); }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor { return indexing.scatter(this, dim, index, src, false); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return indexing.scatter(this, dim, index, src, true); }

  // ---- in place (each bumps the storage version)
  add_(other: TensorOrScalar, options?: { alpha?: number }): this { elementwise.binaryInPlace('add', this, other, alphaOf(options, 'add_')); return this; }
  sub_(other: TensorOrScalar, options?: { alpha?: number }): this { elementwise.binaryInPlace('sub', this, other, alphaOf(options, 'sub_')); return this; }
  mul_(other: TensorOrScalar): this { elementwise.binaryInPlace('mul', this, other); return this; }
  div_(other: TensorOrScalar): this { elementwise.binaryInPlace('div', this, other); return this; }
  pow_(exponent: TensorOrScalar): this { elementwise.binaryInPlace('pow', this, exponent); return this; }
  clamp_(min?: number | null | { min?: number | null; max?: number | null }, max?: number | null): this { elementwise.clampInPlace(this, min, max); return this; }
  relu_(): this { elementwise.unaryInPlace('relu', this); return this; }
  exp_(): this { elementwise.unaryInPlace('exp', this); return this; }
  neg_(): this { elementwise.unaryInPlace('neg', this); return this; }
  zero_(): this { elementwise.fill_(this, 0); return this; }
  fill_(value: Scalar | Tensor): this { elementwise.fill_(this, value); return this; }
  copy_(source: Tensor): this { elementwise.copy_(this, source); return this; }
  maskedFill_(mask: Tensor, value: Scalar | Tensor): this { elementwise.maskedFillInPlace(this, mask, value); return this; }
  scatter_(dim: number, index: Tensor, src: Tensor | Scalar): this { indexing.scatterInPlace(this, dim, index, src, false); return this; }
  scatterAdd_(dim: number, index: Tensor, src: Tensor): this { indexing.scatterInPlace(this, dim, index, src, true); return this; }
  normal_(mean = 0, std = 1): this { random.normal_(this, mean, std); return this; }
  uniform_(from = 0, to = 1): this { random.uniform_(this, from, to); return this; }
}

setTensorClass(Tensor);
