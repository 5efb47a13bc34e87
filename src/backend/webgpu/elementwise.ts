// WebGPU elementwise kernels: unary and binary math, comparisons, where and dtype conversion, over strided and broadcast operands.
import type { Dtype } from '../../dtype.js';
import type { Tensor } from '../../tensor.js';
import { BinaryOp, CompareOp, UnaryOp } from '../wasm/kernels.js';
import { webgpu } from './device.js';
import { bufferOf, load, prelude, scalarBits, splitStrided, store, stridedPrelude, stridedWords, writeStridedLayout } from './wgsl.js';
import { broadcastStrides } from '../../ops/support.js';

/** An operand of an elementwise kernel: a tensor read through strides over the output's shape, or a number. */
export type ElementwiseOperand = Tensor | number;

/** Words after the strided layout: two op parameters, then one scalar per input operand. */
const parameterWord = stridedWords, scalarWord = stridedWords + 2;

// Math the CPU kernels share with these (assembly/math.ts) in spirit: same special cases, float32 precision.
const mathFunctions = /* wgsl */ `
fn erfApprox(x: f32) -> f32 {
  // Abramowitz and Stegun 7.1.26 refined: |error| < 1.5e-7, below float32 resolution near 1.
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  if (isNan(x)) { return x; }
  return select(y, -y, x < 0.0);
}
fn tanhStable(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  let t = exp(-2.0 * abs(x));
  let r = (1.0 - t) / (1.0 + t);
  return select(r, -r, x < 0.0);
}
fn sigmoidStable(x: f32) -> f32 {
  if (isNan(x)) { return x; }
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn logExact(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nan(); }
  if (x == 0.0) { return -inf(); }
  if (isInf(x)) { return x; }
  return log(x);
}
fn sqrtExact(x: f32) -> f32 {
  if (isNan(x) || x < 0.0) { return nan(); }
  if (isInf(x) || x == 0.0) { return x; }
  return sqrt(x);
}
fn rsqrtExact(x: f32) -> f32 {
  // 1/sqrt(±0) is ±Inf, as on the CPU (division by zero is not defined in WGSL).
  if (x == 0.0) { return bitcast<f32>((bitcast<u32>(x) & 0x80000000u) | infBits); }
  return 1.0 / sqrtExact(x);
}
// sin and cos with Cody-Waite reduction by pi/2 and Cephes' float polynomials: WGSL's builtins only promise
// an absolute error of 2^-11 (SwiftShader's sin(1) is off by 2e-5).
fn sinCos(x: f32) -> vec2f {
  // Past 2^16 the two-part reduction loses every bit: fall back to the builtins there (a documented gap).
  if (abs(x) > 65536.0) { return vec2f(sin(x), cos(x)); }
  let quadrant = round(x * 0.63661977236758134);
  let r = (x - quadrant * 1.5707963705062866) + quadrant * 4.3711388286737929e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  switch (i32(quadrant) & 3) {
    case 0: { return vec2f(s, c); }
    case 1: { return vec2f(c, -s); }
    case 2: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}
fn powExact(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (isNan(x) || isNan(y)) { return nan(); }
  let yInteger = !isInf(y) && floor(y) == y;
  // Small integer exponents by repeated squaring: exact where PyTorch is, e.g. x.pow(2).
  if (yInteger && abs(y) <= 64.0) {
    var n = u32(abs(y));
    var base = x;
    var result = 1.0;
    loop {
      if ((n & 1u) != 0u) { result *= base; }
      n = n >> 1u;
      if (n == 0u) { break; }
      base *= base;
    }
    return select(result, divideExact(1.0, result), y < 0.0);
  }
  let ax = abs(x);
  let negative = x < 0.0 || (x == 0.0 && (bitcast<u32>(x) >> 31u) == 1u);
  if (isInf(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(0.0, inf(), (ax > 1.0) == (y > 0.0));
  }
  var r: f32;
  if (ax == 0.0) { r = select(inf(), 0.0, y > 0.0); }
  else if (isInf(ax)) { r = select(0.0, inf(), y > 0.0); }
  else { r = exp2(y * log2(ax)); }
  if (negative) {
    // A negative finite base with a non-integer exponent has no real power; -0 and -Inf follow C's pow.
    if (!yInteger) { return select(nan(), r, x == 0.0 || isInf(x)); }
    let odd = abs(y) < 16777216.0 && (i32(abs(y)) & 1) == 1;
    return select(r, -r, odd);
  }
  return r;
}
`;

