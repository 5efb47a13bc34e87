// nn.Module's contract (callable subclasses, registration, state dicts, modes, hooks, devices), Parameter, containers, init, Dropout, norms' gradcheck, and bad inputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

const { nn, autograd } = torch;
const F = nn.functional;
type Tensor = torch.Tensor;

/** THE usage: a user's subclass with fields assigned in the constructor and a typed forward. */
class Net extends nn.Module {
  fc1: torch.nn.Linear;
  act = new nn.ReLU();
  fc2: torch.nn.Linear;
  constructor(inputs = 4, hidden = 8, outputs = 3) {
    super();
    this.fc1 = new nn.Linear(inputs, hidden);
    this.fc2 = new nn.Linear(hidden, outputs);
  }
  override forward(x: Tensor): Tensor {
    return this.fc2(this.act(this.fc1(x)));
  }
}

/** Builds, runs and disposes inside one scope so a test can assert that memory is unchanged. */
function scoped<T>(fn: () => T): T {
  return torch.tidy(fn);
}

function values(t: Tensor): number[] {
  return Array.from(t.toArray() as Float32Array);
}

let tensorsAtStart = 0;
beforeAll(() => { tensorsAtStart = torch.memory().tensors; });
afterAll(() => { expect(torch.memory().tensors, 'nn.test.ts leaves no tensor behind').toBe(tensorsAtStart); });

