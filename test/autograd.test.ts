// Autograd semantics against PyTorch's: the graph (gradFn, nextFunctions), backward, autograd.grad, grad modes, hooks, safety checks, autograd.Function, higher order.
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const { autograd } = torch;
type Tensor = torch.Tensor;

const values = (t: Tensor) => Array.from(t.toArray());

/** Elementwise |a - e| <= atol + rtol * |e|, with a readable message. */
function expectClose(actual: Tensor | null | undefined, expected: number[] | number, what = 'tensor', rtol = 1e-5, atol = 1e-6): void {
  expect(actual, `${what} exists`).toBeInstanceOf(torch.Tensor);
  const got = values(actual!);
  const want = typeof expected === 'number' ? [expected] : expected;
  expect(got.length, `${what} length`).toBe(want.length);
  const bad = got.flatMap((a, i) => (Math.abs(a - want[i]) <= atol + rtol * Math.abs(want[i]) ? [] : [`[${i}] got ${a}, expected ${want[i]}`]));
  expect(bad, what).toEqual([]);
}

const leaf = (data: number[] | number[][], shape?: number[]) =>
  shape ? torch.tensor(data).reshape(shape).detach().requiresGrad_() : torch.tensor(data, { requiresGrad: true });

/** The names along the edges of a node: nextFunctions as [name, outputNr] (null where no gradient goes). */
const edges = (node: torch.autograd.Node | null) => node!.nextFunctions.map((e) => (e ? [e[0].name, e[1]] : null));

describe('the graph: gradFn and nextFunctions, named like PyTorch', () => {
  // [what, the recorded result from x ([2, 3], requires grad) and c ([2, 3] constant), PyTorch 1.13's grad_fn name]
  const names: [string, (x: Tensor, c: Tensor) => Tensor, string][] = [
    ['add', (x, c) => x.add(c), 'AddBackward0'],
    ['add a scalar', (x) => x.add(1), 'AddBackward0'],
    ['sub', (x, c) => x.sub(c), 'SubBackward0'],
    ['mul', (x, c) => x.mul(c), 'MulBackward0'],
    ['div', (x, c) => x.div(c), 'DivBackward0'],
    ['pow, scalar exponent', (x) => x.pow(2), 'PowBackward0'],
    ['pow, tensor exponent', (x, c) => x.pow(c), 'PowBackward1'],
    ['pow, scalar base (torch.pow(2, x))', (x) => torch.pow(2, x), 'PowBackward2'],
    ['neg', (x) => x.neg(), 'NegBackward0'],
    ['exp', (x) => x.exp(), 'ExpBackward0'],
    ['log', (x) => x.log(), 'LogBackward0'],
    ['tanh', (x) => x.tanh(), 'TanhBackward0'],
    ['sigmoid', (x) => x.sigmoid(), 'SigmoidBackward0'],
    ['relu', (x) => x.relu(), 'ReluBackward0'],
    ['clamp with numbers', (x) => x.clamp(0, 1), 'ClampBackward1'],
    ['clone', (x) => x.clone(), 'CloneBackward0'],
    ['sum()', (x) => x.sum(), 'SumBackward0'],
    ['sum(dim)', (x) => x.sum(1), 'SumBackward1'],
    ['mean()', (x) => x.mean(), 'MeanBackward0'],
    ['mean(dim)', (x) => x.mean(0), 'MeanBackward1'],
    ['prod()', (x) => x.prod(), 'ProdBackward0'],
    ['max()', (x) => x.max(), 'MaxBackward1'],
    ['max(dim)', (x) => x.max(1).values, 'MaxBackward0'],
    ['softmax', (x) => x.softmax(1), 'SoftmaxBackward0'],
    ['logSoftmax', (x) => x.logSoftmax(1), 'LogSoftmaxBackward0'],
    ['mm', (x, c) => x.mm(c.t()), 'MmBackward0'],
    ['bmm', (x, c) => x.unsqueeze(0).bmm(c.t().unsqueeze(0)), 'BmmBackward0'],
    ['t', (x) => x.t(), 'TBackward0'],
    ['transpose', (x) => x.transpose(0, 1), 'TransposeBackward0'],
    ['permute', (x) => x.permute(1, 0), 'PermuteBackward0'],
    ['view', (x) => x.view(6), 'ViewBackward0'],
    ['expand', (x) => x.unsqueeze(0).expand(2, 2, 3), 'ExpandBackward0'],
    ['unsqueeze', (x) => x.unsqueeze(0), 'UnsqueezeBackward0'],
    ['select', (x) => x.select(0, 1), 'SelectBackward0'],
    ['narrow', (x) => x.narrow(1, 0, 2), 'SliceBackward0'],
    ['indexSelect', (x) => x.indexSelect(1, torch.tensor([2, 0], { dtype: 'int32' })), 'IndexSelectBackward0'],
    ['gather', (x) => x.gather(1, torch.tensor([[0], [2]], { dtype: 'int32' })), 'GatherBackward0'],
    ['cat', (x, c) => torch.cat([x, c]), 'CatBackward0'],
    ['stack', (x, c) => torch.stack([x, c]), 'StackBackward0'],
    ['where', (x, c) => torch.where(c.gt(0), x, 0), 'WhereBackward0'],
    ['maskedFill', (x, c) => x.maskedFill(c.gt(0), 0), 'MaskedFillBackward0'],
  ];
  for (const [what, op, name] of names) {
    it(`${what} → ${name}`, () => {
      const got = torch.tidy(() => {
        const x = torch.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
        const c = torch.tensor([[0.5, -1, 2], [1, 1.5, -2]]);
        return op(x, c).gradFn?.name;
      });
      expect(got).toBe(name);
    });
  }

  it('nextFunctions lead to each input: a node, AccumulateGrad for leaves, null for constants', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), y = leaf([3, 4]), c = torch.tensor([5, 6]);
      const z = x.mul(y).add(c).sum();
      expect(z.gradFn!.name).toBe('SumBackward0');
      expect(edges(z.gradFn)).toEqual([['AddBackward0', 0]]);
      const addNode = z.gradFn!.nextFunctions[0]![0];
      expect(edges(addNode)).toEqual([['MulBackward0', 0], null]);
      const mulNode = addNode.nextFunctions[0]![0];
      expect(edges(mulNode)).toEqual([['AccumulateGrad', 0], ['AccumulateGrad', 0]]);
      const [ax, ay] = mulNode.nextFunctions.map((e) => e![0] as torch.autograd.AccumulateGrad);
      expect(ax).toBeInstanceOf(autograd.AccumulateGrad);
      expect(ax.variable).toBe(x);
      expect(ay.variable).toBe(y);
      expect(ax.nextFunctions).toEqual([]);
      // One accumulator per leaf, shared by every use of it.
      expect(x.exp().gradFn!.nextFunctions[0]![0]).toBe(ax);
    });
  });

  it('the outputNr of an edge says which output of a multi-output node a gradient goes to', () => {
    torch.tidy(() => {
      const x = leaf([1, 5, 3, 2], [2, 2]);
      // cat of the two values of max(dim) and min(dim): edges point at output 0 of each
      const m = torch.cat([x.max(1).values, x.min(1).values]);
      expect(edges(m.gradFn)).toEqual([['MaxBackward0', 0], ['MinBackward0', 0]]);
      // A custom Function with two outputs: the consumer's edges name output 0 and output 1.
      class Two extends autograd.Function {
        static override forward(_ctx: torch.autograd.Ctx, t: Tensor) { return [t.mul(2), t.mul(3)]; }
        static override backward(_ctx: torch.autograd.Ctx, g0: Tensor, g1: Tensor) { return g0.mul(2).add(g1.mul(3)); }
      }
      const [a, b] = Two.apply<Tensor[]>(x);
      expect(edges(b.add(a).gradFn)).toEqual([['TwoBackward', 1], ['TwoBackward', 0]]);
    });
  });

  it('leaves and constants: isLeaf, requiresGrad, gradFn; ops on constants record nothing', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), c = torch.tensor([3, 4]);
      expect([x.isLeaf, x.requiresGrad, x.gradFn]).toEqual([true, true, null]);
      expect([c.isLeaf, c.requiresGrad, c.gradFn]).toEqual([true, false, null]);
      const y = x.mul(c);
      expect([y.isLeaf, y.requiresGrad]).toEqual([false, true]);
      const d = c.mul(c);
      expect([d.isLeaf, d.requiresGrad, d.gradFn]).toEqual([true, false, null]);
      // Integer results are never differentiable.
      expect(x.argmax().requiresGrad).toBe(false);
      expect(x.gt(1).requiresGrad).toBe(false);
      expect(x.max(0).indices.requiresGrad).toBe(false);
    });
  });
});