function unaryFloat(op: number): string {
  switch (op) {
    case UnaryOp.neg: return '-x';
    case UnaryOp.abs: return 'abs(x)';
    case UnaryOp.exp: return 'select(exp(x), x, isNan(x))';
    case UnaryOp.log: return 'logExact(x)';
    case UnaryOp.sqrt: return 'sqrtExact(x)';
    case UnaryOp.rsqrt: return 'rsqrtExact(x)';
    case UnaryOp.sigmoid: return 'sigmoidStable(x)';
    case UnaryOp.tanh: return 'tanhStable(x)';
    case UnaryOp.relu: return 'select(x, 0.0, x < 0.0)';
    case UnaryOp.gelu: return '0.5 * x * (1.0 + erfApprox(x * 0.7071067811865476))';
    case UnaryOp.geluTanh: return '0.5 * x * (1.0 + tanhStable(0.7978845608028654 * (x + 0.044715 * x * x * x)))';
    case UnaryOp.sin: return 'select(sinCos(x).x, nan(), isInf(x) || isNan(x))';
    case UnaryOp.cos: return 'select(sinCos(x).y, nan(), isInf(x) || isNan(x))';
    case UnaryOp.floor: return 'floor(x)';
    case UnaryOp.ceil: return 'ceil(x)';
    case UnaryOp.round: return 'round(x)';
    case UnaryOp.sign: return 'select(0.0, 1.0, x > 0.0) - select(0.0, 1.0, x < 0.0)';
    // max then min propagates NaN in x, as torch.clamp does; absent bounds arrive as -inf/+inf.
    case UnaryOp.clamp: return 'select(min(max(x, p0), p1), x, isNan(x))';
    case UnaryOp.reciprocal: return 'divideExact(1.0, x)';
    case UnaryOp.square: return 'x * x';
    case UnaryOp.leakyRelu: return 'select(x * p0, x, x > 0.0)';
    case UnaryOp.trunc: return 'trunc(x)';
    case UnaryOp.silu: return 'x * sigmoidStable(x)';
    case UnaryOp.erf: return 'erfApprox(x)';
    default: throw new Error(`webgpu: no float kernel for unary op ${op}`);
  }
}

function unaryInteger(op: number): string {
  switch (op) {
    case UnaryOp.neg: return '-x';
    case UnaryOp.abs: return 'abs(x)';
    case UnaryOp.sign: return 'select(0, 1, x > 0) - select(0, 1, x < 0)';
    case UnaryOp.clamp: return 'min(max(x, p0), p1)';
    case UnaryOp.relu: return 'max(x, 0)';
    case UnaryOp.square: return 'x * x';
    default: throw new Error(`webgpu: no int32 kernel for unary op ${op}`);
  }
}

function binaryFloat(op: number): string {
  switch (op) {
    case BinaryOp.add: return 'x + y * alpha';
    case BinaryOp.sub: return 'x - y * alpha';
    case BinaryOp.mul: return 'x * y';
    case BinaryOp.div: return 'divideExact(x, y)';
    case BinaryOp.pow: return 'powExact(x, y)';
    case BinaryOp.maximum: return 'select(max(x, y), nan(), isNan(x) || isNan(y))';
    case BinaryOp.minimum: return 'select(min(x, y), nan(), isNan(x) || isNan(y))';
    case BinaryOp.floorDivide: return 'floor(divideExact(x, y))';
    case BinaryOp.thresholdBackward: return 'select(x, 0.0, y <= alpha)';
    case BinaryOp.clampMinBackward: return 'select(0.0, x, y >= alpha)';
    // Python's modulo: the result takes the divisor's sign.
    case BinaryOp.remainder: return 'remainderFloat(x, y)';
    default: throw new Error(`webgpu: no float kernel for binary op ${op}`);
  }
}

function binaryInteger(op: number): string {
  switch (op) {
    case BinaryOp.add: return 'x + y * alpha';
    case BinaryOp.sub: return 'x - y * alpha';
    case BinaryOp.mul: return 'x * y';
    case BinaryOp.maximum: return 'max(x, y)';
    case BinaryOp.minimum: return 'min(x, y)';
    case BinaryOp.floorDivide: return 'floorDivideInt(x, y)';
    case BinaryOp.remainder: return 'remainderInt(x, y)';
    default: throw new Error(`webgpu: no int32 kernel for binary op ${op}`);
  }
}

