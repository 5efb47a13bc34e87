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