describe('backward', () => {
  it('a diamond (a used by two branches) runs each node once and sums the branches', () => {
    torch.tidy(() => {
      const a = leaf([0.5, 1, 2]);
      const h = a.mul(3);
      let hCalls = 0, aCalls = 0;
      h.registerHook(() => { hCalls++; });
      a.registerHook(() => { aCalls++; });
      // One branch is short, the other long: h's node must wait for both.
      const loss = h.mul(2).add(h.exp().log().sqrt().mul(h)).sum();
      loss.backward();
      // d/dh [2h + sqrt(h) h] = 2 + 1.5 sqrt(h); da = 3 dh
      const hv = [1.5, 3, 6];
      expectClose(a.grad, hv.map((v) => 3 * (2 + 1.5 * Math.sqrt(v))), 'a.grad', 1e-5);
      expect([hCalls, aCalls]).toEqual([1, 1]);
    });
  });

  it('runs nodes in topological order: every consumer before the tensor it consumes', () => {
    torch.tidy(() => {
      const order: string[] = [];
      const x = leaf([1, 2]);
      const mark = (t: Tensor, name: string) => { t.registerHook(() => { order.push(name); }); return t; };
      mark(x, 'x');
      const p = mark(x.mul(2), 'p');
      const q = mark(p.exp(), 'q');
      const r = mark(p.add(q), 'r');      // uses p directly and through q
      const s = mark(r.mul(q), 's');      // uses q directly and through r
      s.sum().backward();
      expect(order).toEqual(['s', 'r', 'q', 'p', 'x']);
    });
  });

  it('leaves accumulate into .grad across two backward calls (and zero_ resets)', () => {
    torch.tidy(() => {
      const x = leaf([1, 2, 3]);
      x.mul(x).sum().backward();
      expectClose(x.grad, [2, 4, 6], 'after one backward');
      x.mul(x).sum().backward();
      expectClose(x.grad, [4, 8, 12], 'after two');
      expect(x.grad!.requiresGrad).toBe(false);
      x.grad!.zero_();
      x.mul(3).sum().backward();
      expectClose(x.grad, [3, 3, 3], 'after zero_ and a third');
    });
  });

  it('a leaf used twice in one op gets both contributions', () => {
    torch.tidy(() => {
      const x = leaf([1.5, -2]);
      x.mul(x).mul(x).sum().backward();
      expectClose(x.grad, [3 * 1.5 ** 2, 3 * 4], 'd(x³)');
    });
  });

  it('non-leaves keep .grad only with retainGrad(), accumulating like leaves', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = x.mul(2), z = x.mul(3);
      y.retainGrad();
      expect([y.retainsGrad, z.retainsGrad]).toEqual([true, false]);
      const loss = y.pow(2).add(z).sum();
      loss.backward(undefined, { retainGraph: true });
      expectClose(y.grad, [4, 8], 'y.grad = 2y');
      expect(z.grad).toBeNull();
      expectClose(x.grad, [8 + 3, 16 + 3], 'x.grad');
      loss.backward();
      expectClose(y.grad, [8, 16], 'y.grad accumulates');
      // On a leaf retainGrad is a no-op.
      x.retainGrad();
      expect(x.retainsGrad).toBe(false);
    });
  });

  it('backward(gradient) seeds a non-scalar output; without it PyTorch\'s error', () => {
    torch.tidy(() => {
      const x = leaf([[1, 2, 3], [4, 5, 6]]);
      const y = x.mul(x);
      expect(() => y.backward()).toThrow(/grad can be implicitly created only for scalar outputs/);
      y.backward(torch.tensor([[1, 0, -1], [0.5, 2, 0]]));
      expectClose(x.grad, [2, 0, -6, 4, 20, 0], 'x.grad = 2x·g');
    });
  });

  it('a one-element non-scalar output ([1, 1]) needs no explicit gradient, as in PyTorch', () => {
    torch.tidy(() => {
      const x = leaf([[2]]);
      x.mul(x).backward();
      expectClose(x.grad, [4]);
    });
  });

  it('backward through views: slices, transposes and expands send gradients to the right elements', () => {
    torch.tidy(() => {
      const x = leaf([[1, 2, 3], [4, 5, 6]]);
      const loss = x.t().slice(0, 0, 3, 2).mul(torch.tensor([[1, 10], [100, 1000]])).sum()
        .add(x.select(1, 1).unsqueeze(1).expand(2, 4).sum());
      loss.backward();
      // t()[0:3:2] is columns 0 and 2 of x, transposed: x[0,0]·1 + x[1,0]·10 + x[0,2]·100 + x[1,2]·1000; column 1 counted 4 times
      expectClose(x.grad, [1, 4, 100, 10, 4, 1000]);
    });
  });

  it('backward({ retainGraph: true }): keyword arguments alone as one options object, as everywhere else', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = x.exp().sum();
      y.backward({ retainGraph: true } as never);
      y.backward();
      expectClose(x.grad, [2 * Math.E, 2 * Math.exp(2)], 'twice', 1e-6);
    });
  });

  it('backward({ inputs }) accumulates only into the tensors named', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), y = leaf([3, 4]);
      x.mul(y).sum().backward(undefined, { inputs: [x] });
      expectClose(x.grad, [3, 4]);
      expect(y.grad).toBeNull();
    });
  });
});

