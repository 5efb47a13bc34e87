// WebGPU reductions, softmax, indexing and random ops against the CPU: forward and backward, views, NaN, empty dims, memory.
import { beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { compareDevices, expectClose, openWebgpu } from './support.js';

let available = false;
beforeAll(async () => { available = await openWebgpu(); });

/** A float input that requires grad, from a fixed seed. */
function floatInput(shape: number[], seed = 1): Tensor {
  torch.manualSeed(seed);
  return torch.randn(shape).requiresGrad_(true);
}

/** Values with repeats (ties), so first-index rules of max/min/argmax are exercised. */
function tiedInput(shape: number[]): Tensor {
  torch.manualSeed(3);
  return torch.randint(-3, 3, shape).float().requiresGrad_(true);
}

const grad = { grad: true, atol: 1e-4, rtol: 1e-4 };

/** Runs a training-like step (in a tidy scope) once to warm up, then five more: live tensors must not grow. */
async function expectNoGrowth(step: () => void, readBack: () => Tensor): Promise<void> {
  torch.tidy(step);
  const before = torch.memory().tensors;
  for (let i = 0; i < 5; i++) torch.tidy(step);
  await readBack().data();
  // At most as many: a browser's GC may free earlier tests' dropped handles meanwhile (only Node's runs on demand).
  expect(torch.memory().tensors).toBeLessThanOrEqual(before);
}

describe('webgpu reductions', () => {
  it('sum, mean and prod over all dims, one dim, several dims, keepdim and negative dims', async () => {
    if (!available) return;
    const variants: [string, (x: Tensor) => Tensor][] = [
      ['sum()', (x) => x.sum()], ['sum(1)', (x) => x.sum(1)], ['sum(-1, true)', (x) => x.sum(-1, true)],
      ['sum([0, 2])', (x) => x.sum([0, 2])], ['sum([-3, -1], true)', (x) => x.sum([-3, -1], true)],
      ['mean()', (x) => x.mean()], ['mean(0)', (x) => x.mean(0)], ['mean([1, 2], true)', (x) => x.mean([1, 2], true)],
      ['prod()', (x) => x.mul(0.5).prod()], ['prod(1)', (x) => x.prod(1)], ['prod(-1, true)', (x) => x.prod(-1, true)],
    ];
    for (const [name, op] of variants) await compareDevices(name, () => [floatInput([3, 5, 7])], ([x]) => op(x), grad);
  });

  it('reductions of strided inputs: transposed, sliced, expanded', async () => {
    if (!available) return;
    const views: [string, (x: Tensor) => Tensor][] = [
      ['transposed', (x) => x.transpose(0, 2)], ['sliced', (x) => x.slice(1, 1, 5, 2)], ['narrowed', (x) => x.narrow(2, 2, 4)],
      ['expanded', (x) => x.narrow(0, 0, 1).expand([4, 5, 7])],
    ];
    for (const [name, view] of views) {
      await compareDevices(`${name} sum(1)`, () => [floatInput([3, 5, 7])], ([x]) => view(x).sum(1), grad);
      await compareDevices(`${name} mean([0, 2])`, () => [floatInput([3, 5, 7])], ([x]) => view(x).mean([0, 2]), grad);
      await compareDevices(`${name} max(-1)`, () => [floatInput([3, 5, 7])], ([x]) => view(x).max(-1).values, grad);
      await compareDevices(`${name} softmax(1)`, () => [floatInput([3, 5, 7])], ([x]) => view(x).softmax(1), grad);
    }
  });

  it('long reductions take the workgroup path: a full sum of 5000 elements and a row of 3000', async () => {
    if (!available) return;
    await compareDevices('sum() of 5000', () => [floatInput([50, 100])], ([x]) => x.sum(), { grad: true, atol: 1e-3, rtol: 1e-4 });
    await compareDevices('mean(1) of [2, 3000]', () => [floatInput([2, 3000])], ([x]) => x.mean(1), grad);
    await compareDevices('max() of 5000', () => [floatInput([50, 100])], ([x]) => x.max(), grad);
    await compareDevices('argmin of [2, 3000]', () => [floatInput([2, 3000])], ([x]) => x.argmin(1));
    await compareDevices('max(0) of [600, 3] transposed', () => [floatInput([3, 600])], ([x]) => x.t().max(0).values, grad);
    await compareDevices('logSoftmax over 1000', () => [floatInput([3, 1000])], ([x]) => x.logSoftmax(1), grad);
    await compareDevices('softmax over 1000 on dim 0', () => [floatInput([1000, 3])], ([x]) => x.softmax(0), grad);
  });

  it('reductions of 16384 or more over few outputs are split into chunks and combined (two passes)', async () => {
    if (!available) return;
    const long = grad;
    await compareDevices('sum() of 20000', () => [floatInput([100, 200])], ([x]) => x.sum(), { grad: true, atol: 2e-3, rtol: 1e-4 });
    await compareDevices('mean(1) of [3, 20000]', () => [floatInput([3, 20000])], ([x]) => x.mean(1), long);
    await compareDevices('max(1) of [2, 20000] transposed', () => [floatInput([20000, 2])], ([x]) => { const r = x.t().max(1); return [r.values, r.indices]; }, long);
    await compareDevices('argmin() of 20000 ties', () => [tiedInput([20000])], ([x]) => [x.argmin(), x.argmax(), x.min()]);
    await compareDevices('int32 sum and max of 20000', () => [indexInput([20000], 1000)], ([x]) => [x.sum(), x.max(), x.argmax()]);
    await compareDevices('prod of 20000 near 1', () => [torch.rand([20000]).mul(0.0001).add(0.99995)], ([x]) => x.prod(), { rtol: 1e-3 });
    const lateNan = () => { const x = torch.arange(0, 40000).float().reshape([2, 20000]); x.select(1, 19000).fill_(NaN); x.select(1, 15000).fill_(NaN); return [x]; };
    await compareDevices('NaN late in a split row', lateNan, ([x]) => [x.argmax(1), x.max(1).values, x.argmin(), x.min(), x.sum(1)]);
  });

  it('max and min: values and indices with ties (the first wins), keepdim, all dims', async () => {
    if (!available) return;
    for (const which of ['max', 'min'] as const) {
      await compareDevices(`${which}()`, () => [tiedInput([4, 6])], ([x]) => x[which](), grad);
      await compareDevices(`${which}(1)`, () => [tiedInput([4, 6])], ([x]) => { const r = x[which](1); return [r.values, r.indices]; }, grad);
      await compareDevices(`${which}(0, true)`, () => [tiedInput([4, 6])], ([x]) => { const r = x[which](0, true); return [r.values, r.indices]; }, grad);
      await compareDevices(`${which}(-1) long`, () => [tiedInput([2, 700])], ([x]) => { const r = x[which](-1); return [r.values, r.indices]; }, grad);
      const arg = which === 'max' ? 'argmax' : 'argmin';
      await compareDevices(`${arg}()`, () => [tiedInput([4, 6])], ([x]) => x[arg]());
      await compareDevices(`${arg}(0)`, () => [tiedInput([4, 6])], ([x]) => x[arg](0));
      await compareDevices(`${arg}(1, true)`, () => [tiedInput([4, 6])], ([x]) => x[arg](1, true));
      await compareDevices(`${arg}(null, true)`, () => [tiedInput([4, 6])], ([x]) => x[arg]({ dim: null, keepdim: true }));
    }
  });

  it('NaN propagates through max/min/argmax and softmax as on the CPU; ±Inf', async () => {
    if (!available) return;
    const special = () => [torch.tensor([[1, NaN, 3, NaN], [Infinity, 2, -Infinity, 0], [-Infinity, -Infinity, -Infinity, -Infinity], [5, 5, -1, Infinity]])];
    for (const [name, op] of [
      ['max()', (x: Tensor) => x.max()], ['min()', (x: Tensor) => x.min()],
      ['max(1)', (x: Tensor) => [x.max(1).values, x.max(1).indices]], ['min(0)', (x: Tensor) => [x.min(0).values, x.min(0).indices]],
      ['argmax(1)', (x: Tensor) => x.argmax(1)], ['argmin()', (x: Tensor) => x.argmin()],
      ['sum(1)', (x: Tensor) => x.sum(1)], ['prod(0)', (x: Tensor) => x.prod(0)],
      ['softmax(1)', (x: Tensor) => x.softmax(1)], ['logSoftmax(1)', (x: Tensor) => x.logSoftmax(1)],
      ['softmax(0)', (x: Tensor) => x.softmax(0)],
    ] as [string, (x: Tensor) => Tensor | Tensor[]][]) {
      await compareDevices(name, special, ([x]) => op(x));
    }
    // A NaN far into a long row, on the workgroup path.
    const longRow = () => { const x = torch.arange(0, 2000).float().reshape([2, 1000]); x.select(1, 700).fill_(NaN); return [x]; };
    await compareDevices('argmax long NaN', longRow, ([x]) => [x.argmax(1), x.max(1).values, x.softmax(1), x.logSoftmax(1)]);
  });

  it('int32 and bool reductions: sum, prod, max, argmax, all, any', async () => {
    if (!available) return;
    const ints = () => { torch.manualSeed(5); return [torch.randint(-4, 5, [3, 6])]; };
    const bools = () => { torch.manualSeed(6); return [torch.rand([3, 6]).lt(0.7)]; };
    for (const [name, op] of [
      ['sum', (x: Tensor) => x.sum()], ['sum(1)', (x: Tensor) => x.sum(1)], ['prod(0)', (x: Tensor) => x.prod(0)],
      ['max', (x: Tensor) => x.max()], ['min(1)', (x: Tensor) => [x.min(1).values, x.min(1).indices]], ['argmax', (x: Tensor) => x.argmax()],
      ['all', (x: Tensor) => x.all()], ['any(1)', (x: Tensor) => x.any(1)], ['all(0, true)', (x: Tensor) => x.all(0, true)],
    ] as [string, (x: Tensor) => Tensor | Tensor[]][]) {
      await compareDevices(`int32 ${name}`, ints, ([x]) => op(x));
      await compareDevices(`bool ${name}`, bools, ([x]) => op(x));
    }
  });

  it('empty dims: sums of nothing, reductions over kept empty dims, errors for max of nothing', async () => {
    if (!available) return;
    for (const [name, op] of [
      ['sum()', (x: Tensor) => x.sum()], ['sum(0)', (x: Tensor) => x.sum(0)], ['sum(1)', (x: Tensor) => x.sum(1)],
      ['mean(0)', (x: Tensor) => x.mean(0)], ['prod(0, true)', (x: Tensor) => x.prod(0, true)], ['max(1)', (x: Tensor) => x.max(1).values],
      ['any(0)', (x: Tensor) => x.any(0)], ['all()', (x: Tensor) => x.all()], ['softmax(1)', (x: Tensor) => x.softmax(1)],
    ] as [string, (x: Tensor) => Tensor][]) {
      await compareDevices(`empty ${name}`, () => [torch.zeros([0, 3])], ([x]) => op(x));
    }
    const x = torch.zeros([0, 3], { device: 'webgpu' });
    expect(() => x.max()).toThrow(torch.IndexError);
    expect(() => x.argmax(0)).toThrow(torch.IndexError);
    x.dispose();
    await compareDevices('0-d sum, max, softmax', () => [torch.tensor(2.5).requiresGrad_(true)], ([x]) => [x.sum(), x.max(), x.softmax(0), x.argmax()], grad);
  });

  it('softmax and logSoftmax along every dim, with gradients', async () => {
    if (!available) return;
    for (const dim of [0, 1, 2, -1]) {
      await compareDevices(`softmax(${dim})`, () => [floatInput([3, 4, 5])], ([x]) => x.softmax(dim), grad);
      await compareDevices(`logSoftmax(${dim})`, () => [floatInput([3, 4, 5])], ([x]) => x.logSoftmax(dim), grad);
    }
    await compareDevices('softmax of large logits', () => [torch.tensor([[1000, 1001, 999], [-1000, -1e30, 5]])], ([x]) => [x.softmax(1), x.logSoftmax(1)]);
  });

  it('mixed devices are refused', async () => {
    if (!available) return;
    const gpuTensor = torch.ones([2, 3], { device: 'webgpu' });
    const cpuIndex = torch.tensor([0, 1], { dtype: 'int32' });
    expect(() => gpuTensor.indexSelect(1, cpuIndex)).toThrow(torch.DeviceError);
    expect(() => gpuTensor.gather(1, cpuIndex.reshape([1, 2]))).toThrow(torch.DeviceError);
    expect(() => torch.cat([gpuTensor, torch.ones([2, 3])])).toThrow(torch.DeviceError);
    torch.dispose(gpuTensor, cpuIndex);
  });

  it('memory does not grow over repeated reductions with gradients', async () => {
    if (!available) return;
    const x = floatInput([8, 40]).to('webgpu');
    await expectNoGrowth(() => {
      x.softmax(1).max(1).values.sum().add(x.mean([0, 1])).add(x.logSoftmax(0).prod(0).sum()).backward();
    }, () => x.grad!);
    torch.dispose(x);
  });
});

/** An int32 index tensor of `shape` with values in [0, high), from a fixed seed. */
function indexInput(shape: number[], high: number, seed = 11): Tensor {
  torch.manualSeed(seed);
  return torch.randint(0, high, shape);
}

describe('webgpu indexing', () => {
  it('indexSelect along each dim, negative dims, repeated and strided indices, with gradients (scatterAdd)', async () => {
    if (!available) return;
    for (const dim of [0, 1, -1]) {
      await compareDevices(`indexSelect(${dim})`, () => [floatInput([5, 6]), torch.tensor([4, 0, 4, 2, 4], { dtype: 'int32' })],
        ([x, index]) => x.indexSelect(dim, index), grad);
    }
    await compareDevices('indexSelect transposed x, sliced index', () => [floatInput([6, 5]), indexInput([10], 6)],
      ([x, index]) => x.t().indexSelect(1, index.slice(0, 1, 9, 2)), grad);
    await compareDevices('indexSelect 0-d index', () => [floatInput([4, 3]), torch.tensor(2, { dtype: 'int32' })], ([x, index]) => x.indexSelect(0, index), grad);
    await compareDevices('indexSelect empty index', () => [floatInput([4, 3]), torch.zeros([0], { dtype: 'int32' })], ([x, index]) => x.indexSelect(0, index), grad);
    await compareDevices('indexSelect int32 and bool', () => [indexInput([4, 3], 9, 2), indexInput([4, 3], 2, 3).bool(), torch.tensor([3, 1], { dtype: 'int32' })],
      ([a, b, index]) => [a.indexSelect(0, index), b.indexSelect(0, index)]);
  });

  it('gather and its gradient, index smaller than x, strided operands', async () => {
    if (!available) return;
    await compareDevices('gather(1)', () => [floatInput([4, 5]), indexInput([4, 7], 5)], ([x, index]) => x.gather(1, index), grad);
    await compareDevices('gather(0) smaller index', () => [floatInput([4, 5]), indexInput([3, 2], 4)], ([x, index]) => x.gather(0, index), grad);
    await compareDevices('gather(-1) 3-d', () => [floatInput([2, 3, 4]), indexInput([2, 3, 6], 4)], ([x, index]) => x.gather(-1, index), grad);
    await compareDevices('gather transposed', () => [floatInput([5, 4]), indexInput([7, 4], 5)], ([x, index]) => x.t().gather(1, index.t()), grad);
    await compareDevices('gather of an int32 tensor by itself', () => [torch.tensor([[1, 0, 2], [2, 2, 0]], { dtype: 'int32' })], ([x]) => x.gather(1, x));
  });

  it('scatter and scatterAdd (out of place, in place, scalar source, duplicates in order) with gradients', async () => {
    if (!available) return;
    const duplicates = () => torch.tensor([[0, 1, 0, 2], [2, 2, 2, 1], [1, 0, 1, 1]], { dtype: 'int32' });
    await compareDevices('scatter(0)', () => [floatInput([3, 5]), duplicates(), floatInput([3, 4], 2)], ([x, index, source]) => x.scatter(0, index, source), grad);
    await compareDevices('scatterAdd(0)', () => [floatInput([3, 5]), duplicates(), floatInput([3, 4], 2)], ([x, index, source]) => x.scatterAdd(0, index, source), grad);
    await compareDevices('scatter(1) scalar', () => [floatInput([3, 5]), duplicates()], ([x, index]) => x.scatter(1, index, 7.5), grad);
    await compareDevices('scatterAdd(-1) bigger source', () => [floatInput([3, 5]), duplicates(), floatInput([4, 6], 3)],
      ([x, index, source]) => x.scatterAdd(-1, index, source), grad);
    await compareDevices('scatter_ in place on a transposed view', () => [floatInput([5, 3]).detach(), duplicates(), floatInput([3, 4], 2).detach()],
      ([x, index, source]) => { const y = x.clone(); y.t().scatter_(1, index, source); return y; });
    await compareDevices('scatterAdd_ int32', () => [indexInput([3, 5], 9, 4), duplicates(), indexInput([3, 4], 9, 5)],
      ([x, index, source]) => { const y = x.clone(); y.scatterAdd_(0, index, source); return y; });
    await compareDevices('scatter bool scalar', () => [torch.zeros([3, 5], { dtype: 'bool' }), duplicates()], ([x, index]) => x.scatter(1, index, true));
    await compareDevices('scatter 1-d into 0-d-like', () => [floatInput([4]), torch.tensor([3, 3, 0], { dtype: 'int32' }), floatInput([3], 4)],
      ([x, index, source]) => [x.scatter(0, index, source), x.scatterAdd(0, index, source)], grad);
    await compareDevices('scatter_ with self as the source', () => [floatInput([3, 4]).detach(), duplicates()],
      ([x, index]) => { const y = x.clone(); y.scatter_(0, index, y); return y; });
    await compareDevices('scatter with an index that is also the source', () => [torch.tensor([[1, 0], [0, 1]], { dtype: 'int32' })],
      ([x]) => x.scatter(0, x, x));
  });

  it('max(dim) and min(dim) gradients go through scatter', async () => {
    if (!available) return;
    await compareDevices('max(1) grad', () => [floatInput([4, 6])], ([x]) => x.max(1).values, grad);
    await compareDevices('min(0, true) grad', () => [floatInput([4, 6])], ([x]) => x.min(0, true).values, grad);
  });

  it('cat and stack: dims, negative dims, mixed dtypes, empty parts, gradients', async () => {
    if (!available) return;
    await compareDevices('cat(0)', () => [floatInput([2, 3]), floatInput([4, 3], 2)], ([a, b]) => torch.cat([a, b]), grad);
    await compareDevices('cat(-1) transposed', () => [floatInput([3, 2]), floatInput([3, 4], 2)], ([a, b]) => torch.cat([a.t(), b.t()], 0), grad);
    await compareDevices('cat(1) with an empty part', () => [floatInput([2, 3]), torch.zeros([0]), floatInput([2, 0], 2)], ([a, b, c]) => torch.cat([a, b, c, a], 1), grad);
    await compareDevices('cat int32 + float32', () => [indexInput([2, 2], 5), floatInput([1, 2])], ([a, b]) => torch.cat([a, b]));
    await compareDevices('cat of empties', () => [torch.zeros([0]), torch.zeros([0])], ([a, b]) => torch.cat([a, b]));
    await compareDevices('stack(1)', () => [floatInput([2, 3]), floatInput([2, 3], 2)], ([a, b]) => torch.stack([a, b], 1), grad);
    await compareDevices('stack(-1)', () => [floatInput([2, 3]), floatInput([2, 3], 2)], ([a, b]) => torch.stack([a, b, a], -1), grad);
  });

  it('out-of-range indices on the GPU: gather reads NaN (float32) or 0, scatter skips them', async () => {
    if (!available) return;
    const x = torch.tensor([[1, 2, 3], [4, 5, 6]]).to('webgpu');
    const bad = torch.tensor([[0, 3, -1], [2, 7, 1]], { dtype: 'int32' }).to('webgpu');
    const gathered = x.gather(1, bad);
    const values = Array.from(await gathered.data());
    expect(values[0]).toBe(1);
    expect(values[1]).toBeNaN();
    expect(values[2]).toBeNaN();
    expect(values.slice(3).map((v, i) => (i === 1 ? Number.isNaN(v) : v))).toEqual([6, true, 5]);
    const ints = x.int().gather(1, bad);
    expect(Array.from(await ints.data())).toEqual([1, 0, 0, 6, 0, 5]);
    const selected = x.indexSelect(0, torch.tensor([1, 5], { dtype: 'int32' }).to('webgpu'));
    expect(Array.from(await selected.data()).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([4, 5, 6, 'NaN', 'NaN', 'NaN']);
    const scattered = torch.zeros([2, 3], { device: 'webgpu' }).scatterAdd(1, bad, torch.ones([2, 3], { device: 'webgpu' }));
    expect(Array.from(await scattered.data())).toEqual([1, 0, 0, 0, 1, 1]);
    torch.dispose(x, bad, gathered, ints, selected, scattered);
    // The CPU still refuses them.
    expect(() => torch.tensor([1, 2]).gather(0, torch.tensor([2], { dtype: 'int32' }))).toThrow(torch.IndexError);
  });

  it('nn on the GPU: embedding, crossEntropy, nllLoss with their gradients', async () => {
    if (!available) return;
    await compareDevices('embedding', () => [floatInput([10, 4]), indexInput([3, 5], 10)], ([weight, index]) => torch.nn.functional.embedding(index, weight), grad);
    await compareDevices('embedding paddingIdx', () => [floatInput([10, 4]), indexInput([3, 5], 10)],
      ([weight, index]) => torch.nn.functional.embedding(index, weight, { paddingIdx: 3 }), grad);
    await compareDevices('crossEntropy', () => [floatInput([6, 5]), indexInput([6], 5)], ([logits, target]) => torch.nn.functional.crossEntropy(logits, target), grad);
    await compareDevices('crossEntropy sum, ignoreIndex', () => [floatInput([6, 5]), indexInput([6], 5)],
      ([logits, target]) => torch.nn.functional.crossEntropy(logits, target, { reduction: 'sum', ignoreIndex: 2 }), grad);
    await compareDevices('nllLoss none', () => [floatInput([6, 5]), indexInput([6], 5)], ([input, target]) => torch.nn.functional.nllLoss(input.logSoftmax(1), target, { reduction: 'none' }), grad);
  });

  it('memory does not grow over repeated gathers and scatters with gradients', async () => {
    if (!available) return;
    const weight = floatInput([12, 4]).to('webgpu');
    const index = indexInput([5], 12).to('webgpu');
    await expectNoGrowth(() => {
      const picked = weight.indexSelect(0, index).gather(1, index.reshape([5, 1]).remainder(4)).sum();
      picked.add(torch.cat([weight, weight]).max(0).values.sum()).backward();
    }, () => weight.grad!);
    torch.dispose(weight, index);
  });
});

describe('webgpu random: generated on the CPU from the same Philox stream, then uploaded', () => {
  /** Runs `make` after seeding on each device; the tensors and the generator's next draw must match. */
  async function sameOnBothDevices(where: string, make: (device: torch.Device) => Tensor): Promise<void> {
    torch.manualSeed(123);
    const cpu = make('cpu');
    const cpuNext = torch.rand([5]);
    torch.manualSeed(123);
    const gpu = make('webgpu');
    const gpuNext = torch.rand([5]);
    expect(gpu.device, where).toBe('webgpu');
    await expectClose(gpu, cpu, where, { atol: 0, rtol: 0 });
    // The offset advanced exactly as on the CPU: the next draw is the same.
    expect(Array.from(gpuNext.toArray()), `${where}: next draw`).toEqual(Array.from(cpuNext.toArray()));
    torch.dispose(cpu, cpuNext, gpu, gpuNext);
  }

  it('rand, randn, randint and randperm with a device give the CPU numbers', async () => {
    if (!available) return;
    await sameOnBothDevices('rand', (device) => torch.rand([7, 3], { device }));
    await sameOnBothDevices('randn', (device) => torch.randn([33], { device }));
    await sameOnBothDevices('randint', (device) => torch.randint(-5, 9, [4, 5], { device }));
    await sameOnBothDevices('randperm', (device) => torch.randperm(50, { device }));
    await sameOnBothDevices('randperm(0)', (device) => torch.randperm(0, { device }));
  });

  it('uniform_ and normal_ on GPU tensors, contiguous and strided views', async () => {
    if (!available) return;
    await sameOnBothDevices('uniform_', (device) => torch.zeros([6, 5], { device }).uniform_(-2, 3));
    await sameOnBothDevices('normal_', (device) => torch.zeros([6, 5], { device }).normal_(1, 0.5));
    await sameOnBothDevices('normal_ on a transposed view', (device) => {
      const base = torch.zeros([5, 6], { device });
      base.t().normal_();
      return base;
    });
    await sameOnBothDevices('uniform_ on a slice', (device) => {
      const base = torch.zeros([4, 6], { device });
      base.slice(1, 1, 6, 2).uniform_();
      return base;
    });
    await sameOnBothDevices('nn.init on a GPU parameter', (device) => {
      const weight = torch.empty([4, 3], { device });
      torch.nn.init.kaimingUniform_(weight, { a: Math.sqrt(5) });
      return weight;
    });
  });

  it('random ops keep their argument checks and leak nothing on the GPU', async () => {
    if (!available) return;
    const before = torch.memory().tensors;
    const x = torch.zeros([3], { device: 'webgpu' });
    expect(() => x.uniform_(2, 1)).toThrow(torch.ArgumentError);
    const integers = torch.zeros([2], { device: 'webgpu', dtype: 'int32' });
    expect(() => integers.normal_()).toThrow(torch.DtypeError);
    integers.dispose(); // disposed here, not left to the GC: browsers have no synchronous one
    expect(() => torch.randperm(3, { device: 'tpu' as torch.Device })).toThrow(/unknown device/);
    expect(() => torch.randperm(3, { seed: 1 } as never)).toThrow(/unknown option 'seed'/);
    x.uniform_().normal_();
    await x.data();
    x.dispose();
    torch.backend.collectGarbage();
    expect(torch.memory().tensors).toBeLessThanOrEqual(before);
  });
});
