// Every derivative in one table: for each differentiable op, how output gradients become input gradients.
//
// Rules are written with tensor ops, so when backward runs with createGraph they record a graph of their
// own and higher derivatives come for free. A rule gets the output gradient, the saved tensors (already
// version-checked) and which inputs need a gradient; it returns one gradient (or null) per recorded input.
import type { Tensor } from '../tensor.js';
import type { BackwardFunction, MaybeTensor } from './engine.js';
import type { BinaryOpName, UnaryOpName } from '../backend/wasm/kernels.js';
import * as ops from './tensor-ops.js';
import { convolutionBackward, convolutionBiasGradient, convolutionOp, convolutionTransposeOp, convolutionWeightOp, type ConvGeometry } from '../ops/convolution.js';
import { avgPool2dBackwardOp, avgPoolOp, maxPool2dBackwardOp, type PoolWindows } from '../ops/pooling.js';

/** Sums a broadcast gradient back down to `shape` (the inverse of broadcasting). */
export function sumTo(grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((s, d) => s === shape[d])) return grad;
  const lead = grad.shape.length - shape.length;
  const dims: number[] = [];
  grad.shape.forEach((size, d) => {
    if (d < lead || (shape[d - lead] === 1 && size !== 1)) dims.push(d);
  });
  const summed = dims.length ? grad.sum(dims, true) : grad;
  return summed.reshape([...shape]);
}

type Rule = (...args: never[]) => BackwardFunction;
const needs = (flags: readonly boolean[], i: number) => flags[i] === true;