describe('autograd.grad', () => {
  it('returns the gradients and leaves .grad alone', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), y = leaf([3, 4]);
      const [gx, gy] = autograd.grad(x.mul(y).sum(), [x, y]);
      expectClose(gx, [3, 4], 'dx');
      expectClose(gy, [1, 2], 'dy');
      expect([x.grad, y.grad]).toEqual([null, null]);
    });
  });

  it('gradOutputs seed non-scalar outputs; several outputs add up', () => {
    torch.tidy(() => {
      const x = leaf([1, 2, 3]);
      const [g] = autograd.grad([x.mul(2), x.mul(x)], [x], { gradOutputs: [torch.tensor([1, 1, 1]), torch.tensor([1, 0, 2])] });
      expectClose(g, [2 + 2, 2, 2 + 12]);
      const [single] = autograd.grad(x.exp(), x, { gradOutputs: torch.tensor([0, 1, 0]) });
      expectClose(single, [0, Math.exp(2), 0], 'one output, one gradOutput', 1e-6);
    });
  });

  it('w.r.t. a non-leaf: the gradient arriving at it, and nodes behind it neither run nor are freed', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const h = x.exp();
      const [g] = autograd.grad(h.mul(h).sum(), h);
      expectClose(g, [2 * Math.E, 2 * Math.exp(2)], 'd/dh', 1e-6);
      expect(x.grad).toBeNull();
      // h's own node (ExpBackward0) was not part of that call, so a later backward through it works.
      const [g2] = autograd.grad(h.mul(3).sum(), h);
      expectClose(g2, [3, 3], 'second call through a fresh graph on h');
      h.sum().backward();
      expectClose(x.grad, [Math.E, Math.exp(2)], 'x.grad', 1e-6);
    });
  });

  it('retainGraph: true allows a second call on the same graph', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = x.pow(3).sum();
      const [a] = autograd.grad(y, x, { retainGraph: true });
      const [b] = autograd.grad(y, x);
      expectClose(a, [3, 12]);
      expectClose(b, [3, 12]);
      expect(() => autograd.grad(y, x)).toThrow(/retainGraph/);
    });
  });

  it('createGraph: true gives gradients that are themselves differentiable', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const [g] = autograd.grad(x.pow(3).sum(), x, { createGraph: true });
      expect(g!.requiresGrad).toBe(true);
      expect(g!.gradFn).not.toBeNull();
      const [gg] = autograd.grad(g!.sum(), x);
      expectClose(gg, [6, 12], 'd²(x³) = 6x');
      // Without createGraph the result is a plain tensor.
      const [plain] = autograd.grad(x.pow(3).sum(), x);
      expect([plain!.requiresGrad, plain!.gradFn]).toEqual([false, null]);
    });
  });

  it('its results belong to the enclosing torch.tidy: freed at its end unless returned (no GC needed)', () => {
    const x = leaf([1, 2, 3]);
    const before = torch.memory();
    torch.tidy(() => {
      autograd.grad(x.mul(x).sum(), x);
    });
    expect(torch.memory(), 'nothing survives the tidy').toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    const [g] = torch.tidy(() => autograd.grad(x.mul(x).sum(), x));
    expect(torch.memory().tensors, 'the returned gradient survives').toBe(before.tensors + 1);
    g!.dispose();
    x.dispose();
  });

  it('allowUnused: an input the outputs do not depend on gives null; without it, PyTorch\'s error', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), unused = leaf([3]);
      expect(() => autograd.grad(x.mul(2).sum(), [x, unused])).toThrow(/One of the differentiated Tensors.*appears to not have been used in the graph.*allowUnused/);
      const [gx, gu] = autograd.grad(x.mul(2).sum(), [x, unused], { allowUnused: true });
      expectClose(gx, [2, 2]);
      expect(gu).toBeNull();
    });
  });
});

