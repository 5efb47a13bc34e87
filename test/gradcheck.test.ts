// Every differentiable op's derivative against finite differences (autograd.gradcheck, float32), and second derivatives (gradgradcheck, Hessian-vector products).
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const { autograd } = torch;
type Tensor = torch.Tensor;
type Case = [name: string, inputs: () => Tensor[], fn: (...xs: Tensor[]) => Tensor | Tensor[]];

const values = (t: Tensor) => Array.from(t.toArray());
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * n distinct values evenly spaced over [lo, hi], in a shuffled order: no two closer than (hi - lo) / (n - 1),
 * so max/min have no ties. With an even n and a symmetric range none is within half a step of 0.
 */
function spread(n: number, lo: number, hi: number, seed = 1): number[] {
  const grid = Array.from({ length: n }, (_, k) => (n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * k) / (n - 1)));
  let state = seed * 2654435761 % 4294967296;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1664525 + 1013904223) % 4294967296;
    const j = state % (i + 1);
    [grid[i], grid[j]] = [grid[j], grid[i]];
  }
  return grid.map(Math.fround);
}

/** A leaf that requires grad, filled by spread(). */
const T = (shape: number[], lo = -1, hi = 1, seed = 1) => torch.tensor(spread(numel(shape), lo, hi, seed)).reshape(shape).requiresGrad_();
/** The same values, as a constant. */
const C = (shape: number[], lo = -1, hi = 1, seed = 1) => torch.tensor(spread(numel(shape), lo, hi, seed)).reshape(shape);
/** A leaf with these exact values. */
const L = (data: number[], shape: number[] = [data.length]) => torch.tensor(data).reshape(shape).requiresGrad_();
/** A non-contiguous leaf of shape [rows, cols]: the transpose of a [cols, rows] tensor. */
const Tt = (rows: number, cols: number, lo = -1, hi = 1, seed = 1) => C([cols, rows], lo, hi, seed).t().detach().requiresGrad_();
/** A non-contiguous leaf: every other column of a [rows, 2·cols] tensor. */
const Ts = (rows: number, cols: number, lo = -1, hi = 1, seed = 1) => C([rows, 2 * cols], lo, hi, seed).slice(1, 0, null, 2).detach().requiresGrad_();
const I = (data: number[] | number[][]) => torch.tensor(data, { dtype: 'int32' });
const B = (data: boolean[] | boolean[][]) => torch.tensor(data);

// Away from kinks: |x| >= 0.2 for abs/relu, bounds 0.1 from every value for clamp, pairs 0.2 apart for maximum/minimum.
const awayFromZero = [-1.4, -0.6, -0.2, 0.2, 0.7, 1.3];
const pairA = [-1, 0.5, 0.3, 1.2, -0.4, 0.9], pairB = [-0.5, 0.2, 0.8, 0.6, -1.1, 1.3];

