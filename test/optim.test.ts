// torch.optim: 20-step trajectories and state dicts against PyTorch 1.13, memory per step, in-place versions, options, errors, schedulers.
import trajectoriesFixture from './fixtures/optim/trajectories.json';
import schedulesFixture from './fixtures/optim/schedulers.json';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';

const { optim } = torch;
// Imported through Vite (not read with node:fs) so the same file runs in Node and in the browser.
const trajectories = trajectoriesFixture as any;
const schedules = schedulesFixture as any;
/** The relaxed-SIMD kernels fuse a + alpha * b as PyTorch's CPU kernels do: trajectories are then bitwise PyTorch's. */
const bitwise = torch.backend.info().kernels === 'relaxed';

type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
type AnyOptimizer = torch.optim.Optimizer<{ lr: number }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const make = (name: OptimizerName, params: any, options: any): AnyOptimizer => new (optim[name] as any)(params, options);

interface Problem { params: Tensor[]; targets: Tensor[]; curvature: Tensor[]; cubic: Tensor[]; dispose(): void }

function problem(): Problem {
  const { shapes, params, targets, curvature, cubic } = trajectories.problem;
  const build = (values: number[][]) => values.map((v, k) => torch.fromArray(new Float32Array(v), shapes[k]));
  const result = { params: build(params).map((p) => p.requiresGrad_()), targets: build(targets), curvature: build(curvature), cubic: build(cubic) };
  return { ...result, dispose: () => torch.dispose(result) };
}

/** g = a * (p - t) + b * p * p, the fixture's gradient, in the same float32 operations. */
function setGrads({ params, targets, curvature, cubic }: Problem): void {
  torch.noGrad(() => params.forEach((p, k) => {
    p.grad?.dispose();
    p.grad = torch.tidy(() => curvature[k].mul(p.sub(targets[k])).add(cubic[k].mul(p).mul(p)));
  }));
}

/** Largest |got - want| over the tensor, relative to the tensor's largest |want|. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0, error = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) error = Math.max(error, Math.abs(got[i] - want[i]));
  return error / scale;
}

/** Bitwise with the relaxed kernels; else (two roundings where PyTorch fuses) within `tolerance` of the tensor's scale. */
function expectClose(got: ArrayLike<number>, want: number[], what: string, tolerance = 1e-6): void {
  expect(got.length, what).toBe(want.length);
  if (bitwise) expect(Array.from(got), what).toEqual(want.map(Math.fround));
  expect(relativeError(got, want), what).toBeLessThanOrEqual(tolerance);
}

function describeCase(c: { optimizer: string; options: object; groups: unknown; scheduler?: { name: string } }): string {
  return `${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ' with groups' : ''}${c.scheduler ? ` + ${c.scheduler.name}` : ''}`;
}

describe('trajectories against PyTorch 1.13 (20 steps, every step)', () => {
  for (const c of trajectories.cases) {
    it(describeCase(c), () => {
      const p = problem();
      const input = c.groups ? c.groups.map((g: { params: number[]; options: object }) => ({ params: g.params.map((i) => p.params[i]), ...g.options })) : p.params;
      const optimizer = make(c.optimizer, input, c.options);
      let scheduler: torch.optim.lrScheduler.LRScheduler | undefined;
      if (c.scheduler) {
        const { name, ...options } = c.scheduler;
        scheduler = name === 'StepLR' ? new optim.lrScheduler.StepLR(optimizer, options) : new optim.lrScheduler.CosineAnnealingLR(optimizer, options);
      }
      for (let step = 0; step < trajectories.steps; step++) {
        setGrads(p);
        optimizer.step();
        if (scheduler) {
          scheduler.step();
          expect(scheduler.getLastLr()).toEqual(c.lrs[step]);
        }
        p.params.forEach((param, k) => expectClose(param.toArray(), c.trajectory[step][k], `step ${step + 1}, parameter ${k}`));
      }
      // The state dict: PyTorch's layout and values, camelCased.
      const stateDict = optimizer.stateDict();
      const want = c.stateDict;
      expect(Object.keys(stateDict.state)).toEqual(Object.keys(want.state));
      for (const [index, entry] of Object.entries(want.state) as [string, Record<string, unknown>][]) {
        const got = stateDict.state[Number(index)];
        expect(Object.keys(got).sort()).toEqual(Object.keys(entry).sort());
        for (const [key, value] of Object.entries(entry)) {
          const mine = got[key];
          // Buffers accumulate quotients (RMSprop's g / avg) and so drift a little more than parameters.
          if (Array.isArray(value)) expectClose((mine as Tensor).toArray(), value as number[], `state ${index}.${key}`, 1e-5);
          else if (key === 'step' && mine instanceof torch.Tensor) {
            // PyTorch 1.13's Adam, AdamW and Adagrad keep step as a float32 0-d tensor.
            expect(mine.shape).toEqual([]);
            expect(mine.dtype).toBe('float32');
            expect(mine.item()).toBe(value);
          } else expect(mine).toEqual(value);
        }
      }
      stateDict.paramGroups.forEach((group, index) => {
        for (const [key, value] of Object.entries(want.paramGroups[index])) {
          if (key in group || !['initialLr'].includes(key)) expect(group[key], `paramGroups[${index}].${key}`).toEqual(value);
        }
      });
      torch.dispose(stateDict);
      optimizer.dispose();
      p.dispose();
    });
  }

  it('the relaxed build matched bitwise, or the plain SIMD build within 1e-6 (this run uses the ' + torch.backend.info().kernels + ' kernels)', () => {
    expect(['relaxed', 'simd']).toContain(torch.backend.info().kernels);
  });
});