describe('grad mode', () => {
  it('noGrad records nothing and restores the mode, also after a throw', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = torch.noGrad(() => {
        expect(torch.isGradEnabled()).toBe(false);
        return x.mul(2);
      });
      expect([y.requiresGrad, y.gradFn]).toEqual([false, null]);
      expect(torch.isGradEnabled()).toBe(true);
      expect(() => torch.noGrad(() => { throw new Error('inside'); })).toThrow('inside');
      expect(torch.isGradEnabled()).toBe(true);
      expect(torch.noGrad(() => 7)).toBe(7);
    });
  });

  it('enableGrad inside noGrad records again', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = torch.noGrad(() => torch.enableGrad(() => x.mul(x)));
      expect(y.gradFn?.name).toBe('MulBackward0');
      y.sum().backward();
      expectClose(x.grad, [2, 4]);
      expect(torch.noGrad(() => torch.enableGrad(() => torch.isGradEnabled()))).toBe(true);
    });
  });

  it('setGradEnabled switches recording until switched back', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      torch.setGradEnabled(false);
      try {
        expect(torch.isGradEnabled()).toBe(false);
        expect(x.mul(2).requiresGrad).toBe(false);
        expect(torch.enableGrad(() => x.mul(2).requiresGrad)).toBe(true);
      } finally {
        torch.setGradEnabled(true);
      }
      expect(x.mul(2).requiresGrad).toBe(true);
      expect(torch.autograd.isGradEnabled()).toBe(true);
    });
  });

  it('requiresGrad_() makes a leaf differentiable (and returns it); requiresGrad_(false) undoes it; the factory option too', () => {
    torch.tidy(() => {
      const x = torch.tensor([1, 2]);
      expect(x.requiresGrad_()).toBe(x);
      expect(x.requiresGrad).toBe(true);
      x.requiresGrad_(false);
      expect(x.requiresGrad).toBe(false);
      x.requiresGrad = true;
      expect(x.mul(2).requiresGrad).toBe(true);
      expect(torch.ones(2, { requiresGrad: true }).requiresGrad).toBe(true);
      expect(torch.randn([2], { requiresGrad: true }).isLeaf).toBe(true);
      // On a non-leaf that already requires grad, requiresGrad_() is allowed and changes nothing.
      const y = x.mul(2);
      expect(y.requiresGrad_()).toBe(y);
    });
  });

  it('detach() shares the data but stops the gradient', () => {
    torch.tidy(() => {
      const x = leaf([1, 2, 3]);
      const d = x.detach();
      expect([d.requiresGrad, d.gradFn, d.isLeaf]).toEqual([false, null, true]);
      expect(values(d)).toEqual([1, 2, 3]);
      // y = stopgrad(x) · x: the gradient flows through the second factor only.
      x.detach().mul(x).sum().backward();
      expectClose(x.grad, [1, 2, 3]);
      // The same storage: a write through the detached handle is seen by x.
      torch.noGrad(() => d.fill_(0));
      expect(values(x)).toEqual([0, 0, 0]);
    });
  });
});

describe('hooks', () => {
  it('a hook observes the gradient; returning nothing leaves it unchanged', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const seen: number[][] = [];
      const y = x.mul(3);
      y.registerHook((g) => { seen.push(values(g)); });
      x.registerHook((g) => { seen.push(values(g)); });
      y.mul(y).sum().backward();
      expect(seen).toEqual([[6, 12], [18, 36]]);
      expectClose(x.grad, [18, 36]);
    });
  });

  it('a hook that returns a tensor replaces the gradient (on a leaf, and on a non-leaf for everything behind it)', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), w = leaf([1, 1]);
      x.registerHook((g) => g.mul(10));
      const h = w.mul(2);
      h.registerHook((g) => g.add(1));
      x.mul(h).sum().backward();
      expectClose(x.grad, [20, 20], 'x: 10 × h');
      expectClose(w.grad, [(1 + 1) * 2, (2 + 1) * 2], 'w: (x + 1) × 2');
    });
  });

  it('remove() unregisters a hook', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      let calls = 0;
      const handle = x.registerHook((g) => { calls++; return g.mul(2); });
      x.sum().backward();
      expectClose(x.grad, [2, 2]);
      handle.remove();
      x.grad = null;
      x.sum().backward();
      expectClose(x.grad, [1, 1]);
      expect(calls).toBe(1);
    });
  });

  it('hooks run in registration order, each on the previous result', () => {
    torch.tidy(() => {
      const x = leaf([1]);
      x.registerHook((g) => g.add(1));
      x.registerHook((g) => g.mul(3));
      x.mul(2).sum().backward();
      expectClose(x.grad, [(2 + 1) * 3]);
    });
  });
});