const cases: Case[] = [
  // ---- elementwise binary, with broadcasting, scalars, 0-d and strided operands
  ['add, broadcast [2,3] + [3]', () => [T([2, 3]), T([3], -1, 1, 2)], (a, b) => a.add(b)],
  ['add with alpha, broadcast [2,1] + [1,3]', () => [T([2, 1]), T([1, 3], -1, 1, 2)], (a, b) => a.add(b, { alpha: 2 })],
  ['add a number', () => [T([2, 3])], (a) => a.add(1.5)],
  ['add, 0-d + [3]', () => [T([]), T([3])], (a, b) => a.add(b)],
  ['sub, broadcast [2,1] - [3]', () => [T([2, 1]), T([3], -1, 1, 2)], (a, b) => a.sub(b)],
  ['sub with alpha', () => [T([3]), T([3], -1, 1, 2)], (a, b) => a.sub(b, { alpha: -0.5 })],
  ['sub a number from a strided tensor', () => [Tt(2, 3)], (a) => a.sub(2)],
  ['mul, broadcast [2,3] * [2,1]', () => [T([2, 3]), T([2, 1], -1, 1, 2)], (a, b) => a.mul(b)],
  ['mul by a number', () => [T([2, 3])], (a) => a.mul(-2.5)],
  ['mul, 0-d * 0-d', () => [T([]), L([0.7], [])], (a, b) => a.mul(b)],
  ['mul, strided (transposed) * strided (sliced)', () => [Tt(2, 3), Ts(2, 3, -1, 1, 3)], (a, b) => a.mul(b)],
  ['mul of a constant', () => [T([2, 3])], (a) => a.mul(C([3], -1, 1, 4))],
  ['div, broadcast, divisors away from 0', () => [T([2, 3]), L([0.6, -1.2, 1.5])], (a, b) => a.div(b)],
  ['div by a number', () => [T([2, 3])], (a) => a.div(-4)],
  ['div, a number-like 0-d divisor', () => [T([2, 2]), L([1.3], [])], (a, b) => a.div(b)],
  ['pow 2', () => [T([2, 3])], (a) => a.pow(2)],
  ['pow 3 (negative bases)', () => [T([2, 3], -1.2, 1.2)], (a) => a.pow(3)],
  ['pow 0.5', () => [T([2, 3], 0.5, 2)], (a) => a.pow(0.5)],
  ['pow -1.5', () => [T([2, 3], 0.5, 2)], (a) => a.pow(-1.5)],
  ['pow 0', () => [T([3])], (a) => a.pow(0)],
  ['pow, tensor exponent, broadcast', () => [T([2, 3], 0.5, 2), T([3], -1, 2, 2)], (a, b) => a.pow(b)],
  ['pow, 0-d tensor exponent', () => [T([3], 0.5, 2), L([1.7], [])], (a, b) => a.pow(b)],
  ['pow, number base: torch.pow(2, t)', () => [T([2, 3])], (t) => torch.pow(2, t)],
  ['maximum (no ties within 0.2)', () => [L(pairA, [2, 3]), L(pairB, [2, 3])], (a, b) => a.maximum(b)],
  ['minimum (no ties within 0.2)', () => [L(pairA, [2, 3]), L(pairB, [2, 3])], (a, b) => a.minimum(b)],
  ['maximum, broadcast [2,3] and [3]', () => [L(pairA, [2, 3]), L([0, -0.7, 1.05])], (a, b) => a.maximum(b)],
  ['remainder (quotients away from integers)', () => [L([2.5, -1.3, 3.7, 0.6]), L([1.1, 0.9, 1.6, 0.45])], (a, b) => a.remainder(b)],
  ['remainder by a number', () => [L([2.5, -1.3, 3.7, 0.6])], (a) => a.remainder(1.5)],
  // ---- elementwise unary
  ['neg', () => [T([2, 3])], (a) => a.neg()],
  ['abs (|x| >= 0.2)', () => [L(awayFromZero, [2, 3])], (a) => a.abs()],
  ['exp', () => [T([2, 3])], (a) => a.exp()],
  ['exp of a 0-d tensor', () => [L([0.3], [])], (a) => a.exp()],
  ['log', () => [T([2, 3], 0.5, 2)], (a) => a.log()],
  ['sqrt', () => [T([2, 3], 0.5, 2)], (a) => a.sqrt()],
  ['rsqrt', () => [T([2, 3], 0.5, 2)], (a) => a.rsqrt()],
  ['sigmoid', () => [T([2, 3], -2, 2)], (a) => a.sigmoid()],
  ['tanh', () => [T([2, 3], -1.5, 1.5)], (a) => a.tanh()],
  ['tanh of a strided tensor', () => [Ts(2, 3)], (a) => a.tanh()],
  ['relu (|x| >= 0.2)', () => [L(awayFromZero, [2, 3])], (a) => a.relu()],
  ['gelu', () => [T([2, 3], -2, 2)], (a) => a.gelu()],
  ['gelu, approximate tanh', () => [T([2, 3], -2, 2)], (a) => a.gelu({ approximate: 'tanh' })],
  ['silu', () => [T([2, 3], -2, 2)], (a) => a.silu()],
  ['erf', () => [T([2, 3], -1.5, 1.5)], (a) => a.erf()],
  ['sin', () => [T([2, 3], -3, 3)], (a) => a.sin()],
  ['cos', () => [T([2, 3], -3, 3)], (a) => a.cos()],
  ['reciprocal (|x| >= 0.5)', () => [L([-1.5, -0.8, -0.5, 0.5, 0.9, 1.6], [2, 3])], (a) => a.reciprocal()],
  ['square', () => [T([2, 3])], (a) => a.square()],
  ['clamp, min only', () => [L(awayFromZero, [2, 3])], (a) => a.clamp({ min: 0.05 })],
  ['clamp, max only', () => [L(awayFromZero, [2, 3])], (a) => a.clamp({ max: 0.45 })],
  ['clamp, both', () => [L(awayFromZero, [2, 3])], (a) => a.clamp(-0.4, 1)],
  // ---- selection
  ['where, both branches', () => [T([2, 3]), T([2, 3], -1, 1, 2)], (a, b) => torch.where(B([[true, false, true], [false, false, true]]), a, b)],
  ['where, broadcast branches [3] and [2,1]', () => [T([3]), T([2, 1], -1, 1, 2)], (a, b) => torch.where(B([[true, false, true], [false, true, true]]), a, b)],
  ['where, a number as the other branch', () => [T([2, 3])], (a) => a.where(B([true, false, true]), 0.5)],
  ['maskedFill, broadcast mask', () => [T([2, 3])], (a) => a.maskedFill(B([false, true, false]), 0.5)],
  ['maskedFill with a 0-d value tensor (the value gets a gradient too)', () => [T([2, 3]), L([0.5], [])], (a, v) => a.maskedFill(B([false, true, false]), v)],
  ['clone', () => [T([2, 3])], (a) => a.clone()],
  // ---- reductions
  ['sum()', () => [T([2, 3])], (a) => a.sum()],
  ['sum(1)', () => [T([2, 3])], (a) => a.sum(1)],
  ['sum(0, keepdim)', () => [T([2, 3])], (a) => a.sum(0, true)],
  ['sum([0, 2]) of [2,2,2]', () => [T([2, 2, 2])], (a) => a.sum([0, 2])],
  ['sum of a 0-d tensor', () => [L([0.4], [])], (a) => a.sum()],
  ['sum(0) of a strided tensor', () => [Tt(2, 3)], (a) => a.sum(0)],
  ['mean()', () => [T([2, 3])], (a) => a.mean()],
  ['mean(-1, keepdim)', () => [T([2, 3])], (a) => a.mean(-1, true)],
  ['mean([0, 1]) of [2,2,2]', () => [T([2, 2, 2])], (a) => a.mean([0, 1])],
  ['prod() without zeros', () => [T([2, 3], 0.5, 1.5)], (a) => a.prod()],
  ['prod(1) with negatives', () => [L([0.8, -1.2, 0.5, -0.6, 1.4, 0.9], [2, 3])], (a) => a.prod(1)],
  ['prod(0, keepdim)', () => [T([2, 3], 0.5, 1.5)], (a) => a.prod(0, true)],
  ['prod() with one zero', () => [L([0.8, 0, 1.5, -0.6, 1.4, 0.9], [2, 3])], (a) => a.prod()],
  ['prod() with two zeros', () => [L([0.8, 0, 1.5, 0, 1.4, 0.9], [2, 3])], (a) => a.prod()],
  ['prod(1) with one zero in a row and two in another', () => [L([0.8, 0, 1.5, 0, 1.4, 0], [2, 3])], (a) => a.prod(1)],
  ['max() (no ties)', () => [T([2, 3])], (a) => a.max()],
  ['min() (no ties)', () => [T([2, 3])], (a) => a.min()],
  ['max(1) values', () => [T([2, 3])], (a) => a.max(1).values],
  ['min(0, keepdim) values', () => [T([2, 3])], (a) => a.min(0, true).values],
  ['max(-1) of a strided tensor', () => [Tt(3, 2)], (a) => a.max(-1).values],
  ['max of a 0-d tensor', () => [L([0.4], [])], (a) => a.max()],
  ['softmax(1)', () => [T([2, 3], -2, 2)], (a) => a.softmax(1)],
  ['softmax(0)', () => [T([2, 3], -2, 2)], (a) => a.softmax(0)],
  ['softmax(1) of [2,2,2]', () => [T([2, 2, 2], -2, 2)], (a) => a.softmax(1)],
  ['softmax of a strided tensor', () => [Tt(2, 3, -2, 2)], (a) => a.softmax(-1)],
  ['logSoftmax(1)', () => [T([2, 3], -2, 2)], (a) => a.logSoftmax(1)],
  ['logSoftmax(0) of a strided tensor', () => [Ts(3, 2, -2, 2)], (a) => a.logSoftmax(0)],
  // ---- linear algebra
  ['mm', () => [T([2, 3]), T([3, 2], -1, 1, 2)], (a, b) => a.mm(b)],
  ['mm of transposed operands', () => [Tt(2, 3), Tt(3, 2, -1, 1, 2)], (a, b) => a.mm(b)],
  ['mm with a constant', () => [T([2, 3])], (a) => a.mm(C([3, 2]))],
  ['matmul 1-D · 1-D', () => [T([3]), T([3], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul 2-D · 1-D', () => [T([2, 3]), T([3], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul 1-D · 2-D', () => [T([3]), T([3, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul 2-D · 2-D', () => [T([2, 3]), T([3, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul N-D · 2-D', () => [T([2, 2, 3]), T([3, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul batched broadcast [2,1,2,2] · [3,2,2]', () => [T([2, 1, 2, 2]), T([3, 2, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul N-D · 1-D', () => [T([2, 2, 3]), T([3], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['bmm', () => [T([2, 2, 3]), T([2, 3, 2], -1, 1, 2)], (a, b) => a.bmm(b)],
  ['bmm of a transposed batch', () => [T([2, 3, 2]).transpose(1, 2).detach().requiresGrad_(), T([2, 3, 2], -1, 1, 2)], (a, b) => a.bmm(b)],
  // ---- shape and views (the functions apply them to the leaf, so the view's backward runs)
  ['t', () => [T([2, 3])], (a) => a.t().mul(C([3, 2]))],
  ['transpose(0, 2)', () => [T([2, 1, 3])], (a) => a.transpose(0, 2).mul(C([3, 1, 2]))],
  ['permute(2, 0, 1)', () => [T([2, 1, 3])], (a) => a.permute(2, 0, 1).mul(C([3, 2, 1]))],
  ['reshape (a view)', () => [T([2, 3])], (a) => a.reshape(3, 2).mul(C([3, 2]))],
  ['reshape of a strided tensor (a copy)', () => [Tt(2, 3)], (a) => a.reshape(-1).mul(C([6]))],
  ['view', () => [T([2, 3])], (a) => a.view(6).mul(C([6]))],
  ['flatten', () => [T([2, 1, 3])], (a) => a.flatten().mul(C([6]))],
  ['flatten(1) of [2,1,3]', () => [T([2, 1, 3])], (a) => a.flatten(1).mul(C([2, 3]))],
  ['squeeze()', () => [T([2, 1, 3])], (a) => a.squeeze().mul(C([2, 3]))],
  ['squeeze(1)', () => [T([2, 1, 3])], (a) => a.squeeze(1).mul(C([2, 3]))],
  ['unsqueeze(1)', () => [T([2, 3])], (a) => a.unsqueeze(1).mul(C([2, 1, 3]))],
  ['expand [3,1] → [2,3,2]', () => [T([3, 1])], (a) => a.expand(2, 3, 2).mul(C([2, 3, 2]))],
  ['expand a 0-d tensor', () => [L([0.4], [])], (a) => a.expand(3).mul(C([3]))],
  ['narrow(1, 1, 2)', () => [T([2, 4])], (a) => a.narrow(1, 1, 2).mul(C([2, 2]))],
  ['slice(1, 0, 5, 2) (with step)', () => [T([2, 5])], (a) => a.slice(1, 0, 5, 2).mul(C([2, 3]))],
  ['slice(0, -2) (negative start)', () => [T([3, 2])], (a) => a.slice(0, -2).mul(C([2, 2]))],
  ['select(1, 2)', () => [T([2, 3])], (a) => a.select(1, 2).mul(C([2]))],
  ['select of a strided tensor', () => [Tt(2, 3)], (a) => a.select(0, 1).mul(C([3]))],
  ['chunk(2, 1): several outputs', () => [T([2, 5])], (a) => a.chunk(2, 1).map((piece, i) => piece.mul(i + 2))],
  ['split([1, 3, 1], 1)', () => [T([2, 5])], (a) => a.split([1, 3, 1], 1).map((piece, i) => piece.mul(i + 2))],
  ['split(2) along dim 0', () => [T([3, 2])], (a) => a.split(2).map((piece, i) => piece.mul(i + 2))],
  ['unbind(1)', () => [T([2, 3])], (a) => a.unbind(1).map((piece, i) => piece.mul(i + 2))],
  ['contiguous of a transposed tensor (a copy)', () => [T([2, 3])], (a) => a.t().contiguous().mul(C([3, 2]))],
  ['contiguous of a contiguous tensor (itself)', () => [T([2, 3])], (a) => a.contiguous().mul(C([2, 3]))],
  // ---- indexing
  ['indexSelect(1) with a repeated index', () => [T([2, 3])], (a) => a.indexSelect(1, I([2, 0, 2, 1]))],
  ['indexSelect(0) of a strided tensor', () => [Tt(3, 2)], (a) => a.indexSelect(0, I([1, 1, 0]))],
  ['gather(1) with repeats', () => [T([2, 3])], (a) => a.gather(1, I([[0, 0], [2, 1]]))],
  ['gather(0)', () => [T([3, 2])], (a) => a.gather(0, I([[2, 0], [1, 1], [0, 2]]))],
  ['scatter(1): self and src', () => [T([2, 4]), T([2, 2], -1, 1, 2)], (a, s) => a.scatter(1, I([[3, 0], [1, 2]]), s)],
  ['scatter(1) of a number', () => [T([2, 4])], (a) => a.scatter(1, I([[3], [1]]), 0.5)],
  ['scatterAdd(1) with duplicate indices', () => [T([2, 3]), T([2, 3], -1, 1, 2)], (a, s) => a.scatterAdd(1, I([[0, 0, 2], [1, 1, 1]]), s)],
  ['cat(0)', () => [T([2, 3]), T([1, 3], -1, 1, 2)], (a, b) => torch.cat([a, b])],
  ['cat(1) with a constant in the middle', () => [T([2, 1]), T([2, 2], -1, 1, 2)], (a, b) => torch.cat([a, C([2, 3]), b], 1)],
  ['cat of strided tensors', () => [Tt(2, 3), Ts(2, 3)], (a, b) => torch.cat([a, b], 1)],
  ['stack(0)', () => [T([2, 3]), T([2, 3], -1, 1, 2)], (a, b) => torch.stack([a, b])],
  ['stack(2)', () => [T([2, 2]), T([2, 2], -1, 1, 2)], (a, b) => torch.stack([a, b], 2)],
  // ---- compositions
  ['a two-layer net loss', () => [T([3, 4], -0.5, 0.5), T([4, 2], -0.5, 0.5, 2)],
    (w1, w2) => C([2, 3]).mm(w1).tanh().mm(w2).sub(C([2, 2], -1, 1, 3)).pow(2).sum()],
  ['cross entropy by hand', () => [T([2, 3], -2, 2)], (a) => a.logSoftmax(1).gather(1, I([[2], [0]])).mean().neg()],
];

describe('gradcheck: every differentiable op against central differences (float32, eps 1e-2, atol 1e-3, rtol 1e-2)', () => {
  for (const [name, inputs, fn] of cases) {
    it(name, () => {
      torch.tidy(() => {
        const xs = inputs();
        expect(autograd.gradcheck(fn, xs)).toBe(true);
        // gradcheck puts every nudged element back and leaves .grad alone.
        for (const x of xs) expect(x.grad).toBeNull();
      });
    });
  }

  it('gradcheck frees everything it makes, inside a tidy or not (no GC needed)', () => {
    const x = T([2, 3]);
    const before = torch.memory();
    autograd.gradcheck((t) => t.mul(t).sum(1), [x]);
    expect(torch.memory(), 'after gradcheck').toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    torch.tidy(() => autograd.gradcheck((t) => t.exp(), [x]));
    expect(torch.memory(), 'after gradcheck in a tidy').toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    x.dispose();
  });

  it('the strided helpers really make non-contiguous leaves', () => {
    torch.tidy(() => {
      for (const t of [Tt(2, 3), Ts(2, 3)]) expect([t.isContiguous(), t.isLeaf, t.requiresGrad]).toEqual([false, true, true]);
    });
  });

  it('a custom autograd.Function passes gradcheck (two inputs, a non-tensor argument)', () => {
    class MulSin extends autograd.Function {
      static override forward(ctx: torch.autograd.Ctx, x: Tensor, y: Tensor, scale: number) {
        ctx.saveForBackward(x, y);
        ctx.scale = scale;
        return x.mul(y.sin()).mul(scale);
      }
      static override backward(ctx: torch.autograd.Ctx, g: Tensor) {
        const [x, y] = ctx.savedTensors;
        const s = ctx.scale as number;
        return [g.mul(y.sin()).mul(s), g.mul(x).mul(y.cos()).mul(s), null];
      }
    }
    torch.tidy(() => {
      expect(autograd.gradcheck((x, y) => MulSin.apply(x, y, 1.5), [T([2, 3]), T([2, 3], -2, 2, 2)])).toBe(true);
    });
  });

  it('gradcheck catches a wrong derivative: a GradcheckError naming the element, or false with raiseException: false', () => {
    class WrongSquare extends autograd.Function {
      static override forward(ctx: torch.autograd.Ctx, x: Tensor) { ctx.saveForBackward(x); return x.square(); }
      static override backward(ctx: torch.autograd.Ctx, g: Tensor) { const [x] = ctx.savedTensors; return g.mul(x); } // should be 2x
    }
    torch.tidy(() => {
      const x = T([3], 0.5, 1.5);
      expect(() => autograd.gradcheck((t) => WrongSquare.apply(t), [x])).toThrow(autograd.GradcheckError);
      const v = values(x)[0];
      expect(() => autograd.gradcheck((t) => WrongSquare.apply(t), [x]))
        .toThrow(`Jacobian mismatch for output element 0 with respect to input 0, element 0: numerical ${(2 * v).toPrecision(6)}, analytical ${v.toPrecision(6)}`);
      expect(autograd.gradcheck((t) => WrongSquare.apply(t), [x], { raiseException: false })).toBe(false);
      expect(values(x)).toEqual(spread(3, 0.5, 1.5));
    });
  });

  it('an output that does not depend on the inputs differentiably passes when its numerical Jacobian is zero, as in PyTorch', () => {
    torch.tidy(() => {
      expect(autograd.gradcheck((t) => t.detach().mul(0).add(1), [T([3])])).toBe(true);
      expect(autograd.gradcheck((t) => [t.mul(2), t.argmax().float()], [T([3])])).toBe(true);
    });
  });

  it('inputs may be non-leaf views: the gradient is taken w.r.t. the view', () => {
    torch.tidy(() => {
      const base = T([3, 2]);
      expect(autograd.gradcheck((v) => v.mul(v), [base.t()])).toBe(true);
    });
  });
});


// Second derivatives. Linear ops (sum, mean, where, narrow, indexSelect, gather) are followed by a square
// so the check differentiates their backward rule, which must itself be recorded under createGraph.
const secondOrder: Case[] = [
  ['mul', () => [T([2, 3]), T([2, 3], -1, 1, 2)], (a, b) => a.mul(b)],
  ['mul, broadcast', () => [T([2, 3]), T([3], -1, 1, 2)], (a, b) => a.mul(b)],
  ['div', () => [T([2, 3]), L([0.6, -1.2, 1.5])], (a, b) => a.div(b)],
  ['pow 3', () => [T([2, 3])], (a) => a.pow(3)],
  ['pow, tensor exponent', () => [T([2, 3], 0.5, 2), T([3], -1, 2, 2)], (a, b) => a.pow(b)],
  ['exp', () => [T([2, 3])], (a) => a.exp()],
  ['log', () => [T([2, 3], 0.5, 2)], (a) => a.log()],
  ['tanh', () => [T([2, 3], -1.5, 1.5)], (a) => a.tanh()],
  ['sigmoid', () => [T([2, 3], -2, 2)], (a) => a.sigmoid()],
  ['softmax', () => [T([2, 3], -2, 2)], (a) => a.softmax(1)],
  ['logSoftmax', () => [T([2, 3], -2, 2)], (a) => a.logSoftmax(1)],
  ['mm', () => [T([2, 3]), T([3, 2], -1, 1, 2)], (a, b) => a.mm(b)],
  ['matmul, batched broadcast', () => [T([2, 1, 2, 2]), T([2, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['matmul 1-D · 2-D', () => [T([3]), T([3, 2], -1, 1, 2)], (a, b) => a.matmul(b)],
  ['sum(1), squared', () => [T([2, 3])], (a) => a.sum(1).square()],
  ['mean(), squared', () => [T([2, 3])], (a) => a.mean().square()],
  ['gelu', () => [T([2, 3], -2, 2)], (a) => a.gelu()],
  ['where, squared', () => [T([2, 3]), T([2, 3], -1, 1, 2)], (a, b) => torch.where(B([[true, false, true], [false, false, true]]), a, b).square()],
  ['indexSelect, squared', () => [T([2, 3])], (a) => a.indexSelect(1, I([2, 0, 2])).square()],
  ['gather, squared', () => [T([2, 3])], (a) => a.gather(1, I([[0, 0], [2, 1]])).square()],
  ['narrow, squared', () => [T([2, 4])], (a) => a.narrow(1, 1, 2).square()],
];

describe('gradgradcheck: second derivatives through the derivative rules (createGraph)', () => {
  for (const [name, inputs, fn] of secondOrder) {
    it(name, () => {
      torch.tidy(() => {
        expect(autograd.gradgradcheck(fn, inputs())).toBe(true);
      });
    });
  }

  it('a linear op (its gradient does not depend on the input) passes, as in PyTorch', () => {
    torch.tidy(() => {
      expect(autograd.gradgradcheck((a) => a.sum(1), [T([2, 3])])).toBe(true);
    });
  });
});

/**
 * The same second derivatives without gradgradcheck: the Hessian-vector product H·v (autograd.grad of
 * ⟨∇f·u, v⟩, createGraph) against (∇f(x + εv) − ∇f(x − εv)) / 2ε, where ∇f·u is the first-order gradient for
 * fixed output seeds u. One comparison per case, so a wrong second derivative shows up even while
 * gradgradcheck itself cannot run.
 */
function hessianVectorCheck(fn: Case[2], xs: Tensor[]): void {
  const eps = 1e-2;
  const list = (o: Tensor | Tensor[]) => (Array.isArray(o) ? o : [o]);
  const seeds = list(torch.noGrad(() => fn(...xs))).map((o, k) => torch.tensor(spread(o.numel(), 0.5, 1.5, 7 + k)).reshape([...o.shape]));
  const directions = xs.map((x, i) => torch.tensor(spread(x.numel(), -1, 1, 11 + i)).reshape([...x.shape]));
  const firstOrder = (inputs: Tensor[], createGraph: boolean) =>
    autograd.grad(list(fn(...inputs)), inputs, { gradOutputs: seeds, createGraph, allowUnused: true }).map((g, i) => g ?? torch.zerosLike(inputs[i]));

  const grads = firstOrder(xs, true);
  const dot = grads.map((g, i) => g.mul(directions[i]).sum()).reduce((a, b) => a.add(b));
  expect(dot.requiresGrad, 'the first-order gradients are differentiable (recorded under createGraph)').toBe(true);
  const hv = autograd.grad(dot, xs, { allowUnused: true }).map((g, i) => values(g ?? torch.zerosLike(xs[i])));

  const shifted = (sign: number) => firstOrder(xs.map((x, i) => torch.noGrad(() => x.add(directions[i].mul(sign * eps))).requiresGrad_()), false);
  const plus = shifted(1), minus = shifted(-1);
  xs.forEach((_, i) => {
    const numerical = values(plus[i].sub(minus[i]).div(2 * eps));
    const scale = Math.max(1, ...numerical.map(Math.abs));
    const bad = hv[i].flatMap((a, j) => (Math.abs(a - numerical[j]) <= 1e-2 * scale ? [] : [`[${j}] H·v ${a}, finite differences ${numerical[j]}`]));
    expect(bad, `input ${i}`).toEqual([]);
  });
}

describe('Hessian-vector products vs finite differences of gradients (independent of gradgradcheck)', () => {
  for (const [name, inputs, fn] of secondOrder) {
    it(name, () => {
      torch.tidy(() => hessianVectorCheck(fn, inputs()));
    });
  }
});
