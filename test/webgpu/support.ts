// What the WebGPU tests share: the device probe (failing, not skipping, where a GPU or SwiftShader should exist) and the CPU-versus-GPU comparison.
import { expect } from 'vitest';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

/**
 * Opens the device. Where neither a GPU nor SwiftShader can be (no Vulkan ICD file), the suite is skipped with
 * the reason; where one should be, a failure to open it fails the suite.
 */
export async function openWebgpu(): Promise<boolean> {
  const available = await torch.webgpu.isAvailable();
  // Browsers under test run with --enable-unsafe-webgpu (test/browser/chromium.mjs): there it must open too.
  const expected = typeof process === 'undefined' || !process.versions?.node || !!process.env.VK_ICD_FILENAMES;
  if (!available && expected) throw new Error(`WebGPU should be available here: ${torch.webgpu.unavailableReason()}`);
  if (!available) console.warn(`WebGPU tests skipped: ${torch.webgpu.unavailableReason()}`);
  return available;
}

export interface DeviceComparison {
  /** Absolute and relative tolerance of values and gradients (float32 kernels differ in rounding). */
  atol?: number;
  rtol?: number;
  /** Also compare the gradients of inputs that require grad, through sum(output * random weights). */
  grad?: boolean;
}

/** Expects a GPU tensor (read back) to equal a CPU tensor within tolerance; NaN matches NaN, ±Inf must match. */
export async function expectClose(gpu: Tensor, cpu: Tensor, where: string, { atol = 1e-5, rtol = 1e-4 }: DeviceComparison = {}): Promise<void> {
  expect(gpu.device, `${where}: device`).toBe('webgpu');
  expect(gpu.shape, `${where}: shape`).toEqual(cpu.shape);
  expect(gpu.dtype, `${where}: dtype`).toBe(cpu.dtype);
  const actual = await gpu.data(), expected = cpu.toArray();
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]), e = Number(expected[i]);
    if (Number.isNaN(e)) { expect(Number.isNaN(a), `${where}[${i}]: expected NaN, got ${a}`).toBe(true); continue; }
    if (!Number.isFinite(e)) { expect(a, `${where}[${i}]`).toBe(e); continue; }
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) expect(a, `${where}[${i}] (expected ${e} within atol ${atol}, rtol ${rtol})`).toBe(e);
  }
}

/**
 * Runs `op` on CPU inputs and on their copies on 'webgpu', compares outputs, and with `grad` the gradients
 * of every input that requires grad. Inputs are made by `makeInputs` on the CPU (a seed gives both devices the same).
 */
export async function compareDevices(where: string, makeInputs: () => Tensor[], op: (inputs: Tensor[]) => Tensor | Tensor[], options: DeviceComparison = {}): Promise<void> {
  const synchronousGc = torch.backend.collectGarbage();
  const before = torch.memory();
  await compareOnce(where, makeInputs, op, options);
  // Graph intermediates are freed by the GC; only Node can run it synchronously (browsers: the Node run checks).
  if (!synchronousGc) return;
  // Out of compareOnce's scope nothing references its tensors or graphs: whatever is left is a leak.
  torch.backend.collectGarbage();
  const after = torch.memory();
  expect(after.tensors, `${where}: live tensors after dispose`).toBeLessThanOrEqual(before.tensors);
  expect(after.webgpuBytes, `${where}: GPU bytes after dispose`).toBeLessThanOrEqual(before.webgpuBytes);
}

async function compareOnce(where: string, makeInputs: () => Tensor[], op: (inputs: Tensor[]) => Tensor | Tensor[], options: DeviceComparison): Promise<void> {
  const cpuInputs = makeInputs();
  const gpuInputs = cpuInputs.map((t) => t.to('webgpu'));
  const listOf = (value: Tensor | Tensor[]) => (Array.isArray(value) ? value : [value]);
  const cpuOutputs = listOf(op(cpuInputs)), gpuOutputs = listOf(op(gpuInputs));
  for (let i = 0; i < cpuOutputs.length; i++) await expectClose(gpuOutputs[i], cpuOutputs[i], `${where} output ${i}`, options);
  if (options.grad) {
    torch.manualSeed(7);
    const weights = cpuOutputs.map((out) => torch.randn(out.shape));
    // backward(outputs, weights): the gradient of sum(output * weights), without needing a reduction kernel.
    const graded = cpuOutputs.flatMap((out, i) => (out.requiresGrad ? [i] : []));
    const gpuWeights = graded.map((i) => weights[i].to('webgpu'));
    // Outputs may share one graph: it is kept until the last backward, which frees what it saved.
    graded.forEach((i, k) => {
      const retainGraph = k < graded.length - 1;
      cpuOutputs[i].backward(weights[i], { retainGraph });
      gpuOutputs[i].backward(gpuWeights[k], { retainGraph });
    });
    torch.dispose(gpuWeights);
    for (let i = 0; i < cpuInputs.length; i++) {
      const cpuGrad = cpuInputs[i].grad, gpuGrad = gpuInputs[i].grad;
      if (cpuGrad === null) { expect(gpuGrad, `${where} grad ${i}`).toBeNull(); continue; }
      expect(gpuGrad, `${where} grad ${i}`).not.toBeNull();
      await expectClose(gpuGrad!, cpuGrad, `${where} grad ${i}`, options);
    }
    torch.dispose(weights);
  }
  torch.dispose(cpuInputs, gpuInputs, cpuOutputs, gpuOutputs);
}