describe('safety: versions and saved tensors', () => {
  it('fresh tensors start at version 0, like PyTorch\'s _version', () => {
    torch.tidy(() => {
      const made: [string, Tensor][] = [
        ['tensor', torch.tensor([1, 2])], ['zeros', torch.zeros(2)], ['ones', torch.ones(2)], ['full', torch.full([2], 3)],
        ['eye', torch.eye(2)], ['zerosLike', torch.zerosLike(torch.empty(2))], ['randn', torch.randn(2)], ['arange', torch.arange(3)],
        ['an op result', torch.tensor([1]).add(1)],
      ];
      expect(made.filter(([, t]) => t.version !== 0).map(([name, t]) => `${name}: ${t.version}`)).toEqual([]);
    });
  });

  it('x.version bumps on every in-place op, is shared with views, and not by out-of-place ops', () => {
    torch.tidy(() => {
      const x = torch.tensor([[1, 2, 3], [4, 5, 6]]);
      const view = x.t();
      const v0 = x.version;
      x.add_(1);
      expect(x.version).toBe(v0 + 1);
      x.mul_(2).sub_(1);
      expect(x.version).toBe(v0 + 3);
      view.zero_();
      expect([x.version, view.version]).toEqual([v0 + 4, v0 + 4]);
      x.add(1);
      x.exp();
      expect(x.version).toBe(v0 + 4);
      for (const op of [(t: Tensor) => t.fill_(2), (t: Tensor) => t.clamp_(0, 1), (t: Tensor) => t.copy_(torch.ones(2, 3)),
        (t: Tensor) => t.maskedFill_(t.gt(0), 0), (t: Tensor) => t.div_(2), (t: Tensor) => t.pow_(2), (t: Tensor) => t.exp_(),
        (t: Tensor) => t.neg_(), (t: Tensor) => t.relu_(), (t: Tensor) => t.uniform_(), (t: Tensor) => t.normal_(),
        (t: Tensor) => t.scatter_(0, torch.zeros(1, 3, { dtype: 'int32' }), 1)]) {
        const before = x.version;
        op(x);
        expect(x.version, op.toString()).toBe(before + 1);
      }
    });
  });

  // [what, the in-place change made after the forward]: each overwrites a tensor the forward saved.
  const stale: [string, (x: Tensor, w: Tensor, h: Tensor) => Tensor, (x: Tensor, w: Tensor, h: Tensor) => void][] = [
    ['a non-leaf saved by sin, changed by add_', (_x, _w, h) => h.sin(), (_x, _w, h) => h.add_(1)],
    ['a leaf saved by mul, changed under noGrad', (x, w) => x.mul(w), (x) => torch.noGrad(() => x.add_(1))],
    ['a constant saved by mul', (x, w) => x.mul(w), (_x, w) => w.mul_(2)],
    ['a constant saved through a view', (x, w) => x.mul(w.t().t()), (_x, w) => w.t().zero_()],
  ];
  for (const [what, forward, modify] of stale) {
    it(`using a saved tensor modified afterwards throws PyTorch's message: ${what}`, () => {
      torch.tidy(() => {
        const x = leaf([1, 2]), w = torch.tensor([3, 4]);
        const h = x.mul(2);
        const out = forward(x, w, h);
        modify(x, w, h);
        expect(() => out.sum().backward()).toThrow(/one of the variables needed for gradient computation has been modified by an inplace operation/);
      });
    });
  }

  it('an output saved by its own node (exp) changed in place under noGrad makes backward throw, naming the versions', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = x.exp();
      torch.noGrad(() => y.mul_(2));
      expect(() => y.sum().backward()).toThrow(/modified by an inplace operation.*is at version 1; expected version 0/);
    });
  });

  it('in-place changes to tensors nobody saved are fine (add saves nothing)', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]), w = torch.tensor([3, 4]);
      const y = x.add(w);
      w.mul_(2);
      y.sum().backward();
      expectClose(x.grad, [1, 1]);
    });
  });

  it('an in-place op on a non-leaf is recorded: the gradient goes through it', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const h = x.mul(2);
      h.mul_(3).add_(1);
      expect(h.gradFn?.name).toBe('AddBackward0');
      h.pow(2).sum().backward();
      // h = 6x + 1, d(h²)/dx = 2h·6
      expectClose(x.grad, [2 * 7 * 6, 2 * 13 * 6]);
    });
  });

  it('an in-place op whose operand requires grad puts a constant into the graph', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const c = torch.tensor([3, 4]);
      c.mul_(x);
      expect([c.requiresGrad, c.isLeaf, c.gradFn?.name]).toEqual([true, false, 'MulBackward0']);
      c.sum().backward();
      expectClose(x.grad, [3, 4]);
    });
  });

  it('a second backward without retainGraph throws and says retainGraph; with retainGraph: true it works twice', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = x.exp().sum();
      y.backward();
      expect(() => y.backward()).toThrow(/second time.*retainGraph: true/s);
      x.grad = null;
      const z = x.exp().sum();
      z.backward(undefined, { retainGraph: true });
      z.backward();
      expectClose(x.grad, [2 * Math.E, 2 * Math.exp(2)], 'twice', 1e-6);
    });
  });

  it('in place on a leaf that requires grad throws outside noGrad and works inside it', () => {
    torch.tidy(() => {
      const w = leaf([1, 2]);
      expect(() => w.add_(1)).toThrow(/a leaf Variable that requires grad is being used in an in-place operation/);
      expect(values(w)).toEqual([1, 2]);
      expect(w.version).toBe(0);
      torch.noGrad(() => w.sub_(torch.tensor([0.5, 0.5])));
      expect(values(w)).toEqual([0.5, 1.5]);
      expect([w.isLeaf, w.requiresGrad, w.version]).toEqual([true, true, 1]);
    });
  });

  it('backward releases the saved tensors: memory returns once the outputs held are disposed', () => {
    const x = torch.randn([64, 32], { requiresGrad: true }), w = torch.randn([32, 16], { requiresGrad: true });
    torch.backend.collectGarbage();
    const before = torch.memory();
    // No tidy: the graph owns the saved tensors until backward.
    const h = x.mm(w);
    const a = h.tanh();
    const e = a.exp();
    const p = e.mul(a);
    const loss = p.sum();
    torch.dispose(h, a, e, p);
    const held = torch.memory();
    expect(held.bytes, 'the graph keeps what it saved').toBeGreaterThan(before.bytes + 4 * 64 * 16);
    loss.backward();
    expect(w.grad).not.toBeNull();
    const gradBytes = 4 * (x.numel() + w.numel());
    loss.dispose();
    expect(torch.memory()).toMatchObject({ tensors: before.tensors + 2, bytes: before.bytes + gradBytes });
    torch.dispose(x.grad, w.grad);
    torch.backend.collectGarbage();
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    x.dispose();
    w.dispose();
  });

  it('with retainGraph the saved tensors stay until the last backward', () => {
    const x = torch.randn([8, 8], { requiresGrad: true });
    torch.backend.collectGarbage();
    const before = torch.memory();
    const s = x.sigmoid();
    const p = s.mul(s);
    const loss = p.sum();
    torch.dispose(s, p);
    loss.backward(undefined, { retainGraph: true });
    const afterFirst = torch.memory().bytes;
    expect(afterFirst).toBeGreaterThan(before.bytes + 4 * 64); // sigmoid's output is still saved
    loss.backward();
    loss.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    x.dispose();
  });
});

