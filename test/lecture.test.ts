// The lecture's four programs in examples/ against PyTorch 1.13 (test/fixtures/generate_lecture.py): each
// training loop from PyTorch's initial tensors gives PyTorch's losses, the computational graph's gradients
// agree three ways, the autograd loop leaks nothing, and each example file runs under node.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import * as torch from '../src/index.js';

// The examples import 'wasmtorch' (the built package); here they get the sources this test imports, so
// tensors cross between the test and the example code in one runtime and one memory.
vi.mock('wasmtorch', () => import('../src/index.js'));

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(`${root}test/fixtures/lecture/${name}`, 'utf8'));

interface F32Tensor { shape: number[]; f32le: string }
interface NetFixture {
  learning_rate: number;
  steps: number;
  tensors: { x: F32Tensor; y: F32Tensor; w1: F32Tensor; w2: F32Tensor };
  losses: { tensors: number[]; autograd: number[]; custom_function: number[] };
}
const net: NetFixture = fixture('two_layer_net.json');

/** A fixture tensor: base64 of little-endian float32 values, row-major. */
function decode({ shape, f32le }: F32Tensor): torch.Tensor {
  const bytes = Buffer.from(f32le, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  expect(values.length).toBe(shape.reduce((a, b) => a * b, 1));
  return torch.fromArray(values, shape);
}

type Train = (args: {
  x: torch.Tensor; y: torch.Tensor; w1: torch.Tensor; w2: torch.Tensor;
  steps?: number; learningRate?: number; onStep?: (t: number, loss: number) => void;
}) => number[];

// Dynamic imports: an example that cannot load yet (say, before autograd exists) fails its own tests only.
const programs: { name: string; file: string; key: keyof NetFixture['losses']; requiresGrad: boolean }[] = [
  { name: 'tensors, hand-written backward', file: 'two-layer-net-tensors.mjs', key: 'tensors', requiresGrad: false },
  { name: 'autograd', file: 'two-layer-net-autograd.mjs', key: 'autograd', requiresGrad: true },
  { name: 'custom autograd.Function', file: 'two-layer-net-custom-function.mjs', key: 'custom_function', requiresGrad: true },
];
const modules: Record<string, () => Promise<{ train: Train }>> = {
  'two-layer-net-tensors.mjs': () => import('../examples/two-layer-net-tensors.mjs'),
  'two-layer-net-autograd.mjs': () => import('../examples/two-layer-net-autograd.mjs'),
  'two-layer-net-custom-function.mjs': () => import('../examples/two-layer-net-custom-function.mjs'),
};
const loadTrain = async (file: string): Promise<Train> => (await modules[file]()).train;

/** PyTorch's initial x, y, w1, w2; the weights are leaves with requiresGrad where the program wants them. */
function initialTensors(requiresGrad: boolean) {
  const x = decode(net.tensors.x);
  const y = decode(net.tensors.y);
  const w1 = decode(net.tensors.w1);
  const w2 = decode(net.tensors.w2);
  if (requiresGrad) {
    w1.requiresGrad_();
    w2.requiresGrad_();
  }
  return { x, y, w1, w2 };
}

const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

describe('two-layer net: the losses at steps 0, 1 and 10 are PyTorch float32 ones (relative 1e-3)', () => {
  it("the examples' 'wasmtorch' is the runtime this test uses", async () => {
    expect((await import('wasmtorch')).Tensor).toBe(torch.Tensor);
  });

  it('all three PyTorch programs agree with each other (the fixture is what the lecture computes)', () => {
    expect(net.losses.autograd.slice(0, 11)).toEqual(net.losses.tensors.slice(0, 11));
    expect(net.losses.custom_function.slice(0, 11)).toEqual(net.losses.tensors.slice(0, 11));
    expect(net.learning_rate).toBe(1e-6);
  });

  for (const { name, file, key, requiresGrad } of programs) {
    it(`${name} (examples/${file})`, async () => {
      const train = await loadTrain(file);
      const { x, y, w1, w2 } = initialTensors(requiresGrad);
      const seen: number[] = [];
      const losses = train({ x, y, w1, w2, steps: 11, learningRate: net.learning_rate, onStep: (t, loss) => seen.push(t, loss) });
      expect(losses).toHaveLength(11);
      expect(seen.filter((_, i) => i % 2 === 0)).toEqual([...Array(11).keys()]);
      expect(seen.filter((_, i) => i % 2 === 1)).toEqual(losses);
      for (const t of [0, 1, 10]) {
        const expected = net.losses[key][t];
        expect(relativeError(losses[t], expected), `step ${t}: wasmtorch ${losses[t]}, PyTorch ${expected}`).toBeLessThan(1e-3);
      }
      torch.dispose(x, y, w1.grad, w2.grad, w1, w2);
    });
  }
});

describe('computational graph (examples/computational-graph.mjs)', () => {
  const graph = fixture('computational_graph.json');

  it('hand-written gradients == autograd gradients == PyTorch', async () => {
    const { handWritten, withAutograd } = await import('../examples/computational-graph.mjs');
    const before = torch.memory();
    // The grads of withAutograd's leaves are the caller's (tidy never frees a .grad): returned, then disposed.
    const grads = torch.tidy(() => {
      const x = torch.tensor(graph.x), y = torch.tensor(graph.y), z = torch.tensor(graph.z);
      const hand = handWritten({ x, y, z });
      const auto = withAutograd({ x, y, z });
      for (const [name, key] of [['gradX', 'x'], ['gradY', 'y'], ['gradZ', 'z']] as const) {
        expect(hand[name].shape, name).toEqual([3, 4]);
        expect(hand[name].tolist(), `${name} by hand`).toEqual(graph.grad_hand[key]);
        expect(auto[name].tolist(), `${name} with autograd`).toEqual(graph.grad_autograd[key]);
      }
      expect(relativeError(hand.c.item(), graph.c)).toBeLessThan(1e-6);
      expect(relativeError(auto.c.item(), graph.c)).toBeLessThan(1e-6);
      // The caller's tensors are left as they were: unchanged values, no grad.
      expect(x.tolist()).toEqual(graph.x);
      expect(x.requiresGrad).toBe(false);
      expect(x.grad ?? null).toBeNull();
      return [auto.gradX, auto.gradY, auto.gradZ];
    });
    torch.dispose(grads);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});

describe('memory', () => {
  it('500 autograd steps, each in torch.tidy, leave only the weights and their grads', async () => {
    const train = await loadTrain('two-layer-net-autograd.mjs');
    const x = decode(net.tensors.x);
    const y = decode(net.tensors.y);
    const start = torch.memory();
    const w1 = decode(net.tensors.w1).requiresGrad_();
    const w2 = decode(net.tensors.w2).requiresGrad_();
    const losses = train({ x, y, w1, w2, steps: 500, learningRate: net.learning_rate });
    expect(losses).toHaveLength(500);
    expect(losses.at(-1)).toBeLessThan(1e-3);
    const end = torch.memory();
    const weightBytes = 4 * (w1.numel() + w2.numel());
    expect(end.tensors).toBe(start.tensors + 4); // w1, w2, w1.grad, w2.grad
    expect(end.bytes).toBe(start.bytes + 2 * weightBytes);
    expect(w1.grad!.shape).toEqual(w1.shape);
    expect(w1.grad!.abs().max().item()).toBe(0); // zeroed after the last update
    torch.dispose(x, y, w1.grad, w2.grad, w1, w2);
  });
});

describe('each example runs under node and ends with loss < 1e-3', () => {
  const run = promisify(execFile);
  const node = (file: string) => run(process.execPath, [`${root}examples/${file}`], { cwd: root, timeout: 60_000 });

  for (const { file } of programs) {
    it(`node examples/${file}`, async () => {
      const { stdout } = await node(file);
      expect(stdout).toMatch(/^99 /m);
      expect(stdout).toMatch(/^499 /m);
      const match = stdout.match(/^final loss (\S+) after 500 steps, ([\d.]+) ms per step/m);
      expect(match, stdout).not.toBeNull();
      expect(Number(match![1])).toBeLessThan(1e-3);
    });
  }

  it('node examples/computational-graph.mjs', async () => {
    const { stdout } = await node('computational-graph.mjs');
    expect(stdout).toContain('hand-written gradients == autograd gradients');
  });
});