const divisionFunctions = /* wgsl */ `
// WGSL leaves division by zero unspecified: IEEE's answers are spelled out (±Inf by the signs, NaN for 0/0).
fn divideExact(x: f32, y: f32) -> f32 {
  if (y == 0.0) {
    if (x == 0.0 || isNan(x)) { return nan(); }
    return bitcast<f32>(((bitcast<u32>(x) ^ bitcast<u32>(y)) & 0x80000000u) | infBits);
  }
  return x / y;
}
fn remainderFloat(x: f32, y: f32) -> f32 {
  let r = x - trunc(divideExact(x, y)) * y;
  return select(r, r + y, r != 0.0 && ((r < 0.0) != (y < 0.0)));
}
fn floorDivideInt(x: i32, y: i32) -> i32 {
  if (y == 0) { return 0; }
  let q = x / y;
  return select(q, q - 1, x % y != 0 && ((x < 0) != (y < 0)));
}
fn remainderInt(x: i32, y: i32) -> i32 {
  if (y == 0) { return 0; }
  let r = x % y;
  return select(r, r + y, r != 0 && ((r < 0) != (y < 0)));
}
`;

function compareExpression(op: number, float: boolean): string {
  // Compilers may assume no NaN: every float comparison is false with a NaN (ne true), tested on the bits.
  const ordered = float ? ' && !isNan(x) && !isNan(y)' : '';
  switch (op) {
    case CompareOp.eq: return `(x == y${ordered})`;
    case CompareOp.ne: return float ? '(x != y || isNan(x) || isNan(y))' : 'x != y';
    case CompareOp.lt: return `(x < y${ordered})`;
    case CompareOp.le: return `(x <= y${ordered})`;
    case CompareOp.gt: return `(x > y${ordered})`;
    case CompareOp.ge: return `(x >= y${ordered})`;
    default: throw new Error(`webgpu: unknown comparison ${op}`);
  }
}

/** Where an input operand's words come from: its own binding, the output's (in-place), or a scalar word. */
type Source = { kind: 'buffer'; binding: number } | { kind: 'output' } | { kind: 'scalar' };

interface Shader {
  /** Inputs in order; the expression sees them as x, y, z. */
  inputs: readonly { dtype: Dtype; source: Source }[];
  outputDtype: Dtype;
  /** WGSL expression of x, y, z (and p0, p1, alpha), of the output's compute type. */
  expression: string;
  helpers: string;
  /** Types of p0/p1/alpha, when the expression uses them. */
  parameterType: 'f32' | 'i32';
}

const shaderCache = new Map<string, string>();

function shaderSource(shader: Shader): string {
  const key = JSON.stringify(shader);
  let code = shaderCache.get(key);
  if (code !== undefined) return code;
  const names = ['x', 'y', 'z'];
  // Inputs over one buffer share its binding (a buffer may be bound once per dispatch).
  const bindings = [...new Set(shader.inputs.flatMap((input) => input.source.kind === 'buffer' ? [input.source.binding] : []))]
    .map((binding) => `@group(0) @binding(${binding}) var<storage, read> buffer${binding}: array<u32>;`).join('\n');
  const loads = shader.inputs.map((input, i) => {
    const word = input.source.kind === 'buffer' ? `buffer${input.source.binding}[stridedOffset(index, ${i + 1}u)]`
      : input.source.kind === 'output' ? `output[stridedOffset(index, ${i + 1}u)]` : `params[${scalarWord + i}u]`;
    return `  let ${names[i]} = ${load(input.dtype, word)};`;
  }).join('\n');
  const parameter = (word: number) => shader.parameterType === 'f32' ? `paramF32(${word}u)` : `paramI32(${word}u)`;
  code = `${prelude}${stridedPrelude}${shader.helpers}
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
${bindings}
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = flatIndex(id, groups);
  if (index >= params[0]) { return; }
  let p0 = ${parameter(parameterWord)};
  let p1 = ${parameter(parameterWord + 1)};
  let alpha = p0;
${loads}
  output[stridedOffset(index, 0u)] = ${store(shader.outputDtype, shader.expression)};
}`;
  shaderCache.set(key, code);
  return code;
}

/**
 * Runs one elementwise shader: `out` (any strides) gets expression(inputs) at each index of its shape.
 * Input tensors are read through broadcast strides; an input sharing out's buffer is read through it.
 */
