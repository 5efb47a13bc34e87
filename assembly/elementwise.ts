// Elementwise kernels over strided, broadcast operands: unary, binary, comparisons, where, and dtype conversion.
//
// Every kernel walks output elements [begin, end) in row-major order, one innermost row at a time
// (strided.ts), and dispatches on the op once per row so the row loop is specialised and SIMD where the
// strides allow. Vector and tail elements go through the same vector function, so results do not depend on
// alignment or on how a tensor is split across threads.
import { exp4, log4, tanh4, sigmoid4, sin4, cos4, erf4, pow4 } from './math';
import { dimSize, rankOf, rowOffset, strideOf, byteAt } from './strided';

// Op codes: mirrored in src/backend/wasm/opcodes.ts.
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, POW = 4, MAXIMUM = 5, MINIMUM = 6, REMAINDER = 7, FLOOR_DIVIDE = 8,
  THRESHOLD_BACKWARD = 9, CLAMP_MIN_BACKWARD = 10;
const NEG = 0, ABS = 1, EXP = 2, LOG = 3, SQRT = 4, RSQRT = 5, SIGMOID = 6, TANH = 7, RELU = 8, GELU = 9, GELU_TANH = 10,
  SIN = 11, COS = 12, FLOOR = 13, CEIL = 14, ROUND = 15, SIGN = 16, CLAMP = 17, RECIPROCAL = 18, SQUARE = 19, LEAKY_RELU = 20,
  TRUNC = 21, SILU = 22, ERF = 23;
const EQ = 0, NE = 1, LT = 2, LE = 3, GT = 4, GE = 5;

// ---------------------------------------------------------------- float32 unary

@inline function unaryVector(op: i32, x: v128, p0: v128, p1: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(x);
    case ABS: return f32x4.abs(x);
    case EXP: return exp4(x);
    case LOG: return log4(x);
    case SQRT: return f32x4.sqrt(x);
    case RSQRT: return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
    case SIGMOID: return sigmoid4(x);
    case TANH: return tanh4(x);
    case RELU: return f32x4.max(x, f32x4.splat(0));
    case GELU: {
      const inner = erf4(f32x4.mul(x, f32x4.splat(0.7071067811865476)));
      return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), f32x4.add(inner, f32x4.splat(1)));
    }
    case GELU_TANH: {
      const cube = f32x4.mul(f32x4.mul(x, x), x);
      const inner = f32x4.mul(f32x4.splat(0.7978845608028654), f32x4.add(x, f32x4.mul(cube, f32x4.splat(0.044715))));
      return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), f32x4.add(tanh4(inner), f32x4.splat(1)));
    }
    case SIN: return sin4(x);
    case COS: return cos4(x);
    case FLOOR: return f32x4.floor(x);
    case CEIL: return f32x4.ceil(x);
    case ROUND: return f32x4.nearest(x); // ties to even, as torch.round
    case SIGN: {
      // (0 < x) - (x < 0): NaN gives 0 like PyTorch, and -0 stays 0.
      const positive = v128.and(f32x4.lt(f32x4.splat(0), x), f32x4.splat(1));
      const negative = v128.and(f32x4.lt(x, f32x4.splat(0)), f32x4.splat(1));
      return f32x4.sub(positive, negative);
    }
    case CLAMP: {
      // max then min propagates NaN in x, as torch.clamp does; absent bounds arrive as -inf/+inf.
      return f32x4.min(f32x4.max(x, p0), p1);
    }
    case RECIPROCAL: return f32x4.div(f32x4.splat(1), x);
    case SQUARE: return f32x4.mul(x, x);
    case LEAKY_RELU: return v128.bitselect(x, f32x4.mul(x, p0), f32x4.gt(x, f32x4.splat(0)));
    case TRUNC: return f32x4.trunc(x);
    case SILU: return f32x4.mul(x, sigmoid4(x));
    case ERF: return erf4(x);
    default: return x;
  }
}

@inline function unaryRow(op: i32, out: usize, outStride: i32, x: usize, xStride: i32, n: i32, p0: v128, p1: v128): void {
  let i = 0;
  if (outStride == 1 && xStride == 1) {
    for (; i + 4 <= n; i += 4) {
      v128.store(out + (<usize>i << 2), unaryVector(op, v128.load(x + (<usize>i << 2)), p0, p1));
    }
  }
  for (; i < n; i++) {
    const value = f32x4.splat(load<f32>(x + (<usize>(i * xStride) << 2)));
    store<f32>(out + (<usize>(i * outStride) << 2), f32x4.extract_lane(unaryVector(op, value, p0, p1), 0));
  }
}

