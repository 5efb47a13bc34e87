// Review of the WebGPU device: aliasing, buffer reuse, dtypes, large and high-rank shapes, autograd and memory, each against the CPU.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { compareDevices, expectClose, openWebgpu } from './support.js';

const available = await openWebgpu();

/** Runs `op` on a CPU tensor and its GPU copy (both mutated in place) and compares the results. */
async function sameInPlace(where: string, make: () => Tensor, op: (x: Tensor) => Tensor | void): Promise<void> {
  const cpu = make(), gpu = cpu.to('webgpu');
  const cpuResult = op(cpu) ?? cpu, gpuResult = op(gpu) ?? gpu;
  await expectClose(gpu, cpu, `${where} (self)`, { atol: 0, rtol: 0 });
  if (cpuResult !== cpu) await expectClose(gpuResult as Tensor, cpuResult as Tensor, `${where} (result)`, { atol: 0, rtol: 0 });
  torch.dispose(cpu, gpu);
}

describe.runIf(available)('webgpu review', () => {
  it('in-place ops whose operand is another view of self', async () => {
    const make = () => torch.arange(24).float().reshape(6, 4);
    await sameInPlace('narrow add_', make, (x) => { x.narrow(0, 1, 3).add_(x.narrow(0, 0, 3)); });
    await sameInPlace('t add_', () => torch.arange(16).float().reshape(4, 4), (x) => { x.add_(x.t()); });
    await sameInPlace('copy_ shifted', make, (x) => { x.narrow(0, 1, 5).copy_(x.narrow(0, 0, 5)); });
    await sameInPlace('copy_ transposed', () => torch.arange(16).float().reshape(4, 4), (x) => { x.copy_(x.t()); });
    await sameInPlace('mul_ expanded', make, (x) => { x.narrow(0, 1, 5).mul_(x.narrow(0, 0, 1)); });
  });

  it('reads of views, bool and int32', async () => {
    const b = torch.tensor([[true, false, true], [false, true, true]]);
    const i = torch.arange(-6, 6, { dtype: 'int32' }).reshape(3, 4);
    const gb = b.to('webgpu'), gi = i.to('webgpu');
    expect(await gb.t().tolistAsync()).toEqual(b.t().tolist());
    expect(await gi.t().narrow(0, 1, 2).tolistAsync()).toEqual(i.t().narrow(0, 1, 2).tolist());
    expect(await gi.select(1, 2).itemAsync().catch((e) => String(e))).toMatch(/cannot be converted|elements/);
    expect(await gi.t().select(0, 2).select(0, 1).itemAsync()).toBe(i.t().select(0, 2).select(0, 1).item());
    expect(await gb.select(0, 1).select(0, 0).itemAsync()).toBe(false);
    const expanded = gi.narrow(0, 1, 1).expand(3, 4);
    expect(await expanded.tolistAsync()).toEqual(i.narrow(0, 1, 1).expand(3, 4).tolist());
    const back = await gb.t().toAsync('cpu');
    expect(back.tolist()).toEqual(b.t().tolist());
    expect(Array.from(await gb.t().data())).toEqual(Array.from(b.t().toArray()));
    torch.dispose(gb, gi, back);
  });

  it('more than 8 non-mergeable dims', async () => {
    const shape = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    const make = () => [torch.arange(1024).float().reshape(...shape)];
    const perm = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    await compareDevices('permute exp', make, ([x]) => x.permute(...perm).mul(2));
    await compareDevices('permute sum', make, ([x]) => x.permute(...perm).contiguous());
    await compareDevices('permute reduce', make, ([x]) => x.permute(...perm).sum(0));
    await compareDevices('permute grad', () => [torch.arange(1024).float().reshape(...shape).requiresGrad_()],
      ([x]) => x.permute(...perm).mul(x.permute(...perm)), { grad: true });
    const index = () => torch.tensor([1, 0, 1], { dtype: 'int32' });
    await compareDevices('permute indexSelect', () => [...make(), index()], ([x, i]) => x.permute(...perm).indexSelect(3, i));
    const gatherIndex = () => torch.arange(1024, { dtype: 'int32' }).remainder(2).reshape(...shape);
    await compareDevices('permute gather', () => [...make(), gatherIndex()], ([x, i]) => x.permute(...perm).gather(4, i.permute(...perm)));
    await compareDevices('permute scatterAdd', () => [...make(), gatherIndex(), torch.randn(...shape)],
      ([x, i, s]) => x.permute(...perm).scatterAdd(4, i.permute(...perm), s.permute(...perm)));
    // Reading a high-rank view back goes through a contiguous copy.
    const cpu = make()[0], gpu = cpu.to('webgpu');
    expect(Array.from(await gpu.permute(...perm).data())).toEqual(Array.from(cpu.permute(...perm).toArray()));
    torch.dispose(cpu, gpu);
  });

  it('a large elementwise op past 65535 workgroups', async () => {
    const n = 65535 * 64 + 130;
    const cpu = torch.arange(n).float();
    const gpu = cpu.to('webgpu');
    const out = gpu.mul(2).narrow(0, n - 200, 200);
    await expectClose(out, cpu.mul(2).narrow(0, n - 200, 200), 'large');
    const total = await gpu.sum().itemAsync();
    expect(total).toBeCloseTo(cpu.sum().item() as number, -6);
    torch.dispose(cpu, gpu, out);
  });

  it('reductions around the thresholds', async () => {
    for (const n of [255, 256, 257, 4095, 4096, 4097, 16383, 16384, 16385, 20000]) {
      const make = () => [torch.randn(n).requiresGrad_()];
      await compareDevices(`sum ${n}`, make, ([x]) => x.sum(), { grad: true, atol: 1e-3 });
      await compareDevices(`max ${n}`, make, ([x]) => x.max(), { grad: true });
      await compareDevices(`argmin ${n}`, make, ([x]) => x.argmin());
      await compareDevices(`mean strided ${n}`, () => [torch.randn(2 * n)], ([x]) => x.reshape(n, 2).t().mean(1), { atol: 1e-5 });
      await compareDevices(`max dim strided ${n}`, () => [torch.randn(2 * n)], ([x]) => { const r = x.reshape(n, 2).narrow(1, 1, 1).max(0); return [r.values, r.indices]; });
    }
  });
});