describe('autograd.Function', () => {
  type Ctx = torch.autograd.Ctx;

  class Cube extends autograd.Function {
    static override forward(ctx: Ctx, x: Tensor) {
      ctx.saveForBackward(x);
      return x.pow(3);
    }
    static override backward(ctx: Ctx, g: Tensor) {
      const [x] = ctx.savedTensors;
      return g.mul(x.square().mul(3));
    }
  }

  it('saveForBackward/savedTensors: the saved input comes back in backward', () => {
    torch.tidy(() => {
      const x = leaf([1, -2, 0.5]);
      const y = Cube.apply(x);
      expect(y.gradFn?.name).toBe('CubeBackward');
      expect(edges(y.gradFn)).toEqual([['AccumulateGrad', 0]]);
      y.sum().backward();
      expectClose(x.grad, [3, 12, 0.75]);
      // apply works unbound too (the lecture's `const relu = MyReLU.apply`)
      const cube = Cube.apply;
      expectClose(cube<Tensor>(x), [1, -8, 0.125]);
    });
  });

  it('savedTensors are version-checked: an input changed after forward makes backward throw', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = Cube.apply(x);
      torch.noGrad(() => x.mul_(2));
      expect(() => y.sum().backward()).toThrow(/modified by an inplace operation/);
    });
  });

  it('needsInputGrad says which arguments want a gradient; null gradients for the others are accepted', () => {
    const seen: boolean[][] = [];
    class Mul extends autograd.Function {
      static override forward(ctx: Ctx, a: Tensor, b: Tensor) {
        ctx.saveForBackward(a, b);
        seen.push([...ctx.needsInputGrad]);
        return a.mul(b);
      }
      static override backward(ctx: Ctx, g: Tensor) {
        const [a, b] = ctx.savedTensors;
        seen.push([...ctx.needsInputGrad]);
        return [ctx.needsInputGrad[0] ? g.mul(b) : null, ctx.needsInputGrad[1] ? g.mul(a) : null];
      }
    }
    torch.tidy(() => {
      const a = leaf([1, 2]), b = torch.tensor([3, 4]);
      Mul.apply(a, b).sum().backward();
      expectClose(a.grad, [3, 4]);
      expect(seen).toEqual([[true, false], [true, false]]);
    });
  });

  it('non-tensor arguments (a number scale) and user attributes on ctx; backward returns null for them', () => {
    class Scale extends autograd.Function {
      static override forward(ctx: Ctx, x: Tensor, scale: number, options: { shift: number }) {
        ctx.scale = scale;
        ctx.note = { shift: options.shift };
        return x.mul(scale).add(options.shift);
      }
      static override backward(ctx: Ctx, g: Tensor) {
        expect(ctx.note).toEqual({ shift: 1 });
        return [g.mul(ctx.scale as number), null, null];
      }
    }
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = Scale.apply(x, 2.5, { shift: 1 });
      expectClose(y, [3.5, 6]);
      y.sum().backward();
      expectClose(x.grad, [2.5, 2.5]);
    });
  });

  it('several outputs: backward gets one gradient per output', () => {
    class SplitScale extends autograd.Function {
      static override forward(_ctx: Ctx, x: Tensor) { return [x.mul(2), x.mul(3)]; }
      static override backward(_ctx: Ctx, ga: Tensor, gb: Tensor) { return ga.mul(2).add(gb.mul(3)); }
    }
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const [a, b] = SplitScale.apply<Tensor[]>(x);
      expect(a.gradFn).toBe(b.gradFn);
      a.mul(torch.tensor([1, 10])).sum().add(b.sum()).backward();
      expectClose(x.grad, [2 + 3, 20 + 3]);
    });
  });

  it('an output that gets no gradient arrives as zeros; with setMaterializeGrads(false) as null', () => {
    const received: (number[] | null)[] = [];
    const make = (materialize: boolean) => class Pair extends autograd.Function {
      static override forward(ctx: Ctx, x: Tensor) {
        if (!materialize) ctx.setMaterializeGrads(false);
        return [x.mul(2), x.mul(3)];
      }
      static override backward(_ctx: Ctx, ga: Tensor | null, gb: Tensor | null) {
        received.push(ga ? values(ga) : null, gb ? values(gb) : null);
        return (ga ? ga.mul(2) : torch.zeros(2)).add(gb ? gb.mul(3) : 0);
      }
    };
    torch.tidy(() => {
      const x = leaf([1, 2]);
      make(true).apply<Tensor[]>(x)[0].sum().backward();
      make(false).apply<Tensor[]>(x)[0].sum().backward();
      expect(received).toEqual([[1, 1], [0, 0], [1, 1], null]);
      expectClose(x.grad, [4, 4]);
    });
  });

  it('markDirty: an input changed in place and returned takes the Function as its gradFn', () => {
    class DoubleInPlace extends autograd.Function {
      static override forward(ctx: Ctx, x: Tensor) {
        x.mul_(2);
        ctx.markDirty(x);
        return x;
      }
      static override backward(_ctx: Ctx, g: Tensor) { return g.mul(2); }
    }
    torch.tidy(() => {
      const w = leaf([1, 2]);
      const x = w.mul(1);
      const version = x.version;
      const y = DoubleInPlace.apply(x);
      expect(y).toBe(x);
      expect(x.gradFn?.name).toBe('DoubleInPlaceBackward');
      expect(x.version).toBe(version + 1);
      expect(values(x)).toEqual([2, 4]);
      y.mul(y).sum().backward();
      expectClose(w.grad, [2 * 2 * 2, 2 * 4 * 2]);
    });
  });

  it('markNonDifferentiable: that output does not require grad, and backward still gets one gradient per output', () => {
    const received: unknown[] = [];
    class SortLike extends autograd.Function {
      static override forward(ctx: Ctx, x: Tensor) {
        const mask = x.gt(0).float();
        ctx.markNonDifferentiable(mask);
        return [x.mul(2), mask];
      }
      static override backward(_ctx: Ctx, g: Tensor, gMask: Tensor) {
        received.push(values(gMask));
        return g.mul(2);
      }
    }
    torch.tidy(() => {
      const x = leaf([-1, 2]);
      const [y, mask] = SortLike.apply<Tensor[]>(x);
      expect([y.requiresGrad, mask.requiresGrad]).toEqual([true, false]);
      y.sum().backward();
      expectClose(x.grad, [2, 2]);
      expect(received).toEqual([[0, 0]]);
    });
  });

  it('markNonDifferentiable on the first output keeps the gradients in output order', () => {
    class MaskFirst extends autograd.Function {
      static override forward(ctx: Ctx, x: Tensor) {
        const mask = x.gt(0).float();
        ctx.markNonDifferentiable(mask);
        return [mask, x.mul(3)];
      }
      static override backward(_ctx: Ctx, gMask: Tensor, g: Tensor) {
        expect(values(gMask)).toEqual([0, 0]);
        return g.mul(3);
      }
    }
    torch.tidy(() => {
      const x = leaf([-1, 2]);
      const [mask, y] = MaskFirst.apply<Tensor[]>(x);
      expect(mask.requiresGrad).toBe(false);
      y.sum().backward();
      expectClose(x.grad, [3, 3]);
    });
  });

  it('an input returned unchanged becomes a new handle with the Function as gradFn; the input keeps its own', () => {
    class Identity extends autograd.Function {
      static override forward(_ctx: Ctx, x: Tensor) { return x; }
      static override backward(_ctx: Ctx, g: Tensor) { return g.mul(5); }
    }
    torch.tidy(() => {
      const x = leaf([1, 2]);
      const y = Identity.apply(x);
      expect(y).not.toBe(x);
      expect([x.isLeaf, y.gradFn?.name]).toEqual([true, 'IdentityBackward']);
      y.sum().backward();
      expectClose(x.grad, [5, 5]);
    });
  });

  it('inside forward nothing is recorded; with no input requiring grad nothing is recorded at all', () => {
    let inside: boolean | undefined;
    class Probe extends autograd.Function {
      static override forward(_ctx: Ctx, x: Tensor) {
        const y = x.mul(2);
        inside = y.requiresGrad;
        return y;
      }
      static override backward(_ctx: Ctx, g: Tensor) { return g.mul(2); }
    }
    torch.tidy(() => {
      const y = Probe.apply(leaf([1]));
      expect(inside).toBe(false);
      expect(y.gradFn?.name).toBe('ProbeBackward');
      const z = Probe.apply(torch.tensor([1]));
      expect([z.requiresGrad, z.gradFn]).toEqual([false, null]);
    });
  });

  it('a Function composes with built-in ops and with createGraph (backward written in tensor ops)', () => {
    torch.tidy(() => {
      const x = leaf([0.5, 2]);
      const [g] = autograd.grad(Cube.apply(x.mul(2)).sum(), x, { createGraph: true });
      // y = (2x)³ → 24x², second derivative 48x
      expectClose(g, [6, 96], 'first');
      const [gg] = autograd.grad(g!.sum(), x);
      expectClose(gg, [24, 96], 'second');
    });
  });

  it('wrong number of gradients and wrong shapes give PyTorch\'s errors', () => {
    class TooFew extends autograd.Function {
      static override forward(_ctx: Ctx, a: Tensor, b: Tensor) { return a.mul(b); }
      static override backward(_ctx: Ctx, g: Tensor) { return [g]; }
    }
    class WrongShape extends autograd.Function {
      static override forward(_ctx: Ctx, a: Tensor) { return a.sum(); }
      static override backward(_ctx: Ctx, g: Tensor) { return g.reshape(1); }
    }
    torch.tidy(() => {
      const a = leaf([1, 2]), b = leaf([3, 4]);
      expect(() => TooFew.apply(a, b).sum().backward()).toThrow(/function TooFewBackward returned an incorrect number of gradients \(expected 2, got 1\)/);
      expect(() => WrongShape.apply(a).backward()).toThrow(/returned an invalid gradient at index 0 - got \[1\] but expected shape compatible with \[2\]/);
    });
  });
});