/** out = op(x) over operands (0: out, 1: x) of the descriptor; p0/p1 are the op's scalars (clamp bounds, slope). */
export function unary_f32(op: i32, out: usize, x: usize, desc: usize, p0: f32, p1: f32, begin: i32, end: i32): void {
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const outStride = strideOf(desc, 0, rank - 1), xStride = strideOf(desc, 1, rank - 1);
  const p0v = f32x4.splat(p0), p1v = f32x4.splat(p1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * outStride, 2);
    const a = byteAt(x, rowOffset(desc, 1, row) + column * xStride, 2);
    switch (op) {
      case NEG: unaryRow(NEG, o, outStride, a, xStride, count, p0v, p1v); break;
      case ABS: unaryRow(ABS, o, outStride, a, xStride, count, p0v, p1v); break;
      case EXP: unaryRow(EXP, o, outStride, a, xStride, count, p0v, p1v); break;
      case LOG: unaryRow(LOG, o, outStride, a, xStride, count, p0v, p1v); break;
      case SQRT: unaryRow(SQRT, o, outStride, a, xStride, count, p0v, p1v); break;
      case RSQRT: unaryRow(RSQRT, o, outStride, a, xStride, count, p0v, p1v); break;
      case SIGMOID: unaryRow(SIGMOID, o, outStride, a, xStride, count, p0v, p1v); break;
      case TANH: unaryRow(TANH, o, outStride, a, xStride, count, p0v, p1v); break;
      case RELU: unaryRow(RELU, o, outStride, a, xStride, count, p0v, p1v); break;
      case GELU: unaryRow(GELU, o, outStride, a, xStride, count, p0v, p1v); break;
      case GELU_TANH: unaryRow(GELU_TANH, o, outStride, a, xStride, count, p0v, p1v); break;
      case SIN: unaryRow(SIN, o, outStride, a, xStride, count, p0v, p1v); break;
      case COS: unaryRow(COS, o, outStride, a, xStride, count, p0v, p1v); break;
      case FLOOR: unaryRow(FLOOR, o, outStride, a, xStride, count, p0v, p1v); break;
      case CEIL: unaryRow(CEIL, o, outStride, a, xStride, count, p0v, p1v); break;
      case ROUND: unaryRow(ROUND, o, outStride, a, xStride, count, p0v, p1v); break;
      case SIGN: unaryRow(SIGN, o, outStride, a, xStride, count, p0v, p1v); break;
      case CLAMP: unaryRow(CLAMP, o, outStride, a, xStride, count, p0v, p1v); break;
      case RECIPROCAL: unaryRow(RECIPROCAL, o, outStride, a, xStride, count, p0v, p1v); break;
      case SQUARE: unaryRow(SQUARE, o, outStride, a, xStride, count, p0v, p1v); break;
      case LEAKY_RELU: unaryRow(LEAKY_RELU, o, outStride, a, xStride, count, p0v, p1v); break;
      case TRUNC: unaryRow(TRUNC, o, outStride, a, xStride, count, p0v, p1v); break;
      case SILU: unaryRow(SILU, o, outStride, a, xStride, count, p0v, p1v); break;
      case ERF: unaryRow(ERF, o, outStride, a, xStride, count, p0v, p1v); break;
      default: break;
    }
    position += count;
    row++;
    column = 0;
  }
}

// ---------------------------------------------------------------- float32 binary