describe('Module: callable subclasses', () => {
  it('a subclass instance is called like a function and runs forward (typed, no casts)', () => {
    const net = new Net();
    scoped(() => {
      const x = torch.randn(2, 4);
      const y: Tensor = net(x);
      expect(y.shape).toEqual([2, 3]);
      const byHand = net.fc2.forward(net.fc1.forward(x).relu());
      expect(torch.allclose(y, byHand)).toBe(true);
      expect(torch.equal(net.call(x), y)).toBe(true);
    });
    expect(typeof net).toBe('function');
    expect(net).toBeInstanceOf(Net);
    expect(net).toBeInstanceOf(nn.Module);
    expect(net.constructor).toBe(Net);
    net.dispose();
  });

  it('fields named like function properties (name, length) are ordinary fields', () => {
    class Named extends nn.Module {
      name = 'encoder';
      length = 3;
      override forward(x: Tensor) { return x; }
    }
    const m = new Named();
    expect([m.name, m.length]).toEqual(['encoder', 3]);
  });

  it('#private fields of a subclass work on the callable instance', () => {
    class Scaled extends nn.Module {
      #factor: number;
      constructor(factor: number) { super(); this.#factor = factor; }
      override forward(x: Tensor) { return x.mul(this.#factor); }
    }
    scoped(() => expect(new Scaled(3)(torch.tensor([1, 2])).tolist()).toEqual([3, 6]));
  });

  it('a module without forward says so', () => {
    const m = new nn.Module();
    expect(() => m()).toThrow(/missing the required "forward" function/);
  });

  it('the call costs little more than forward itself', () => {
    // A user's module: its call runs forward in a tidy scope.
    const identity = new (class Passthrough extends nn.Module { override forward(x: Tensor) { return x; } })();
    const x = torch.zeros(1);
    const calls = 20000;
    for (let i = 0; i < 1000; i++) { identity(x); identity.forward(x); }
    let start = performance.now();
    for (let i = 0; i < calls; i++) identity(x);
    const called = (performance.now() - start) / calls * 1e6;
    start = performance.now();
    for (let i = 0; i < calls; i++) identity.forward(x);
    const direct = (performance.now() - start) / calls * 1e6;
    console.log(`nn.Module call overhead: model(x) ${called.toFixed(0)} ns, model.forward(x) ${direct.toFixed(0)} ns per call`);
    // Microseconds at most, whatever the machine's load (typically a few hundred ns: one closure and one tidy scope).
    expect(called).toBeLessThan(5000);
    x.dispose();
  });
});

describe('Module: registration', () => {
  it('parameters and submodules register when assigned, in assignment order, with dotted names', () => {
    const net = new Net();
    expect([...net.namedParameters()].map(([name]) => name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect([...net.parameters()].map((p) => p.shape)).toEqual([[8, 4], [8], [3, 8], [3]]);
    // Declared fields are defined (as undefined) in declaration order before the constructor assigns them.
    expect([...net.namedChildren()].map(([name]) => name)).toEqual(['fc1', 'act', 'fc2']);
    expect([...net.children()]).toEqual([net.fc1, net.act, net.fc2]);
    expect([...net.namedModules()].map(([name]) => name)).toEqual(['', 'fc1', 'act', 'fc2']);
    expect([...net.modules()][0]).toBe(net);
    expect([...net.parameters(false)]).toEqual([]);
    expect([...net.fc1.parameters(false)]).toEqual([net.fc1.weight, net.fc1.bias]);
    expect(net.getParameter('fc2.bias')).toBe(net.fc2.bias);
    expect(net.getSubmodule('fc1')).toBe(net.fc1);
    expect(() => net.getSubmodule('fc3')).toThrow(/Net has no submodule `fc3`/);
    net.dispose();
  });

  it('reassigning or deleting a field is seen at once; plain tensors and arrays do not register', () => {
    class Holder extends nn.Module {
      weight: torch.nn.Parameter | null = torch.tidy(() => new nn.Parameter(torch.ones(2)));
      plain = torch.keep(torch.ones(3));
      list: torch.nn.Module[] = [new nn.Linear(1, 1)];
      layers = new nn.ModuleList([new nn.Linear(2, 2)]);
    }
    const h = new Holder();
    expect([...h.namedParameters()].map(([n]) => n)).toEqual(['weight', 'layers.0.weight', 'layers.0.bias']);
    const old = h.weight!;
    h.weight = null;
    expect([...h.namedParameters()].map(([n]) => n)).toEqual(['layers.0.weight', 'layers.0.bias']);
    expect(h.stateDict({ keepVars: true })).not.toHaveProperty('weight');
    old.dispose();
    h.plain.dispose();
    h.list[0].dispose();
    h.dispose();
  });

  it('a shared parameter or module is listed once', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3);
      b: torch.nn.Linear;
      constructor() { super(); this.b = this.a; }
    }
    const t = new Tied();
    expect([...t.namedParameters()].map(([n]) => n)).toEqual(['a.weight', 'a.bias']);
    expect([...t.modules()].length).toBe(2);
    // The state dict names a shared module under each of its names, as PyTorch's does.
    expect(Object.keys(t.stateDict({ keepVars: true }))).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias']);
    t.dispose();
  });

  it('registerParameter, registerBuffer and addModule check their arguments', () => {
    const m = new nn.Module();
    m.registerParameter('scale', torch.tidy(() => new nn.Parameter(torch.ones(1))));
    m.addModule('inner', new nn.Identity());
    expect(() => scoped(() => m.registerParameter('bad', torch.ones(1) as never))).toThrow(/cannot assign a tensor of shape \[1\] as parameter 'bad' \(nn.Parameter or null expected\)/);
    expect(() => m.registerBuffer('a.b', null)).toThrow(/can't contain "."/);
    expect(() => m.registerBuffer('train', null)).toThrow(/attribute 'train' already exists/);
    expect(() => m.registerBuffer('scale', null)).toThrow(/already exists \(it is a parameter\)/);
    expect(() => m.addModule('x', {} as never)).toThrow(/is not a Module subclass/);
    expect([...m.namedModules()].map(([n]) => n)).toEqual(['', 'inner']);
    m.dispose();
  });

  it('buffers: persistent ones are in stateDict, non-persistent ones are not; a replaced buffer is seen', () => {
    class WithBuffers extends nn.Module {
      declare steps: Tensor;
      declare cache: Tensor;
      constructor() {
        super();
        this.registerBuffer('steps', torch.zeros(1));
        this.registerBuffer('cache', torch.zeros(2), { persistent: false });
      }
      override forward(x: Tensor) {
        // Replacing a buffer inside forward: the module keeps the new tensor (tidy must not free it).
        const previous = this.steps;
        this.steps = previous.add(1);
        previous.dispose();
        return x;
      }
    }
    const m = new WithBuffers();
    expect([...m.namedBuffers()].map(([n]) => n)).toEqual(['steps', 'cache']);
    expect(Object.keys(m.stateDict({ keepVars: true }))).toEqual(['steps']);
    const x = torch.zeros(1);
    m(x); m(x);
    expect(m.steps.tolist()).toEqual([2]);
    expect(m.stateDict({ keepVars: true }).steps).toBe(m.steps);
    x.dispose();
    m.dispose();
  });

  it('a Parameter is a leaf Tensor that requires grad and outlives the tidy it was made in', () => {
    const p = torch.tidy(() => new nn.Parameter(torch.randn(2, 2)));
    expect(p).toBeInstanceOf(torch.Tensor);
    expect([p.isLeaf, p.requiresGrad, p.isDisposed]).toEqual([true, true, false]);
    expect(String(p)).toMatch(/^Parameter containing:\ntensor\(/);
    const frozen = torch.tidy(() => new nn.Parameter(torch.ones(1), false));
    expect(frozen.requiresGrad).toBe(false);
    p.dispose();
    frozen.dispose();
    // A model built inside tidy keeps its parameters and buffers.
    const model = torch.tidy(() => new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2)));
    expect([...model.parameters(), ...model.buffers()].every((t) => !t.isDisposed)).toBe(true);
    model.dispose();
  });
});

describe('Module: state dicts', () => {
  it("keys are PyTorch's (\"0.weight\", \"1.running_mean\", \"1.num_batches_tracked\")", () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.ReLU());
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(sd['1.num_batches_tracked'].dtype).toBe('int32');
    // Detached handles on the module's storage, as PyTorch's.
    expect(sd['0.weight'].requiresGrad).toBe(false);
    expect(torch.equal(sd['0.weight'], (model[0] as torch.nn.Linear).weight)).toBe(true);
    torch.dispose(sd);
    model.dispose();
  });

  it('loadStateDict copies in place and returns the missing and unexpected keys', () => {
    const a = new Net(), b = new Net();
    const weight = b.fc1.weight;
    const sd = a.stateDict();
    const result = b.loadStateDict(sd);
    expect(result.missingKeys).toEqual([]);
    expect(result.unexpectedKeys).toEqual([]);
    const [missing, unexpected] = result;
    expect([missing, unexpected]).toEqual([[], []]);
    expect(b.fc1.weight).toBe(weight);
    expect(torch.equal(b.fc1.weight, a.fc1.weight)).toBe(true);
    expect(b.fc1.weight.requiresGrad).toBe(true);
    torch.dispose(sd);
    a.dispose(); b.dispose();
  });

  it('strict loading reports missing and unexpected keys as PyTorch does, and copies nothing', () => {
    const net = new Net();
    const before = net.fc1.weight.clone();
    const sd = scoped(() => {
      const full = net.stateDict();
      const extra = torch.zeros(1);
      const ones = torch.onesLike(full['fc1.weight']);
      torch.dispose(full['fc2.bias'], full['fc1.weight']);
      const { ['fc2.bias']: _dropped, ['fc1.weight']: _replaced, ...rest } = full;
      return { ...rest, 'fc1.weight': ones, 'fc3.weight': extra };
    });
    const memory = torch.memory().tensors;
    expect(() => net.loadStateDict(sd)).toThrow(new RegExp(
      'Error\\(s\\) in loading state_dict for Net:\\n\\tUnexpected key\\(s\\) in state_dict: "fc3.weight". \\n\\tMissing key\\(s\\) in state_dict: "fc2.bias". '));
    expect(() => net.loadStateDict(sd)).toThrow(nn.StateDictError);
    expect(torch.equal(net.fc1.weight, before)).toBe(true);
    expect(torch.memory().tensors).toBe(memory);
    // Not strict: the keys present are copied and the rest reported.
    const { missingKeys, unexpectedKeys } = net.loadStateDict(sd, { strict: false });
    expect([missingKeys, unexpectedKeys]).toEqual([['fc2.bias'], ['fc3.weight']]);
    expect(values(net.fc1.weight).every((v) => v === 1)).toBe(true);
    torch.dispose(sd, before);
    net.dispose();
  });

  it('a wrong shape is an error naming the key and both shapes, even when not strict', () => {
    const small = new Net(5, 8, 3), net = new Net();
    const sd = small.stateDict();
    const message = 'size mismatch for fc1.weight: copying a param with shape [8, 5] from checkpoint, the shape in current model is [8, 4].';
    expect(() => net.loadStateDict(sd)).toThrow(message);
    expect(() => net.loadStateDict(sd, { strict: false })).toThrow(message);
    try {
      net.loadStateDict(sd);
    } catch (error) {
      expect((error as torch.nn.StateDictError).sizeMismatches).toEqual([message]);
    }
    expect(() => net.loadStateDict(null as never)).toThrow(/Expected state_dict to be an object of tensors by name/);
    torch.dispose(sd);
    small.dispose(); net.dispose();
  });
});