function launch(out: Tensor, inputs: readonly { value: ElementwiseOperand; dtype: Dtype }[], expression: string, helpers: string,
  parameters: readonly number[], parameterType: 'f32' | 'i32'): void {
  const device = webgpu();
  const outBuffer = bufferOf(out);
  const buffers: GPUBuffer[] = [outBuffer];
  const layoutOperands: { offset: number; strides: readonly number[] }[] = [{ offset: out.offset, strides: out.strides }];
  const words = new Uint32Array(stridedWords + 2 + inputs.length);
  const shaderInputs = inputs.map(({ value, dtype }, i) => {
    if (typeof value === 'number') {
      layoutOperands.push({ offset: 0, strides: new Array(out.shape.length).fill(0) });
      words[scalarWord + i] = scalarBits(value, dtype);
      return { dtype, source: { kind: 'scalar' } as Source };
    }
    layoutOperands.push({ offset: value.offset, strides: broadcastStrides(value, out.shape) });
    const buffer = bufferOf(value);
    if (buffer === outBuffer) return { dtype, source: { kind: 'output' } as Source };
    let position = buffers.indexOf(buffer);
    if (position < 0) position = buffers.push(buffer) - 1;
    return { dtype, source: { kind: 'buffer', binding: position + 1 } as Source };
  });
  parameters.forEach((value, i) => { words[parameterWord + i] = scalarBits(value, parameterType === 'f32' ? 'float32' : 'int32'); });
  const code = shaderSource({ inputs: shaderInputs, outputDtype: out.dtype, expression, helpers, parameterType });
  splitStrided(out.shape, layoutOperands, (shape, operands) => {
    writeStridedLayout(words, shape, operands);
    device.dispatch(code, buffers, words, words[0]);
  });
}

export function unary(op: number, out: Tensor, x: Tensor, p0: number, p1: number): void {
  const float = out.dtype === 'float32';
  launch(out, [{ value: x, dtype: x.dtype }], float ? unaryFloat(op) : unaryInteger(op), float ? mathFunctions + divisionFunctions : '', [p0, p1], float ? 'f32' : 'i32');
}

export function binary(op: number, out: Tensor, a: ElementwiseOperand, b: ElementwiseOperand, alpha: number): void {
  const float = out.dtype === 'float32';
  launch(out, [{ value: a, dtype: out.dtype }, { value: b, dtype: out.dtype }], float ? binaryFloat(op) : binaryInteger(op),
    float ? mathFunctions + divisionFunctions : divisionFunctions, [alpha, 0], float ? 'f32' : 'i32');
}

/** out (bool) = a op b, both read as `dtype`. */
export function compare(op: number, dtype: Dtype, out: Tensor, a: ElementwiseOperand, b: ElementwiseOperand): void {
  launch(out, [{ value: a, dtype }, { value: b, dtype }], compareExpression(op, dtype === 'float32'), '', [0, 0], 'f32');
}

/** out = condition ? a : b, words copied as they are (a and b already have out's dtype). */
export function where(out: Tensor, condition: Tensor, a: ElementwiseOperand, b: ElementwiseOperand): void {
  launch(out, [{ value: condition, dtype: 'bool' }, { value: a, dtype: out.dtype }, { value: b, dtype: out.dtype }], 'select(z, y, x)', '', [0, 0], 'f32');
}

/** out = source converted to out's dtype (a number fills). */
export function convert(out: Tensor, source: ElementwiseOperand, sourceDtype: Dtype): void {
  let expression: string;
  if (sourceDtype === out.dtype) expression = 'x';
  else if (out.dtype === 'bool') expression = sourceDtype === 'float32' ? '(x != 0.0 || isNan(x))' : 'x != 0';
  else if (out.dtype === 'float32') expression = sourceDtype === 'bool' ? 'select(0.0, 1.0, x)' : 'f32(x)';
  // float32 → int32 truncates and saturates, NaN gives 0, as the CPU's i32.trunc_sat.
  else expression = sourceDtype === 'bool' ? 'select(0, 1, x)'
    : 'select(select(select(i32(x), -2147483647 - 1, x <= -2147483648.0), 2147483647, x >= 2147483648.0), 0, isNan(x))';
  launch(out, [{ value: source, dtype: sourceDtype }], expression, '', [0, 0], 'f32');
}