describe.runIf(available)('webgpu review: autograd', () => {
  /** Runs `steps` on CPU leaves and on their GPU copies; then compares every leaf's grad. */
  async function sameGrads(where: string, make: () => Tensor[], steps: (leaves: Tensor[]) => void): Promise<void> {
    const cpu = make(), gpu = cpu.map((t) => t.to('webgpu'));
    steps(cpu);
    steps(gpu);
    for (let i = 0; i < cpu.length; i++) {
      if (cpu[i].grad === null) { expect(gpu[i].grad, `${where} grad ${i}`).toBeNull(); continue; }
      await expectClose(gpu[i].grad!, cpu[i].grad!, `${where} grad ${i}`, { atol: 1e-4, rtol: 1e-4 });
    }
  }
  const leaves = () => { torch.manualSeed(1); return [torch.randn(5, 4).requiresGrad_(), torch.randn(4, 3).requiresGrad_(), torch.randn(4).requiresGrad_()]; };

  it('accumulates grads over two backwards, with retainGraph', async () => {
    await sameGrads('two backwards', leaves, ([a, b, c]) => {
      a.matmul(b).sum().backward();
      a.mul(c).tanh().sum().backward();
    });
    await sameGrads('retainGraph', leaves, ([a, b, c]) => {
      const y = a.add(c).matmul(b).square().mean();
      y.backward(undefined, { retainGraph: true });
      y.backward();
    });
    await sameGrads('expanded grad', leaves, ([a, , c]) => {
      a.add(c).sum().backward();
      a.add(c).max().backward();
    });
  });

  it('double backward (createGraph) of elementwise, matmul and reductions', async () => {
    await sameGrads('grad of grad', leaves, ([a, b, c]) => {
      const y = a.matmul(b).tanh().sum(1).mul(a.sum(1)).sum().add(a.mul(c).exp().mean());
      const [ga, gb] = torch.autograd.grad([y], [a, b], { createGraph: true });
      ga.square().sum().add(gb.abs().sum()).backward();
    });
    await sameGrads('createGraph backward', leaves, ([a, , c]) => {
      a.mul(c).sigmoid().sum().backward(undefined, { createGraph: true });
      a.grad!.mul(c).sum().backward();
    });
    await sameGrads('softmax max', leaves, ([a]) => {
      const [g] = torch.autograd.grad([a.softmax(1).max(1).values.sum()], [a], { createGraph: true });
      g.pow(2).sum().backward();
    });
  });

  it('hooks and a custom Function', async () => {
    class Cube extends torch.autograd.Function {
      static override forward(ctx: torch.autograd.Ctx, x: Tensor): Tensor { ctx.saveForBackward(x); return x.pow(3); }
      static override backward(ctx: torch.autograd.Ctx, g: Tensor): Tensor { const [x] = ctx.savedTensors; return g.mul(x.square()).mul(3); }
    }
    await sameGrads('function and hook', leaves, ([a, b, c]) => {
      const h = a.matmul(b);
      h.registerHook((g) => g.mul(2));
      c.registerHook((g) => g.add(1));
      Cube.apply<Tensor>(h).sum().add(a.mul(c).sum()).backward();
    });
  });
});

