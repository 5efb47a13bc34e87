// Review of nn, optim, safetensors, convolution/pooling and the worker (second review): each case is a bug found, or a check that a suspected one is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { tensorTransferHandler } from '../src/worker/index.js';

let tensorsAtStart = 0;
beforeAll(() => { tensorsAtStart = torch.memory().tensors; });
afterAll(() => { expect(torch.memory().tensors, 'review-2.test.ts leaves no tensor behind').toBe(tensorsAtStart); });

/** Canaries: many 64-byte blocks (one size class) filled with 7, every other one freed, so the next blocks of that class handed out each lie just before a live canary. */
function canaries(count: number): { live: Tensor[]; intact(): boolean; dispose(): void } {
  const all = Array.from({ length: count }, () => torch.full([16], 7));
  const live: Tensor[] = [];
  all.forEach((t, k) => (k % 2 === 0 ? live.push(t) : t.dispose()));
  return {
    live,
    intact: () => live.every((t) => (t.toArray() as Float32Array).every((v) => v === 7)),
    dispose: () => live.forEach((t) => t.dispose()),
  };
}

describe('max pooling: windows that read only padding', () => {
  it('backward never writes outside the input plane (PyTorch itself corrupts its heap here)', () => {
    // kernel (1, 2), padding (0, 1), dilation (1, 5) on a 4x4 plane: each row's window reads columns -1 and 4,
    // both outside; PyTorch's index is then row*4 + 4, which for the last row is 16: past the 16-float plane.
    const guard = canaries(200);
    const x = torch.tidy(() => torch.arange(16).float().reshape([1, 1, 4, 4])).requiresGrad_();
    const [y, indices] = torch.nn.functional.maxPool2d(x, [1, 2], { stride: 1, padding: [0, 1], dilation: [1, 5], returnIndices: true });
    expect(Array.from(y.toArray() as Float32Array)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
    expect(Array.from(indices.toArray() as Int32Array)).toEqual([4, 8, 12, 16]); // PyTorch 1.13's indices
    torch.tidy(() => y.sum().backward());
    // PyTorch's in-plane rows get their gradient where the index points; the out-of-plane one is dropped.
    const grad = Array.from(x.grad!.toArray() as Float32Array);
    expect(grad).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    expect(guard.intact(), 'no write past the gradient plane').toBe(true);
    torch.dispose([x, y, indices]);
    guard.dispose();
  });
});

describe('optimizer state dicts: buffers must be tensors', () => {
  it.each([
    ['Adam', 'expAvg'], ['SGD', 'momentumBuffer'], ['RMSprop', 'squareAvg'], ['Adagrad', 'sum'],
  ] as const)('%s.loadStateDict rejects a number for %s (the kernel would get address 0)', (name, key) => {
    const guard = torch.full([64], 7);
    const param = torch.zeros([64]).requiresGrad_();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const optimizer = new (torch.optim[name] as any)([param], name === 'SGD' ? { lr: 0.1, momentum: 0.9 } : { lr: 0.1 });
    const before = optimizer.stateDict();
    expect(() => optimizer.loadStateDict({ state: { 0: { ...(name === 'SGD' ? {} : { step: 1 }), [key]: 5 } }, paramGroups: before.paramGroups })).toThrow(torch.ArgumentError);
    param.grad = torch.ones([64]);
    optimizer.step();
    expect(Array.from(guard.toArray() as Float32Array).every((v) => v === 7)).toBe(true);
    optimizer.dispose();
    torch.dispose([guard, param, before]);
  });
});

describe('nn: no handle left behind', () => {
  it('nn.init.eye_ frees the row views it fills through', () => {
    const weight = torch.empty([3, 4]);
    const before = torch.memory().tensors;
    torch.nn.init.eye_(weight);
    expect(torch.memory().tensors).toBe(before);
    expect(weight.tolist()).toEqual([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    weight.dispose();
  });

  it('a module with a full backward hook frees its wrapped inputs when forward throws', () => {
    const model = new torch.nn.Sequential(new torch.nn.Linear(4, 3), new torch.nn.ReLU());
    const handle = model.registerFullBackwardHook(() => undefined);
    const x = torch.randn([2, 5]).requiresGrad_();
    const before = torch.memory().tensors;
    expect(() => model(x)).toThrow(/shapes cannot be multiplied/);
    expect(torch.memory().tensors).toBe(before);
    handle.remove();
    x.dispose();
    model.dispose();
  });
});

describe('convolutions: a kernel with an empty spatial dim', () => {
  // PyTorch 1.13: "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3". Here
  // conv2d gave a result of shape [1, 2, 6, 3] (bias only) and conv_transpose2d one of uninitialized memory.
  const { conv1d, conv2d, convTranspose2d } = torch.nn.functional;
  it.each([
    ['conv2d', [1, 1, 5, 5], [2, 1, 0, 3], (x: Tensor, w: Tensor) => conv2d(x, w)],
    ['conv1d', [1, 1, 5], [2, 1, 0], (x: Tensor, w: Tensor) => conv1d(x, w)],
    ['conv_transpose2d', [1, 2, 3, 3], [2, 1, 0, 3], (x: Tensor, w: Tensor) => convTranspose2d(x, w)],
  ] as const)('%s throws as PyTorch does, leaving nothing allocated', (_, inputShape, weightShape, call) => {
    const x = torch.zeros([...inputShape]), w = torch.zeros([...weightShape]);
    const before = torch.memory().tensors;
    expect(() => call(x, w)).toThrow(/kernel size should be greater than zero/);
    expect(torch.memory().tensors).toBe(before);
    torch.dispose([x, w]);
  });
});

describe('wasmtorch/worker transfer handler', () => {
  it('a tensor nested as deep as the handler encodes arrives as a tensor, not as its wire object', () => {
    const t = torch.ones([2]);
    for (let depth = 14; depth <= 17; depth++) {
      let value: unknown = t;
      for (let k = 0; k < depth; k++) value = [value];
      if (!tensorTransferHandler.canHandle(value)) continue; // left to structured clone: nothing encoded
      const [wire] = tensorTransferHandler.serialize(value);
      let back = tensorTransferHandler.deserialize(wire);
      for (let k = 0; k < depth; k++) back = (back as unknown[])[0];
      expect(back, `tensor at depth ${depth}`).toBeInstanceOf(torch.Tensor);
      (back as Tensor).dispose();
    }
    t.dispose();
  });
});

describe('convolutions: geometry beyond the kernels\' int32 arithmetic', () => {
  it('a stride and padding past 2^31 throw instead of wrapping (PyTorch gives [0, 2, 0] here, the kernels gave [0, 0, 0])', () => {
    const x = torch.tensor([[[[1, 2, 3]]]]), w = torch.ones([1, 1, 1, 1]);
    const before = torch.memory().tensors;
    expect(() => torch.nn.functional.conv2d(x, w, null, { stride: [1, 3000000001], padding: [0, 3000000000] })).toThrow(torch.ArgumentError);
    expect(() => torch.nn.functional.convTranspose2d(x, w, null, { stride: [1, 3000000000], padding: [0, 1500000000] })).toThrow(torch.ArgumentError);
    expect(torch.memory().tensors).toBe(before);
    // Large but representable parameters still run.
    const y = torch.nn.functional.conv2d(x, w, null, { stride: [1, 1000000000], padding: [0, 999999999] });
    expect(y.tolist()).toEqual([[[[0, 2, 0]]]]); // PyTorch 1.13's
    torch.dispose([x, w, y]);
  });
});

describe('lr schedulers and a parameter group added after them', () => {
  // Fine-tuning adds a group when it unfreezes layers. PyTorch zips the new rates with the groups, so a group
  // without a base rate keeps its own; here LambdaLR wrote undefined and CosineAnnealingLR NaN into its lr.
  it('LambdaLR leaves the new group alone, as PyTorch 1.13 does', () => {
    const a = torch.zeros([2]).requiresGrad_(), b = torch.zeros([2]).requiresGrad_();
    const optimizer = new torch.optim.SGD([a], { lr: 1 });
    const scheduler = new torch.optim.lrScheduler.LambdaLR(optimizer, (epoch) => 0.5 ** epoch);
    optimizer.addParamGroup({ params: [b], lr: 0.3 });
    const seen: number[][] = [];
    for (let i = 0; i < 3; i++) {
      scheduler.step();
      seen.push(optimizer.paramGroups.map((group) => group.lr));
      expect(scheduler.getLastLr()).toEqual(seen[i]);
    }
    expect(seen).toEqual([[0.5, 0.3], [0.25, 0.3], [0.125, 0.3]]); // PyTorch 1.13's
    torch.dispose([a, b]);
  });

  it('CosineAnnealingLR follows PyTorch 1.13 for the new group (its restart branch skips it)', () => {
    const a = torch.zeros([2]).requiresGrad_(), b = torch.zeros([2]).requiresGrad_();
    const optimizer = new torch.optim.SGD([a], { lr: 1 });
    const scheduler = new torch.optim.lrScheduler.CosineAnnealingLR(optimizer, { TMax: 2 });
    optimizer.addParamGroup({ params: [b], lr: 0.3 });
    const seen: number[][] = [];
    for (let i = 0; i < 5; i++) {
      scheduler.step();
      seen.push(optimizer.paramGroups.map((group) => Math.round(group.lr * 1e6) / 1e6));
    }
    expect(seen).toEqual([[0.5, 0.15], [0, 0], [0.5, 0], [1, 0], [0.5, 0]]); // PyTorch 1.13's
    torch.dispose([a, b]);
  });
});

describe('loss modules share the weight tensors they are given, and free only their own handle', () => {
  it("disposing CrossEntropyLoss or BCEWithLogitsLoss leaves the caller's weight and posWeight usable", () => {
    const weight = torch.tensor([1, 2, 3]), posWeight = torch.tensor([0.5]);
    const crossEntropy = new torch.nn.CrossEntropyLoss({ weight });
    const bce = new torch.nn.BCEWithLogitsLoss({ posWeight });
    expect(torch.tidy(() => crossEntropy.stateDict().weight.tolist())).toEqual([1, 2, 3]);
    // Shared, as in PyTorch: a change to the caller's tensor is the module's too.
    weight.mul_(2);
    expect(torch.tidy(() => crossEntropy.weight!.tolist())).toEqual([2, 4, 6]);
    crossEntropy.dispose();
    bce.dispose();
    expect(weight.isDisposed).toBe(false);
    expect(weight.tolist()).toEqual([2, 4, 6]);
    expect(posWeight.tolist()).toEqual([0.5]);
    torch.dispose(weight, posWeight);
  });
});

describe('ConvTranspose2d outputSize lengths follow PyTorch 1.13', () => {
  it('accepts [H, W] or the full shape of the input rank, and refuses the rest naming both counts', () => {
    torch.manualSeed(0);
    const layer = new torch.nn.ConvTranspose2d(2, 3, 3, { stride: 2 });
    torch.tidy(() => {
      const batched = torch.randn(1, 2, 4, 4), unbatched = torch.randn(2, 4, 4);
      expect(layer(batched, [9, 9]).shape).toEqual([1, 3, 9, 9]);
      expect(layer(batched, [1, 3, 9, 9]).shape).toEqual([1, 3, 9, 9]);
      expect(() => layer(batched, [3, 9, 9])).toThrow('for 4D input, output_size must have 2 or 4 elements (got 3)');
      expect(layer(unbatched, [3, 9, 9]).shape).toEqual([3, 9, 9]);
      expect(() => layer(unbatched, [1, 3, 9, 9])).toThrow('for 3D input, output_size must have 2 or 3 elements (got 4)');
    });
    layer.dispose();
  });
});

describe('Tensor.to(other) takes the other tensor dtype, as PyTorch', () => {
  it('converts to the other dtype, refuses a disposed other and unknown option keys', () => {
    torch.tidy(() => {
      const x = torch.tensor([1.5, -2.5]), ints = torch.zeros(1, { dtype: 'int32' });
      const converted = x.to(ints);
      expect(converted.dtype).toBe('int32');
      expect(converted.tolist()).toEqual([1, -2]);
      expect(x.to(x)).toBe(x);
      const gone = torch.zeros(1);
      gone.dispose();
      expect(() => x.to(gone)).toThrow(torch.DisposedError);
      expect(() => x.to({ dtyp: 'int32' } as never)).toThrow(/to: unknown option 'dtyp'/);
    });
  });
});