@inline function binaryVector(op: i32, x: v128, y: v128, alpha: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(x, f32x4.mul(y, alpha));
    case SUB: return f32x4.sub(x, f32x4.mul(y, alpha));
    case MUL: return f32x4.mul(x, y);
    case DIV: return f32x4.div(x, y);
    case POW: return pow4(x, y);
    case MAXIMUM: return f32x4.max(x, y);
    case MINIMUM: return f32x4.min(x, y);
    case FLOOR_DIVIDE: return f32x4.floor(f32x4.div(x, y));
    // Gradients through relu and clamp(min) in one pass (alpha is the threshold): PyTorch's threshold_backward
    // zeroes where y <= alpha (a NaN y lets the gradient through); clamp's keeps it where y >= alpha (NaN: 0).
    case THRESHOLD_BACKWARD: return v128.andnot(x, f32x4.le(y, alpha));
    case CLAMP_MIN_BACKWARD: return v128.and(x, f32x4.ge(y, alpha));
    case REMAINDER: {
      // Python's modulo: the result takes the divisor's sign.
      const r = f32x4.sub(x, f32x4.mul(f32x4.trunc(f32x4.div(x, y)), y));
      const fix = v128.and(f32x4.ne(r, f32x4.splat(0)), v128.xor(f32x4.lt(r, f32x4.splat(0)), f32x4.lt(y, f32x4.splat(0))));
      return v128.bitselect(f32x4.add(r, y), r, fix);
    }
    default: return x;
  }
}

@inline function binaryRow(op: i32, out: usize, outStride: i32, a: usize, aStride: i32, b: usize, bStride: i32, n: i32, alpha: v128): void {
  let i = 0;
  if (outStride == 1 && aStride == 1 && bStride == 1) {
    for (; i + 4 <= n; i += 4) {
      const offset = <usize>i << 2;
      v128.store(out + offset, binaryVector(op, v128.load(a + offset), v128.load(b + offset), alpha));
    }
  } else if (outStride == 1 && aStride == 1 && bStride == 0) {
    const y = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const offset = <usize>i << 2;
      v128.store(out + offset, binaryVector(op, v128.load(a + offset), y, alpha));
    }
  } else if (outStride == 1 && aStride == 0 && bStride == 1) {
    const x = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) {
      const offset = <usize>i << 2;
      v128.store(out + offset, binaryVector(op, x, v128.load(b + offset), alpha));
    }
  }
  for (; i < n; i++) {
    const x = v128.load32_splat(a + (<usize>(i * aStride) << 2));
    const y = v128.load32_splat(b + (<usize>(i * bStride) << 2));
    store<f32>(out + (<usize>(i * outStride) << 2), f32x4.extract_lane(binaryVector(op, x, y, alpha), 0));
  }
}

/** out = a op b over operands (0: out, 1: a, 2: b); add and sub scale b by alpha. */
export function binary_f32(op: i32, out: usize, a: usize, b: usize, desc: usize, alpha: f32, begin: i32, end: i32): void {
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sa = strideOf(desc, 1, rank - 1), sb = strideOf(desc, 2, rank - 1);
  const alphaVector = f32x4.splat(alpha);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, 2);
    const x = byteAt(a, rowOffset(desc, 1, row) + column * sa, 2);
    const y = byteAt(b, rowOffset(desc, 2, row) + column * sb, 2);
    switch (op) {
      case ADD: binaryRow(ADD, o, so, x, sa, y, sb, count, alphaVector); break;
      case SUB: binaryRow(SUB, o, so, x, sa, y, sb, count, alphaVector); break;
      case MUL: binaryRow(MUL, o, so, x, sa, y, sb, count, alphaVector); break;
      case DIV: binaryRow(DIV, o, so, x, sa, y, sb, count, alphaVector); break;
      case POW: binaryRow(POW, o, so, x, sa, y, sb, count, alphaVector); break;
      case MAXIMUM: binaryRow(MAXIMUM, o, so, x, sa, y, sb, count, alphaVector); break;
      case MINIMUM: binaryRow(MINIMUM, o, so, x, sa, y, sb, count, alphaVector); break;
      case REMAINDER: binaryRow(REMAINDER, o, so, x, sa, y, sb, count, alphaVector); break;
      case FLOOR_DIVIDE: binaryRow(FLOOR_DIVIDE, o, so, x, sa, y, sb, count, alphaVector); break;
      case THRESHOLD_BACKWARD: binaryRow(THRESHOLD_BACKWARD, o, so, x, sa, y, sb, count, alphaVector); break;
      case CLAMP_MIN_BACKWARD: binaryRow(CLAMP_MIN_BACKWARD, o, so, x, sa, y, sb, count, alphaVector); break;
      default: break;
    }
    position += count;
    row++;
    column = 0;
  }
}

// ---------------------------------------------------------------- int32 unary and binary (scalar loops: rarely hot)