describe.runIf(available)('webgpu review: products, convolution, pooling, optimizers, modules', () => {
  it('matmul forms over views, one buffer for both operands, high-rank broadcast batches', async () => {
    const grad = { grad: true, atol: 1e-4, rtol: 1e-4 };
    await compareDevices('x @ x.t() narrow', () => [torch.randn(7, 5).requiresGrad_()], ([x]) => x.narrow(0, 1, 5).matmul(x.narrow(0, 2, 5).t()), grad);
    await compareDevices('vector forms', () => [torch.randn(5).requiresGrad_(), torch.randn(5, 3).requiresGrad_()],
      ([v, m]) => [v.matmul(m), m.t().matmul(v), v.matmul(v)], grad);
    await compareDevices('6-d broadcast batch', () => [torch.randn(2, 1, 2, 3, 1, 2, 4, 5).requiresGrad_(), torch.randn(2, 1, 3, 2, 2, 5, 3).requiresGrad_()],
      ([a, b]) => a.matmul(b), grad);
    await compareDevices('expanded batch', () => [torch.randn(1, 4, 5).requiresGrad_(), torch.randn(3, 5, 2).requiresGrad_()],
      ([a, b]) => a.expand(3, 4, 5).matmul(b), grad);
    await compareDevices('k = 0', () => [torch.randn(3, 0), torch.randn(0, 4)], ([a, b]) => a.matmul(b));
  });

  it('convolution and pooling of views and of a tensor with itself', async () => {
    const grad = { grad: true, atol: 1e-4, rtol: 1e-4 };
    await compareDevices('conv of a transposed view', () => [torch.randn(2, 3, 7, 6).requiresGrad_(), torch.randn(4, 3, 3, 3).requiresGrad_()],
      ([x, w]) => torch.conv2d(x.transpose(2, 3).narrow(2, 1, 5), w.narrow(0, 1, 3), null, { padding: 1, stride: 2 }), grad);
    await compareDevices('conv1d expanded weight', () => [torch.randn(2, 3, 9).requiresGrad_(), torch.randn(1, 3, 2).requiresGrad_()],
      ([x, w]) => torch.conv1d(x, w.expand(4, 3, 2), null, { dilation: 2 }), grad);
    await compareDevices('maxPool of a view', () => [torch.randn(2, 3, 8, 9).requiresGrad_()],
      ([x]) => torch.maxPool2d(x.transpose(2, 3).narrow(1, 1, 2), 2, { stride: 2 }), grad);
    await compareDevices('avgPool of a view', () => [torch.randn(2, 3, 8, 9).requiresGrad_()],
      ([x]) => torch.avgPool2d(x.narrow(3, 1, 7).permute(0, 1, 3, 2), 3, { stride: 2, padding: 1 }), grad);
    await compareDevices('adaptive of a view', () => [torch.randn(2, 3, 8, 9).requiresGrad_()],
      ([x]) => torch.adaptiveAvgPool2d(x.narrow(2, 1, 7), [3, 4]), grad);
  });

  it('optimizers update parameters that are views of one buffer like their CPU twins', async () => {
    for (const make of [
      (params: Tensor[]) => new torch.optim.SGD(params, { lr: 0.1, momentum: 0.9 }),
      (params: Tensor[]) => new torch.optim.Adam(params, { lr: 0.01 }),
    ]) {
      const run = (device: 'cpu' | 'webgpu') => {
        torch.manualSeed(4);
        const base = torch.randn(3, 8).to(device);
        const w = base.narrow(0, 1, 2).detach().requiresGrad_();
        const v = base.narrow(0, 0, 1).detach().requiresGrad_();
        const optimizer = make([w, v]);
        for (let step = 0; step < 3; step++) {
          optimizer.zeroGrad();
          w.mul(v).tanh().sum().backward();
          optimizer.step();
        }
        return base;
      };
      await expectClose(run('webgpu'), run('cpu'), 'views of one buffer', { atol: 1e-6, rtol: 1e-5 });
    }
  });

  it('Module.to and toAsync keep shared parameters shared and move buffers and grads', async () => {
    torch.manualSeed(5);
    const model = new torch.nn.Sequential(new torch.nn.Linear(4, 4), new torch.nn.BatchNorm1d(4), new torch.nn.Linear(4, 4));
    const layers = [...model.children()] as torch.nn.Linear[];
    layers[2].weight = layers[0].weight;
    const input = torch.randn(6, 4);
    model(input).sum().backward();
    const cpuGrad = layers[0].weight.grad!.clone();
    model.to('webgpu');
    expect(layers[2].weight).toBe(layers[0].weight);
    expect(layers[0].weight.device).toBe('webgpu');
    expect(layers[0].weight.grad!.device).toBe('webgpu');
    const bn = layers[1] as unknown as torch.nn.BatchNorm1d;
    expect(bn.runningMean!.device).toBe('webgpu');
    await expectClose(layers[0].weight.grad!, cpuGrad, 'moved grad', { atol: 0, rtol: 0 });
    model(input.to('webgpu')).sum().backward();
    await model.toAsync('cpu');
    expect(layers[2].weight).toBe(layers[0].weight);
    expect(layers[0].weight.device).toBe('cpu');
    expect(bn.runningMean!.device).toBe('cpu');
    expect(layers[0].weight.grad!.device).toBe('cpu');
  });
});

