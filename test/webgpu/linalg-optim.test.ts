// WebGPU matrix products and fused optimizer updates against the CPU: mm/bmm/matmul forward and backward, optimizer trajectories and state.
import { describe, expect, it } from 'vitest';
import trajectoriesFixture from '../fixtures/optim/trajectories.json';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { compareDevices, openWebgpu } from './support.js';

const available = await openWebgpu();

/** Seeded random float32 inputs of the given shapes, requiring grad. */
function inputs(...shapes: number[][]): () => Tensor[] {
  return () => {
    torch.manualSeed(3);
    return shapes.map((shape) => torch.randn(shape).requiresGrad_());
  };
}

describe.runIf(available)('webgpu matrix products', () => {
  it('mm: square, ragged edges past one tile, and a 1×1', async () => {
    for (const [m, k, n] of [[3, 4, 5], [70, 33, 65], [1, 1, 1], [16, 16, 16], [2, 100, 3]]) {
      await compareDevices(`mm ${m}x${k} @ ${k}x${n}`, inputs([m, k], [k, n]), ([a, b]) => a.mm(b), { grad: true });
    }
  });

  it('mm: transposed and sliced operands are read in place through their strides', async () => {
    await compareDevices('a.T @ b', inputs([7, 5], [7, 6]), ([a, b]) => a.t().mm(b), { grad: true });
    await compareDevices('a @ b.T', inputs([5, 7], [6, 7]), ([a, b]) => a.mm(b.t()), { grad: true });
    await compareDevices('a.T @ b.T', inputs([7, 5], [6, 7]), ([a, b]) => a.t().mm(b.t()), { grad: true });
    // Slices: a row range (an offset) and a column step (a column stride of 2).
    await compareDevices('sliced', inputs([9, 8], [8, 10]), ([a, b]) => a.slice(0, 2, 7).mm(b.slice(1, 0, 10, 2)), { grad: true });
    // One buffer as both operands (it is bound once).
    await compareDevices('x @ x.T', inputs([6, 4]), ([x]) => x.mm(x.t()), { grad: true });
  });

  it('k = 0 gives zeros; empty m or n gives an empty result', async () => {
    for (const [m, k, n] of [[3, 0, 4], [0, 3, 4], [3, 4, 0]]) {
      const a = torch.randn([m, k]).to('webgpu'), b = torch.randn([k, n]).to('webgpu');
      const out = a.mm(b);
      expect(out.shape).toEqual([m, n]);
      expect(Array.from(await out.data())).toEqual(new Array(m * n).fill(0));
      torch.dispose([a, b, out]);
    }
    // k = 0 over a pooled buffer that held other values: zeros are written, not assumed.
    const junk = torch.full([64], 7).to('webgpu');
    junk.dispose();
    const a = torch.zeros([2, 3, 0]).to('webgpu'), b = torch.zeros([2, 0, 4]).to('webgpu');
    const out = torch.bmm(a, b);
    expect(Array.from(await out.data())).toEqual(new Array(24).fill(0));
    torch.dispose([a, b, out]);
  });

  it('bmm: plain, transposed batches, and a permuted batch dim', async () => {
    await compareDevices('bmm', inputs([3, 4, 5], [3, 5, 6]), ([a, b]) => torch.bmm(a, b), { grad: true });
    await compareDevices('bmm transposed', inputs([3, 5, 4], [3, 6, 5]), ([a, b]) => torch.bmm(a.transpose(1, 2), b.transpose(1, 2)), { grad: true });
    await compareDevices('bmm batch last', inputs([4, 5, 3], [3, 5, 6]), ([a, b]) => torch.bmm(a.permute(2, 0, 1), b), { grad: true });
    await compareDevices('bmm empty batch', inputs([0, 4, 5], [0, 5, 6]), ([a, b]) => torch.bmm(a, b), { grad: true });
  });

  it('matmul: vector and matrix forms', async () => {
    await compareDevices('dot', inputs([7], [7]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('matrix @ vector', inputs([5, 7], [7]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('vector @ matrix', inputs([7], [7, 5]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('matrix @ matrix', inputs([5, 7], [7, 3]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('empty dot', inputs([0], [0]), ([a, b]) => a.matmul(b), { grad: true });
  });

  it('matmul: batched forms with vectors', async () => {
    await compareDevices('batch @ vector', inputs([2, 3, 5, 7], [7]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('vector @ batch', inputs([7], [2, 7, 4]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('batch @ batch', inputs([2, 3, 5, 7], [2, 3, 7, 4]), ([a, b]) => a.matmul(b), { grad: true });
  });

  it('matmul: broadcast batch dims (one dispatch walks the broadcast batch)', async () => {
    await compareDevices('batch @ matrix', inputs([2, 3, 5, 7], [7, 4]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('matrix @ batch', inputs([5, 7], [3, 7, 4]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('[2,1] @ [3]', inputs([2, 1, 5, 7], [3, 7, 4]), ([a, b]) => a.matmul(b), { grad: true });
    await compareDevices('[1,3] @ [2,1] transposed', inputs([1, 3, 7, 5], [2, 1, 4, 7]), ([a, b]) => a.transpose(-1, -2).matmul(b.transpose(-1, -2)), { grad: true });
    // Six batch dims that do not merge: more than the kernel walks, so outer dims loop in JS.
    await compareDevices('rank-8', inputs([2, 1, 2, 1, 2, 1, 3, 2], [1, 2, 1, 2, 1, 2, 2, 3]), ([a, b]) => a.matmul(b), { grad: true });
  });

  it('refuses mixed devices naming both', () => {
    const a = torch.randn([2, 2]), b = torch.randn([2, 2]).to('webgpu');
    expect(() => a.mm(b)).toThrow(/'cpu' and 'webgpu'/);
    expect(() => a.matmul(b.unsqueeze(0))).toThrow(/'cpu' and 'webgpu'/);
    torch.dispose([a, b]);
  });
});

// ---------------------------------------------------------------------------------------------- optimizers

const { optim } = torch;
const trajectories = trajectoriesFixture as any; // eslint-disable-line @typescript-eslint/no-explicit-any
type OptimizerName = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
type AnyOptimizer = torch.optim.Optimizer<{ lr: number }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const make = (name: OptimizerName, params: any, options: any): AnyOptimizer => new (optim[name] as any)(params, options);

/** The PyTorch fixture's problem (test/optim.test.ts) on `device`: parameters, and the tensors its gradient is made of. */
function problem(device: torch.Device): { params: Tensor[]; setGrads(): void; dispose(): void } {
  const { shapes, params, targets, curvature, cubic } = trajectories.problem;
  const build = (values: number[][]) => values.map((v, k) => {
    const host = torch.fromArray(new Float32Array(v), shapes[k]);
    const moved = host.to(device);
    if (moved !== host) host.dispose();
    return moved;
  });
  const result = { params: build(params).map((p) => p.requiresGrad_()), targets: build(targets), curvature: build(curvature), cubic: build(cubic) };
  return {
    params: result.params,
    // g = a * (p - t) + b * p * p, in the same float32 operations on either device.
    setGrads: () => torch.noGrad(() => result.params.forEach((p, k) => {
      p.grad?.dispose();
      p.grad = torch.tidy(() => result.curvature[k].mul(p.sub(result.targets[k])).add(result.cubic[k].mul(p).mul(p)));
    })),
    dispose: () => torch.dispose(result),
  };
}

/** Largest |got - want| relative to the largest |want|. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0, error = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) error = Math.max(error, Math.abs(got[i] - want[i]));
  return scale === 0 ? error : error / scale;
}

function groupsOf(c: { groups?: { params: number[]; options: object }[] }, params: Tensor[]): unknown {
  return c.groups ? c.groups.map((g) => ({ params: g.params.map((i) => params[i]), ...g.options })) : params;
}

function schedulerOf(c: { scheduler?: { name: string } }, optimizer: AnyOptimizer): torch.optim.lrScheduler.LRScheduler | undefined {
  if (!c.scheduler) return undefined;
  const { name, ...options } = c.scheduler;
  return name === 'StepLR' ? new optim.lrScheduler.StepLR(optimizer, options) : new optim.lrScheduler.CosineAnnealingLR(optimizer, options);
}

describe.runIf(available)('webgpu optimizers: 20-step trajectories against the CPU and PyTorch 1.13', () => {
  for (const c of trajectories.cases) {
    it(`${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ' with groups' : ''}${c.scheduler ? ` + ${c.scheduler.name}` : ''}`, async () => {
      // Earlier tests' graphs are freed by the GC: not counted against this one (only Node runs it synchronously).
      const synchronousGc = torch.backend.collectGarbage();
      const before = torch.memory().tensors;
      const cpu = problem('cpu'), gpu = problem('webgpu');
      const cpuOptimizer = make(c.optimizer, groupsOf(c, cpu.params), c.options);
      const gpuOptimizer = make(c.optimizer, groupsOf(c, gpu.params), c.options);
      const schedulers = [schedulerOf(c, cpuOptimizer), schedulerOf(c, gpuOptimizer)];
      for (let step = 0; step < trajectories.steps; step++) {
        cpu.setGrads();
        gpu.setGrads();
        cpuOptimizer.step();
        gpuOptimizer.step();
        schedulers.forEach((scheduler) => scheduler?.step());
        for (let k = 0; k < gpu.params.length; k++) {
          expect(gpu.params[k].device).toBe('webgpu');
          const got = await gpu.params[k].data();
          expect(relativeError(got, cpu.params[k].toArray()), `step ${step + 1}, parameter ${k} vs CPU`).toBeLessThanOrEqual(1e-5);
          expect(relativeError(got, c.trajectory[step][k]), `step ${step + 1}, parameter ${k} vs PyTorch`).toBeLessThanOrEqual(1e-5);
        }
      }
      // The state: on the parameter's device, equal to the CPU optimizer's.
      const cpuState = cpuOptimizer.stateDict(), gpuState = gpuOptimizer.stateDict();
      expect(Object.keys(gpuState.state)).toEqual(Object.keys(cpuState.state));
      for (const [index, entry] of Object.entries(cpuState.state)) {
        const mine = gpuState.state[Number(index)];
        expect(Object.keys(mine).sort()).toEqual(Object.keys(entry).sort());
        for (const [key, value] of Object.entries(entry)) {
          if (key === 'step') {
            expect(mine.step instanceof torch.Tensor ? (mine.step as Tensor).item() : mine.step).toEqual(value instanceof torch.Tensor ? value.item() : value);
          } else if (value instanceof torch.Tensor) {
            expect((mine[key] as Tensor).device, `state ${index}.${key}`).toBe('webgpu');
            expect(relativeError(await (mine[key] as Tensor).data(), value.toArray()), `state ${index}.${key}`).toBeLessThanOrEqual(1e-5);
          } else {
            expect(mine[key]).toEqual(value);
          }
        }
      }
      torch.dispose(cpuState, gpuState);
      cpuOptimizer.dispose();
      gpuOptimizer.dispose();
      cpu.dispose();
      gpu.dispose();
      if (synchronousGc) expect(torch.memory().tensors).toBe(before);
    });
  }
});

const everyOption: [OptimizerName, object][] = [
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ['SGD', { lr: 0.1, momentum: 0.9, dampening: 0.2, maximize: true }],
  ['Adam', { amsgrad: true, weightDecay: 0.1 }],
  ['AdamW', { amsgrad: true }],
  ['RMSprop', { momentum: 0.9, centered: true, weightDecay: 0.1 }],
  ['Adagrad', { lrDecay: 0.1, weightDecay: 0.1, initialAccumulatorValue: 0.5 }],
];

describe.runIf(available)('webgpu optimizers: state, memory, zeroGrad, stateDict', () => {
  for (const [name, options] of everyOption) {
    it(`${name} ${JSON.stringify(options)}: state on the GPU, allocated once; a step creates no tensors`, async () => {
      // Earlier tests' graphs are freed by the GC: not counted against this one (only Node runs it synchronously).
      const synchronousGc = torch.backend.collectGarbage();
      const before = torch.memory();
      const gpu = problem('webgpu');
      gpu.setGrads();
      const optimizer = make(name, gpu.params, options);
      optimizer.step();
      for (const state of optimizer.state.values()) {
        for (const value of Object.values(state)) if (value instanceof torch.Tensor) expect(value.device).toBe('webgpu');
      }
      const afterOne = torch.memory();
      for (let step = 2; step <= 20; step++) {
        const count = torch.memory();
        optimizer.step();
        expect(torch.memory(), `step ${step}`).toEqual(count);
      }
      expect(torch.memory()).toEqual(afterOne);
      await torch.webgpu.synchronize();
      optimizer.dispose();
      gpu.dispose();
      if (synchronousGc) expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages });
    });
  }

  it('parameters at an offset in their buffer, and empty ones, update like their CPU twins', async () => {
    for (const [name, options] of everyOption) {
      // A contiguous leaf viewing elements 3..8 of a larger buffer (offset 3), and a leaf with no elements.
      const parts = (device: torch.Device) => {
        torch.manualSeed(5);
        const base = torch.randn([12]), grad = torch.randn([12]);
        const [onDevice, gradOnDevice] = [base.to(device), grad.to(device)];
        const param = onDevice.slice(0, 3, 9).detach().requiresGrad_();
        param.grad = gradOnDevice.slice(0, 2, 8);
        const empty = torch.zeros([0, 4]).to(device).requiresGrad_();
        empty.grad = torch.zeros([0, 4]).to(device);
        return { tensors: [base, grad, onDevice, gradOnDevice], param, empty };
      };
      const cpu = parts('cpu'), gpu = parts('webgpu');
      const cpuOptimizer = make(name, [cpu.param, cpu.empty], options), gpuOptimizer = make(name, [gpu.param, gpu.empty], options);
      for (let step = 0; step < 3; step++) { cpuOptimizer.step(); gpuOptimizer.step(); }
      expect(relativeError(await gpu.param.data(), cpu.param.toArray()), name).toBeLessThanOrEqual(1e-5);
      // The elements around the view are untouched.
      expect(Array.from(await gpu.tensors[2].data()).slice(0, 3), name).toEqual(Array.from(cpu.tensors[0].toArray()).slice(0, 3));
      expect(Array.from(await gpu.tensors[2].data()).slice(9), name).toEqual(Array.from(cpu.tensors[0].toArray()).slice(9));
      expect(gpu.empty.shape).toEqual([0, 4]);
      cpuOptimizer.dispose();
      gpuOptimizer.dispose();
      for (const side of [cpu, gpu]) torch.dispose(side.tensors, [side.param, side.empty]);
    }
  });

  it('state a group no longer uses (momentum set to 0 after steps with it) is left unbound', async () => {
    const cpu = problem('cpu'), gpu = problem('webgpu');
    const optimizers = [new optim.SGD(cpu.params, { lr: 0.1, momentum: 0.9 }), new optim.SGD(gpu.params, { lr: 0.1, momentum: 0.9 })];
    for (let step = 0; step < 4; step++) {
      if (step === 2) for (const optimizer of optimizers) optimizer.paramGroups[0].momentum = 0;
      cpu.setGrads(); gpu.setGrads();
      for (const optimizer of optimizers) optimizer.step();
    }
    for (let k = 0; k < gpu.params.length; k++) {
      expect(relativeError(await gpu.params[k].data(), cpu.params[k].toArray()), `parameter ${k}`).toBeLessThanOrEqual(1e-5);
    }
    for (const optimizer of optimizers) optimizer.dispose();
    cpu.dispose();
    gpu.dispose();
  });

  it('loadStateDict of a CPU optimizer\'s state into a GPU optimizer uploads it; both go on alike', async () => {
    for (const [name, options] of everyOption) {
      const cpu = problem('cpu'), gpu = problem('webgpu');
      const cpuOptimizer = make(name, cpu.params, options), gpuOptimizer = make(name, gpu.params, options);
      for (let step = 0; step < 5; step++) { cpu.setGrads(); cpuOptimizer.step(); }
      // The GPU parameters take the CPU ones' values, the GPU optimizer the CPU state.
      torch.noGrad(() => gpu.params.forEach((p, k) => p.copy_(cpu.params[k])));
      const saved = cpuOptimizer.stateDict();
      gpuOptimizer.loadStateDict(saved);
      torch.dispose(saved);
      for (const state of gpuOptimizer.state.values()) {
        for (const value of Object.values(state)) if (value instanceof torch.Tensor) expect(value.device, name).toBe('webgpu');
      }
      for (let step = 0; step < 5; step++) {
        cpu.setGrads(); gpu.setGrads();
        cpuOptimizer.step(); gpuOptimizer.step();
      }
      for (let k = 0; k < gpu.params.length; k++) {
        expect(relativeError(await gpu.params[k].data(), cpu.params[k].toArray()), `${name} parameter ${k}`).toBeLessThanOrEqual(1e-5);
      }
      // GPU state into a GPU optimizer is copied on the GPU; into a CPU optimizer it is refused (reads are asynchronous).
      const gpuSaved = gpuOptimizer.stateDict();
      const other = make(name, gpu.params, options);
      other.loadStateDict(gpuSaved);
      expect(() => cpuOptimizer.loadStateDict(gpuSaved), name).toThrow(/on 'webgpu'.*toAsync\('cpu'\)/);
      torch.dispose(gpuSaved);
      for (const optimizer of [cpuOptimizer, gpuOptimizer, other]) optimizer.dispose();
      cpu.dispose();
      gpu.dispose();
    }
  });

  it('zeroGrad on GPU parameters: dropped, or zeros on the GPU', async () => {
    const gpu = problem('webgpu');
    const optimizer = new optim.SGD(gpu.params, { lr: 0.1 });
    gpu.setGrads();
    optimizer.zeroGrad({ setToNone: false });
    for (const p of gpu.params) {
      expect(p.grad!.device).toBe('webgpu');
      expect(Array.from(await p.grad!.data()).every((v) => v === 0)).toBe(true);
    }
    // A grad that requires grad is replaced by new zeros on the parameter's device.
    gpu.params[0].grad = torch.noGrad(() => gpu.params[0].detach().mul(2)).requiresGrad_();
    optimizer.zeroGrad({ setToNone: false });
    expect(gpu.params[0].grad!.device).toBe('webgpu');
    expect(Array.from(await gpu.params[0].grad!.data()).every((v) => v === 0)).toBe(true);
    optimizer.zeroGrad();
    for (const p of gpu.params) expect(p.grad).toBeNull();
    optimizer.dispose();
    gpu.dispose();
  });

  it('a grad on another device than its parameter is refused before anything changes', async () => {
    const p = torch.ones([3]).to('webgpu').requiresGrad_();
    p.grad = torch.ones([3]);
    const optimizer = new optim.Adam([p]);
    expect(() => optimizer.step()).toThrow(/'webgpu' has a grad on 'cpu'/);
    expect(optimizer.state.size).toBe(0);
    expect(Array.from(await p.data())).toEqual([1, 1, 1]);
    optimizer.dispose();
    torch.dispose(p);
  });
});