describe('higher order: createGraph', () => {
  it('d/dx, d²/dx², d³/dx³ of x³ are 3x², 6x, 6', () => {
    torch.tidy(() => {
      const x = leaf([-1.5, 0.5, 2]);
      const [d1] = autograd.grad(x.pow(3).sum(), x, { createGraph: true });
      expectClose(d1, [6.75, 0.75, 12], 'first');
      const [d2] = autograd.grad(d1!.sum(), x, { createGraph: true });
      expectClose(d2, [-9, 3, 12], 'second');
      const [d3] = autograd.grad(d2!.sum(), x);
      expectClose(d3, [6, 6, 6], 'third');
    });
  });

  // Rules that read the op's own output (exp's g·out, tanh's g·(1 − out²), …) must see it as a tensor of the
  // graph, so the gradient they make is differentiable under createGraph.
  const readOutput: [string, (t: Tensor) => Tensor, (v: number) => number][] = [
    ['exp', (t) => t.exp(), (v) => Math.exp(v)],
    ['tanh', (t) => t.tanh(), (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
    ['sigmoid', (t) => t.sigmoid(), (v) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 - s) * (1 - 2 * s); }],
    ['sqrt', (t) => t.sqrt(), (v) => -0.25 * v ** -1.5],
    ['rsqrt', (t) => t.rsqrt(), (v) => 0.75 * v ** -2.5],
    ['reciprocal', (t) => t.reciprocal(), (v) => 2 / v ** 3],
    ['sin (reads its input: the control)', (t) => t.sin(), (v) => -Math.sin(v)],
  ];
  for (const [name, f, second] of readOutput) {
    it(`second derivative of ${name}`, () => {
      torch.tidy(() => {
        const x = leaf([0.5, 1.25]);
        const [g] = autograd.grad(f(x).sum(), x, { createGraph: true });
        expect(g!.requiresGrad, 'the first derivative is differentiable').toBe(true);
        const [gg] = autograd.grad(g!.sum(), x);
        expectClose(gg, [second(0.5), second(1.25)], 'second derivative', 1e-4, 1e-5);
      });
    });
  }

  it('backward({ createGraph }) leaves a differentiable .grad', () => {
    torch.tidy(() => {
      const x = leaf([1, 2]);
      x.pow(3).sum().backward(undefined, { createGraph: true });
      expect(x.grad!.requiresGrad).toBe(true);
      const [gg] = autograd.grad(x.grad!.sum(), x);
      expectClose(gg, [6, 12]);
    });
  });

  it('mixed partials: d²(x·y²)/dx dy = 2y', () => {
    torch.tidy(() => {
      const x = leaf([3]), y = leaf([-2]);
      const [gx] = autograd.grad(x.mul(y.square()).sum(), x, { createGraph: true });
      const [gxy] = autograd.grad(gx!.sum(), y);
      expectClose(gxy, [-4]);
    });
  });

  // The lecture's MLP (clamp) and a smooth one (tanh). Seed 15 keeps every pre-activation > 0.1 from clamp's kink.
  for (const [name, activation] of [['clamp(min 0)', (t: Tensor) => t.clamp({ min: 0 })], ['tanh', (t: Tensor) => t.tanh()]] as const) {
    it(`Hessian-vector product of a small MLP loss (${name}) matches finite differences of the gradient`, () => {
      torch.tidy(() => {
        torch.manualSeed(15);
        const x = torch.randn(4, 3), y = torch.randn(4, 2);
        const w1 = torch.randn(3, 5).mul(0.5).requiresGrad_(), w2 = torch.randn(5, 2).mul(0.5).requiresGrad_();
        const v1 = torch.randn(3, 5), v2 = torch.randn(5, 2);
        const eps = 1e-2;
        expect(x.mm(w1).abs().min().item()).toBeGreaterThan(3 * eps * (x.mm(v1).abs().max().item() as number));
        const loss = (a: Tensor, b: Tensor) => activation(x.mm(a)).mm(b).sub(y).pow(2).sum();

        const [g1, g2] = autograd.grad(loss(w1, w2), [w1, w2], { createGraph: true });
        const gv = g1!.mul(v1).sum().add(g2!.mul(v2).sum());
        const [hv1, hv2] = autograd.grad(gv, [w1, w2]);

        // (∇L(w + εv) − ∇L(w − εv)) / 2ε, first-order gradients at points built without recording.
        const gradAt = (sign: number) => {
          const a = torch.noGrad(() => w1.add(v1.mul(sign * eps))).requiresGrad_();
          const b = torch.noGrad(() => w2.add(v2.mul(sign * eps))).requiresGrad_();
          return autograd.grad(loss(a, b), [a, b]) as Tensor[];
        };
        const [p1, p2] = gradAt(1), [m1, m2] = gradAt(-1);
        const fd1 = values(p1.sub(m1).div(2 * eps)), fd2 = values(p2.sub(m2).div(2 * eps));
        const scale = Math.max(...[...fd1, ...fd2].map(Math.abs));
        expect(scale).toBeGreaterThan(0.1);
        expectClose(hv1, fd1, 'Hv for w1', 1e-2, 1e-2 * scale);
        expectClose(hv2, fd2, 'Hv for w2', 1e-2, 1e-2 * scale);
      });
    });
  }
});

