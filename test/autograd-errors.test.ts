// Each autograd error: the right class and PyTorch's message, nothing leaked (torch.memory() unchanged), and the runtime still trains afterwards.
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const { autograd } = torch;
type Tensor = torch.Tensor;
type Ctx = torch.autograd.Ctx;
type ErrorClass = new (...args: never[]) => Error;

interface ErrorCase {
  name: string;
  error: ErrorClass;
  message: RegExp;
  /**
   * Builds what the failing call needs and returns it; `after` (optional) is a follow-up that must now
   * succeed, such as the corrected call on the same graph.
   */
  setup: () => { call: () => unknown; after?: () => void };
}

const leaf = (data: number[]) => torch.tensor(data, { requiresGrad: true });
const values = (t: Tensor | null) => Array.from(t!.toArray());

class Square extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor) { ctx.saveForBackward(x); return x.square(); }
  static override backward(ctx: Ctx, g: Tensor) { const [x] = ctx.savedTensors; return g.mul(x).mul(2); }
}

const cases: ErrorCase[] = [
  {
    name: 'backward of a non-scalar without a gradient',
    error: torch.AutogradError, message: /grad can be implicitly created only for scalar outputs/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = x.mul(x);
      return {
        call: () => y.backward(),
        after: () => { y.backward(torch.tensor([1, 1])); expect(values(x.grad)).toEqual([2, 4]); },
      };
    },
  },
  {
    name: 'backward with a gradient of the wrong shape',
    error: torch.ShapeError, message: /Mismatch in shape for output 0: got gradient of shape \[3\] but expected shape \[2\]/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = x.mul(3);
      return { call: () => y.backward(torch.ones(3)), after: () => { y.backward(torch.ones(2)); expect(values(x.grad)).toEqual([3, 3]); } };
    },
  },
  {
    name: 'backward of a tensor that does not require grad',
    error: torch.AutogradError, message: /element 0 of tensors does not require grad and does not have a gradFn/,
    setup: () => {
      const y = torch.tensor([1, 2]).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'backward of a tensor computed under noGrad',
    error: torch.AutogradError, message: /element 0 of tensors does not require grad and does not have a gradFn/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = torch.noGrad(() => x.mul(2).sum());
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.grad with an input the outputs do not use',
    error: torch.AutogradError, message: /One of the differentiated Tensors \(inputs\[1\]\) appears to not have been used in the graph\. Set allowUnused: true/,
    setup: () => {
      const x = leaf([1, 2]), unused = leaf([3]);
      const y = x.exp().sum();
      return { call: () => autograd.grad(y, [x, unused]) };
    },
  },
  {
    name: 'autograd.grad w.r.t. an input that does not require grad',
    error: torch.AutogradError, message: /inputs\[0\] does not require grad/,
    setup: () => {
      const c = torch.tensor([1, 2]), x = leaf([3, 4]);
      const y = x.mul(c).sum();
      return { call: () => autograd.grad(y, [c]), after: () => expect(values(autograd.grad(y, [x])[0])).toEqual([1, 2]) };
    },
  },
  {
    name: 'autograd.grad with fewer gradOutputs than outputs',
    error: torch.ArgumentError, message: /gradOutputs has 1 entries but there are 2 outputs/,
    setup: () => {
      const x = leaf([1, 2]);
      const a = x.mul(2), b = x.mul(3);
      return { call: () => autograd.grad([a, b], [x], { gradOutputs: [torch.ones(2)] }) };
    },
  },
  {
    name: 'a tensor saved for backward was modified in place (the error comes mid-graph, with other gradients pending)',
    error: torch.AutogradError, message: /one of the variables needed for gradient computation has been modified by an inplace operation: \[torch\.FloatTensor \[2\]\], which is output 0 of MulBackward0, is at version \d+; expected version \d+ instead/,
    setup: () => {
      const x = leaf([1, 2]), w = leaf([0.5, -1]);
      const h = x.mul(2);
      const s = h.sin();                      // saves h
      const loss = s.mul(w).add(x.exp().mul(w)).add(h.square().mul(w)).sum();
      h.add_(1);                              // recorded in place: h is now version +1
      return { call: () => loss.backward() };
    },
  },
  {
    name: 'a second backward without retainGraph',
    error: torch.AutogradError, message: /Trying to backward through the graph a second time.*Pass \{ retainGraph: true \}/s,
    setup: () => {
      const x = leaf([1, 2]);
      const y = x.exp().mul(x).sum();
      y.backward();
      return { call: () => y.backward(), after: () => expect(values(x.grad).map((v) => +v.toFixed(4))).toEqual([5.4366, 22.1672]) };
    },
  },
  {
    name: 'autograd.grad a second time without retainGraph',
    error: torch.AutogradError, message: /second time/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = x.sigmoid().sum();
      autograd.grad(y, x);
      return { call: () => autograd.grad(y, x) };
    },
  },
  {
    name: 'in place on a leaf that requires grad',
    error: torch.AutogradError, message: /a leaf Variable that requires grad is being used in an in-place operation \(add_\).*torch\.noGrad/,
    setup: () => {
      const w = leaf([1, 2]);
      return {
        call: () => w.add_(1),
        after: () => {
          expect([values(w), w.version, w.isLeaf]).toEqual([[1, 2], 0, true]);
          torch.noGrad(() => w.add_(1));
          expect(values(w)).toEqual([2, 3]);
        },
      };
    },
  },
  {
    name: 'in place on a leaf that requires grad, through a method that is not arithmetic (zero_, fill_, copy_, maskedFill_)',
    error: torch.AutogradError, message: /a leaf Variable that requires grad is being used in an in-place operation/,
    setup: () => {
      const w = leaf([1, 2]);
      const calls = [() => w.fill_(0), () => w.copy_(torch.ones(2)), () => w.maskedFill_(torch.tensor([true, false]), 0)];
      return {
        call: () => w.zero_(),
        after: () => {
          for (const c of calls) expect(c).toThrow(/a leaf Variable that requires grad/);
          expect(values(w)).toEqual([1, 2]);
        },
      };
    },
  },
  {
    name: 'in place on a tensor whose storage has views in the graph (not supported here; PyTorch rebases the view)',
    error: torch.AutogradError, message: /in-place ops on a tensor that shares storage with views in the autograd graph are not supported/,
    setup: () => {
      const x = leaf([1, 2, 3, 4]);
      const h = x.mul(1);
      const view = h.view(2, 2);
      return { call: () => h.mul_(2), after: () => { view.sum().backward(); expect(values(x.grad)).toEqual([1, 1, 1, 1]); } };
    },
  },
  {
    name: 'requiresGrad_(false) on a non-leaf',
    error: torch.AutogradError, message: /you can only change requiresGrad flags of leaf variables.*detach\(\)/,
    setup: () => {
      const y = leaf([1]).mul(2);
      return { call: () => y.requiresGrad_(false), after: () => expect(y.requiresGrad).toBe(true) };
    },
  },
  {
    name: 'requiresGrad_ on an int32 tensor',
    error: torch.AutogradError, message: /only Tensors of floating point dtype can require gradients \(this one is int32\)/,
    setup: () => {
      const i = torch.tensor([1, 2], { dtype: 'int32' });
      return { call: () => i.requiresGrad_(), after: () => expect(i.requiresGrad).toBe(false) };
    },
  },
  {
    name: 'retainGrad on a tensor that does not require grad',
    error: torch.AutogradError, message: /can't retainGrad on a tensor that has requiresGrad=false/,
    setup: () => {
      const c = torch.tensor([1, 2]);
      return { call: () => c.retainGrad() };
    },
  },
  {
    name: 'registerHook on a tensor that does not require grad',
    error: torch.AutogradError, message: /cannot register a hook on a tensor that doesn't require gradient/,
    setup: () => {
      const c = torch.tensor([1, 2]);
      return { call: () => c.registerHook(() => undefined) };
    },
  },
  {
    name: 'a hook that returns a gradient of the wrong shape',
    error: torch.ShapeError, message: /hook on MulBackward0: got gradient of shape \[3\] but expected shape \[2\]/,
    setup: () => {
      const x = leaf([1, 2]);
      const h = x.mul(2);
      h.registerHook(() => torch.ones(3));
      const y = h.exp().sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'a hook that throws',
    error: Error, message: /thrown by the hook/,
    setup: () => {
      const x = leaf([1, 2]);
      const h = x.mul(2);
      h.registerHook(() => { throw new Error('thrown by the hook'); });
      const y = h.exp().add(x.sin()).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'assigning a .grad of the wrong shape',
    error: torch.AutogradError, message: /assigned grad has data of a different size: \[3\] for a tensor of shape \[2\]/,
    setup: () => {
      const x = leaf([1, 2]);
      const g = torch.ones(3);
      return { call: () => { x.grad = g; }, after: () => expect(x.grad).toBeNull() };
    },
  },
  {
    name: 'autograd.Function backward returning too few gradients',
    error: torch.AutogradError, message: /function TooFewBackward returned an incorrect number of gradients \(expected 2, got 1\)/,
    setup: () => {
      class TooFew extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor, b: Tensor) { return a.mul(b); }
        static override backward(_ctx: Ctx, g: Tensor) { return g; }
      }
      const a = leaf([1, 2]), b = leaf([3, 4]);
      const y = TooFew.apply(a, b).add(a.exp()).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.Function backward returning too many gradients',
    error: torch.AutogradError, message: /returned an incorrect number of gradients \(expected 1, got 2\)/,
    setup: () => {
      class TooMany extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor) { return a.mul(2); }
        static override backward(_ctx: Ctx, g: Tensor) { return [g.mul(2), g]; }
      }
      const a = leaf([1, 2]);
      const y = TooMany.apply(a).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.Function backward returning a gradient of the wrong shape',
    error: torch.AutogradError, message: /Function WrongShapeBackward returned an invalid gradient at index 0 - got \[2, 1\] but expected shape compatible with \[2\]/,
    setup: () => {
      class WrongShape extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor) { return a.mul(2); }
        static override backward(_ctx: Ctx, g: Tensor) { return g.unsqueeze(1); }
      }
      const a = leaf([1, 2]);
      const y = WrongShape.apply(a).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.Function backward returning a non-tensor',
    error: torch.AutogradError, message: /returned a non-tensor gradient at index 0/,
    setup: () => {
      class NotATensor extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor) { return a.mul(2); }
        static override backward() { return 2 as never; }
      }
      const a = leaf([1, 2]);
      const y = NotATensor.apply(a).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.Function backward throwing its own error',
    error: RangeError, message: /from the user's backward/,
    setup: () => {
      class Throws extends autograd.Function {
        static override forward(ctx: Ctx, a: Tensor) { ctx.saveForBackward(a); return a.mul(2); }
        static override backward(ctx: Ctx, g: Tensor): Tensor { void ctx.savedTensors; g.mul(3); throw new RangeError("from the user's backward"); }
      }
      const a = leaf([1, 2]);
      const y = Throws.apply(a.exp()).mul(a).sum();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'autograd.Function forward returning a non-tensor',
    error: torch.AutogradError, message: /NumberOut\.forward must return a tensor or an array of tensors; output 0 is not a tensor/,
    setup: () => {
      class NumberOut extends autograd.Function {
        static override forward() { return 3 as never; }
        static override backward(_ctx: Ctx, g: Tensor) { return g; }
      }
      const a = leaf([1, 2]);
      return { call: () => NumberOut.apply(a) };
    },
  },
  {
    name: 'autograd.Function without a forward',
    error: torch.AutogradError, message: /NoForward must implement static forward\(ctx, \.\.\.args\)/,
    setup: () => {
      class NoForward extends autograd.Function {}
      const a = leaf([1, 2]);
      return { call: () => NoForward.apply(a) };
    },
  },
  {
    name: 'ctx.savedTensors read again after backward freed them',
    error: torch.AutogradError, message: /saved tensors after they have already been freed.*retainGraph/s,
    setup: () => {
      let kept: Ctx | undefined;
      class Keep extends autograd.Function {
        static override forward(ctx: Ctx, x: Tensor) { kept = ctx; ctx.saveForBackward(x); return x.mul(2); }
        static override backward(ctx: Ctx, g: Tensor) { void ctx.savedTensors; return g.mul(2); }
      }
      const x = leaf([1, 2]);
      Keep.apply(x).sum().backward();
      return { call: () => kept!.savedTensors };
    },
  },
  {
    name: 'a custom Function\'s saved input modified in place',
    error: torch.AutogradError, message: /modified by an inplace operation/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = Square.apply(x).sum();
      torch.noGrad(() => x.mul_(3));
      return { call: () => y.backward() };
    },
  },
  {
    name: 'a tensor saved for backward was disposed (torch.keep of a loss keeps the tensor, not its graph)',
    error: torch.DisposedError, message: /a tensor saved for ExpBackward0 was disposed before backward \(a torch\.tidy ended\?\)/,
    setup: () => {
      const x = leaf([1, 2]);
      let kept!: Tensor;
      torch.tidy(() => { kept = torch.keep(x.mul(2).exp().sum()); });
      return {
        call: () => kept.backward(),
        // Returning the loss from tidy keeps its graph.
        after: () => { torch.tidy(() => x.mul(2).exp().sum()).backward(); expect(x.grad).not.toBeNull(); },
      };
    },
  },
  {
    name: 'backward of a disposed tensor',
    error: torch.DisposedError, message: /disposed/,
    setup: () => {
      const x = leaf([1, 2]);
      const y = x.exp().sum();
      y.dispose();
      return { call: () => y.backward() };
    },
  },
  {
    name: 'gradcheck with no input that requires grad',
    error: torch.ArgumentError, message: /gradcheck: at least one input tensor must require grad/,
    setup: () => {
      const c = torch.tensor([1, 2]);
      return { call: () => autograd.gradcheck((t) => t.exp(), [c]) };
    },
  },
  {
    name: 'gradcheck of a wrong derivative (the inputs are restored)',
    error: autograd.GradcheckError, message: /Jacobian mismatch for output element 0 with respect to input 0, element 0/,
    setup: () => {
      class Wrong extends autograd.Function {
        static override forward(_ctx: Ctx, x: Tensor) { return x.mul(3); }
        static override backward(_ctx: Ctx, g: Tensor) { return g.mul(2); }
      }
      const x = leaf([0.5, 1.5]);
      return { call: () => autograd.gradcheck((t) => Wrong.apply(t), [x]), after: () => expect(values(x)).toEqual([0.5, 1.5]) };
    },
  },
  {
    name: 'setGradEnabled with a non-boolean',
    error: torch.ArgumentError, message: /setGradEnabled expects a boolean, got number/,
    setup: () => ({ call: () => torch.setGradEnabled(0 as never), after: () => expect(torch.isGradEnabled()).toBe(true) }),
  },
  {
    name: 'noGrad with a non-function',
    error: torch.ArgumentError, message: /expected a function, got object/,
    setup: () => ({ call: () => torch.noGrad(null as never), after: () => expect(torch.isGradEnabled()).toBe(true) }),
  },
];

