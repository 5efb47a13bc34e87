// Convolutions and pooling on the WebGPU device against the CPU: forward, backward and double backward over a grid of options, NaN, empty batches, views, device mixing and memory.
import { beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { compareDevices, expectClose, openWebgpu } from './support.js';

const available = await openWebgpu();
const F = torch.nn.functional;

/** Sums of a dozen to a few hundred float32 products, added in another order than the CPU's GEMM. */
const tolerance = { atol: 1e-4, rtol: 1e-4 };

const randomGrad = (...shape: number[]) => () => torch.randn(shape).requiresGrad_();

/**
 * Differentiates `op` twice on both devices: the first gradients (with createGraph) against a random output
 * gradient that itself requires grad, then the gradients of those against random weights, with respect to the
 * inputs and the output gradient. Covers the rules that make conv, convT and the weight gradient each other's
 * derivatives.
 */
async function compareDoubleBackward(where: string, makeInputs: () => Tensor[], op: (inputs: Tensor[]) => Tensor): Promise<void> {
  const synchronousGc = torch.backend.collectGarbage();
  const before = torch.memory();
  await compareDoubleBackwardOnce(where, makeInputs, op);
  // Graph intermediates go with the GC; only Node runs it synchronously (browsers: the Node run checks).
  if (!synchronousGc) return;
  // Out of that function's scope nothing references its graphs: what the GC leaves is a leak.
  torch.backend.collectGarbage();
  const after = torch.memory();
  expect(after.tensors, `${where}: live tensors after dispose`).toBeLessThanOrEqual(before.tensors);
  expect(after.webgpuBytes, `${where}: GPU bytes after dispose`).toBeLessThanOrEqual(before.webgpuBytes);
}

async function compareDoubleBackwardOnce(where: string, makeInputs: () => Tensor[], op: (inputs: Tensor[]) => Tensor): Promise<void> {
  const made: Tensor[] = [];
  /** A CPU tensor, or its copy on the GPU (the CPU one is kept for disposal). */
  const onDevice = (t: Tensor, device: torch.Device) => { if (device === 'cpu') return t; made.push(t); return t.to('webgpu'); };
  const run = (device: torch.Device): (Tensor | null)[] => {
    torch.manualSeed(3);
    const inputs = makeInputs().map((t) => onDevice(t, device));
    const out = op(inputs);
    const gradOutput = onDevice(torch.randn(out.shape).requiresGrad_(), device);
    const firsts = torch.autograd.grad(out, inputs, { gradOutputs: gradOutput, createGraph: true, allowUnused: true });
    const used = firsts.filter((g): g is Tensor => g !== null);
    const weights = used.map((g) => onDevice(torch.randn(g.shape), device));
    const seconds = torch.autograd.grad(used, [...inputs, gradOutput], { gradOutputs: weights, allowUnused: true });
    made.push(...inputs, gradOutput, out, ...weights, ...used);
    return [out, ...firsts, ...seconds];
  };
  const cpu = run('cpu'), gpu = run('webgpu');
  for (let i = 0; i < cpu.length; i++) {
    if (cpu[i] === null) { expect(gpu[i], `${where} result ${i}`).toBeNull(); continue; }
    await expectClose(gpu[i]!, cpu[i]!, `${where} result ${i}`, tolerance);
  }
  torch.dispose(made, [...cpu, ...gpu].filter((t): t is Tensor => t !== null));
}

describe.runIf(available)('convolution on webgpu', () => {
  beforeAll(() => torch.manualSeed(0));

  it('conv2d forward and backward over stride, padding, dilation, groups and bias', async () => {
    let cases = 0;
    for (const stride of [1, 2]) {
      for (const padding of [0, 1, 'same'] as const) {
        if (padding === 'same' && stride !== 1) continue;
        for (const dilation of [1, 2]) {
          for (const groups of [1, 2, 4]) {
            for (const bias of [false, true]) {
              // 4 input channels; groups 4 with 4 outputs is depthwise. A 3x2 kernel makes 'same' pad unevenly.
              const options = { stride, padding, dilation, groups };
              await compareDevices(`conv2d ${JSON.stringify(options)} bias ${bias}`,
                () => [torch.randn(2, 4, 7, 6).requiresGrad_(), torch.randn(4, 4 / groups, 3, 2).requiresGrad_(), ...(bias ? [torch.randn(4).requiresGrad_()] : [])],
                ([x, w, b]) => F.conv2d(x, w, b ?? null, options), { ...tolerance, grad: true });
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(60);
  });

  it('conv2d reads views (transposed input, expanded weight, stepped bias) without copies going wrong', async () => {
    await compareDevices('conv2d on views',
      () => [torch.randn(2, 3, 6, 5).requiresGrad_(), torch.randn(1, 3, 2, 2).requiresGrad_(), torch.randn(8).requiresGrad_()],
      ([x, w, b]) => F.conv2d(x.transpose(2, 3), w.expand(4, 3, 2, 2), b.narrow(0, 2, 4), { padding: 1, stride: [2, 1] }), { ...tolerance, grad: true });
    // Input and weight on one buffer share a binding (a buffer may be bound once per dispatch).
    await compareDevices('conv2d of a tensor with itself', () => [randomGrad(4, 2, 3, 3)()],
      ([x]) => F.conv2d(x, x, null, { padding: 1 }), { ...tolerance, grad: true });
  });

  it('conv2d with an unbatched input, an empty batch and a 1x1 kernel', async () => {
    await compareDevices('conv2d unbatched', () => [randomGrad(3, 5, 5)(), randomGrad(2, 3, 3, 3)(), randomGrad(2)()],
      ([x, w, b]) => F.conv2d(x, w, b, { padding: 1 }), { ...tolerance, grad: true });
    await compareDevices('conv2d empty batch', () => [randomGrad(0, 3, 5, 5)(), randomGrad(2, 3, 3, 3)(), randomGrad(2)()],
      ([x, w, b]) => F.conv2d(x, w, b), { ...tolerance, grad: true });
    await compareDevices('conv2d 1x1', () => [randomGrad(2, 6, 4, 3)(), randomGrad(6, 3, 1, 1)()],
      ([x, w]) => F.conv2d(x, w, null, { groups: 2, stride: 2 }), { ...tolerance, grad: true });
  });

  it('conv1d forward and backward', async () => {
    for (const options of [{}, { stride: 2, padding: 1 }, { padding: 'same' as const, dilation: 2 }, { groups: 3, padding: 2 }, { padding: 'valid' as const, stride: 3 }]) {
      await compareDevices(`conv1d ${JSON.stringify(options)}`,
        () => [randomGrad(2, 6, 11)(), randomGrad(3, 6 / (options.groups ?? 1), 4)(), randomGrad(3)()],
        ([x, w, b]) => F.conv1d(x, w, b, options), { ...tolerance, grad: true });
    }
    await compareDevices('conv1d unbatched', () => [randomGrad(2, 9)(), randomGrad(4, 2, 3)()], ([x, w]) => F.conv1d(x, w), { ...tolerance, grad: true });
  });

  it('convTranspose2d forward and backward over stride, padding, outputPadding, dilation, groups and bias', async () => {
    let cases = 0;
    for (const stride of [1, 2]) {
      for (const padding of [0, 1]) {
        for (const dilation of [1, 2]) {
          for (const outputPadding of [0, 1]) {
            if (outputPadding >= stride && outputPadding >= dilation) continue;
            for (const groups of [1, 2]) {
              const options = { stride, padding, dilation, outputPadding, groups };
              await compareDevices(`convTranspose2d ${JSON.stringify(options)}`,
                () => [randomGrad(2, 4, 4, 5)(), randomGrad(4, 6 / groups, 3, 2)(), randomGrad(6)()],
                ([x, w, b]) => F.convTranspose2d(x, w, groups === 2 ? b : null, options), { ...tolerance, grad: true });
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(28);
  });

  it('double backward: conv2d, conv1d and convTranspose2d, with the output gradient differentiated too', async () => {
    await compareDoubleBackward('conv2d', () => [randomGrad(2, 4, 6, 5)(), randomGrad(4, 2, 3, 2)(), randomGrad(4)()],
      ([x, w, b]) => F.conv2d(x, w, b, { stride: 2, padding: 1, dilation: [1, 2], groups: 2 }));
    await compareDoubleBackward('conv2d same', () => [randomGrad(1, 3, 5, 5)(), randomGrad(2, 3, 2, 3)()],
      ([x, w]) => F.conv2d(x, w, null, { padding: 'same' }));
    await compareDoubleBackward('conv1d', () => [randomGrad(2, 2, 9)(), randomGrad(3, 2, 3)()], ([x, w]) => F.conv1d(x, w, null, { stride: 2 }));
    await compareDoubleBackward('convTranspose2d', () => [randomGrad(2, 4, 3, 4)(), randomGrad(4, 3, 3, 3)(), randomGrad(6)()],
      ([x, w, b]) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }));
  });

  it('refuses tensors on two devices, naming both', () => {
    const x = torch.randn(1, 2, 4, 4).to('webgpu'), w = torch.randn(3, 2, 3, 3), b = torch.randn(3).to('webgpu');
    expect(() => F.conv2d(x, w)).toThrow(/'webgpu' and 'cpu'/);
    expect(() => F.conv2d(x, w.to('webgpu'), torch.randn(3))).toThrow(/same device/);
    expect(() => F.convTranspose2d(x, torch.randn(2, 3, 3, 3), b)).toThrow(/same device/);
    expect(() => F.conv1d(torch.randn(2, 5).to('webgpu'), torch.randn(3, 2, 2))).toThrow(/same device/);
    torch.dispose(x, w, b);
  });
});

describe.runIf(available)('pooling on webgpu', () => {
  beforeAll(() => torch.manualSeed(1));

  it('maxPool2d values, indices and gradient over kernel, stride, padding, dilation and ceil mode', async () => {
    let cases = 0;
    for (const kernel of [3, [3, 2]]) {
      for (const stride of [1, 2]) {
        for (const padding of [0, 1]) {
          for (const dilation of [1, 2]) {
            for (const ceilMode of [false, true]) {
              const options = { stride, padding, dilation, ceilMode, returnIndices: true as const };
              await compareDevices(`maxPool2d ${JSON.stringify(kernel)} ${JSON.stringify(options)}`, () => [randomGrad(2, 3, 7, 6)()],
                ([x]) => { const { values, indices } = F.maxPool2d(x, kernel as number[], options); return [values, indices]; }, { grad: true });
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(32);
  });

  it('maxPool2d 2x2 stride 2 (odd sizes, ceil mode), ties, unbatched and views', async () => {
    for (const ceilMode of [false, true]) {
      await compareDevices(`maxPool2d 2x2 ceilMode ${ceilMode}`, () => [randomGrad(2, 2, 7, 9)()],
        ([x]) => { const { values, indices } = F.maxPool2d(x, 2, { ceilMode, returnIndices: true }); return [values, indices]; }, { grad: true });
    }
    // Rounded values tie often: the first position in the window wins, and overlapping windows share gradients.
    await compareDevices('maxPool2d ties', () => [torch.randn(1, 2, 6, 6).round().requiresGrad_()],
      ([x]) => { const { values, indices } = F.maxPool2d(x, 3, { stride: 1, returnIndices: true }); return [values, indices]; }, { grad: true });
    await compareDevices('maxPool2d unbatched', () => [randomGrad(3, 5, 5)()], ([x]) => F.maxPool2d(x, 2, { stride: 1, padding: 1 }), { grad: true });
    await compareDevices('maxPool2d transposed view', () => [randomGrad(2, 3, 6, 5)()], ([x]) => F.maxPool2d(x.transpose(1, 3), [2, 3], { stride: [1, 2] }), { grad: true });
    await compareDevices('maxPool2d empty batch', () => [randomGrad(0, 3, 4, 4)()], ([x]) => F.maxPool2d(x, 2), { grad: true });
  });

  it('maxPool2d propagates NaN as the CPU does (the last NaN in a window wins) and reads padding as -inf', async () => {
    const make = () => {
      const x = torch.randn(1, 2, 5, 5).sub(10);
      const values = x.toArray() as Float32Array;
      for (const position of [0, 3, 7, 12, 13, 30]) values[position] = NaN;
      return [torch.tensor(Array.from(values)).reshape(1, 2, 5, 5).requiresGrad_()];
    };
    for (const options of [{ stride: 1 }, { stride: 2, padding: 1 }, { stride: 2, ceilMode: true }]) {
      await compareDevices(`maxPool2d NaN ${JSON.stringify(options)}`, make,
        ([x]) => { const { values, indices } = F.maxPool2d(x, 3, { ...options, returnIndices: true }); return [values, indices]; }, { grad: true });
    }
  });

  it('maxPool2d: a dilated window that reads only padding gives -inf on both devices; its gradient is dropped on the GPU', async () => {
    // Width 2, padding 1, dilation 3: the window's two taps are columns -1 and 2, both outside the input.
    const cpu = torch.randn(1, 1, 3, 2).requiresGrad_();
    const gpu = cpu.detach().to('webgpu').requiresGrad_();
    const options = { padding: [0, 1], dilation: [1, 3], returnIndices: true as const };
    const a = F.maxPool2d(cpu, [1, 2], options), b = F.maxPool2d(gpu, [1, 2], options);
    await expectClose(b.values, a.values, 'values');
    await expectClose(b.indices, a.indices, 'indices');
    a.values.backward(torch.ones(a.values.shape));
    b.values.backward(torch.ones(b.values.shape).to('webgpu'));
    // The CPU (as PyTorch's CPU kernel) adds the gradient where the index lands, the next row's first column;
    // the GPU (as PyTorch's CUDA kernel) adds only within windows, so nothing.
    expect(cpu.grad!.tolist()).toEqual([[[[0, 0], [1, 0], [1, 0]]]]);
    expect(await gpu.grad!.tolistAsync()).toEqual([[[[0, 0], [0, 0], [0, 0]]]]);
    torch.dispose(cpu, gpu, a.values, a.indices, b.values, b.indices);
  });

  it('avgPool2d over kernel, stride, padding, ceil mode, countIncludePad and divisorOverride, with double backward', async () => {
    let cases = 0;
    for (const kernel of [3, [2, 3]]) {
      for (const stride of [1, 2]) {
        for (const padding of [0, 1]) {
          for (const ceilMode of [false, true]) {
            for (const countIncludePad of [true, false]) {
              const options = { stride, padding, ceilMode, countIncludePad };
              await compareDevices(`avgPool2d ${JSON.stringify(kernel)} ${JSON.stringify(options)}`, () => [randomGrad(2, 3, 7, 6)()],
                ([x]) => F.avgPool2d(x, kernel as number[], options), { ...tolerance, grad: true });
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(32);
    await compareDevices('avgPool2d divisorOverride', () => [randomGrad(3, 5, 6)()],
      ([x]) => F.avgPool2d(x, 3, { stride: 2, padding: 1, divisorOverride: 4 }), { ...tolerance, grad: true });
    await compareDoubleBackward('avgPool2d', () => [randomGrad(2, 2, 6, 5)()], ([x]) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }));
  });

  it('adaptiveAvgPool2d to smaller, equal, larger and mixed sizes, with double backward', async () => {
    for (const size of [[3, 2], 1, [7, 6], [4, 9], [null, 2], [10, 1]] as (number | (number | null)[])[]) {
      await compareDevices(`adaptiveAvgPool2d ${JSON.stringify(size)}`, () => [randomGrad(2, 3, 7, 6)()],
        ([x]) => F.adaptiveAvgPool2d(x, size), { ...tolerance, grad: true });
    }
    await compareDevices('adaptiveAvgPool2d unbatched view', () => [randomGrad(5, 4, 3)()],
      ([x]) => F.adaptiveAvgPool2d(x.permute(2, 0, 1), [3, 3]), { ...tolerance, grad: true });
    await compareDoubleBackward('adaptiveAvgPool2d', () => [randomGrad(1, 2, 5, 7)()], ([x]) => F.adaptiveAvgPool2d(x, [2, 3]));
  });
});

describe.runIf(available)('convolution and pooling memory on webgpu', () => {
  it('a conv + pool training step repeated does not grow GPU memory or live tensors', async () => {
    const x = torch.randn(2, 3, 8, 8).to('webgpu');
    const w = torch.randn(4, 3, 3, 3).to('webgpu').requiresGrad_(), b = torch.randn(4).to('webgpu').requiresGrad_();
    const step = async () => {
      const y = F.maxPool2d(F.conv2d(x, w, b, { padding: 1 }).relu(), 2);
      const z = F.adaptiveAvgPool2d(F.avgPool2d(y, 2, { ceilMode: true }), 1);
      z.sum().backward();
      await w.grad!.data();
      torch.dispose(y, z);
      w.grad = null; b.grad = null;
    };
    await step();
    // Graph intermediates go with the GC; only Node runs it synchronously.
    if (!torch.backend.collectGarbage()) return;
    const before = torch.memory();
    for (let i = 0; i < 3; i++) await step();
    torch.backend.collectGarbage();
    const after = torch.memory();
    expect(after.tensors).toBe(before.tensors);
    expect(after.webgpuBytes).toBe(before.webgpuBytes);
    torch.dispose(x, w, b);
  });
});