@inline function binaryInt(op: i32, x: i32, y: i32, alpha: i32): i32 {
  switch (op) {
    case ADD: return x + y * alpha;
    case SUB: return x - y * alpha;
    case MUL: return x * y;
    case MAXIMUM: return max(x, y);
    case MINIMUM: return min(x, y);
    case FLOOR_DIVIDE: {
      if (y == 0) return 0; // the runtime rejects integer division by zero before calling
      const q = x / y;
      return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
    }
    case REMAINDER: {
      if (y == 0) return 0;
      const r = x % y;
      return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
    }
    default: return x;
  }
}

export function binary_i32(op: i32, out: usize, a: usize, b: usize, desc: usize, alpha: i32, begin: i32, end: i32): void {
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sa = strideOf(desc, 1, rank - 1), sb = strideOf(desc, 2, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, 2);
    const x = byteAt(a, rowOffset(desc, 1, row) + column * sa, 2);
    const y = byteAt(b, rowOffset(desc, 2, row) + column * sb, 2);
    for (let i = 0; i < count; i++) {
      store<i32>(o + (<usize>(i * so) << 2), binaryInt(op, load<i32>(x + (<usize>(i * sa) << 2)), load<i32>(y + (<usize>(i * sb) << 2)), alpha));
    }
    position += count;
    row++;
    column = 0;
  }
}

@inline function unaryInt(op: i32, x: i32, p0: i32, p1: i32): i32 {
  switch (op) {
    case NEG: return -x;
    case ABS: return x < 0 ? -x : x;
    case SIGN: return (x > 0 ? 1 : 0) - (x < 0 ? 1 : 0);
    case CLAMP: return min(max(x, p0), p1);
    case RELU: return max(x, 0);
    case SQUARE: return x * x;
    default: return x; // floor, ceil, round, trunc are the identity on integers
  }
}

export function unary_i32(op: i32, out: usize, x: usize, desc: usize, p0: i32, p1: i32, begin: i32, end: i32): void {
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sx = strideOf(desc, 1, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, 2);
    const a = byteAt(x, rowOffset(desc, 1, row) + column * sx, 2);
    for (let i = 0; i < count; i++) {
      store<i32>(o + (<usize>(i * so) << 2), unaryInt(op, load<i32>(a + (<usize>(i * sx) << 2)), p0, p1));
    }
    position += count;
    row++;
    column = 0;
  }
}

// ---------------------------------------------------------------- comparisons (to bool bytes)

@inline function compareValues<T>(op: i32, x: T, y: T): u8 {
  switch (op) {
    case EQ: return <u8>(x == y);
    case NE: return <u8>(x != y);
    case LT: return <u8>(x < y);
    case LE: return <u8>(x <= y);
    case GT: return <u8>(x > y);
    case GE: return <u8>(x >= y);
    default: return 0;
  }
}

@inline function compareRow<T>(op: i32, out: usize, outStride: i32, a: usize, aStride: i32, b: usize, bStride: i32, n: i32): void {
  const shift = <usize>alignof<T>();
  let i = 0;
  // float32 and int32 rows that are contiguous (the other operand contiguous or a scalar): 16 results per
  // step, the lane masks narrowed to bytes and turned into 0/1.
  if (sizeof<T>() == 4 && outStride == 1 && aStride == 1 && (bStride == 1 || bStride == 0)) {
    const one = i8x16.splat(1);
    const scalar = v128.load32_splat(b);
    for (; i + 16 <= n; i += 16) {
      const x = a + (<usize>i << 2), y = b + (<usize>i << 2);
      const m0 = compareVector<T>(op, v128.load(x), bStride == 0 ? scalar : v128.load(y));
      const m1 = compareVector<T>(op, v128.load(x, 16), bStride == 0 ? scalar : v128.load(y, 16));
      const m2 = compareVector<T>(op, v128.load(x, 32), bStride == 0 ? scalar : v128.load(y, 32));
      const m3 = compareVector<T>(op, v128.load(x, 48), bStride == 0 ? scalar : v128.load(y, 48));
      const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3));
      v128.store(out + <usize>i, v128.and(bytes, one));
    }
  }
  for (; i < n; i++) {
    store<u8>(out + <usize>(i * outStride), compareValues<T>(op, load<T>(a + (<usize>(i * aStride) << shift)), load<T>(b + (<usize>(i * bStride) << shift))));
  }
}