describe('gradients at the edges of relu, clamp and leakyRelu (PyTorch 1.13 values at -1, 0, 1, 2, NaN)', () => {
  const cases: [string, (x: torch.Tensor) => torch.Tensor, number[]][] = [
    // relu's threshold_backward lets NaN through; clamp's mask does not; at 0 relu gives 0 and clamp(min: 0) 1.
    ['relu', (x) => x.relu(), [0, 0, 1, 1, 1]],
    ['clamp(min: 0)', (x) => x.clamp({ min: 0 }), [0, 1, 1, 1, 0]],
    ['clamp(max: 1)', (x) => x.clamp({ max: 1 }), [1, 1, 1, 0, 0]],
    ['clamp(0, 1)', (x) => x.clamp(0, 1), [0, 1, 1, 0, 0]],
    ['leakyRelu(0.1)', (x) => torch.nn.functional.leakyRelu(x, 0.1), [0.1, 0.1, 1, 1, 0.1]],
  ];
  for (const [name, f, expected] of cases) {
    it(name, () => {
      // Twenty copies so the kernels' vector path runs, not only their scalar tail.
      const values = Array.from({ length: 20 }, () => [-1, 0, 1, 2, Number.NaN]).flat();
      const x = torch.tensor(values, { requiresGrad: true });
      torch.tidy(() => f(x).backward(torch.onesLike(x)));
      expect(Array.from(x.grad!.toArray())).toEqual(Array.from({ length: 20 }, () => expected).flat().map(Math.fround));
      x.dispose();
    });
  }
});