describe('Module: modes, gradients, devices', () => {
  it('train() and eval() set training on the whole tree and return the module', () => {
    const model = new nn.Sequential(new Net(), new nn.Dropout());
    expect([...model.modules()].every((m) => m.training)).toBe(true);
    expect(model.eval()).toBe(model);
    expect([...model.modules()].every((m) => !m.training)).toBe(true);
    model.train();
    expect([...model.modules()].every((m) => m.training)).toBe(true);
    expect(() => model.train('yes' as never)).toThrow(/training mode is expected to be boolean/);
    model.dispose();
  });

  it('zeroGrad disposes gradients by default (PyTorch 2), or zeroes them in place with setToNone: false', () => {
    const net = new Net();
    scoped(() => net(torch.randn(2, 4)).sum().backward());
    const grad = net.fc1.weight.grad!;
    expect(values(grad).some((v) => v !== 0)).toBe(true);
    net.zeroGrad({ setToNone: false });
    expect(net.fc1.weight.grad).toBe(grad);
    expect(values(grad).every((v) => v === 0)).toBe(true);
    const memory = torch.memory().tensors;
    net.zeroGrad();
    expect(net.fc1.weight.grad).toBeNull();
    expect(grad.isDisposed).toBe(true);
    expect(torch.memory().tensors).toBe(memory - 4);
    net.dispose();
  });

  it("to('cpu') is the module itself; unknown devices, an unopened WebGPU device and integer dtypes are clear errors", () => {
    const net = new Net();
    expect(net.to('cpu')).toBe(net);
    expect(net.to({ device: 'cpu', dtype: 'float32' })).toBe(net);
    expect(() => net.to('cuda')).toThrow(/unknown device "cuda", expected 'cpu' or 'webgpu'/);
    // This suite never opens the WebGPU device: moving there says how, and the module is left as it was.
    const before = torch.memory();
    expect(() => net.to('webgpu')).toThrow(torch.DeviceError);
    expect(() => net.to('webgpu')).toThrow(/await torch\.webgpu\.isAvailable\(\)/);
    expect(torch.memory()).toEqual(before);
    expect([...net.parameters()].every((p) => p.device === 'cpu' && !p.isDisposed)).toBe(true);
    expect(() => net.to('int32')).toThrow(/only accepts floating point dtypes, but got desired dtype=int32/);
    net.dispose();
  });

  it('requiresGrad_(false) freezes every parameter', () => {
    const net = new Net();
    net.requiresGrad_(false);
    expect([...net.parameters()].every((p) => !p.requiresGrad)).toBe(true);
    net.dispose();
  });

  it("toString is PyTorch's repr", () => {
    const model = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(36, 5), new nn.Dropout(0.25), new nn.LayerNorm(5), new nn.GELU(), new nn.LeakyReLU(0.2), new nn.Softmax(1), new nn.Embedding(10, 3, { paddingIdx: 0 }));
    expect(String(model)).toBe([
      'Sequential(',
      '  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)',
      '  (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
      '  (2): ReLU()',
      '  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
      '  (4): Flatten(start_dim=1, end_dim=-1)',
      '  (5): Linear(in_features=36, out_features=5, bias=True)',
      '  (6): Dropout(p=0.25, inplace=False)',
      '  (7): LayerNorm((5,), eps=1e-05, elementwise_affine=True)',
      "  (8): GELU(approximate='none')",
      '  (9): LeakyReLU(negative_slope=0.2)',
      '  (10): Softmax(dim=1)',
      '  (11): Embedding(10, 3, padding_idx=0)',
      ')',
    ].join('\n'));
    const others = [new nn.Conv1d(4, 6, 3, { padding: 'same', dilation: 2, groups: 2 }), new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      new nn.AvgPool2d(3, { stride: 2 }), new nn.AdaptiveAvgPool2d([2, null]), new nn.GroupNorm(2, 4), new nn.BatchNorm1d(3, { momentum: null }),
      new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), new nn.MSELoss(), new nn.Identity(), new nn.Softmax(), new nn.ReLU({ inplace: true }), new nn.MaxPool2d([2, 3], { stride: 1 })];
    // Printed by PyTorch 1.13 for the same modules.
    expect(others.map(String)).toEqual([
      'Conv1d(4, 6, kernel_size=(3,), stride=(1,), padding=same, dilation=(2,), groups=2)',
      'ConvTranspose2d(3, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))',
      'AvgPool2d(kernel_size=3, stride=2, padding=0)',
      'AdaptiveAvgPool2d(output_size=(2, None))',
      'GroupNorm(2, 4, eps=1e-05, affine=True)',
      'BatchNorm1d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=True)',
      'CrossEntropyLoss()',
      'MSELoss()',
      'Identity()',
      'Softmax(dim=None)',
      'ReLU(inplace=True)',
      'MaxPool2d(kernel_size=(2, 3), stride=1, padding=0, dilation=1, ceil_mode=False)',
    ]);
    others.forEach((m) => m.dispose());
    const net = new Net();
    expect(String(net)).toBe('Net(\n  (fc1): Linear(in_features=4, out_features=8, bias=True)\n  (act): ReLU()\n  (fc2): Linear(in_features=8, out_features=3, bias=True)\n)');
    model.dispose();
    net.dispose();
  });
});