describe.runIf(available)('webgpu review: indexing and nn functions', () => {
  const F = torch.nn.functional;
  const grad = { grad: true, atol: 1e-4, rtol: 1e-4 };

  it('scatter with duplicates, on views, of int32 and bool, scalar sources', async () => {
    const index = () => torch.tensor([[2, 0, 2, 1], [0, 0, 3, 3], [1, 2, 1, 2]], { dtype: 'int32' });
    await compareDevices('scatter dup', () => [torch.randn(4, 5).requiresGrad_(), index(), torch.randn(3, 6).requiresGrad_()],
      ([x, i, s]) => x.scatter(0, i.narrow(0, 0, 2).t().narrow(0, 0, 2).t().contiguous(), s.narrow(1, 1, 5)), grad);
    await compareDevices('scatterAdd transposed self', () => [torch.randn(5, 4).requiresGrad_(), index(), torch.randn(3, 4).requiresGrad_()],
      ([x, i, s]) => x.t().scatterAdd(1, i, s), grad);
    await compareDevices('scatter int32 scalar', () => [torch.arange(20, { dtype: 'int32' }).reshape(4, 5), index()],
      ([x, i]) => x.scatter(1, i, -7), { atol: 0, rtol: 0 });
    await compareDevices('scatter bool', () => [torch.zeros(4, 5).bool(), index(), torch.ones(3, 4).bool()],
      ([x, i, s]) => x.scatter(1, i, s), { atol: 0, rtol: 0 });
    await compareDevices('scatter_ source is self', () => [torch.arange(20).float().reshape(4, 5), index()],
      ([x, i]) => { const y = x.clone(); y.scatter_(1, i.narrow(0, 0, 2).remainder(4), y.narrow(0, 2, 2)); return y; });
    await compareDevices('gather of a view', () => [torch.randn(6, 5).requiresGrad_(), index()],
      ([x, i]) => x.t().gather(0, i), grad);
    await compareDevices('indexSelect and embedding', () => [torch.randn(6, 3).requiresGrad_(), torch.tensor([5, 0, 5, 2], { dtype: 'int32' })],
      ([w, i]) => [w.indexSelect(0, i), F.embedding(i.reshape(2, 2), w, { paddingIdx: 5 })], grad);
  });

  it('scatter and scatterAdd of a source larger than the index: its grad is zero beyond the index on both devices', async () => {
    for (const device of ['cpu', 'webgpu'] as const) {
      for (const accumulate of [false, true]) {
        const x = torch.zeros(4, 5).to(device).requiresGrad_();
        const source = torch.arange(18).float().reshape(3, 6).to(device).requiresGrad_();
        const index = torch.tensor([[2, 0], [0, 0]], { dtype: 'int32' }).to(device);
        const y = accumulate ? x.scatterAdd(0, index, source.narrow(1, 1, 5)) : x.scatter(0, index, source.narrow(1, 1, 5));
        y.backward(torch.arange(20).float().reshape(4, 5).to(device));
        // Before: the [2, 2] gathered grad was read through [3, 5] strides, past its end (garbage, or another tensor's values on the GPU).
        expect(await source.grad!.tolistAsync(), `${device} accumulate ${accumulate}`).toEqual([[0, 10, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]);
      }
    }
  });

  it('maskedFill, maskedFill_ and fill_ take a 0-d GPU tensor value without reading it back', async () => {
    // Before: the value was read with item(), which throws for a GPU tensor.
    await compareDevices('maskedFill tensor value', () => [torch.randn(3, 4).requiresGrad_(), torch.tensor(2.5).requiresGrad_()],
      ([x, v]) => x.maskedFill(x.gt(0), v), { grad: true });
    await compareDevices('maskedFill int32 from float value', () => [torch.arange(12, { dtype: 'int32' }).reshape(3, 4), torch.tensor(-2.7)],
      ([x, v]) => x.maskedFill(x.remainder(3).eq(0), v), { atol: 0, rtol: 0 });
    await compareDevices('maskedFill_ and fill_ from a view of self', () => [torch.arange(12).float().reshape(3, 4)], ([x]) => {
      const a = x.clone(), b = x.clone();
      a.maskedFill_(a.gt(5), a.select(0, 0).select(0, 3));
      b.fill_(b.select(0, 2).select(0, 1));
      return [a, b];
    }, { atol: 0, rtol: 0 });
  });

  it('losses and normalizations', async () => {
    const logits = () => [torch.randn(6, 4).requiresGrad_(), torch.tensor([0, 3, -100, 1, 2, 3], { dtype: 'int32' })];
    await compareDevices('crossEntropy ignore', logits, ([x, t]) => F.crossEntropy(x, t), grad);
    await compareDevices('crossEntropy smoothing sum', logits, ([x, t]) => F.crossEntropy(x, t, { labelSmoothing: 0.1, reduction: 'sum' }), grad);
    await compareDevices('nll none weight', () => [...logits(), torch.rand(4)], ([x, t, w]) => F.nllLoss(x.logSoftmax(1), t, { weight: w, reduction: 'none' }), grad);
    await compareDevices('layerNorm', () => [torch.randn(3, 4, 5).requiresGrad_(), torch.randn(4, 5).requiresGrad_()],
      ([x, w]) => F.layerNorm(x.transpose(0, 1).transpose(0, 1), [4, 5], { weight: w }), grad);
    await compareDevices('groupNorm', () => [torch.randn(2, 6, 3).requiresGrad_()], ([x]) => F.groupNorm(x, 3), grad);
    await compareDevices('batchNorm training', () => [torch.randn(5, 3, 2).requiresGrad_(), torch.zeros(3), torch.ones(3)],
      ([x, m, v]) => [F.batchNorm(x, m, v, { training: true }), m.clone(), v.clone()], grad);
    await compareDevices('bce with logits', () => [torch.randn(4, 3).requiresGrad_(), torch.rand(4, 3)],
      ([x, t]) => F.binaryCrossEntropyWithLogits(x, t), grad);
  });
});