const everyOption: [OptimizerName, object][] = [
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['Adam', { amsgrad: true, weightDecay: 0.1 }],
  ['AdamW', { amsgrad: true }],
  ['RMSprop', { momentum: 0.9, centered: true, weightDecay: 0.1 }],
  ['Adagrad', { lrDecay: 0.1, weightDecay: 0.1 }],
];

describe('memory: state is allocated once, a step allocates nothing', () => {
  for (const [name, options] of everyOption) {
    it(`${name} ${JSON.stringify(options)}`, () => {
      const before = torch.memory();
      const p = problem();
      setGrads(p);
      const optimizer = make(name, p.params, options);
      optimizer.step();
      optimizer.step();
      const afterTwo = torch.memory();
      for (let step = 3; step <= 20; step++) {
        const count = torch.memory();
        optimizer.step();
        expect(torch.memory(), `step ${step}`).toEqual(count);
      }
      expect(torch.memory()).toEqual(afterTwo);
      optimizer.dispose();
      p.dispose();
      expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes });
    });
  }

  it('state made inside torch.tidy survives it; stateDict clones are the caller\'s', () => {
    const p = problem();
    setGrads(p);
    const optimizer = new optim.Adam(p.params);
    torch.tidy(() => { optimizer.step(); });
    const [state] = optimizer.state.values();
    expect((state.expAvg as Tensor).isDisposed).toBe(false);
    optimizer.step(); // still usable
    const before = torch.memory().tensors;
    const stateDict = optimizer.stateDict();
    expect(stateDict.state[0].expAvg).not.toBe(state.expAvg);
    torch.dispose(stateDict);
    expect(torch.memory().tensors).toBe(before);
    optimizer.dispose();
    p.dispose();
  });
});