/** A small training step that must work after any error: w ← w − 0.1·∇‖xw − y‖². */
function trainingStepWorks(): void {
  const w = torch.tensor([[0.5], [-0.5]], { requiresGrad: true });
  torch.tidy(() => {
    const x = torch.tensor([[1, 2], [3, 4]]), y = torch.tensor([[1], [2]]);
    const loss = x.mm(w).sub(y).pow(2).sum();
    expect(loss.item()).toBeCloseTo(1.5 ** 2 + 2.5 ** 2, 5);
    loss.backward();
    // ∇ = 2xᵀ(xw − y) = 2·[[1,3],[2,4]]·[[-1.5],[-2.5]]
    expect(values(w.grad)).toEqual([-18, -26]);
    torch.noGrad(() => w.sub_(w.grad!.mul(0.1)));
  });
  expect(values(w).map((v) => +v.toFixed(5))).toEqual([2.3, 2.1]);
  expect(torch.isGradEnabled()).toBe(true);
  w.dispose();
}

function measure() {
  torch.backend.collectGarbage();
  const { tensors, storages, bytes } = torch.memory();
  return { tensors, storages, bytes };
}

/** Runs one case in its own function, so that nothing it made is reachable once it returns. */
function runCase(c: ErrorCase): void {
  const { call, after } = c.setup();
  let thrown: unknown = undefined;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'it throws').toBeInstanceOf(c.error);
  expect((thrown as Error).message).toMatch(c.message);
  expect(torch.isGradEnabled(), 'grad mode is restored').toBe(true);
  after?.();
}

describe('autograd errors leave nothing behind and the runtime usable', () => {
  for (const c of cases) {
    it(c.name, () => {
      const before = measure();
      runCase(c);
      expect(measure(), 'torch.memory() after the error').toEqual(before);
      trainingStepWorks();
      expect(measure(), 'torch.memory() after a training step').toEqual(before);
    });
  }
});