export const derivatives = {
  // ---- elementwise binary: inputs [a, b] (either may be a number, recorded as null)
  binary(op: BinaryOpName, aShape: readonly number[], bShape: readonly number[], alpha: number, aScalar: number | null, bScalar: number | null): BackwardFunction {
    return ([g], { saved, needsInputGrad: n }) => {
      const [a, b, out] = [saved[0], saved[1], saved[2]];
      const A = (): Tensor | number => a ?? aScalar!, B = (): Tensor | number => b ?? bScalar!;
      switch (op) {
        case 'add': return [needs(n, 0) ? sumTo(g, aShape) : null, needs(n, 1) ? sumTo(alpha === 1 ? g : g.mul(alpha), bShape) : null];
        case 'sub': return [needs(n, 0) ? sumTo(g, aShape) : null, needs(n, 1) ? sumTo(g.mul(-alpha), bShape) : null];
        case 'mul': return [needs(n, 0) ? sumTo(g.mul(B()), aShape) : null, needs(n, 1) ? sumTo(g.mul(A()), bShape) : null];
        case 'div': return [
          needs(n, 0) ? sumTo(g.div(B()), aShape) : null,
          needs(n, 1) ? sumTo(g.neg().mul(A()).div(ops.mul(B(), B())), bShape) : null,
        ];
        case 'pow': {
          // PyTorch's pow_backward: zero where the exponent is 0; the exponent's gradient is 0 where base == 0 and exponent >= 0.
          const exponent = B(), base = A();
          let gradBase: MaybeTensor = null, gradExponent: MaybeTensor = null;
          if (needs(n, 0)) {
            gradBase = typeof exponent === 'number'
              ? (exponent === 0 ? ops.zerosLike(g) : g.mul(ops.pow(base, exponent - 1).mul(exponent)))
              : sumTo(ops.where(exponent.eq(0), 0, g.mul(exponent.mul(ops.pow(base, exponent.sub(1))))), aShape);
            if (typeof exponent === 'number') gradBase = sumTo(gradBase, aShape);
          }
          if (needs(n, 1)) {
            const logBase = typeof base === 'number' ? Math.log(base) : base.log();
            const zeroBase = typeof base === 'number' ? (base === 0 ? (exponent as Tensor).ge(0) : null) : base.eq(0).mul((exponent as Tensor).ge(0));
            const raw = g.mul(out).mul(logBase);
            gradExponent = sumTo(zeroBase ? ops.where(zeroBase, 0, raw) : raw, bShape);
          }
          return [gradBase, gradExponent];
        }
        case 'maximum':
        case 'minimum': {
          const half = ops.where(ops.eq(A(), B()), g.div(2), g);
          const [loseA, loseB] = op === 'maximum' ? [ops.lt(A(), B()), ops.gt(A(), B())] : [ops.gt(A(), B()), ops.lt(A(), B())];
          return [needs(n, 0) ? sumTo(half.maskedFill(loseA, 0), aShape) : null, needs(n, 1) ? sumTo(half.maskedFill(loseB, 0), bShape) : null];
        }
        case 'remainder': return [needs(n, 0) ? sumTo(g, aShape) : null, needs(n, 1) ? sumTo(g.neg().mul(ops.floorDivide(A(), B())), bShape) : null];
        case 'floorDivide': return [null, null];
        // The masks are constant where defined: the same mask carries the gradient's gradient.
        case 'thresholdBackward': case 'clampMinBackward': return [needs(n, 0) ? ops.maskGradient(op, g, b!, alpha) : null, null];
        default: return op satisfies never;
      }
    };
  },

  /** Which tensors a binary op's rule reads: [a, b, out] (null where not needed). */
  binarySaves(op: BinaryOpName): [boolean, boolean, boolean] {
    switch (op) {
      case 'add': case 'sub': case 'floorDivide': return [false, false, false];
      case 'thresholdBackward': case 'clampMinBackward': return [false, true, false];
      case 'mul': case 'div': case 'maximum': case 'minimum': case 'remainder': return [true, true, false];
      case 'pow': return [true, true, true];
      default: return op satisfies never;
    }
  },

  // ---- elementwise unary: inputs [x]; saved [x, out]
  unary(op: UnaryOpName, p0: number, p1: number): BackwardFunction {
    return ([g], { saved: [x, out] }) => {
      switch (op) {
        case 'neg': return [g.neg()];
        case 'abs': return [g.mul(x.sign())];
        case 'exp': return [g.mul(out)];
        case 'log': return [g.div(x)];
        case 'sqrt': return [g.div(out.mul(2))];
        case 'rsqrt': return [g.mul(out.pow(3)).mul(-0.5)];
        case 'sigmoid': return [g.mul(out.mul(out.neg().add(1)))];
        case 'tanh': return [g.mul(out.square().neg().add(1))];
        case 'relu': return [ops.maskGradient('thresholdBackward', g, out, 0)];
        case 'leakyRelu': return [ops.where(x.gt(0), g, g.mul(p0))];
        case 'gelu': {
          const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
          const pdf = x.square().mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
          return [g.mul(cdf.add(x.mul(pdf)))];
        }
        case 'geluTanh': {
          const beta = Math.sqrt(2 / Math.PI), kappa = 0.044715;
          const squared = x.square();
          const tanhInner = x.add(squared.mul(x).mul(kappa)).mul(beta).tanh();
          const left = x.mul(0.5), right = tanhInner.add(1);
          const derivative = right.mul(0.5).add(left.mul(tanhInner.square().neg().add(1)).mul(squared.mul(3 * kappa).add(1).mul(beta)));
          return [g.mul(derivative)];
        }
        case 'silu': {
          const s = x.sigmoid();
          return [g.mul(s.mul(x.mul(s.neg().add(1)).add(1)))];
        }
        case 'erf': return [g.mul(x.square().neg().exp().mul(2 / Math.sqrt(Math.PI)))];
        case 'sin': return [g.mul(x.cos())];
        case 'cos': return [g.mul(x.sin()).neg()];
        case 'reciprocal': return [g.mul(out.square()).neg()];
        case 'square': return [g.mul(x).mul(2)];
        case 'clamp': {
          // PyTorch's clamp_backward: the gradient passes where min <= x <= max (never for NaN). An absent
          // bound arrives as an infinity and needs no comparison (the lecture's clamp(min: 0) is one compare).
          const belowMax = p1 === Infinity ? g : ops.where(x.le(p1), g, 0);
          return [p0 === -Infinity ? (p1 === Infinity ? ops.where(x.eq(x), g, 0) : belowMax) : ops.maskGradient('clampMinBackward', belowMax, x, p0)];
        }
        case 'floor': case 'ceil': case 'round': case 'trunc': case 'sign': return [ops.zerosLike(g)];
        default: return op satisfies never;
      }
    };
  },

  /** Which of [x, out] a unary rule reads. */
  unarySaves(op: UnaryOpName): [boolean, boolean] {
    switch (op) {
      case 'exp': case 'sqrt': case 'rsqrt': case 'sigmoid': case 'tanh': case 'relu': case 'reciprocal': return [false, true];
      case 'neg': case 'floor': case 'ceil': case 'round': case 'trunc': case 'sign': return [false, false];
      default: return [true, false];
    }
  },

  where(aShape: readonly number[], bShape: readonly number[]): BackwardFunction {
    return ([g], { saved: [condition], needsInputGrad: n }) => [
      needs(n, 0) ? sumTo(ops.where(condition, g, 0), aShape) : null,
      needs(n, 1) ? sumTo(ops.where(condition, 0, g), bShape) : null,
    ];
  },

  /** inputs [self, value]: a 0-d value tensor gets the gradient of every position it filled. */
  maskedFill(shape: readonly number[]): BackwardFunction {
    return ([g], { saved: [mask], needsInputGrad: n }) => [
      needs(n, 0) ? sumTo(g.maskedFill(mask, 0), shape) : null,
      needs(n, 1) ? ops.where(mask, g, 0).sum() : null,
    ];
  },

  identity(): BackwardFunction {
    return ([g]) => [g];
  },

  // ---- reductions
  sum(shape: readonly number[], dims: readonly number[], keepdim: boolean, scale: number): BackwardFunction {
    return ([g]) => {
      let expanded = g;
      if (!keepdim) for (const d of dims) expanded = expanded.unsqueeze(d);
      const scaled = scale === 1 ? expanded : expanded.mul(scale);
      return [scaled.expand([...shape])];
    };
  },

  prod(dims: readonly number[], keepdim: boolean): BackwardFunction {
    return ([g], { saved: [x, out] }) => {
      let gradKept = g, outKept = out;
      if (!keepdim) for (const d of dims) { gradKept = gradKept.unsqueeze(d); outKept = outKept.unsqueeze(d); }
      const isZero = x.eq(0);
      // Where x != 0 the derivative is prod/x; at a zero it is the product of the others (0 if another zero).
      const othersProduct = ops.where(isZero, 1, x).prod([...dims], true);
      const zeroCount = isZero.sum([...dims], true);
      const atZero = ops.where(zeroCount.eq(1), gradKept.mul(othersProduct), 0);
      return [ops.where(isZero, atZero, gradKept.mul(outKept).div(x))];
    };
  },

  /** max()/min() over everything: the gradient is shared evenly by all elements equal to the result. */
  extremeAll(): BackwardFunction {
    return ([g], { saved: [x, out] }) => {
      const mask = x.eq(out);
      return [ops.where(mask, g.div(mask.sum()), 0)];
    };
  },

  /** max(dim)/min(dim) values: the gradient goes to the selected index. */
  extremeDim(shape: readonly number[], dim: number, keepdim: boolean): BackwardFunction {
    return ([g], { saved: [indices] }) => {
      const gradKept = keepdim ? g : g.unsqueeze(dim);
      const indexKept = keepdim ? indices : indices.unsqueeze(dim);
      return [ops.zeros(shape, gradKept.device).scatter(dim, indexKept, gradKept)];
    };
  },

  softmax(dim: number, logarithm: boolean): BackwardFunction {
    return ([g], { saved: [out] }) => logarithm
      ? [g.sub(out.exp().mul(g.sum(dim, true)))]
      : [out.mul(g.sub(g.mul(out).sum(dim, true)))];
  },

  // ---- linear algebra: inputs [a, b] of at least 2 dims, batch dims broadcast
  matmul(aShape: readonly number[], bShape: readonly number[]): BackwardFunction {
    return ([g], { saved: [a, b], needsInputGrad: n }) => {
      if (aShape.length === 2 && bShape.length === 2) {
        return [needs(n, 0) ? g.mm(b.t()) : null, needs(n, 1) ? a.t().mm(g) : null];
      }
      return [
        needs(n, 0) ? sumTo(g.matmul(b.transpose(-1, -2)), aShape) : null,
        needs(n, 1) ? sumTo(a.transpose(-1, -2).matmul(g), bShape) : null,
      ];
    };
  },

  // ---- views
  transpose(dim0: number, dim1: number): BackwardFunction {
    return ([g]) => [g.transpose(dim0, dim1)];
  },
  permute(dims: readonly number[]): BackwardFunction {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => { inverse[d] = i; });
    return ([g]) => [g.permute(inverse)];
  },
  reshape(shape: readonly number[]): BackwardFunction {
    return ([g]) => [g.reshape([...shape])];
  },
  expand(shape: readonly number[]): BackwardFunction {
    return ([g]) => [sumTo(g, shape)];
  },
  /** narrow, slice and select: the gradient is embedded into zeros of the input's shape. */
  embed(shape: readonly number[], view: (t: Tensor) => Tensor): BackwardFunction {
    return ([g]) => [ops.embedInZeros(g, shape, view)];
  },
  /** The inverse of embed: the gradient of the embedded tensor is the same view of the gradient. */
  viewOfGradient(view: (t: Tensor) => Tensor): BackwardFunction {
    return ([g]) => [view(g)];
  },

  // ---- indexing
  indexSelect(shape: readonly number[], dim: number): BackwardFunction {
    return ([g], { saved: [index] }) => {
      const viewShape = g.shape.map((_, d) => (d === dim ? -1 : 1));
      const expandedIndex = (index.dim() === 0 ? index.reshape([1]) : index).reshape(viewShape).expand([...g.shape]);
      return [ops.zeros(shape, g.device).scatterAdd(dim, expandedIndex, g)];
    };
  },
  gather(shape: readonly number[], dim: number): BackwardFunction {
    return ([g], { saved: [index] }) => [ops.zeros(shape, g.device).scatterAdd(dim, index, g)];
  },
  /** `sourceShape` is null for a scalar source. A source larger than the index gets zeros beyond it. */
  scatter(dim: number, accumulate: boolean, sourceShape: readonly number[] | null): BackwardFunction {
    return ([g], { saved: [index], needsInputGrad: n }) => {
      let sourceGrad: Tensor | null = null;
      if (sourceShape && needs(n, 1)) {
        sourceGrad = g.gather(dim, index);
        if (sourceGrad.shape.some((size, d) => size !== sourceShape[d])) {
          sourceGrad = ops.embedInZeros(sourceGrad, sourceShape, (t) => index.shape.reduce((view, size, d) => view.narrow(d, 0, size), t));
        }
      }
      return [needs(n, 0) ? (accumulate ? g : g.scatter(dim, index, 0)) : null, sourceGrad];
    };
  },
  cat(dim: number, sizes: readonly (number | null)[]): BackwardFunction {
    return ([g]) => {
      let offset = 0;
      return sizes.map((size) => {
        if (size === null) return null;
        const piece = g.narrow(dim, offset, size);
        offset += size;
        return piece;
      });
    };
  },

  // ---- convolution and pooling (src/ops/convolution.ts, src/ops/pooling.ts). The convolution Y = conv(X, W),
  // its input gradient convT(Y, W) and its weight gradient wgrad(X, Y) are each other's adjoints, so each
  // rule is written with the other two ops and stays differentiable.
  /** inputs [x, w, bias]; saved [x, w, the column matrix of x when w needs a gradient]. */
  convolution(geometry: ConvGeometry, hasBias: boolean): BackwardFunction {
    return ([g], { saved: [x, w, col], needsInputGrad: n }) => [
      ...convolutionBackward(g, x, w, col ?? null, geometry, needs(n, 0), needs(n, 1)),
      hasBias && needs(n, 2) ? convolutionBiasGradient(g) : null,
    ];
  },
  /** convT(y, w) (+ bias): inputs [y, w, bias]; saved [y, w]. */
  convolutionTranspose(geometry: ConvGeometry, hasBias: boolean): BackwardFunction {
    return ([g], { saved: [y, w], needsInputGrad: n }) => [
      needs(n, 0) ? convolutionOp(g, w, null, geometry) : null,
      needs(n, 1) ? convolutionWeightOp(g, y, geometry) : null,
      hasBias && needs(n, 2) ? convolutionBiasGradient(g) : null,
    ];
  },
  /** wgrad(x, y): inputs [x, y]; saved [x, y]. */
  convolutionWeight(geometry: ConvGeometry): BackwardFunction {
    return ([g], { saved: [x, y], needsInputGrad: n }) => [
      needs(n, 0) ? convolutionTransposeOp(y, g, null, geometry) : null,
      needs(n, 1) ? convolutionOp(x, g, null, geometry) : null,
    ];
  },
  /** inputs [x]; saved [indices]. */
  maxPool2d(windows: PoolWindows): BackwardFunction {
    return ([g], { saved: [indices] }) => [maxPool2dBackwardOp(g, indices, windows)];
  },
  /** The backward of max pooling is linear in the gradient: its own gradient picks the same positions. */
  maxPool2dBackward(): BackwardFunction {
    return ([g], { saved: [indices] }) => {
      const rank = g.dim();
      const flat = g.flatten(rank - 2), flatIndices = indices.flatten(rank - 2);
      return [flat.gather(rank - 2, flatIndices).reshape([...indices.shape])];
    };
  },
  avgPool2d(windows: PoolWindows): BackwardFunction {
    return ([g]) => [avgPool2dBackwardOp(g, windows)];
  },
  avgPool2dBackward(windows: PoolWindows): BackwardFunction {
    return ([g]) => [avgPoolOp(g, windows)];
  },
} satisfies Record<string, Rule | ((...args: never[]) => unknown)>;