describe('in-place semantics', () => {
  it('a step bumps each updated parameter\'s version once, so stale saved tensors are detected', () => {
    const w = torch.tensor([1, 2, 3], { requiresGrad: true });
    const loss = w.mul(w).sum(); // saves w
    const optimizer = new optim.SGD([w], { lr: 0.1 });
    w.grad = torch.ones(3);
    const version = w.version;
    optimizer.step();
    expect(w.version).toBe(version + 1);
    expect(() => loss.backward()).toThrow(/modified by an inplace operation/);
    torch.dispose(w, loss);
  });

  it('parameters whose grad is null are skipped and get no state', () => {
    const a = torch.tensor([1, 2], { requiresGrad: true }), b = torch.tensor([3, 4], { requiresGrad: true });
    const optimizer = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = torch.tensor([1, 1]);
    const version = b.version;
    optimizer.step();
    expect(b.tolist()).toEqual([3, 4]);
    expect(b.version).toBe(version);
    expect(optimizer.state.has(b)).toBe(false);
    expect(optimizer.state.has(a)).toBe(true);
    optimizer.dispose();
    torch.dispose(a, b);
  });

  it('a non-contiguous grad updates like its contiguous copy, and leaves nothing behind', () => {
    const base = torch.arange(12, { dtype: 'float32' }).reshape(3, 4).div(7);
    const p1 = torch.ones(4, 3).requiresGrad_(), p2 = torch.ones(4, 3).requiresGrad_();
    p1.grad = base.t(); // strides [1, 4]
    p2.grad = base.t().contiguous();
    expect(p1.grad.isContiguous()).toBe(false);
    const o1 = new optim.RMSprop([p1], { momentum: 0.5 }), o2 = new optim.RMSprop([p2], { momentum: 0.5 });
    o1.step();
    o2.step();
    const tensors = torch.memory().tensors;
    o1.step();
    o2.step();
    expect(torch.memory().tensors).toBe(tensors);
    expect(Array.from(p1.toArray())).toEqual(Array.from(p2.toArray()));
    o1.dispose(); o2.dispose();
    torch.dispose(base, p1, p2);
  });

  it('large parameters run on the thread pool with the same result as one thread', async () => {
    const cores = torch.getNumThreads();
    const run = () => {
      const p = torch.linspace(-1, 1, 300_001).requiresGrad_();
      p.grad = torch.linspace(2, -3, 300_001);
      const optimizer = new optim.Adam([p], { lr: 0.01, amsgrad: true });
      for (let i = 0; i < 3; i++) optimizer.step();
      const values = p.toArray();
      optimizer.dispose();
      p.dispose();
      return values;
    };
    await torch.setNumThreads(2);
    const threaded = run();
    await torch.setNumThreads(1);
    const single = run();
    await torch.setNumThreads(cores);
    expect(Array.from(threaded)).toEqual(Array.from(single));
  });
});

describe('API', () => {
  it('zeroGrad sets grads to null (freeing them) by default, or fills zeros', () => {
    const w = torch.ones(5).requiresGrad_();
    const optimizer = new optim.SGD([w], { lr: 0.1 });
    w.grad = torch.ones(5);
    const before = torch.memory().tensors;
    optimizer.zeroGrad();
    expect(w.grad).toBeNull();
    expect(torch.memory().tensors).toBe(before - 1);
    w.grad = torch.ones(5);
    const grad = w.grad;
    optimizer.zeroGrad({ setToNone: false });
    expect(w.grad).toBe(grad);
    expect(w.grad!.tolist()).toEqual([0, 0, 0, 0, 0]);
    expect(() => optimizer.zeroGrad({ setToNone: 1 as never })).toThrow(torch.ArgumentError);
    torch.dispose(w);
  });

  it('step(closure) runs the closure with grad mode on (even inside noGrad) and returns its loss', () => {
    const w = torch.tensor([1, -2, 3], { requiresGrad: true });
    const optimizer = new optim.SGD([w], { lr: 0.25 });
    const loss = torch.noGrad(() => optimizer.step(() => {
      optimizer.zeroGrad();
      const value = w.mul(w).sum();
      value.backward();
      return value;
    }));
    expect(loss!.item()).toBe(14);
    expect(w.tolist()).toEqual([0.5, -1, 1.5]); // w - 0.25 * 2w
    expect(() => optimizer.step(3 as never)).toThrow(/closure must be a function/);
    torch.dispose(w, loss);
  });

  it('paramGroups are live: a changed lr takes effect at the next step', () => {
    const w = torch.zeros(2).requiresGrad_();
    const optimizer = new optim.SGD([w], { lr: 1 });
    w.grad = torch.ones(2);
    optimizer.step();
    optimizer.paramGroups[0].lr = 0.5;
    optimizer.step();
    expect(w.tolist()).toEqual([-1.5, -1.5]);
    expect(optimizer.paramGroups[0]).toMatchObject({ lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    torch.dispose(w);
  });

  it('parameter groups take the defaults for options they leave out; addParamGroup checks like the constructor', () => {
    const a = torch.zeros(2).requiresGrad_(), b = torch.zeros(3).requiresGrad_(), c = torch.zeros(1).requiresGrad_();
    const optimizer = new optim.Adam([{ params: [a], lr: 0.1 }, { params: b }], { lr: 0.01, betas: [0.8, 0.9] });
    expect(optimizer.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    expect(optimizer.paramGroups[1].betas).toEqual([0.8, 0.9]);
    expect(optimizer.defaults).toMatchObject({ lr: 0.01, eps: 1e-8, weightDecay: 0, amsgrad: false });
    optimizer.addParamGroup({ params: [c], weightDecay: 0.5 });
    expect(optimizer.paramGroups[2]).toMatchObject({ lr: 0.01, weightDecay: 0.5 });
    expect(() => optimizer.addParamGroup({ params: [a] })).toThrow(/some parameters appear in more than one parameter group/);
    expect(() => optimizer.addParamGroup({ params: [torch.zeros(1)], lr: -2 })).toThrow('Invalid learning rate: -2');
    expect(optimizer.paramGroups).toHaveLength(3);
    torch.dispose(a, b, c);
  });

  it('AdamW defaults to weightDecay 1e-2, Adam to 0; every default is PyTorch\'s', () => {
    const w = torch.zeros(1).requiresGrad_();
    expect(new optim.AdamW([w]).defaults).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false });
    expect(new optim.Adam([w]).defaults).toMatchObject({ weightDecay: 0 });
    expect(new optim.RMSprop([w]).defaults).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false });
    expect(new optim.Adagrad([w]).defaults).toEqual({ lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false });
    expect(new optim.SGD([w], { lr: 0.1 }).defaults).toEqual({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false });
    torch.dispose(w);
  });

  it('accepts any iterable of parameters (a generator, a Set)', () => {
    const a = torch.zeros(2).requiresGrad_(), b = torch.zeros(2).requiresGrad_();
    function* parameters() { yield a; yield b; }
    expect(new optim.SGD(parameters(), { lr: 1 }).paramGroups[0].params).toEqual([a, b]);
    expect(new optim.SGD(new Set([a, b]), { lr: 1 }).paramGroups[0].params).toEqual([a, b]);
    torch.dispose(a, b);
  });
});