describe('Module: hooks', () => {
  it('forward pre-hooks may replace the args, forward hooks the output; handles remove them', () => {
    const layer = new nn.Identity();
    const seen: unknown[] = [];
    const pre = layer.registerForwardPreHook((module, args) => { seen.push(module); return [(args[0] as Tensor).mul(2)]; });
    const post = layer.registerForwardHook((_module, args, output) => { seen.push((args[0] as Tensor).tolist()); return (output as Tensor).add(1); });
    scoped(() => {
      expect(layer(torch.tensor([1, 2])).tolist()).toEqual([3, 5]);
      expect(seen).toEqual([layer, [2, 4]]);
      pre.remove();
      post.remove();
      expect(layer(torch.tensor([1, 2])).tolist()).toEqual([1, 2]);
    });
  });

  it('tensors made during a call and stored elsewhere follow tidy\'s rule: torch.keep() them, or they are freed with the intermediates', () => {
    const net = new Net();
    const features: Record<string, Tensor> = {};
    let intermediate: Tensor | null = null;
    net.fc1.registerForwardHook((_m, _args, output) => {
      features.kept = torch.keep((output as Tensor).detach());
      features.notKept = (output as Tensor).detach();
    });
    net.act.registerForwardPreHook((_m, args) => { intermediate = args[0] as Tensor; });
    const before = torch.memory().tensors;
    const x = torch.randn(2, 4);
    const y = net(x);
    expect(features.kept.isDisposed).toBe(false);
    expect(features.kept.shape).toEqual([2, 8]);
    expect(features.notKept.isDisposed).toBe(true);
    expect(() => features.notKept.sum()).toThrow(/was disposed .* returning it from torch.tidy/);
    // fc1's output was an intermediate of net's forward: freed when net's call returned; y keeps its graph.
    expect(intermediate!.isDisposed).toBe(true);
    torch.tidy(() => y.sum().backward());
    torch.dispose(x, y, features.kept);
    net.zeroGrad(true);
    expect(torch.memory().tensors).toBe(before);
    net.dispose();
  });

  it('full backward hooks see gradInput and gradOutput and may replace gradInput', () => {
    const layer = new nn.Linear(3, 2);
    const calls: { gradInput: (number[] | null)[]; gradOutput: (number[] | null)[] }[] = [];
    const handle = layer.registerFullBackwardHook((module, gradInput, gradOutput) => {
      expect(module).toBe(layer);
      calls.push({ gradInput: gradInput.map((g) => g && values(g)), gradOutput: gradOutput.map((g) => g && values(g)) });
      return gradInput.map((g) => g && g.mul(10));
    });
    scoped(() => {
      const x = torch.tensor([[1, 2, 3]], { requiresGrad: true });
      const upstream = torch.tensor([[1, -1]]);
      layer(x).backward(upstream);
      const plain = upstream.mm(layer.weight);
      expect(calls.length).toBe(1);
      expect(calls[0].gradOutput).toEqual([[1, -1]]);
      expect(calls[0].gradInput[0]!.map((v) => Math.fround(v))).toEqual(values(plain));
      // The returned gradient replaced the input's.
      expect(torch.allclose(x.grad!, plain.mul(10))).toBe(true);
      // Parameters' gradients are not the hook's business: unchanged.
      expect(torch.allclose(layer.bias!.grad!, torch.tensor([1, -1]))).toBe(true);
    });
    handle.remove();
    layer.dispose();
  });

  it('a full backward hook of a module whose input needs no grad gets null input gradients', () => {
    const layer = new nn.Linear(2, 2);
    const got: unknown[] = [];
    layer.registerFullBackwardHook((_m, gradInput, gradOutput) => { got.push(gradInput, gradOutput.length); });
    scoped(() => layer(torch.ones(1, 2)).sum().backward());
    expect(got).toEqual([[null], 1]);
    layer.dispose();
  });
});

