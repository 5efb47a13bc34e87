// WebGPU matrix products and fused optimizer updates against the CPU: mm/bmm/matmul forward and backward, optimizer trajectories and state.
import { describe, expect, it } from 'vitest';
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