describe('with nn', () => {
  it('trains an nn.Module through model.parameters() and zeroGrad, the loss going down, memory flat', () => {
    const model = new torch.nn.Sequential(new torch.nn.Linear(4, 16), new torch.nn.ReLU(), new torch.nn.Linear(16, 1));
    const x = torch.linspace(-1, 1, 64).reshape(16, 4), y = x.sum(1, true).sin();
    const optimizer = new optim.AdamW(model.parameters(), { lr: 0.05 });
    const scheduler = new optim.lrScheduler.CosineAnnealingLR(optimizer, { TMax: 50 });
    const losses: number[] = [];
    let afterFirst = torch.memory();
    for (let epoch = 0; epoch < 50; epoch++) {
      const loss = optimizer.step(() => torch.tidy(() => {
        optimizer.zeroGrad();
        const value = model.forward(x).sub(y).pow(2).mean();
        value.backward();
        return value.item() as number;
      }))!;
      scheduler.step();
      losses.push(loss);
      if (epoch === 1) afterFirst = torch.memory();
    }
    expect(torch.memory()).toMatchObject({ tensors: afterFirst.tensors, bytes: afterFirst.bytes });
    expect(losses[49]).toBeLessThan(losses[0] / 4);
    expect(optimizer.paramGroups[0].lr).toBeCloseTo(0, 12);
    optimizer.dispose();
    torch.dispose(x, y);
  });
});