describe('containers', () => {
  it('Sequential: runs in order, indexes, iterates, appends; named children from an object', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
    expect(seq.length).toBe(2);
    expect(seq[0]).toBeInstanceOf(nn.Linear);
    expect(seq.at(-1)).toBeInstanceOf(nn.ReLU);
    seq.append(new nn.Linear(3, 1));
    expect([...seq].map((m) => m.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear']);
    scoped(() => expect(seq(torch.ones(4, 2)).shape).toEqual([4, 1]));
    const named = new nn.Sequential({ encoder: new nn.Linear(2, 2), act: new nn.Tanh() });
    expect(Object.keys(named.stateDict({ keepVars: true }))).toEqual(['encoder.weight', 'encoder.bias']);
    expect(() => new nn.Sequential({ train: new nn.ReLU() })).toThrow(/attribute 'train' already exists/);
    expect(() => new nn.Sequential(3 as never)).toThrow(/is not a Module subclass/);
    seq.dispose(); named.dispose();
  });

  it('a call outside any tidy leaves only its output; a failing child leaves nothing; subclasses of layers are scoped', () => {
    class Doubled extends nn.Linear {
      override forward(x: Tensor) { return super.forward(x).mul(2).add(1); }
    }
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.GELU(), new Doubled(4, 4), new nn.Dropout(0.2), new nn.Linear(4, 2));
    const broken = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(5, 2));
    const x = torch.randn(6, 3);
    const before = torch.memory().tensors;
    const y = model(x);
    // What remains is the output and its graph's saved tensors; backward releases the graph.
    torch.tidy(() => y.sum().backward());
    y.dispose();
    model.zeroGrad(true);
    expect(torch.memory().tensors).toBe(before);
    expect(() => broken(x)).toThrow(/^in Linear\(in_features=5, out_features=2, bias=True\): mat1 and mat2 shapes cannot be multiplied \(6x4 and 5x2\)/);
    expect(torch.memory().tensors).toBe(before);
    x.dispose(); model.dispose(); broken.dispose();
  });

  it('ModuleList: append, insert, pop, extend; registered so its parameters are found', () => {
    const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
    list.insert(1, new nn.Identity());
    expect([...list].map((m) => m.constructor.name)).toEqual(['Linear', 'Identity', 'Linear']);
    expect([...list.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const popped = list.pop(0);
    expect(list.length).toBe(2);
    expect(() => list.at(5)).toThrow(/index 5 is out of range for 2 modules/);
    expect(() => list()).toThrow(/missing the required "forward" function/);
    popped.dispose(); list.dispose();
  });

  it('ModuleDict: insertion order (integer-like keys too), get/set/delete, no clash with methods', () => {
    const dict = new nn.ModuleDict({ b: new nn.Linear(1, 1), 2: new nn.Linear(1, 1) });
    dict.set('a', new nn.Linear(1, 1));
    expect(dict.keys()).toEqual(['2', 'b', 'a']);
    expect(Object.keys(dict.stateDict({ keepVars: true }))).toEqual(['2.weight', '2.bias', 'b.weight', 'b.bias', 'a.weight', 'a.bias']);
    expect(dict.get('b')).toBeInstanceOf(nn.Linear);
    expect(() => dict.set('forward', new nn.ReLU())).toThrow(/attribute 'forward' already exists/);
    dict.delete('b')!.dispose();
    expect([...dict]).toEqual(['2', 'a']);
    dict.dispose();
  });
});

describe('nn.init', () => {
  it("PyTorch's fans and gains", () => {
    scoped(() => {
      expect(nn.init.calculateFanInAndFanOut(torch.empty(8, 4))).toEqual({ fanIn: 4, fanOut: 8 });
      expect(nn.init.calculateFanInAndFanOut(torch.empty(16, 3, 5, 5))).toEqual({ fanIn: 75, fanOut: 400 });
      expect(() => nn.init.calculateFanInAndFanOut(torch.empty(3))).toThrow(/fewer than 2 dimensions/);
    });
    expect(nn.init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(nn.init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(nn.init.calculateGain('leakyRelu')).toBeCloseTo(Math.sqrt(2 / 1.0001), 12);
    expect(nn.init.calculateGain('selu')).toBe(0.75);
    expect(nn.init.calculateGain('conv_transpose2d')).toBe(1);
    expect(() => nn.init.calculateGain('swish')).toThrow(/Unsupported nonlinearity swish/);
  });

  /** Mean and variance of a tensor's values. */
  function moments(t: Tensor): { min: number; max: number; mean: number; variance: number } {
    const v = values(t);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { min: v.reduce((a, b) => Math.min(a, b)), max: v.reduce((a, b) => Math.max(a, b)), mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length };
  }

  it("a new Linear and Conv2d are initialised as PyTorch's: U(±1/√fanIn) for weight and bias", () => {
    torch.manualSeed(1);
    const linear = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    const w = moments(linear.weight), b = moments(linear.bias!);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeLessThan(-0.99 * bound);
    expect(w.max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(w.mean)).toBeLessThan(0.02 * bound);
    expect(w.variance).toBeCloseTo(bound ** 2 / 3, 5);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.max).toBeLessThanOrEqual(bound);
    const conv = new nn.Conv2d(8, 16, 3);
    const convBound = 1 / Math.sqrt(8 * 9);
    const c = moments(conv.weight);
    expect([c.min >= -convBound, c.max <= convBound, c.max > 0.98 * convBound]).toEqual([true, true, true]);
    const transposed = new nn.ConvTranspose2d(8, 6, 3, { groups: 2 });
    const transposedBound = 1 / Math.sqrt(3 * 9); // fan-in from the weight's dim 1 (outChannels / groups), as PyTorch
    const t = moments(transposed.weight);
    expect([t.min >= -transposedBound, t.max <= transposedBound, t.max > 0.95 * transposedBound]).toEqual([true, true, true]);
    linear.dispose(); conv.dispose(); transposed.dispose();
  });

  it('kaiming, xavier, normal, uniform, constant, eye: distributions and bounds', () => {
    torch.manualSeed(2);
    scoped(() => {
      const w = torch.empty(256, 512);
      nn.init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
      expect(Math.sqrt(moments(w).variance)).toBeCloseTo(Math.sqrt(2 / 256), 3);
      nn.init.kaimingUniform_(w);
      const kaimingBound = Math.sqrt(2) * Math.sqrt(3 / 512);
      expect(moments(w).max).toBeLessThanOrEqual(kaimingBound);
      expect(moments(w).max).toBeGreaterThan(0.99 * kaimingBound);
      nn.init.xavierUniform_(w, { gain: 2 });
      const xavierBound = 2 * Math.sqrt(6 / (256 + 512));
      expect([moments(w).min >= -xavierBound, moments(w).max <= xavierBound]).toEqual([true, true]);
      nn.init.xavierNormal_(w);
      expect(Math.sqrt(moments(w).variance)).toBeCloseTo(Math.sqrt(2 / 768), 3);
      nn.init.normal_(w, 3, 0.5);
      expect(moments(w).mean).toBeCloseTo(3, 2);
      nn.init.uniform_(w, -2, -1);
      expect([moments(w).min >= -2, moments(w).max <= -1]).toEqual([true, true]);
      nn.init.constant_(w, 0.25);
      expect(moments(w)).toMatchObject({ min: 0.25, max: 0.25 });
      const square = torch.empty(2, 3);
      nn.init.eye_(square);
      expect(square.tolist()).toEqual([[1, 0, 0], [0, 1, 0]]);
      expect(() => nn.init.kaimingUniform_(w, { mode: 'fan_avg' as never })).toThrow(/Mode fan_avg not supported/);
    });
  });

  it('initialisers work on parameters (no grad recorded) and Embedding/BatchNorm/LayerNorm get their defaults', () => {
    torch.manualSeed(3);
    const embedding = new nn.Embedding(1000, 16, { paddingIdx: 2 });
    const e = moments(embedding.weight);
    expect(e.mean).toBeCloseTo(0, 1);
    expect(e.variance).toBeCloseTo(1, 1);
    expect(scoped(() => values(embedding.weight.select(0, 2).detach()).every((v) => v === 0))).toBe(true);
    const bn = new nn.BatchNorm2d(3), ln = new nn.LayerNorm([2, 3]);
    expect([bn.weight!.tolist(), bn.bias!.tolist(), bn.runningMean!.tolist(), bn.runningVar!.tolist(), bn.numBatchesTracked!.item()])
      .toEqual([[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], 0]);
    expect(ln.weight!.shape).toEqual([2, 3]);
    nn.init.zeros_(ln.weight!);
    expect(ln.weight!.gradFn).toBeNull();
    embedding.dispose(); bn.dispose(); ln.dispose();
  });
});

describe('in-place activations', () => {
  it('ReLU, LeakyReLU and Dropout with inplace modify their input and keep the gradient right', () => {
    scoped(() => {
      const leaf = torch.tensor([-2, -0.5, 1, 3], { requiresGrad: true });
      const h = leaf.mul(1);
      const out = new nn.LeakyReLU(0.1, true)(h);
      expect(out).toBe(h);
      expect(values(h)).toEqual(values(torch.tensor([-0.2, -0.05, 1, 3])));
      new nn.ReLU({ inplace: true })(out).sum().backward();
      expect(leaf.grad!.tolist()).toEqual([0, 0, 1, 1]);
      const other = torch.tensor([-1, 2], { requiresGrad: true });
      F.leakyRelu(other.mul(1), { negativeSlope: 0.5, inplace: true }).sum().backward();
      expect(other.grad!.tolist()).toEqual([0.5, 1]);
      const source = torch.ones([20, 10], { requiresGrad: true });
      const hidden = source.mul(1);
      const dropped = new nn.Dropout(0.5, true)(hidden);
      expect(dropped).toBe(hidden);
      dropped.sum().backward();
      expect(torch.equal(source.grad!, hidden)).toBe(true);
      expect(values(hidden).every((v) => v === 0 || v === 2)).toBe(true);
    });
  });
});

describe('Dropout and BatchNorm: train and eval', () => {
  it('Dropout in training zeroes a fraction p and scales the rest by 1/(1-p); in eval it is the identity', () => {
    torch.manualSeed(4);
    const dropout = new nn.Dropout(0.3);
    scoped(() => {
      const x = torch.ones(200, 100);
      const y = dropout(x);
      const v = values(y);
      const zeros = v.filter((a) => a === 0).length / v.length;
      expect(Math.abs(zeros - 0.3)).toBeLessThan(0.015);
      expect(v.filter((a) => a !== 0).every((a) => Math.abs(a - 1 / 0.7) < 1e-6)).toBe(true);
      // The expectation is preserved.
      expect(y.mean().item() as number).toBeCloseTo(1, 1);
      // The gradient is the mask scaled the same way.
      const leaf = torch.ones(50, 40, { requiresGrad: true });
      const out = dropout(leaf);
      out.sum().backward();
      expect(torch.equal(leaf.grad!, out)).toBe(true);
      dropout.eval();
      expect(dropout(x)).toBe(x);
      expect(F.dropout(x, { p: 0.5, training: false })).toBe(x);
      expect(values(F.dropout(x, 1)).every((a) => a === 0)).toBe(true);
      expect(() => new nn.Dropout(1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    });
  });

  it('BatchNorm: training updates running statistics and numBatchesTracked; eval uses them and updates nothing', () => {
    const bn = new nn.BatchNorm1d(2, { momentum: 0.5 });
    scoped(() => {
      const x = torch.tensor([[1, 10], [3, 20], [5, 60]]);
      const y = bn(x);
      // Batch statistics, biased variance: channel 0 mean 3, var 8/3.
      expect(values(y.select(1, 0))).toEqual(values(torch.tensor([-2, 0, 2]).div(Math.sqrt(8 / 3 + 1e-5))));
      // Running: 0.5·0 + 0.5·3 and 0.5·1 + 0.5·4 (unbiased variance 4).
      expect(bn.runningMean!.tolist()).toEqual([1.5, 15]);
      expect(values(bn.runningVar!)[0]).toBeCloseTo(2.5, 5);
      expect(bn.numBatchesTracked!.item()).toBe(1);
      bn.eval();
      const before = bn.runningMean!.clone();
      const z = bn(x);
      expect(torch.equal(bn.runningMean!, before)).toBe(true);
      expect(bn.numBatchesTracked!.item()).toBe(1);
      expect(torch.allclose(z, x.sub(bn.runningMean!).div(bn.runningVar!.add(1e-5).sqrt()), { atol: 1e-5 })).toBe(true);
      bn.train();
      expect(() => bn(torch.ones(1, 2))).toThrow(/Expected more than 1 value per channel when training, got input size \[1, 2\]/);
      expect(bn.numBatchesTracked!.item()).toBe(1);
    });
    bn.dispose();
  });
});

describe('gradcheck of the norms and losses (float32 central differences)', () => {
  const T = (shape: number[], seed: number) => { torch.manualSeed(seed); return torch.randn(shape).requiresGrad_(); };
  const cases: [string, () => Tensor[], (...xs: Tensor[]) => Tensor][] = [
    ['batchNorm training with affine', () => [T([4, 3, 2], 1), T([3], 2), T([3], 3)],
      (x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true })],
    ['batchNorm eval with running statistics', () => [T([4, 3], 4), T([3], 5)],
      (x, w) => torch.tidy(() => F.batchNorm(x, torch.tensor([0.1, -0.2, 0.3]), torch.tensor([0.5, 1.5, 2]), { weight: w }))],
    ['layerNorm over two dims with affine', () => [T([2, 3, 4], 6), T([3, 4], 7), T([3, 4], 8)],
      (x, w, b) => F.layerNorm(x, [3, 4], { weight: w, bias: b })],
    ['groupNorm with affine', () => [T([2, 4, 3], 9), T([4], 10), T([4], 11)],
      (x, w, b) => F.groupNorm(x, 2, { weight: w, bias: b })],
    ['crossEntropy with weight, ignoreIndex and labelSmoothing', () => [T([4, 3], 12)],
      (x) => torch.tidy(() => F.crossEntropy(x, torch.tensor([0, 2, -100, 1], { dtype: 'int32' }), { weight: torch.tensor([0.5, 1, 2]), labelSmoothing: 0.2 }))],
    ['binaryCrossEntropyWithLogits with posWeight', () => [T([3, 2], 13)],
      (x) => torch.tidy(() => F.binaryCrossEntropyWithLogits(x, torch.tensor([[1, 0], [0.5, 1], [0, 0]]), { posWeight: torch.tensor([2, 0.5]) }))],
  ];
  for (const [name, inputs, fn] of cases) {
    it(name, () => {
      torch.tidy(() => { expect(autograd.gradcheck(fn, inputs())).toBe(true); });
    });
  }
});

describe('bad inputs: clear errors naming the module and the shapes, nothing changed', () => {
  /** Asserts the call throws `kind` with a message matching `pattern`, and leaves memory and the model's state as they were. */
  function expectClean(call: () => unknown, kind: new (...args: never[]) => Error, pattern: RegExp): void {
    const before = torch.memory().tensors;
    let thrown: unknown = null;
    try { call(); } catch (error) { thrown = error; }
    expect(thrown).toBeInstanceOf(kind);
    expect((thrown as Error).message).toMatch(pattern);
    expect(torch.memory().tensors, `memory unchanged after ${pattern}`).toBe(before);
  }

  it('wrong input features or channels', () => {
    const net = new Net(), conv = new nn.Conv2d(3, 4, 3), bn = new nn.BatchNorm2d(4), ln = new nn.LayerNorm(5), gn = new nn.GroupNorm(2, 4);
    const x = torch.randn(2, 5), image = torch.randn(2, 5, 7, 7), narrow = torch.ones(2, 4), sixChannels = torch.ones(2, 6, 3), integers = torch.zeros([2, 4, 3, 3], { dtype: 'int32' });
    expectClean(() => net(x), torch.ShapeError, /^in Linear\(in_features=4, out_features=8, bias=True\): mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x8\)/);
    expectClean(() => conv(image), torch.ShapeError,
      /^in Conv2d\(3, 4, kernel_size=\(3, 3\), stride=\(1, 1\)\): Given groups=1, weight of size \[4, 3, 3, 3\], expected input\[2, 5, 7, 7\] to have 3 channels, but got 5 channels instead/);
    expectClean(() => bn(image), torch.ShapeError, /^in BatchNorm2d\(4, .*\): expected input with 4 channels \(dim 1\), got input of shape \[2, 5, 7, 7\]/);
    expectClean(() => bn(x), torch.ShapeError, /expected 4D input \(got 2D input of shape \[2, 5\]\)/);
    expectClean(() => bn(integers), torch.DtypeError, /expected a float32 input, got int32/);
    expectClean(() => bn([1, 2] as never), torch.ArgumentError, /expected a tensor input, got an array \[1, 2\]/);
    expectClean(() => conv(null as never), torch.ArgumentError, /^in Conv2d\(.*\): expected a tensor input, got null/);
    expectClean(() => ln(narrow), torch.ShapeError, /Given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of size \[2, 4\]/);
    expectClean(() => gn(sixChannels), torch.ShapeError, /expected input with 4 channels \(dim 1\), got input of shape \[2, 6, 3\]/);
    expect(bn.numBatchesTracked!.item()).toBe(0);
    torch.dispose(x, image, narrow, sixChannels, integers);
    for (const m of [net, conv, bn, ln, gn]) m.dispose();
  });

  it('wrong target dtype, shape or values', () => {
    const loss = new nn.CrossEntropyLoss();
    const embedding = new nn.Embedding(4, 2);
    scoped(() => {
      const logits = torch.randn(32, 10), column = torch.zeros([32, 1], { dtype: 'int32' }), floats = torch.zeros(32);
      const short = torch.zeros([31], { dtype: 'int32' }), tooLarge = torch.full([32], 10, { dtype: 'int32' }), classes = torch.zeros([32], { dtype: 'int32' });
      const spatial = torch.randn(2, 3, 4), spatialTarget = torch.zeros([2, 3], { dtype: 'int32' }), nineWeights = torch.ones(9);
      const probabilities = torch.full([3], 1.5), ones3 = torch.ones(3), column4 = torch.ones(4, 1), ones4 = torch.ones(4), outside = torch.tensor([4], { dtype: 'int32' });
      expectClean(() => loss(logits, column), torch.ShapeError, /^in CrossEntropyLoss\(\): crossEntropy: Expected target size \[32\], got \[32, 1\]/);
      expectClean(() => loss(logits, floats), torch.DtypeError, /expected target of dtype int32 \(class indices\) for an input of shape \[32, 10\], got float32 of shape \[32\]/);
      expectClean(() => loss(logits, short), torch.ShapeError, /Expected input batch_size \(32\) to match target batch_size \(31\)/);
      expectClean(() => loss(logits, tooLarge), torch.IndexError, /Target 10 is out of bounds/);
      expectClean(() => F.nllLoss(spatial, spatialTarget), torch.ShapeError, /Expected target size \[2, 4\], got \[2, 3\]/);
      expectClean(() => F.crossEntropy(logits, classes, { weight: nineWeights }), torch.ShapeError,
        /weight tensor should be defined either for all 10 classes or no classes but got weight tensor of shape: \[9\]/);
      expectClean(() => F.crossEntropy(logits, classes, { labelSmoothing: 1.5 }), torch.ArgumentError, /label_smoothing must be between 0.0 and 1.0/);
      expectClean(() => F.mseLoss(logits, logits, { reduction: 'avg' as never }), torch.ArgumentError, /"avg" is not a valid value for reduction/);
      expectClean(() => new nn.BCELoss()(probabilities, ones3), torch.ArgumentError, /all elements of input should be between 0 and 1/);
      expectClean(() => new nn.BCEWithLogitsLoss()(column4, ones4), torch.ShapeError, /Target size \(\[4\]\) must be the same as input size \(\[4, 1\]\)/);
      expectClean(() => embedding(ones3), torch.DtypeError, /expected indices of dtype int32, got float32/);
      expectClean(() => embedding(outside), torch.IndexError, /index out of range/);
    });
    embedding.dispose();
  });

  it('bad constructor arguments', () => {
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/in_channels must be divisible by groups/);
    expect(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 })).toThrow(/padding='same' is not supported for strided convolutions/);
    expect(() => new nn.Conv2d(3, 4, 3, { padding: 'full' as never })).toThrow(/Invalid padding string 'full'/);
    expect(() => new nn.Conv2d(3, 4, 3, { paddingMode: 'reflect' })).toThrow(/paddingMode "reflect" is not supported yet/);
    expect(() => new nn.Linear(-1, 2)).toThrow(/inFeatures must be a non-negative integer/);
    expect(() => new nn.GroupNorm(3, 4)).toThrow(/num_channels must be divisible by num_groups/);
    expect(() => new nn.CrossEntropyLoss({ reduction: 'avg' as never })).toThrow(/is not a valid value for reduction/);
  });
});

