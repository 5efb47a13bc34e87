// Elementwise ops: unary and binary math with broadcasting and dtype promotion, comparisons, where, fills, casts and copies.
import { wasm } from '../backend/wasm/device.js';
import { BinaryOp, CompareOp, UnaryOp, type BinaryOpName, type CompareOpName, type UnaryOpName } from '../backend/wasm/kernels.js';
import { canCast, checkDtype, dtypeCode, promoteTypes, scalarDtype, torchName, type Dtype } from '../dtype.js';
import { ArgumentError, DeviceError, DtypeError, ShapeError } from '../errors.js';
import { Tensor, type Scalar, type TensorOrScalar, type Device } from '../tensor.js';
import { record, AutogradError } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { addressOf, broadcastShapes, checkDevice, checkOptions, broadcastStrides, describeValue, emptyTensor, formatShape, sameDevice, sameShape, type Shape } from './support.js';
import * as gpu from '../backend/webgpu/elementwise.js';
import { move, moveAsync, upload } from './transfer.js';

/** An operand as kernels see it: an address and its strides over the output's shape. */
interface Operand {
  address: number;
  strides: number[];
}

function operandOf(value: Tensor | Scalar, shape: Shape, dtype: Dtype, slot: number): Operand {
  if (value instanceof Tensor) return { address: addressOf(value), strides: broadcastStrides(value, shape) };
  return { address: wasm.scalar(Number(value), dtypeCode(dtype), slot), strides: new Array(shape.length).fill(0) };
}