describe('errors: thrown before anything changes, nothing leaks', () => {
  const w = torch.zeros(3).requiresGrad_();
  afterAll(() => w.dispose());
  const cases: [string, () => unknown, RegExp | string, typeof torch.TorchError][] = [
    ['negative lr', () => new optim.SGD([w], { lr: -1 }), 'Invalid learning rate: -1', torch.ArgumentError],
    ['SGD without lr', () => new optim.SGD([w], {} as never), /didn't specify a value of required optimization parameter lr/, torch.ArgumentError],
    ['Nesterov without momentum', () => new optim.SGD([w], { lr: 0.1, nesterov: true }), 'Nesterov momentum requires a momentum and zero dampening', torch.ArgumentError],
    ['Nesterov with dampening', () => new optim.SGD([w], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/, torch.ArgumentError],
    ['negative momentum', () => new optim.SGD([w], { lr: 0.1, momentum: -0.5 }), 'Invalid momentum value: -0.5', torch.ArgumentError],
    ['beta out of range', () => new optim.Adam([w], { betas: [0.9, 1] }), 'Invalid beta parameter at index 1: 1', torch.ArgumentError],
    ['betas not a pair', () => new optim.Adam([w], { betas: [0.9] as never }), /betas must be an array of two numbers/, torch.ArgumentError],
    ['negative eps', () => new optim.Adam([w], { eps: -1 }), 'Invalid epsilon value: -1', torch.ArgumentError],
    ['negative weight decay', () => new optim.AdamW([w], { weightDecay: -0.1 }), 'Invalid weightDecay value: -0.1', torch.ArgumentError],
    ['negative alpha', () => new optim.RMSprop([w], { alpha: -0.1 }), 'Invalid alpha value: -0.1', torch.ArgumentError],
    ['negative lrDecay', () => new optim.Adagrad([w], { lrDecay: -1 }), 'Invalid lrDecay value: -1', torch.ArgumentError],
    ['lr of the wrong type', () => new optim.Adam([w], { lr: '0.1' as never }), /lr must be a number, got "0.1"/, torch.ArgumentError],
    ['a snake_case option', () => new optim.Adam([w], { weight_decay: 0.1 } as never), /unknown option 'weight_decay' \(did you mean 'weightDecay'\?/, torch.ArgumentError],
    ['a snake_case group option', () => new optim.Adam([{ params: [w], weight_decay: 0.1 }]), /did you mean 'weightDecay'/, torch.ArgumentError],
    ['a single tensor', () => new optim.SGD(w as never, { lr: 0.1 }), /should be an iterable of Tensors or dicts, but got a tensor/, torch.ArgumentError],
    ['an empty list', () => new optim.SGD([], { lr: 0.1 }), 'optimizer got an empty parameter list', torch.ArgumentError],
    ['a non-tensor parameter', () => new optim.SGD([w, 3 as never], { lr: 0.1 }), /can only optimize Tensors, but param group 0, parameter 1 is 3/, torch.ArgumentError],
    ['a non-leaf parameter', () => new optim.SGD([w.mul(2)], { lr: 0.1 }), /can't optimize a non-leaf Tensor/, torch.AutogradError],
    ['an int32 parameter', () => new optim.SGD([torch.zeros(2, { dtype: 'int32' })], { lr: 0.1 }), /float32 parameters only, but param group 0, parameter 0 is int32/, torch.DtypeError],
    ['a non-contiguous parameter', () => new optim.SGD([torch.zeros(2, 3).t()], { lr: 0.1 }), /is not contiguous/, torch.ShapeError],
    ['a parameter given twice', () => new optim.SGD([w, w], { lr: 0.1 }), /contains the same parameter twice/, torch.ArgumentError],
    ['a parameter in two groups', () => new optim.SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }), /some parameters appear in more than one parameter group/, torch.ArgumentError],
    ['a disposed parameter', () => { const d = torch.zeros(1).requiresGrad_(); d.dispose(); return new optim.SGD([d], { lr: 0.1 }); }, /disposed/, torch.DisposedError],
  ];
  for (const [what, fn, message, errorClass] of cases) {
    it(what, () => {
      const before = torch.memory();
      // tidy frees the operands a case makes (w.mul(2), zeros(...)): no GC needed, so this runs in browsers too.
      expect(() => torch.tidy(fn)).toThrow(errorClass);
      expect(() => torch.tidy(fn)).toThrow(message);
      expect(torch.memory().bytes).toBe(before.bytes);
      expect(torch.memory().tensors).toBe(before.tensors);
    });
  }

  it('a bad group option found at step() leaves every parameter and state untouched', () => {
    const a = torch.ones(2).requiresGrad_(), b = torch.ones(2).requiresGrad_();
    const optimizer = new optim.SGD([{ params: [a] }, { params: [b] }], { lr: 0.1, momentum: 0.9 });
    a.grad = torch.ones(2); b.grad = torch.ones(2);
    optimizer.paramGroups[1].lr = -1;
    expect(() => optimizer.step()).toThrow('Invalid learning rate: -1');
    expect(a.tolist()).toEqual([1, 1]);
    expect(optimizer.state.size).toBe(0);
    torch.dispose(a, b);
  });
});

describe('stateDict / loadStateDict', () => {
  for (const [name, options] of everyOption) {
    it(`${name}: a copy that loads the state continues exactly like the original`, () => {
      const p = problem(), q = problem();
      const original = make(name, p.params, options);
      for (let i = 0; i < 5; i++) { setGrads(p); original.step(); }
      const saved = original.stateDict();
      // The copy's parameters take the original's values; its options start different and are loaded.
      torch.noGrad(() => q.params.forEach((param, k) => param.copy_(p.params[k])));
      const copy = make(name, q.params, { ...options, lr: 0.5 });
      copy.loadStateDict(saved);
      expect(copy.paramGroups[0].lr).toBe(original.paramGroups[0].lr);
      torch.dispose(saved); // the copy holds its own buffers
      for (let i = 0; i < 5; i++) {
        setGrads(p); original.step();
        setGrads(q); copy.step();
      }
      q.params.forEach((param, k) => expect(Array.from(param.toArray())).toEqual(Array.from(p.params[k].toArray())));
      original.dispose(); copy.dispose();
      p.dispose(); q.dispose();
    });
  }

  it('Adam\'s step is a float32 0-d tensor in the dict (PyTorch 1.13); RMSprop\'s a number; SGD without momentum has a null buffer', () => {
    const w = torch.ones(2).requiresGrad_();
    w.grad = torch.ones(2);
    const adam = new optim.Adam([w]), rms = new optim.RMSprop([w]), sgd = new optim.SGD([w], { lr: 0.1 });
    for (const o of [adam, rms, sgd]) o.step();
    const a = adam.stateDict(), r = rms.stateDict(), s = sgd.stateDict();
    expect((a.state[0].step as Tensor).shape).toEqual([]);
    expect((a.state[0].step as Tensor).item()).toBe(1);
    expect(r.state[0].step).toBe(1);
    expect(s.state[0]).toEqual({ momentumBuffer: null });
    expect(a.paramGroups).toEqual([{ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [0] }]);
    torch.dispose(a, r, s);
    adam.dispose(); rms.dispose();
    torch.dispose(w);
  });

  it('mismatched dicts are refused with PyTorch\'s messages, and nothing changes', () => {
    const a = torch.ones(2).requiresGrad_(), b = torch.ones(3).requiresGrad_();
    a.grad = torch.ones(2); b.grad = torch.ones(3);
    const source = new optim.Adam([a, b]);
    source.step();
    const saved = source.stateDict();
    const other = new optim.Adam([{ params: [a] }, { params: [b] }]);
    expect(() => other.loadStateDict(saved)).toThrow(/loaded state dict has a different number of parameter groups/);
    const fewer = new optim.Adam([a]);
    expect(() => fewer.loadStateDict(saved)).toThrow("loaded state dict contains a parameter group that doesn't match the size of optimizer's group");
    const swapped = new optim.Adam([b, a]);
    expect(() => swapped.loadStateDict(saved)).toThrow(/expAvg has shape \[2\], expected \[3\]/);
    expect(swapped.state.size).toBe(0);
    const typo = { ...saved, state: { 0: { exp_avg: saved.state[0].expAvg } } };
    expect(() => source.loadStateDict(typo as never)).toThrow(/unknown entry 'exp_avg'/);
    expect(source.state.get(a)!.step).toBe(1); // untouched
    const badGroup = { ...saved, paramGroups: [{ ...saved.paramGroups[0], lr: -1 }] };
    expect(() => source.loadStateDict(badGroup)).toThrow('Invalid learning rate: -1');
    expect(() => source.loadStateDict(null as never)).toThrow(/expected an object \{ state, paramGroups \}/);
    torch.dispose(saved);
    source.dispose();
    torch.dispose(a, b);
  });
});

describe('lrScheduler against PyTorch 1.13 (two groups, 30 epochs)', () => {
  const { lrScheduler } = optim;
  type Make = (o: AnyOptimizer) => torch.optim.lrScheduler.LRScheduler;
  const makers: Record<string, Make> = {
    StepLR: (o) => new lrScheduler.StepLR(o, { stepSize: 3, gamma: 0.5 }),
    CosineAnnealingLR: (o) => new lrScheduler.CosineAnnealingLR(o, { TMax: 7, etaMin: 0.001 }),
    CosineAnnealingLR_T1: (o) => new lrScheduler.CosineAnnealingLR(o, { TMax: 1 }),
    LambdaLR: (o) => new lrScheduler.LambdaLR(o, (epoch) => 0.95 ** epoch),
    LambdaLR_perGroup: (o) => new lrScheduler.LambdaLR(o, [(epoch) => 0.95 ** epoch, (epoch) => 1 / (epoch + 1)]),
  };
  const optimizerFor = () => {
    const w0 = torch.zeros(1).requiresGrad_(), w1 = torch.zeros(1).requiresGrad_();
    return { optimizer: new optim.SGD([{ params: [w0], lr: 0.1 }, { params: [w1], lr: 0.01 }], { lr: 0.1 }), dispose: () => torch.dispose(w0, w1) };
  };

  for (const [name, makeScheduler] of Object.entries(makers)) {
    it(name, () => {
      const want: number[][] = schedules.schedules[name];
      const { optimizer, dispose } = optimizerFor();
      const scheduler = makeScheduler(optimizer);
      const got = [scheduler.getLastLr()];
      for (let epoch = 0; epoch < schedules.epochs; epoch++) {
        scheduler.step();
        got.push(scheduler.getLastLr());
      }
      got.forEach((lrs, epoch) => lrs.forEach((lr, group) => {
        expect(Math.abs(lr - want[epoch][group]), `epoch ${epoch}, group ${group}`).toBeLessThanOrEqual(1e-15 * Math.abs(want[epoch][group]) + 1e-18);
      }));
      expect(optimizer.paramGroups.map((g) => g.lr)).toEqual(got[got.length - 1]);
      expect(optimizer.paramGroups.map((g) => g.initialLr)).toEqual([0.1, 0.01]);
      expect(scheduler.lastEpoch).toBe(schedules.epochs);
      dispose();
    });
  }

  it('stateDict/loadStateDict resume a schedule where it was', () => {
    const first = optimizerFor(), second = optimizerFor();
    const a = new lrScheduler.CosineAnnealingLR(first.optimizer, { TMax: 7, etaMin: 0.001 });
    for (let i = 0; i < 9; i++) a.step();
    const saved = a.stateDict();
    expect(saved).toMatchObject({ lastEpoch: 9, TMax: 7, etaMin: 0.001, stepCount: 10, baseLrs: [0.1, 0.01] });
    const b = new lrScheduler.CosineAnnealingLR(second.optimizer, { TMax: 7, etaMin: 0.001 });
    b.loadStateDict(saved);
    second.optimizer.paramGroups.forEach((g, i) => { g.lr = first.optimizer.paramGroups[i].lr; });
    for (let i = 0; i < 5; i++) { a.step(); b.step(); }
    expect(b.getLastLr()).toEqual(a.getLastLr());
    expect(() => b.loadStateDict({ ...saved, baseLrs: [1] })).toThrow(/baseLrs must be an array of 2 numbers/);
    first.dispose(); second.dispose();
  });

  it('checks its arguments', () => {
    const { optimizer, dispose } = optimizerFor();
    expect(() => new lrScheduler.StepLR(optimizer, { stepSize: 0 })).toThrow(/stepSize must be a positive integer/);
    expect(() => new lrScheduler.CosineAnnealingLR(optimizer, { TMax: 1.5 })).toThrow(/TMax must be a positive integer/);
    expect(() => new lrScheduler.LambdaLR(optimizer, [(e) => e])).toThrow('Expected 2 lrLambdas, but got 1');
    expect(() => new lrScheduler.StepLR({} as never, { stepSize: 1 })).toThrow(/is not an Optimizer/);
    expect(() => new lrScheduler.StepLR(optimizer, { stepSize: 1, lastEpoch: 3 })).toThrow(/param 'initialLr' is not specified in paramGroups\[0\] when resuming/);
    expect(optimizer.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.01]);
    const lambda = new lrScheduler.LambdaLR(optimizer, (epoch) => (epoch < 2 ? 1 : ('x' as never)));
    lambda.step();
    expect(() => lambda.step()).toThrow(/lrLambda 0 returned "x" for epoch 2, expected a number/);
    expect(lambda.lastEpoch).toBe(1);
    expect(lambda.getLastLr()).toEqual([0.1, 0.01]);
    dispose();
  });
});