/** All-ones lanes where the comparison holds (float or int32 lanes by T). */
@inline function compareVector<T>(op: i32, x: v128, y: v128): v128 {
  if (isFloat<T>()) {
    switch (op) {
      case EQ: return f32x4.eq(x, y);
      case NE: return f32x4.ne(x, y);
      case LT: return f32x4.lt(x, y);
      case LE: return f32x4.le(x, y);
      case GT: return f32x4.gt(x, y);
      default: return f32x4.ge(x, y);
    }
  }
  switch (op) {
    case EQ: return i32x4.eq(x, y);
    case NE: return i32x4.ne(x, y);
    case LT: return i32x4.lt_s(x, y);
    case LE: return i32x4.le_s(x, y);
    case GT: return i32x4.gt_s(x, y);
    default: return i32x4.ge_s(x, y);
  }
}

@inline function compareStrided<T>(op: i32, out: usize, a: usize, b: usize, desc: usize, begin: i32, end: i32): void {
  const shift = <i32>alignof<T>();
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sa = strideOf(desc, 1, rank - 1), sb = strideOf(desc, 2, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, 0);
    const x = byteAt(a, rowOffset(desc, 1, row) + column * sa, shift);
    const y = byteAt(b, rowOffset(desc, 2, row) + column * sb, shift);
    // One specialised row loop per op, so no switch runs per element.
    switch (op) {
      case EQ: compareRow<T>(EQ, o, so, x, sa, y, sb, count); break;
      case NE: compareRow<T>(NE, o, so, x, sa, y, sb, count); break;
      case LT: compareRow<T>(LT, o, so, x, sa, y, sb, count); break;
      case LE: compareRow<T>(LE, o, so, x, sa, y, sb, count); break;
      case GT: compareRow<T>(GT, o, so, x, sa, y, sb, count); break;
      case GE: compareRow<T>(GE, o, so, x, sa, y, sb, count); break;
      default: break;
    }
    position += count;
    row++;
    column = 0;
  }
}

/** bool out = a op b; dtype 0 float32, 1 int32, 2 bool. */
export function compare(dtype: i32, op: i32, out: usize, a: usize, b: usize, desc: usize, begin: i32, end: i32): void {
  if (dtype == 0) compareStrided<f32>(op, out, a, b, desc, begin, end);
  else if (dtype == 1) compareStrided<i32>(op, out, a, b, desc, begin, end);
  else compareStrided<u8>(op, out, a, b, desc, begin, end);
}

// ---------------------------------------------------------------- where (and masked fill)

@inline function whereStrided<T>(out: usize, condition: usize, a: usize, b: usize, desc: usize, begin: i32, end: i32): void {
  const shift = <usize>alignof<T>();
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sc = strideOf(desc, 1, rank - 1), sa = strideOf(desc, 2, rank - 1), sb = strideOf(desc, 3, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, <i32>shift);
    const c = byteAt(condition, rowOffset(desc, 1, row) + column * sc, 0);
    const x = byteAt(a, rowOffset(desc, 2, row) + column * sa, <i32>shift);
    const y = byteAt(b, rowOffset(desc, 3, row) + column * sb, <i32>shift);
    let i = 0;
    if (sizeof<T>() == 4 && so == 1 && sc == 1 && (sa == 1 || sa == 0) && (sb == 1 || sb == 0)) {
      // Four condition bytes widened to lane masks pick between the two operands.
      const scalarX = v128.load32_splat(x), scalarY = v128.load32_splat(y);
      for (; i + 4 <= count; i += 4) {
        const offset = <usize>i << 2;
        const mask = i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(c + <usize>i))), i32x4.splat(0));
        const chosen = v128.bitselect(sa == 0 ? scalarX : v128.load(x + offset), sb == 0 ? scalarY : v128.load(y + offset), mask);
        v128.store(o + offset, chosen);
      }
    }
    for (; i < count; i++) {
      const pick = load<u8>(c + <usize>(i * sc)) != 0;
      const value = pick ? load<T>(x + (<usize>(i * sa) << shift)) : load<T>(y + (<usize>(i * sb) << shift));
      store<T>(o + (<usize>(i * so) << shift), value);
    }
    position += count;
    row++;
    column = 0;
  }
}