function checkOperand(value: unknown, where: string, name = 'other'): TensorOrScalar {
  if (value instanceof Tensor) {
    void value.storage; // throws a clear error when disposed
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  throw new ArgumentError(`${where}: ${name} must be a tensor or a number, got ${describeValue(value)}`);
}

function shapeOf(value: TensorOrScalar): Shape {
  return value instanceof Tensor ? value.shape : [];
}

function dtypeOf(value: TensorOrScalar): Dtype {
  return value instanceof Tensor ? value.dtype : scalarDtype(value);
}

/** Result dtype of a binary op: tensors win over scalars of the same category, as in PyTorch. */
function resultDtype(a: TensorOrScalar, b: TensorOrScalar): Dtype {
  return promoteTypes(dtypeOf(a), dtypeOf(b));
}

/** `value` as a tensor of `dtype`: itself when it already is, else a converted copy the caller disposes. */
function castForCompute(value: TensorOrScalar, dtype: Dtype): { operand: TensorOrScalar; temporary?: Tensor } {
  if (!(value instanceof Tensor) || value.dtype === dtype) return { operand: value };
  const converted = convertTensor(value, dtype);
  return { operand: converted, temporary: converted };
}

/** Writes `source` (tensor broadcast to out's shape, or scalar) into `out`, converting dtype. */
export function convertInto(out: Tensor, source: Tensor | Scalar): void {
  const sourceDtype = source instanceof Tensor ? source.dtype : out.dtype;
  if (out.device === 'webgpu') {
    // copy_ from the CPU uploads first (a GPU → CPU copy_ is refused below by addressOf: it cannot be synchronous).
    const staged = source instanceof Tensor && source.device !== 'webgpu' ? upload(source) : null;
    gpu.convert(out, staged ?? (source instanceof Tensor ? source : Number(source)), sourceDtype);
    staged?.dispose();
    return;
  }
  const from = operandOf(source, out.shape, sourceDtype, 0);
  const desc = wasm.describe(out.shape, [out.strides as number[], from.strides]);
  const outAddress = addressOf(out);
  const total = out.numel();
  wasm.launch('convert', [dtypeCode(sourceDtype), dtypeCode(out.dtype), outAddress, from.address, desc], total, 0.5);
}

export function convertTensor(x: Tensor, dtype: Dtype): Tensor {
  const out = emptyTensor(x.shape, dtype, x.device);
  convertInto(out, x);
  return out;
}

export function clone(x: Tensor): Tensor {
  const out = convertTensor(x, x.dtype);
  record('CloneBackward0', [x], [out], () => derivatives.identity());
  return out;
}

export function to(x: Tensor, target: Dtype | Device | Tensor | { dtype?: Dtype; device?: Device }): Tensor {
  void x.storage;
  let options: { dtype?: Dtype; device?: Device };
  if (target instanceof Tensor) {
    // x.to(other): other's dtype and device, as PyTorch's Tensor.to(other).
    void target.storage;
    options = { dtype: target.dtype, device: target.device };
  } else if (typeof target === 'object' && target !== null) {
    options = checkOptions(target, 'to', ['dtype', 'device']) as { dtype?: Dtype; device?: Device };
  } else {
    options = target === 'cpu' || target === 'webgpu' ? { device: target as Device } : { dtype: target as Dtype };
  }
  if (options.device !== undefined) checkDevice(options.device, 'to');
  const dtype = options.dtype === undefined ? x.dtype : checkDtype(options.dtype, 'to');
  if (options.device === undefined || options.device === x.device) return dtype === x.dtype ? x : convertTensor(x, dtype);
  return toDevice(x, options.device, dtype);
}

export async function toAsync(x: Tensor, device: Device): Promise<Tensor> {
  void x.storage;
  checkDevice(device, 'toAsync');
  if (device === x.device || device === 'webgpu') return to(x, device);
  if (x.requiresGrad && !x.isLeaf) return toDevice(x, device, x.dtype); // throws the autograd-graph error
  const moved = await moveAsync(x, device);
  if (x.requiresGrad) moved.requiresGrad_(true);
  return moved;
}

/**
 * A device move. It is not recorded in the autograd graph (the way back would be an asynchronous read): a
 * leaf that requires grad gives a new leaf that requires grad; a non-leaf in the graph is refused.
 */
function toDevice(x: Tensor, device: Device, dtype: Dtype): Tensor {
  if (x.requiresGrad && !x.isLeaf) {
    throw new DeviceError(`to('${device}'): moving a tensor that is part of the autograd graph between devices is not supported; ` +
      'move the leaves (model.to(device), inputs.to(device)) before computing, or detach() first');
  }
  const converted = dtype === x.dtype ? x : convertTensor(x, dtype);
  const moved = move(converted, device);
  if (converted !== x) converted.dispose();
  if (x.requiresGrad && dtype === 'float32') moved.requiresGrad_(true);
  return moved;
}

/**
 * In-place ops under autograd. A leaf that requires grad refuses (as in PyTorch). When self is in the graph
 * or an operand requires grad, the op runs out of place on a snapshot of self (so what it saves is never
 * overwritten), self takes the result's values and gradFn, and the caller does nothing more (returns true).
 */
export function inPlaceTracked(self: Tensor, operands: readonly unknown[], where: string, compute: (snapshot: Tensor) => Tensor): boolean {
  if (!isGradEnabled()) return false;
  if (self.requiresGrad && self.isLeaf) {
    throw new AutogradError(`a leaf Variable that requires grad is being used in an in-place operation (${where}); ` +
      'update parameters inside torch.noGrad(() => ...)');
  }
  if (!self.requiresGrad && !operands.some((o) => o instanceof Tensor && o.requiresGrad)) return false;
  if (self.storage.viewedInGraph) {
    throw new AutogradError(`${where}: in-place ops on a tensor that shares storage with views in the autograd graph are not supported; ` +
      'use the out-of-place op (x = x.op(...)) or clone() first');
  }
  const snapshot = clone(self);
  const result = compute(snapshot);
  noGrad(() => convertInto(self, result));
  self.storage.version++;
  self.setGradFn(result.gradFn, result.outputNr);
  snapshot.dispose();
  result.dispose();
  return true;
}

// ------------------------------------------------------------------------------------------ unary

/** Ops that cost about a memory pass; the others evaluate a polynomial per element. */
const cheapUnary = new Set<UnaryOpName>(['neg', 'abs', 'relu', 'floor', 'ceil', 'round', 'trunc', 'sign', 'clamp', 'square', 'leakyRelu', 'sqrt', 'rsqrt', 'reciprocal']);
const floatOnlyUnary = new Set<UnaryOpName>(['exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'tanh', 'gelu', 'geluTanh', 'sin', 'cos', 'reciprocal', 'silu', 'erf']);
const identityOnIntegers = new Set<UnaryOpName>(['floor', 'ceil', 'round', 'trunc']);

function runUnary(op: UnaryOpName, out: Tensor, x: Tensor, p0: number, p1: number): void {
  if (out.device === 'webgpu') return gpu.unary(UnaryOp[op], out, x, p0, p1);
  const desc = wasm.describe(out.shape, [out.strides as number[], x.strides as number[]]);
  const outAddress = addressOf(out), xAddress = addressOf(x);
  const code = UnaryOp[op];
  wasm.launch(x.dtype === 'float32' ? 'unary_f32' : 'unary_i32', [code, outAddress, xAddress, desc, p0, p1], out.numel(), cheapUnary.has(op) ? 0.5 : 3);
}

/** Unary math: float-only ops compute int and bool inputs as float32, like PyTorch. */
export function unary(op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  void x.storage;
  if (x.dtype === 'bool' && !floatOnlyUnary.has(op)) {
    throw new DtypeError(`${op}: not supported for bool tensors; convert first with .int() or .float()`);
  }
  if (x.dtype === 'int32' && identityOnIntegers.has(op)) return clone(x);
  const computeDtype: Dtype = floatOnlyUnary.has(op) ? 'float32' : x.dtype;
  const { operand, temporary } = castForCompute(x, computeDtype);
  const out = emptyTensor(x.shape, computeDtype, x.device);
  runUnary(op, out, operand as Tensor, p0, p1);
  temporary?.dispose();
  record(unaryNames[op], [x], [out], () => derivatives.unary(op, p0, p1), () => {
    const [saveInput, saveOutput] = derivatives.unarySaves(op);
    return [saveInput ? x : null, saveOutput ? out : null];
  });
  return out;
}

const unaryNames: Record<UnaryOpName, string> = {
  neg: 'NegBackward0', abs: 'AbsBackward0', exp: 'ExpBackward0', log: 'LogBackward0', sqrt: 'SqrtBackward0', rsqrt: 'RsqrtBackward0',
  sigmoid: 'SigmoidBackward0', tanh: 'TanhBackward0', relu: 'ReluBackward0', gelu: 'GeluBackward0', geluTanh: 'GeluBackward0',
  sin: 'SinBackward0', cos: 'CosBackward0', floor: 'FloorBackward0', ceil: 'CeilBackward0', round: 'RoundBackward0', sign: 'SignBackward0',
  clamp: 'ClampBackward1', reciprocal: 'ReciprocalBackward0', square: 'PowBackward0', leakyRelu: 'LeakyReluBackward0', trunc: 'TruncBackward0',
  silu: 'SiluBackward0', erf: 'ErfBackward0',
};

export function unaryInPlace(op: UnaryOpName, x: Tensor, p0 = 0, p1 = 0): void {
  void x.storage;
  if (floatOnlyUnary.has(op) && x.dtype !== 'float32') {
    throw new DtypeError(`${op}_: result type Float can't be cast to the desired output type ${x.dtype} (in-place on a ${torchName(x.dtype)} tensor)`);
  }
  if (x.dtype === 'bool') throw new DtypeError(`${op}_: not supported for bool tensors`);
  if (x.dtype === 'int32' && identityOnIntegers.has(op)) return;
  if (inPlaceTracked(x, [], `${op}_`, (snapshot) => unary(op, snapshot, p0, p1))) return;
  runUnary(op, x, x, p0, p1);
  x.storage.version++;
}

export function gelu(x: Tensor, options?: { approximate?: 'none' | 'tanh' }): Tensor {
  const approximate = checkOptions(options, 'gelu', ['approximate']).approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new ArgumentError(`gelu: approximate must be 'none' or 'tanh', got ${describeValue(approximate)}`);
  }
  return unary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
}

function clampBounds(min: unknown, max: unknown, where: string): [number, number] {
  let low = min, high = max;
  if (typeof min === 'object' && min !== null && !(min instanceof Tensor)) {
    ({ min: low, max: high } = min as { min?: number | null; max?: number | null });
  }
  const bound = (value: unknown, name: string, absent: number) => {
    if (value === undefined || value === null) return absent;
    if (typeof value !== 'number') throw new ArgumentError(`${where}: ${name} must be a number, got ${describeValue(value)}`);
    return value;
  };
  const lowBound = bound(low, 'min', -Infinity), highBound = bound(high, 'max', Infinity);
  if ((low === undefined || low === null) && (high === undefined || high === null)) {
    throw new ArgumentError(`${where}: at least one of 'min' or 'max' must be given`);
  }
  return [lowBound, highBound];
}

/** torch.clamp(x, min, max); a bound above the other gives `max` everywhere, as in PyTorch. */
export function clamp(x: Tensor, min?: unknown, max?: unknown): Tensor {
  const [low, high] = clampBounds(min, max, 'clamp');
  if (x.dtype === 'int32' && (!Number.isInteger(low) && Number.isFinite(low) || !Number.isInteger(high) && Number.isFinite(high))) {
    const asFloat = convertTensor(x, 'float32');
    const out = unary('clamp', asFloat, low, high);
    asFloat.dispose();
    return out;
  }
  return unary('clamp', x, ...intBounds(x.dtype, low, high));
}

function intBounds(dtype: Dtype, low: number, high: number): [number, number] {
  if (dtype !== 'int32') return [low, high];
  return [Number.isFinite(low) ? low : -2147483648, Number.isFinite(high) ? high : 2147483647];
}

export function clampInPlace(x: Tensor, min?: unknown, max?: unknown): void {
  const [low, high] = clampBounds(min, max, 'clamp_');
  unaryInPlace('clamp', x, ...intBounds(x.dtype, low, high));
}

// ------------------------------------------------------------------------------------------ binary

const binaryNames: Record<BinaryOpName, string> = {
  add: 'AddBackward', sub: 'SubBackward', mul: 'MulBackward', div: 'DivBackward', pow: 'PowBackward', maximum: 'MaximumBackward',
  minimum: 'MinimumBackward', remainder: 'RemainderBackward', floorDivide: 'FloorDivideBackward',
  thresholdBackward: 'ThresholdBackwardBackward', clampMinBackward: 'ClampBackwardBackward',
};

const integerCapable = new Set<BinaryOpName>(['add', 'sub', 'mul', 'maximum', 'minimum', 'remainder', 'floorDivide']);

/** The dtype a binary op computes in and the dtype of its result. */
function binaryDtypes(op: BinaryOpName, a: TensorOrScalar, b: TensorOrScalar): { compute: Dtype; result: Dtype } {
  const promoted = resultDtype(a, b);
  if (op === 'div') return { compute: 'float32', result: 'float32' };
  if (promoted === 'float32') return { compute: 'float32', result: 'float32' };
  if (op === 'pow') return { compute: 'float32', result: promoted === 'bool' ? 'int32' : promoted };
  if (promoted === 'bool') {
    if (op === 'sub') {
      throw new DtypeError('sub: Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.');
    }
    return { compute: 'int32', result: integerCapable.has(op) && op !== 'remainder' && op !== 'floorDivide' ? 'bool' : 'int32' };
  }
  return { compute: integerCapable.has(op) ? 'int32' : 'float32', result: 'int32' };
}

function runBinary(op: BinaryOpName, out: Tensor, a: TensorOrScalar, b: TensorOrScalar, alpha: number): void {
  const computeDtype = out.dtype;
  if (out.device === 'webgpu') return gpu.binary(BinaryOp[op], out, gpuOperand(a), gpuOperand(b), alpha);
  const x = operandOf(a, out.shape, computeDtype, 0);
  const y = operandOf(b, out.shape, computeDtype, 1);
  const desc = wasm.describe(out.shape, [out.strides as number[], x.strides, y.strides]);
  const outAddress = addressOf(out), code = BinaryOp[op];
  wasm.launch(computeDtype === 'float32' ? 'binary_f32' : 'binary_i32', [code, outAddress, x.address, y.address, desc, alpha], out.numel(), op === 'pow' ? 4 : 0.7);
}

/** A scalar operand travels to GPU kernels as a number (booleans as 0/1). */
function gpuOperand(value: TensorOrScalar): Tensor | number {
  return value instanceof Tensor ? value : Number(value);
}

function checkAlpha(alpha: unknown, op: string, dtype: Dtype): number {
  if (alpha === undefined) return 1;
  if (typeof alpha !== 'number') throw new ArgumentError(`${op}: alpha must be a number, got ${describeValue(alpha)}`);
  if (dtype !== 'float32' && !Number.isInteger(alpha)) {
    throw new DtypeError(`${op}: For integral input tensors, argument alpha must not be a floating point number.`);
  }
  return alpha;
}

/** a op b with broadcasting; a or b may be a number. */
export function binary(op: BinaryOpName, a: TensorOrScalar, b: unknown, alpha?: number): Tensor {
  checkOperand(a, op, 'input');
  const other = checkOperand(b, op);
  const { compute, result } = binaryDtypes(op, a, other);
  const alphaValue = checkAlpha(alpha, op, compute);
  const shape = broadcastShapes(shapeOf(a), shapeOf(other));
  const device = sameDevice(op, a, other);
  const left = castForCompute(a, compute), right = castForCompute(other, compute);
  const out = emptyTensor(shape, compute, device);
  runBinary(op, out, left.operand, right.operand, alphaValue);
  left.temporary?.dispose();
  right.temporary?.dispose();
  if (result === compute) {
    const first = a instanceof Tensor ? a : null, second = other instanceof Tensor ? other : null;
    if (op !== 'floorDivide') {
      record(binaryNames[op] + (op === 'pow' ? (!first ? '2' : second ? '1' : '0') : '0'), [first, second], [out],
        () => derivatives.binary(op, shapeOf(a), shapeOf(other), alphaValue, first ? null : Number(a), second ? null : Number(other)),
        () => {
          const [saveA, saveB, saveOut] = derivatives.binarySaves(op);
          return [saveA ? first : null, saveB ? second : null, saveOut ? out : null];
        });
    }
    return out;
  }
  const converted = convertTensor(out, result);
  out.dispose();
  return converted;
}

export function divide(a: Tensor, b: unknown, roundingMode?: 'trunc' | 'floor' | null): Tensor {
  if (roundingMode === undefined || roundingMode === null) return binary('div', a, b);
  if (roundingMode === 'floor') return binary('floorDivide', a, b);
  if (roundingMode === 'trunc') {
    const quotient = binary('div', a, b);
    const truncated = unary('trunc', quotient);
    quotient.dispose();
    if (resultDtype(a, checkOperand(b, 'div')) === 'float32') return truncated;
    const asInt = convertTensor(truncated, 'int32');
    truncated.dispose();
    return asInt;
  }
  throw new ArgumentError(`div: rounding_mode must be null, 'trunc' or 'floor', got ${describeValue(roundingMode)}`);
}

/** Operands sharing self's storage through a different view are copied first, so reads never see writes. */
function separateFrom(self: Tensor, value: TensorOrScalar): { operand: TensorOrScalar; temporary?: Tensor } {
  if (!(value instanceof Tensor) || value.storage !== self.storage) return { operand: value };
  if (value.offset === self.offset && sameShape(value.strides, self.strides) && sameShape(value.shape, self.shape)) return { operand: value };
  const copy = clone(value);
  return { operand: copy, temporary: copy };
}

function checkInPlaceShape(self: Tensor, other: TensorOrScalar, op: string): void {
  const shape = broadcastShapes(self.shape, shapeOf(other));
  if (!sameShape(shape, self.shape)) {
    throw new ShapeError(`${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(shape)}`);
  }
}

export function binaryInPlace(op: BinaryOpName, self: Tensor, b: unknown, alpha?: number): void {
  void self.storage;
  const other = checkOperand(b, `${op}_`);
  const { compute, result } = binaryDtypes(op, self, other);
  if (!canCast(result, self.dtype)) {
    throw new DtypeError(`${op}_: result type ${torchName(result)} can't be cast to the desired output type ${torchName(self.dtype)}`);
  }
  const alphaValue = checkAlpha(alpha, `${op}_`, compute);
  checkInPlaceShape(self, other, `${op}_`);
  sameDevice(`${op}_`, self, other);
  if (inPlaceTracked(self, [other], `${op}_`, (snapshot) => binary(op, snapshot, other, alphaValue))) return;
  if (compute === self.dtype) {
    const { operand, temporary } = separateFrom(self, other);
    const right = castForCompute(operand, compute);
    runBinary(op, self, self, right.operand, alphaValue);
    right.temporary?.dispose();
    temporary?.dispose();
  } else {
    const value = binary(op, self, other, alphaValue);
    convertInto(self, value);
    value.dispose();
  }
  self.storage.version++;
}

// ------------------------------------------------------------------------------------------ comparisons and selection

export function compare(op: CompareOpName, a: Tensor, b: unknown): Tensor {
  void a.storage;
  const other = checkOperand(b, op);
  const compute = resultDtype(a, other);
  const shape = broadcastShapes(a.shape, shapeOf(other));
  const device = sameDevice(op, a, other);
  const left = castForCompute(a, compute), right = castForCompute(other, compute);
  const out = emptyTensor(shape, 'bool', device);
  if (device === 'webgpu') {
    // Bools compare as their 0/1 words read as integers (WGSL orders no bools).
    gpu.compare(CompareOp[op], compute === 'bool' ? 'int32' : compute, out, gpuOperand(left.operand), gpuOperand(right.operand));
    left.temporary?.dispose();
    right.temporary?.dispose();
    return out;
  }
  const x = operandOf(left.operand, shape, compute, 0), y = operandOf(right.operand, shape, compute, 1);
  const desc = wasm.describe(shape, [out.strides as number[], x.strides, y.strides]);
  const outAddress = addressOf(out), dtype = dtypeCode(compute), code = CompareOp[op];
  wasm.launch('compare', [dtype, code, outAddress, x.address, y.address, desc], out.numel(), 1);
  left.temporary?.dispose();
  right.temporary?.dispose();
  return out;
}

function checkMask(mask: unknown, where: string, name: string): Tensor {
  if (!(mask instanceof Tensor)) throw new ArgumentError(`${where}: ${name} must be a bool tensor, got ${describeValue(mask)}`);
  if (mask.dtype !== 'bool') throw new DtypeError(`${where}: expected ${name} to have dtype torch.bool, but got ${torchName(mask.dtype)}`);
  void mask.storage;
  return mask;
}

function runWhere(out: Tensor, condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): void {
  if (out.device === 'webgpu') return gpu.where(out, condition, gpuOperand(a), gpuOperand(b));
  const c = operandOf(condition, out.shape, 'bool', 0);
  const x = operandOf(a, out.shape, out.dtype, 0), y = operandOf(b, out.shape, out.dtype, 1);
  const desc = wasm.describe(out.shape, [out.strides as number[], c.strides, x.strides, y.strides]);
  const outAddress = addressOf(out), bytes = out.dtype === 'bool' ? 1 : 4;
  wasm.launch('where_select', [bytes, outAddress, c.address, x.address, y.address, desc], out.numel(), 1);
}

/** torch.where(condition, input, other): input where condition is true, other elsewhere, all broadcast. */
export function where(condition: unknown, a: unknown, b: unknown): Tensor {
  const mask = checkMask(condition, 'where', 'condition');
  const input = checkOperand(a, 'where', 'input'), other = checkOperand(b, 'where');
  const dtype = resultDtype(input, other);
  const shape = broadcastShapes(broadcastShapes(mask.shape, shapeOf(input)), shapeOf(other));
  const device = sameDevice('where', mask, input, other);
  const left = castForCompute(input, dtype), right = castForCompute(other, dtype);
  const out = emptyTensor(shape, dtype, device);
  runWhere(out, mask, left.operand, right.operand);
  left.temporary?.dispose();
  right.temporary?.dispose();
  record('WhereBackward0', [input instanceof Tensor ? input : null, other instanceof Tensor ? other : null], [out],
    () => derivatives.where(shapeOf(input), shapeOf(other)), () => [mask]);
  return out;
}

function fillValue(value: unknown, where: string): Scalar | Tensor {
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Tensor) {
    if (value.dim() !== 0) {
      throw new ShapeError(`${where}: only supports a 0-dimensional value tensor, but got tensor with ${value.dim()} dimension(s)`);
    }
    // A GPU value is not read back (that would need a synchronous read): kernels take it as a broadcast operand.
    return value.device === 'cpu' ? value.item() : value;
  }
  throw new ArgumentError(`${where}: value must be a number, a boolean or a 0-d tensor, got ${describeValue(value)}`);
}

/**
 * A fill value as a kernel operand of `self`'s dtype: a number, or a 0-d GPU tensor converted (and copied
 * when it is a view of self's storage, so no thread reads what another writes). Dispose `temporary`.
 */
function fillOperand(self: Tensor, fill: Scalar | Tensor): { operand: Tensor | number; temporary?: Tensor } {
  if (!(fill instanceof Tensor)) return { operand: castScalar(fill, self.dtype) };
  sameDevice('fill', self, fill);
  if (fill.dtype === self.dtype && fill.storage !== self.storage) return { operand: fill };
  const copy = convertTensor(fill, self.dtype);
  return { operand: copy, temporary: copy };
}

function castScalar(value: Scalar, dtype: Dtype): number {
  const number = Number(value);
  if (dtype === 'bool') return number !== 0 ? 1 : 0;
  if (dtype === 'int32') return Math.trunc(number);
  return number;
}

export function maskedFill(self: Tensor, mask: unknown, value: unknown): Tensor {
  void self.storage;
  const condition = checkMask(mask, 'maskedFill', 'mask');
  const fill = fillValue(value, 'maskedFill');
  const shape = broadcastShapes(self.shape, condition.shape);
  const out = emptyTensor(shape, self.dtype, sameDevice('maskedFill', self, condition));
  const { operand, temporary } = fillOperand(self, fill);
  runWhere(out, condition, operand, self);
  temporary?.dispose();
  const valueTensor = value instanceof Tensor ? value : null;
  record('MaskedFillBackward0', [self, valueTensor], [out], () => derivatives.maskedFill(self.shape), () => [condition]);
  return out;
}

export function maskedFillInPlace(self: Tensor, mask: unknown, value: unknown): void {
  void self.storage;
  const condition = checkMask(mask, 'maskedFill_', 'mask');
  const fill = fillValue(value, 'maskedFill_');
  checkInPlaceShape(self, condition, 'maskedFill_');
  sameDevice('maskedFill_', self, condition);
  if (inPlaceTracked(self, [], 'maskedFill_', (snapshot) => maskedFill(snapshot, condition, fill))) return;
  const { operand, temporary } = fillOperand(self, fill);
  runWhere(self, condition, operand, self);
  temporary?.dispose();
  self.storage.version++;
}

export function fill_(self: Tensor, value: unknown): void {
  void self.storage;
  const fill = fillValue(value, 'fill_');
  const { operand, temporary } = fillOperand(self, fill);
  try {
    if (inPlaceTracked(self, [], 'fill_', () => { const filled = emptyTensor(self.shape, self.dtype, self.device); convertInto(filled, operand); return filled; })) return;
    convertInto(self, operand);
  } finally {
    temporary?.dispose();
  }
  self.storage.version++;
}

export function copy_(self: Tensor, source: unknown): void {
  void self.storage;
  if (!(source instanceof Tensor)) throw new ArgumentError(`copy_: source must be a tensor, got ${describeValue(source)}`);
  checkInPlaceShape(self, source, 'copy_');
  if (inPlaceTracked(self, [source], 'copy_', () => {
    const widened = source.expand([...self.shape]);
    const copy = source.dtype === self.dtype ? clone(widened) : convertTensor(widened, self.dtype);
    widened.dispose();
    return copy;
  })) return;
  const { operand, temporary } = separateFrom(self, source);
  convertInto(self, operand as Tensor);
  temporary?.dispose();
  self.storage.version++;
}
