// A lost WebGPU device (driver reset, GPU removed; here device.destroy()) gives clear errors on the next op and read, never a hang, and a new device can be opened.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import { openWebgpu } from './support.js';

const available = await openWebgpu();

describe.runIf(available)('device loss', () => {
  it('fails the next op and every pending read with DeviceLostError, then a new device works', async () => {
    const x = torch.randn(64, 64, { device: 'webgpu' });
    const y = x.mul(2).add(1);
    expect((await y.data()).length).toBe(4096);
    const model = new torch.nn.Linear(4, 2).to('webgpu');

    // A read in flight when the device goes.
    const pending = x.exp().data();
    torch.webgpu.device().destroy();
    const started = Date.now();
    await expect(pending).rejects.toThrow(torch.DeviceError);
    // device.lost resolves asynchronously; the next op after it is refused.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => x.add(1)).toThrow(torch.DeviceLostError);
    expect(() => x.add(1)).toThrow(/device was lost/);
    expect(() => torch.ones(2, { device: 'webgpu' })).toThrow(torch.DeviceLostError);
    await expect(y.data()).rejects.toThrow(torch.DeviceLostError);
    expect(() => model(torch.ones(1, 4, { device: 'webgpu' }))).toThrow(torch.DeviceLostError);
    expect(Date.now() - started).toBeLessThan(10_000);

    // Disposing what lived on the lost device is harmless, and the CPU device never noticed.
    torch.dispose(x, y, model.weight, model.bias);
    expect(torch.tensor([1, 2]).mul(3).tolist()).toEqual([3, 6]);

    // A new device: new tensors work; tensors of the old one stay refused.
    expect(await torch.webgpu.isAvailable()).toBe(true);
    const fresh = torch.tensor([1, 2, 3], { device: 'webgpu' });
    expect(await fresh.mul(2).tolistAsync()).toEqual([2, 4, 6]);
    const survivor = torch.ones(2);
    expect(await survivor.to('webgpu').add(1).tolistAsync()).toEqual([2, 2]);
  });
});