/** out = condition ? a : b over operands (0 out, 1 condition bytes, 2 a, 3 b); elementBytes 4 (float32, int32) or 1 (bool). */
export function where_select(elementBytes: i32, out: usize, condition: usize, a: usize, b: usize, desc: usize, begin: i32, end: i32): void {
  if (elementBytes == 4) whereStrided<u32>(out, condition, a, b, desc, begin, end);
  else whereStrided<u8>(out, condition, a, b, desc, begin, end);
}

// ---------------------------------------------------------------- copy and dtype conversion

@inline function convertValue<From, To>(value: From): To {
  if (sizeof<To>() == 1) return <To>(value != 0 ? 1 : 0); // to bool: NaN counts as true, as in PyTorch
  if (isFloat<To>()) return <To>value;
  if (isFloat<From>()) return <To><i32>value; // saturating (nontrapping-f2i is on by default)
  return <To>value;
}

@inline function convertStrided<From, To>(out: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  const fromShift = <usize>alignof<From>(), toShift = <usize>alignof<To>();
  const rank = rankOf(desc);
  const n = dimSize(desc, rank - 1);
  const so = strideOf(desc, 0, rank - 1), sx = strideOf(desc, 1, rank - 1);
  let row = begin / n, column = begin % n, position = begin;
  while (position < end) {
    const count = min(n - column, end - position);
    const o = byteAt(out, rowOffset(desc, 0, row) + column * so, <i32>toShift);
    const a = byteAt(x, rowOffset(desc, 1, row) + column * sx, <i32>fromShift);
    let i = 0;
    if (sizeof<From>() == sizeof<To>() && !isFloat<From>() == !isFloat<To>() && so == 1 && sx == 1) {
      memory.copy(o, a, <usize>count << toShift);
      i = count;
    } else if (sizeof<From>() == 4 && sizeof<To>() == 4 && so == 1 && sx == 0) {
      const value = v128.splat<To>(convertValue<From, To>(load<From>(a)));
      for (; i + 4 <= count; i += 4) v128.store(o + (<usize>i << 2), value);
    }
    for (; i < count; i++) {
      store<To>(o + (<usize>(i * so) << toShift), convertValue<From, To>(load<From>(a + (<usize>(i * sx) << fromShift))));
    }
    position += count;
    row++;
    column = 0;
  }
}

/** Strided copy with conversion: dtype codes 0 float32, 1 int32, 2 bool. Also the `contiguous` and fill kernel. */
export function convert(fromDtype: i32, toDtype: i32, out: usize, x: usize, desc: usize, begin: i32, end: i32): void {
  switch (fromDtype * 3 + toDtype) {
    case 0: convertStrided<f32, f32>(out, x, desc, begin, end); break;
    case 1: convertStrided<f32, i32>(out, x, desc, begin, end); break;
    case 2: convertStrided<f32, u8>(out, x, desc, begin, end); break;
    case 3: convertStrided<i32, f32>(out, x, desc, begin, end); break;
    case 4: convertStrided<i32, i32>(out, x, desc, begin, end); break;
    case 5: convertStrided<i32, u8>(out, x, desc, begin, end); break;
    case 6: convertStrided<u8, f32>(out, x, desc, begin, end); break;
    case 7: convertStrided<u8, i32>(out, x, desc, begin, end); break;
    default: convertStrided<u8, u8>(out, x, desc, begin, end); break;
  }
}

// ---------------------------------------------------------------- arange and linspace

/**
 * out[i] for i in [begin, endItem): arange (count == 0) as start + i*step in float64, or linspace over
 * `count` points computed as PyTorch does (float32 step, the second half counted back from `end`, so both
 * ends are exact). dtype 0 float32, 1 int32.
 */
export function sequence(dtype: i32, out: usize, start: f64, step: f64, end: f64, count: i32, begin: i32, endItem: i32): void {
  for (let i = begin; i < endItem; i++) {
    let value: f64;
    if (count == 0) {
      value = start + <f64>i * step;
    } else {
      const floatStep: f32 = count == 1 ? 0 : (<f32>end - <f32>start) / <f32>(count - 1);
      value = count == 1 ? start : i < count / 2 ? <f64>(<f32>start + floatStep * <f32>i) : <f64>(<f32>end - floatStep * <f32>(count - i - 1));
    }
    if (dtype == 0) store<f32>(out + (<usize>i << 2), <f32>value);
    else store<i32>(out + (<usize>i << 2), <i32>value);
  }
}
