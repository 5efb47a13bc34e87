// A lost WebGPU device (driver reset, GPU removed; here device.destroy()) gives clear errors on the next op and read, never a hang, and a new device can be opened.
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import { openWebgpu } from './support.js';
import { recordFigures } from '../reliability-figures.js';

const available = await openWebgpu();
const figures: Record<string, unknown> = {};
afterAll(() => recordFigures('device-loss', figures));

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
    const secondsToErrors = (Date.now() - started) / 1000;
    expect(secondsToErrors).toBeLessThan(10);

    // Disposing what lived on the lost device is harmless, and the CPU device never noticed.
    torch.dispose(x, y, model.weight, model.bias);
    expect(torch.tensor([1, 2]).mul(3).tolist()).toEqual([3, 6]);

    // A new device: new tensors work; tensors of the old one stay refused.
    expect(await torch.webgpu.isAvailable()).toBe(true);
    const fresh = torch.tensor([1, 2, 3], { device: 'webgpu' });
    expect(await fresh.mul(2).tolistAsync()).toEqual([2, 4, 6]);
    const survivor = torch.ones(2);
    expect(await survivor.to('webgpu').add(1).tolistAsync()).toEqual([2, 2]);
    Object.assign(figures, {
      adapter: torch.webgpu.adapterInfo(), injected: 'GPUDevice.destroy() with a read in flight and tensors and a model on the device',
      refused: ['the read in flight', 'an op on an old tensor', 'a new tensor', 'a read of an old tensor', 'the model'],
      error: 'DeviceLostError: the WebGPU device was lost (…); tensors on it are gone', secondsToErrors,
      recovery: 'isAvailable() opens a new device; new tensors compute right; the CPU device unaffected',
    });
  });
});
