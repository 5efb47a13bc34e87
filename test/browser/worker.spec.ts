// wasmtorch/worker in Chromium: tensors cross to a module worker and back (shape, dtype, data), a training loop runs there with progress callbacks, errors reach the page.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import * as torch from '../../src/index.js';
import { proxy, tensorTransferHandler, wrap, type Remote } from '../../src/worker/index.js';
import type { ModelApi } from './fixtures/model-worker.js';

let remote: Remote<ModelApi>;
let worker: Worker;

beforeAll(() => {
  worker = new Worker(new URL('./fixtures/model-worker.ts', import.meta.url), { type: 'module' });
  remote = wrap<ModelApi>(worker);
  return () => worker.terminate();
});

describe('wasmtorch/worker', () => {
  it('the worker has its own runtime, threaded when the page is isolated', async () => {
    const info = await remote.info();
    expect(info.threads).toBe(inject('isolated') ? navigator.hardwareConcurrency : 1);
    expect(info.kernels).toBe('relaxed');
  });

  it('tensors of every dtype cross both ways with shape, dtype and data', async () => {
    const tensors = [
      torch.arange(12).reshape(3, 4).float().div(7),
      torch.tensor([[1, -2, 3], [2147483647, 0, -2147483648]], { dtype: 'int32' }),
      torch.tensor([true, false, true]),
      torch.tensor(2.5),
      torch.zeros(0, 3),
    ];
    for (const tensor of tensors) {
      const back = await remote.echo(tensor) as torch.Tensor;
      expect(back).toBeInstanceOf(torch.Tensor);
      expect(back).not.toBe(tensor);
      expect(back.shape).toEqual(tensor.shape);
      expect(back.dtype).toBe(tensor.dtype);
      expect(back.tolist()).toEqual(tensor.tolist());
      expect(tensor.tolist()).toEqual(back.tolist()); // the sender's tensor is untouched
      back.dispose();
    }
    torch.dispose(tensors);
    expect((await remote.memory()).tensors).toBe(4); // echo freed what it sent back: only the classifier's
  });

  it('a non-contiguous view crosses as its values', async () => {
    const base = torch.arange(6).reshape(2, 3).float();
    const view = base.t();
    const summary = await remote.summary(view);
    expect(summary).toEqual({ shape: [3, 2], dtype: 'float32', sum: 15 });
    torch.dispose(base, view);
  });

  it('tensors nested in arrays and objects cross too', async () => {
    const a = torch.ones(2, 2), b = torch.full([3], 4);
    const back = await remote.echo({ pair: [a, 7], inner: { b, label: 'x' } }) as { pair: [torch.Tensor, number]; inner: { b: torch.Tensor; label: string } };
    expect(back.pair[0].tolist()).toEqual([[1, 1], [1, 1]]);
    expect(back.pair[1]).toBe(7);
    expect(back.inner.b.tolist()).toEqual([4, 4, 4]);
    expect(back.inner.label).toBe('x');
    torch.dispose(a, b, back);
  });

  it('the data buffer is transferred, not copied, and the copy from WebAssembly memory is its own', () => {
    const t = torch.randn(5, 4);
    const [wire, transfers] = tensorTransferHandler.serialize(t) as [{ __wasmtorchTensor: { data: Float32Array } }, Transferable[]];
    const data = wire.__wasmtorchTensor.data;
    expect(transfers).toEqual([data.buffer]);
    expect(data.buffer).toBeInstanceOf(ArrayBuffer); // never the shared memory itself
    expect(data.buffer.byteLength).toBe(20 * 4);
    t.dispose();
  });

  it('a matmul in the worker matches the one on the page, and leaves the worker\'s memory as it was', async () => {
    torch.manualSeed(1);
    const a = torch.randn(130, 70), b = torch.randn(70, 90);
    const before = await remote.memory();
    const remoteProduct = await remote.matmul(a, b);
    const local = a.mm(b);
    expect(remoteProduct.sub(local).abs().max().item()).toBeLessThan(1e-4);
    const after = await remote.memory();
    expect([after.tensors, after.bytes]).toEqual([before.tensors, before.bytes]);
    torch.dispose(a, b, local, remoteProduct);
  });

  it('an nn.Module in the worker: its predictions match the same model rebuilt on the page from its stateDict', async () => {
    const held = (await remote.memory()).tensors;
    const state = await remote.classifierState();
    expect((await remote.memory()).tensors).toBe(held);
    expect(Object.keys(state)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const local = new torch.nn.Sequential(new torch.nn.Linear(4, 8), new torch.nn.ReLU(), new torch.nn.Linear(8, 3));
    local.loadStateDict(state);
    const x = torch.randn(5, 4);
    const before = await remote.memory();
    const remoteY = await remote.predict(x);
    const localY = torch.noGrad(() => local.call(x) as torch.Tensor);
    expect(remoteY.shape).toEqual([5, 3]);
    expect(remoteY.sub(localY).abs().max().item()).toBeLessThan(1e-5);
    expect((await remote.memory()).tensors).toBe(before.tensors);
    torch.dispose(x, remoteY, localY, state, [...local.parameters()]);
  });

  it('an error thrown in the worker rejects on the page with its name and message', async () => {
    await expect(remote.mismatchedMatmul()).rejects.toThrow(/mat1 and mat2 shapes cannot be multiplied \(64x1000 and 100x10\)/);
    await expect(remote.mismatchedMatmul()).rejects.toMatchObject({ name: 'ShapeError' });
    expect((await remote.memory()).tensors).toBeGreaterThanOrEqual(0); // the worker still answers
  });

  it('a training loop runs in the worker, reports each step, and returns its weights', async () => {
    const seen: [number, number][] = [];
    const before = await remote.memory();
    const result = await remote.train(20, proxy((step: number, loss: number) => { seen.push([step, loss]); }));
    expect(seen.map(([step]) => step)).toEqual([...Array(20).keys()]);
    expect(result.losses).toEqual(seen.map(([, loss]) => loss));
    expect(result.losses[19]).toBeLessThan(result.losses[0]);
    expect(result.weights.w1.shape).toEqual([100, 50]);
    expect(result.weights.w2.shape).toEqual([50, 10]);
    torch.dispose(result.weights);
    const memory = await remote.memory();
    expect(memory.tensors).toBe(before.tensors + 2); // the model's two weights, nothing else
  });
});