describe('more layer behaviour', () => {
  it('MaxPool2d with returnIndices gives [values, indices]; ConvTranspose2d takes an outputSize', () => {
    const pool = new nn.MaxPool2d(2, { returnIndices: true });
    const up = new nn.ConvTranspose2d(2, 1, 3, { stride: 2, padding: 1 });
    scoped(() => {
      const x = torch.arange(16, { dtype: 'float32' }).reshape(1, 1, 4, 4);
      const [values, indices] = pool(x);
      expect(values.tolist()).toEqual([[[[5, 7], [13, 15]]]]);
      expect(indices.tolist()).toEqual([[[[5, 7], [13, 15]]]]);
      const plain: Tensor = new nn.MaxPool2d(2)(x);
      expect(torch.equal(plain, values)).toBe(true);
      const y = torch.randn(1, 2, 3, 3);
      expect(up(y).shape).toEqual([1, 1, 5, 5]);
      expect(up(y, [6, 6]).shape).toEqual([1, 1, 6, 6]);
      expect(() => up(y, [8, 8])).toThrow(/valid sizes range from \[5\.\.6\]/);
    });
    pool.dispose(); up.dispose();
  });

  it('Embedding.fromPretrained copies and freezes; paddingIdx rows get no gradient', () => {
    const table = torch.tensor([[1, 2], [3, 4], [5, 6]]);
    const frozen = nn.Embedding.fromPretrained(table);
    const padded = new nn.Embedding(3, 2, { paddingIdx: 1 });
    scoped(() => {
      expect(frozen(torch.tensor([2, 0], { dtype: 'int32' })).tolist()).toEqual([[5, 6], [1, 2]]);
      expect(frozen.weight.requiresGrad).toBe(false);
      padded(torch.tensor([1, 0, 1, 2], { dtype: 'int32' })).sum().backward();
      expect(padded.weight.grad!.tolist()).toEqual([[1, 1], [0, 0], [1, 1]]);
    });
    table.dispose(); frozen.dispose(); padded.dispose();
  });

  it('BatchNorm with momentum null keeps the cumulative average', () => {
    const bn = new nn.BatchNorm1d(1, { momentum: null, affine: false });
    scoped(() => {
      bn(torch.tensor([[0], [2]]));
      bn(torch.tensor([[4], [6]]));
      expect(bn.runningMean!.tolist()).toEqual([3]);
      expect(bn.numBatchesTracked!.item()).toBe(2);
    });
    bn.dispose();
  });

  it('a training step with every piece: losses go down, nothing leaks', () => {
    torch.manualSeed(5);
    const model = new nn.Sequential(new nn.Linear(4, 16), new nn.LayerNorm(16), new nn.SiLU(), new nn.Dropout(0.1), new nn.Linear(16, 3));
    const lossFunction = new nn.CrossEntropyLoss({ labelSmoothing: 0.05 });
    const x = torch.randn(32, 4);
    const y = torch.tidy(() => x.select(1, 0).gt(0).int().add(x.select(1, 1).gt(0.5).int()));
    const before = torch.memory().tensors;
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      torch.tidy(() => {
        model.zeroGrad();
        const loss = lossFunction(model(x), y);
        loss.backward();
        losses.push(loss.item() as number);
        torch.noGrad(() => { for (const p of model.parameters()) p.sub_(p.grad!.mul(0.2)); });
      });
    }
    expect(losses[59]).toBeLessThan(losses[0] * 0.6);
    // The first step creates the gradients; after that nothing accumulates.
    expect(torch.memory().tensors).toBe(before + [...model.parameters()].length);
    torch.dispose(x, y);
    model.dispose();
  });
});
