// Regressions from the independent review: engine ownership of gradients, tidy and .grad, deep graphs, pool resizing.
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

describe('review regressions', () => {
  it('a hook that returns a new tensor does not leak it', () => {
    const w = torch.ones(3, { requiresGrad: true });
    w.registerHook((g) => g.mul(2));
    torch.tidy(() => w.mul(3).sum().backward());
    torch.backend.collectGarbage();
    const before = torch.memory().tensors;
    for (let i = 0; i < 5; i++) torch.tidy(() => w.mul(3).sum().backward());
    torch.backend.collectGarbage();
    expect(torch.memory().tensors).toBe(before);
    expect(Array.from(w.grad!.toArray())).toEqual([36, 36, 36]);
  });

  it('a Function backward may return a saved tensor or a tensor it did not create', () => {
    const constant = torch.tensor([5, 5]);
    class ReturnsSaved extends torch.autograd.Function {
      static override forward(ctx: torch.autograd.Ctx, x: torch.Tensor) { ctx.saveForBackward(x); return x.mul(2); }
      static override backward(ctx: torch.autograd.Ctx) { return ctx.savedTensors[0]; }
    }
    class ReturnsConstant extends torch.autograd.Function {
      static override forward(_ctx: torch.autograd.Ctx, x: torch.Tensor) { return x.mul(2); }
      static override backward() { return constant; }
    }
    const x = torch.tensor([1, 2], { requiresGrad: true });
    ReturnsSaved.apply(x).sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual([1, 2]);
    ReturnsConstant.apply(x).sum().backward();
    expect(constant.isDisposed).toBe(false);
    expect(Array.from(x.grad!.toArray())).toEqual([6, 7]);
  });

  it('returning x.grad from tidy, and backward({inputs}) inside tidy, leave live gradients', () => {
    const grad = torch.tidy(() => {
      const x = torch.ones(3, { requiresGrad: true });
      x.mul(2).sum().backward();
      return x.grad!;
    });
    expect(grad.isDisposed).toBe(false);
    expect(Array.from(grad.toArray())).toEqual([2, 2, 2]);
    const w = torch.ones(2, { requiresGrad: true });
    torch.tidy(() => w.mul(2).sum().backward({ inputs: [w] }));
    expect(w.grad!.isDisposed).toBe(false);
  });

  it('createGraph accumulation gives each leaf its own gradient storage', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true }), y = torch.tensor([4, 5, 6], { requiresGrad: true });
    const z = x.add(y);
    z.sum().backward({ createGraph: true });
    z.sum().backward();
    expect(Array.from(x.grad!.toArray())).toEqual([2, 2, 2]);
    expect(Array.from(y.grad!.toArray())).toEqual([2, 2, 2]);
  });

  it('autograd.grad works on a 20,000-node chain', () => {
    const x = torch.ones(2, { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20_000; i++) y = y.mul(1);
    const [g] = torch.autograd.grad(y.sum(), x);
    expect(Array.from(g!.toArray())).toEqual([1, 1]);
  });

  it('lowering the thread count while workers start ends with the count asked for', async () => {
    const cores = torch.getNumThreads();
    void torch.setNumThreads(3);
    await torch.setNumThreads(1);
    expect(torch.backend.info().threads).toBe(1);
    await torch.setNumThreads(cores);
    expect(torch.backend.info().threads).toBe(cores);
  });
});
