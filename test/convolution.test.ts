// conv1d, conv2d, convTranspose2d, maxPool2d, avgPool2d, adaptiveAvgPool2d: PyTorch fixtures (outputs and gradients), the golden nn cases, gradcheck, threads, errors, memory.
import convolutionFixture from './fixtures/convolution.json';
import goldenNn from './fixtures/golden/nn.json';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

type Tensor = torch.Tensor;
type JsonNumber = number | 'nan' | 'inf' | '-inf';
interface TensorJson { shape: number[]; data: JsonNumber[]; dtype?: 'int32' }
interface FixtureCase {
  name: string;
  op: 'conv1d' | 'conv2d' | 'convTranspose2d' | 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d';
  inputs: ((TensorJson & { name: string }) | null)[];
  args: unknown[];
  options: Record<string, unknown>;
  outputs: TensorJson[];
  upstream?: TensorJson;
  grads?: (TensorJson | null)[];
}

// Imported through Vite (not read with node:fs) so the same file runs in Node and in the browser.
const fixture = convolutionFixture as unknown as { cases: FixtureCase[] };
const decode = (v: JsonNumber) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);
const build = (t: TensorJson, requiresGrad = false) =>
  torch.fromArray(Float32Array.from(t.data.map(decode)), t.shape).requiresGrad_(requiresGrad);

/** Elementwise |actual - expected| <= atol + rtol |expected|, NaN only where NaN is expected, infinities exactly. */
function expectClose(actual: Tensor, expected: TensorJson, what: string, rtol = 1e-4, atol = 1e-5): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  const values = Array.from(actual.toArray() as Float32Array);
  expected.data.forEach((raw, i) => {
    const want = decode(raw), got = values[i];
    if (Number.isNaN(want) || !Number.isFinite(want)) {
      expect(Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got)), `${what}[${i}]: got ${got}, expected ${want}`).toBe(true);
      return;
    }
    if (!(Math.abs(got - want) <= atol + rtol * Math.abs(want))) {
      throw new Error(`${what}[${i}]: got ${got}, expected ${want} (|diff| ${Math.abs(got - want)} > ${atol} + ${rtol}·|expected|)`);
    }
  });
}

function run(c: FixtureCase, inputs: (Tensor | null)[]): Tensor | torch.ValuesIndices {
  const [input, weight, bias] = inputs;
  switch (c.op) {
    case 'conv1d': return torch.conv1d(input!, weight!, bias, c.options);
    case 'conv2d': return torch.conv2d(input!, weight!, bias, c.options);
    case 'convTranspose2d': return torch.convTranspose2d(input!, weight!, bias, c.options);
    case 'maxPool2d': return torch.maxPool2d(input!, c.args[0] as number | number[], c.options);
    case 'avgPool2d': return torch.avgPool2d(input!, c.args[0] as number | number[], c.options);
    case 'adaptiveAvgPool2d': return torch.adaptiveAvgPool2d(input!, c.args[0] as number | (number | null)[]);
    default: return c.op satisfies never;
  }
}

const cores = torch.getNumThreads();
afterAll(async () => { await torch.setNumThreads(cores); });

describe('PyTorch fixtures: outputs and the gradients of every input', () => {
  for (const c of fixture.cases) {
    it(`${c.name}`, () => {
      const before = torch.memory();
      torch.tidy(() => {
        const inputs = c.inputs.map((spec) => (spec ? build(spec, c.grads !== undefined) : null));
        const result = run(c, inputs);
        const outputs = Array.isArray(result) ? result : [result];
        expect(outputs.length).toBe(c.outputs.length);
        const isPool = c.op.endsWith('Pool2d');
        outputs.forEach((out, k) => {
          const expected = c.outputs[k];
          if (expected.dtype === 'int32') {
            expect(out.dtype).toBe('int32');
            expect(out.shape).toEqual(expected.shape);
            expect(Array.from(out.toArray() as Int32Array), `${c.name}: indices`).toEqual(expected.data);
          } else expectClose(out, expected, `${c.name}: output`, isPool ? 1e-5 : 1e-4, isPool ? 1e-6 : 1e-5);
        });
        if (!c.upstream || !c.grads) return;
        outputs[0].backward(build(c.upstream));
        c.grads.forEach((grad, i) => {
          if (!grad) return;
          expect(inputs[i]!.grad, `${c.name}: grad of input ${i}`).not.toBeNull();
          expectClose(inputs[i]!.grad!, grad, `${c.name}: grad of ${c.inputs[i]!.name}`, 1e-4, 1e-4);
        });
      });
      expect(torch.memory(), 'memory after the case').toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    });
  }
});

interface GoldenCase {
  id: string; op: string;
  inputs: { name: string; shape: number[]; data: number[]; requires_grad: boolean }[];
  kwargs: Record<string, unknown>;
  outputs: { shape: number[]; data: number[] }[];
  upstream: ({ shape: number[]; data: number[] } | null)[];
  grads: ({ shape: number[]; data: number[] } | null)[];
  tolerance: { rtol: number; atol: number };
}

describe('golden nn cases (test/fixtures/golden/nn.json): conv2d and max_pool2d', () => {
  const golden = goldenNn as unknown as { cases: GoldenCase[] };
  const cases = golden.cases.filter((c) => c.op === 'conv2d' || c.op === 'max_pool2d');
  it('are present', () => { expect(cases.length).toBeGreaterThanOrEqual(6); });
  for (const c of cases) {
    it(c.id, () => {
      const before = torch.memory();
      torch.tidy(() => {
        const named: Record<string, Tensor> = {};
        for (const input of c.inputs) named[input.name] = build(input, input.requires_grad);
        const kw = c.kwargs as { stride?: number | number[]; padding?: number | number[]; kernel_size?: number | number[] };
        const out = c.op === 'conv2d'
          ? torch.conv2d(named.input, named.weight, named.bias ?? null, { stride: kw.stride, padding: kw.padding })
          : torch.maxPool2d(named.input, kw.kernel_size!, { stride: kw.stride, padding: kw.padding });
        const { rtol, atol } = c.tolerance;
        expectClose(out, c.outputs[0], `${c.id}: output`, rtol, atol);
        out.backward(build(c.upstream[0]!));
        c.inputs.forEach((input, i) => {
          if (c.grads[i]) expectClose(named[input.name].grad!, c.grads[i]!, `${c.id}: grad of ${input.name}`, rtol, Math.max(atol, 1e-5));
        });
      });
      expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    });
  }
});

/** n distinct values over [-1, 1] in a scrambled order (no ties, so max pooling is differentiable at them). */
function spread(shape: number[], seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, k) => (n === 1 ? 0.5 : -1 + (2 * k) / (n - 1)));
  let state = seed;
  for (let i = n - 1; i > 0; i--) {
    state = (state * 1664525 + 1013904223) % 4294967296;
    const j = state % (i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return torch.tensor(values).reshape(shape).requiresGrad_();
}

describe('gradcheck (float32 central differences) and second derivatives', () => {
  const { gradcheck, gradgradcheck } = torch.autograd;
  const cases: [string, () => Tensor[], (...xs: Tensor[]) => Tensor][] = [
    ['conv2d stride 2, padding 1, bias', () => [spread([2, 2, 5, 5]), spread([3, 2, 3, 3], 2), spread([3], 3)], (x, w, b) => torch.conv2d(x, w, b, { stride: 2, padding: 1 })],
    ['conv2d groups 2, dilation 2, padding same', () => [spread([1, 4, 5, 5]), spread([2, 2, 2, 2], 2)], (x, w) => torch.conv2d(x, w, null, { groups: 2, dilation: 2, padding: 'same' })],
    ['conv2d depthwise, asymmetric stride', () => [spread([1, 3, 5, 6]), spread([3, 1, 2, 3], 2)], (x, w) => torch.conv2d(x, w, null, { groups: 3, stride: [2, 1] })],
    ['conv2d unbatched', () => [spread([2, 4, 4]), spread([2, 2, 3, 3], 2)], (x, w) => torch.conv2d(x, w)],
    // The direct 3x3 weight gradient pairs output channels: 3 per group leaves one unpaired, none paired across groups.
    ['conv2d 3x3 direct, groups 2 of 3 output channels each', () => [spread([2, 2, 5, 7]), spread([6, 1, 3, 3], 2), spread([6], 3)],
      (x, w, b) => torch.conv2d(x, w, b, { groups: 2 })],
    ['conv2d on Winograd (3x3, stride 1, 8 channels each way), padding 1, bias', () => [spread([1, 8, 4, 5]), spread([8, 8, 3, 3], 2), spread([8], 3)],
      (x, w, b) => torch.conv2d(x, w, b, { padding: 1 })],
    ['conv1d stride 2, dilation 2, padding 2', () => [spread([2, 2, 9]), spread([3, 2, 3], 2), spread([3], 3)], (x, w, b) => torch.conv1d(x, w, b, { stride: 2, dilation: 2, padding: 2 })],
    ['convTranspose2d stride 2, padding 1, outputPadding 1, groups 2', () => [spread([1, 4, 3, 3]), spread([4, 1, 3, 3], 2), spread([2], 3)],
      (x, w, b) => torch.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 })],
    ['maxPool2d 3, stride 2, padding 1, dilation 1', () => [spread([1, 2, 6, 6])], (x) => torch.maxPool2d(x, 3, { stride: 2, padding: 1 })],
    ['maxPool2d dilation 2, ceilMode', () => [spread([1, 1, 7, 7])], (x) => torch.maxPool2d(x, 2, { dilation: 2, ceilMode: true })],
    ['avgPool2d countIncludePad false, ceilMode', () => [spread([1, 2, 5, 5])], (x) => torch.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false })],
    ['avgPool2d divisorOverride', () => [spread([1, 1, 4, 4])], (x) => torch.avgPool2d(x, 2, { divisorOverride: 3 })],
    ['adaptiveAvgPool2d 5x7 -> 3x4', () => [spread([1, 2, 5, 7])], (x) => torch.adaptiveAvgPool2d(x, [3, 4])],
  ];
  for (const [name, inputs, fn] of cases) {
    it(name, () => {
      torch.tidy(() => { expect(gradcheck(fn, inputs())).toBe(true); });
    });
  }
  const second: [string, () => Tensor[], (...xs: Tensor[]) => Tensor][] = [
    ['conv2d (its rules are convTranspose2d and the weight-gradient op)', () => [spread([1, 2, 4, 4]), spread([2, 2, 2, 2], 2)], (x, w) => torch.conv2d(x, w, null, { stride: 2, padding: 1 }).square()],
    ['convTranspose2d', () => [spread([1, 2, 3, 3]), spread([2, 1, 2, 2], 2)], (x, w) => torch.convTranspose2d(x, w, null, { stride: 2 }).square()],
    ['conv2d on Winograd (its rules run on Winograd too)', () => [spread([1, 8, 3, 4]), spread([8, 8, 3, 3], 2)], (x, w) => torch.conv2d(x, w, null, { padding: 1 }).square()],
    ['maxPool2d', () => [spread([1, 1, 4, 4])], (x) => torch.maxPool2d(x, 2).square()],
    ['avgPool2d', () => [spread([1, 1, 4, 4])], (x) => torch.avgPool2d(x.square(), 3, { stride: 1, padding: 1 })],
  ];
  for (const [name, inputs, fn] of second) {
    it(`gradgradcheck: ${name}`, () => {
      torch.tidy(() => { expect(gradgradcheck(fn, inputs())).toBe(true); });
    });
  }
});

describe('layouts', () => {
  it('non-contiguous inputs, weights and gradients give the same results as contiguous ones', () => {
    const before = torch.memory();
    torch.tidy(() => {
      torch.manualSeed(11);
      const base = torch.randn(2, 3, 6, 7), w = torch.randn(4, 3, 3, 3);
      const strided = base.transpose(2, 3).contiguous().transpose(2, 3).requiresGrad_(); // same values, column-major planes
      const plain = base.clone().requiresGrad_();
      const a = torch.conv2d(strided, w.transpose(2, 3).contiguous().transpose(2, 3), null, { padding: 1 });
      const b = torch.conv2d(plain, w, null, { padding: 1 });
      expect(torch.allclose(a, b, { atol: 1e-5 })).toBe(true);
      const upstream = torch.randn(2, 4, 7, 6).transpose(2, 3);
      a.backward(upstream);
      b.backward(upstream.contiguous());
      expect(torch.allclose(strided.grad!, plain.grad!, { atol: 1e-5 })).toBe(true);
      const pooledA = torch.maxPool2d(strided.permute(0, 1, 2, 3).transpose(2, 3), 2);
      const pooledB = torch.maxPool2d(plain.transpose(2, 3).contiguous(), 2);
      expect(torch.equal(pooledA, pooledB)).toBe(true);
    });
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('an empty batch gives empty outputs and zero-sized gradients', () => {
    torch.tidy(() => {
      const x = torch.zeros(0, 2, 5, 5).requiresGrad_(), w = torch.ones(3, 2, 3, 3).requiresGrad_();
      const y = torch.conv2d(x, w);
      expect(y.shape).toEqual([0, 3, 3, 3]);
      y.sum().backward();
      expect(w.grad!.abs().sum().item()).toBe(0);
      expect(torch.maxPool2d(x, 2).shape).toEqual([0, 2, 2, 2]);
    });
  });

  it('gradient nodes are named as in PyTorch', () => {
    torch.tidy(() => {
      const x = spread([1, 1, 4, 4]), w = spread([1, 1, 2, 2], 2);
      expect(torch.conv2d(x, w).gradFn!.name).toBe('ConvolutionBackward0');
      expect(torch.convTranspose2d(x, w).gradFn!.name).toBe('ConvolutionBackward0');
      expect(torch.maxPool2d(x, 2).gradFn!.name).toBe('MaxPool2DWithIndicesBackward0');
      expect(torch.avgPool2d(x, 2).gradFn!.name).toBe('AvgPool2DBackward0');
      expect(torch.adaptiveAvgPool2d(x, 2).gradFn!.name).toBe('AdaptiveAvgPool2DBackward0');
    });
  });
});

describe('threads: bitwise-equal results on 1 and 2 threads', () => {
  /** The raw bits, so -0 and NaN payloads count too (Uint32Array, not Buffer: this file also runs in Chromium). */
  function bits(t: Tensor): Uint32Array {
    return new Uint32Array(Float32Array.from(t.toArray() as Float32Array).buffer);
  }
  // A page that is not cross-origin isolated has one thread only (test/browser runs this file there too). In
  // Chromium this check caught a retired worker, not yet terminated, serving jobs beside its successor with the
  // same scratch (wrong values right after setNumThreads(1) -> (2)); pool.ts #retire now revokes its slot first.
  it.skipIf((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false)('forward and backward of every op (sizes large enough to run on the pool)', async () => {
    const runAll = () => torch.tidy(() => {
      torch.manualSeed(21);
      const x = torch.randn(32, 16, 13, 13).requiresGrad_(), w = torch.randn(32, 16, 3, 3).mul(0.1).requiresGrad_(), b = torch.randn(32).requiresGrad_();
      const image = torch.randn(32, 1, 28, 28), w1 = torch.randn(16, 1, 3, 3).requiresGrad_();
      const y = torch.conv2d(x, w, b, { padding: 1 });
      const grouped = torch.conv2d(x, w.narrow(1, 0, 4), null, { groups: 4, stride: 2 });
      const up = torch.convTranspose2d(y, w, null, { stride: 2, outputPadding: 1 });
      const first = torch.conv2d(image, w1);
      const pooled = torch.maxPool2d(first, 2);
      const averaged = torch.avgPool2d(y, 3, { stride: 2, padding: 1, countIncludePad: false });
      const adaptive = torch.adaptiveAvgPool2d(y, [5, 4]);
      const loss = y.square().sum().add(grouped.sum()).add(up.mul(0.01).square().sum()).add(pooled.square().sum()).add(averaged.sum()).add(adaptive.sum());
      loss.backward();
      return [y, grouped, up, first, pooled, averaged, adaptive, x.grad!, w.grad!, b.grad!, w1.grad!].map(bits);
    });
    await torch.setNumThreads(1);
    const one = runAll();
    await torch.setNumThreads(2);
    expect(torch.backend.info().threads).toBe(2);
    const two = runAll();
    one.forEach((expected, k) => { expect(two[k].length === expected.length && two[k].every((word, i) => word === expected[i]), `result ${k}`).toBe(true); });
  });
});

describe('errors: PyTorch messages, thrown before anything is allocated', () => {
  const t = (...shape: number[]) => torch.zeros(...shape);
  const cases: [string, () => unknown, typeof torch.TorchError, string | RegExp][] = [
    ['channels', () => torch.conv2d(t(32, 3, 28, 28), t(16, 1, 3, 3)), torch.ShapeError,
      'Given groups=1, weight of size [16, 1, 3, 3], expected input[32, 3, 28, 28] to have 1 channels, but got 3 channels instead'],
    ['channels with groups', () => torch.conv2d(t(2, 4, 8, 8), t(6, 3, 3, 3), null, { groups: 2 }), torch.ShapeError,
      'Given groups=2, weight of size [6, 3, 3, 3], expected input[2, 4, 8, 8] to have 6 channels, but got 4 channels instead'],
    ['channels, unbatched', () => torch.conv2d(t(3, 8, 8), t(4, 2, 3, 3)), torch.ShapeError,
      'Given groups=1, weight of size [4, 2, 3, 3], expected input[1, 3, 8, 8] to have 2 channels, but got 3 channels instead'],
    ['weight not divisible by groups', () => torch.conv2d(t(2, 4, 8, 8), t(3, 2, 3, 3), null, { groups: 2 }), torch.ShapeError,
      'Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 2, 3, 3] instead'],
    ['empty weight', () => torch.conv2d(t(1, 1, 4, 4), t(0, 1, 3, 3)), torch.ShapeError,
      'Given groups=1, expected weight to be at least 1 at dimension 0, but got weight of size [0, 1, 3, 3] instead'],
    ['kernel larger than the input', () => torch.conv2d(t(1, 1, 2, 2), t(1, 1, 3, 3)), torch.ShapeError,
      "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size"],
    ['kernel larger than the padded input', () => torch.conv2d(t(1, 1, 2, 2), t(1, 1, 5, 5), null, { padding: 1 }), torch.ShapeError,
      "Calculated padded input size per channel: (4 x 4). Kernel size: (5 x 5). Kernel size can't be greater than actual input size"],
    ['dilated kernel larger than the input', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { dilation: 2 }), torch.ShapeError,
      "Calculated padded input size per channel: (4 x 4). Kernel size: (5 x 5). Kernel size can't be greater than actual input size"],
    ['conv1d kernel larger than the input', () => torch.conv1d(t(2, 3, 2), t(4, 3, 3)), torch.ShapeError,
      "Calculated padded input size per channel: (2). Kernel size: (3). Kernel size can't be greater than actual input size"],
    ['stride 0', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { stride: 0 }), torch.ArgumentError, 'non-positive stride is not supported'],
    ['negative padding', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { padding: -1 }), torch.ArgumentError, 'negative padding is not supported'],
    ['dilation 0', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { dilation: 0 }), torch.ArgumentError, 'dilation should be greater than zero, but got [0, 0]'],
    ['groups 0', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { groups: 0 }), torch.ArgumentError, 'non-positive groups is not supported'],
    ["padding 'same' with stride 2", () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { padding: 'same', stride: 2 }), torch.ArgumentError,
      "padding='same' is not supported for strided convolutions"],
    ['unknown padding string', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { padding: 'full' as 'same' }), torch.ArgumentError, /Invalid padding string: 'full'/],
    ['stride of three values', () => torch.conv2d(t(1, 1, 4, 4), t(2, 1, 3, 3), null, { stride: [1, 1, 1] }), torch.ArgumentError,
      'expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, but got stride=[1, 1, 1]'],
    ['bias of the wrong size', () => torch.conv2d(t(1, 1, 4, 4), t(2, 1, 3, 3), t(3)), torch.ShapeError,
      'Given weight of size [2, 1, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [3] instead'],
    ['2-D input', () => torch.conv2d(t(4, 4), t(2, 1, 3, 3)), torch.ShapeError, 'Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [4, 4]'],
    ['conv1d 4-D input', () => torch.conv1d(t(2, 3, 10, 1), t(4, 3, 3)), torch.ShapeError, 'Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [2, 3, 10, 1]'],
    ['3-D weight for conv2d', () => torch.conv2d(t(1, 1, 4, 4), t(2, 1, 3)), torch.ShapeError, /expected weight to be 4-dimensional .* got weight of size \[2, 1, 3\]/],
    ['int32 input', () => torch.conv2d(torch.zeros(1, 1, 4, 4, { dtype: 'int32' }), t(1, 1, 3, 3)), torch.DtypeError, /expected float32 tensors, got torch.int32 for input/],
    ['convTranspose2d channels', () => torch.convTranspose2d(t(2, 5, 7, 7), t(3, 4, 3, 3)), torch.ShapeError,
      'Given transposed=1, weight of size [3, 4, 3, 3], expected input[2, 5, 7, 7] to have 3 channels, but got 5 channels instead'],
    ['convTranspose2d outputPadding', () => torch.convTranspose2d(t(2, 3, 7, 7), t(3, 4, 3, 3), null, { outputPadding: 1 }), torch.ArgumentError,
      'output padding must be smaller than either stride or dilation, but got output_padding_height: 1 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1'],
    ['convTranspose2d bias', () => torch.convTranspose2d(t(2, 4, 7, 7), t(4, 2, 3, 3), t(3)), torch.ShapeError,
      'Given transposed=1, weight of size [4, 2, 3, 3], expected bias to be 1-dimensional with 2 elements, but got bias of size [3] instead'],
    ['convTranspose2d output too small', () => torch.convTranspose2d(t(1, 1, 2, 2), t(1, 1, 3, 3), null, { padding: 3 }), torch.ShapeError,
      'Given input size per channel: (2 x 2). Calculated output size per channel: (-2 x -2). Output size is too small'],
    ['maxPool2d padding over half the kernel', () => torch.maxPool2d(t(1, 1, 8, 8), 3, { padding: 2 }), torch.ArgumentError, 'pad should be at most half of kernel size, but got pad=2 and kernel_size=3'],
    ['maxPool2d output too small', () => torch.maxPool2d(t(1, 1, 2, 2), 3), torch.ShapeError, 'Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small'],
    ['maxPool2d kernel 0', () => torch.maxPool2d(t(1, 1, 4, 4), 0), torch.ArgumentError, 'kernel size should be greater than zero, but got kH: 0 kW: 0'],
    ['maxPool2d stride 0', () => torch.maxPool2d(t(1, 1, 4, 4), 2, { stride: 0 }), torch.ArgumentError, 'stride should be greater than zero, but got dH: 0 dW: 0'],
    ['maxPool2d dilation 0', () => torch.maxPool2d(t(1, 1, 4, 4), 2, { dilation: 0 }), torch.ArgumentError, 'dilation should be greater than zero, but got dilationH: 0 dilationW: 0'],
    ['maxPool2d 2-D input', () => torch.maxPool2d(t(4, 4), 2), torch.ShapeError, /non-empty 3D or 4D \(batch mode\) tensor expected for input/],
    ['maxPool2d empty channels', () => torch.maxPool2d(t(1, 0, 4, 4), 2), torch.ShapeError, /Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but got: \[1, 0, 4, 4\]/],
    ['maxPool2d kernel of three values', () => torch.maxPool2d(t(1, 1, 4, 4), [2, 2, 2]), torch.ArgumentError, /kernel_size must either be a single int, or a tuple of two ints/],
    ['avgPool2d padding over half the kernel', () => torch.avgPool2d(t(1, 1, 8, 8), 3, { padding: 2 }), torch.ArgumentError, 'pad should be at most half of kernel size, but got pad=2 and kernel_size=3'],
    ['avgPool2d divisorOverride 0', () => torch.avgPool2d(t(1, 1, 4, 4), 2, { divisorOverride: 0 }), torch.ArgumentError, 'divisor must be not zero'],
    ['adaptiveAvgPool2d negative size', () => torch.adaptiveAvgPool2d(t(1, 1, 4, 4), -1), torch.ArgumentError,
      'adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {-1, -1}'],
    ['adaptiveAvgPool2d 2-D input', () => torch.adaptiveAvgPool2d(t(4, 4), 2), torch.ShapeError, 'adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got [4, 4]'],
    ['adaptiveAvgPool2d empty plane', () => torch.adaptiveAvgPool2d(t(1, 1, 0, 4), 2), torch.ShapeError,
      'adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 1, 0, 4] with dimension 2 being empty'],
    ['unknown option', () => torch.conv2d(t(1, 1, 4, 4), t(1, 1, 3, 3), null, { strides: 2 } as never), torch.ArgumentError, /unknown option 'strides'/],
  ];
  for (const [name, call, errorClass, message] of cases) {
    it(name, () => {
      const before = torch.memory();
      let thrown: unknown;
      try { torch.tidy(() => { call(); }); } catch (error) { thrown = error; }
      expect(thrown).toBeInstanceOf(errorClass);
      if (typeof message === 'string') expect((thrown as Error).message).toBe(message);
      else expect((thrown as Error).message).toMatch(message);
      expect(torch.memory(), 'memory after the error').toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    });
  }

  it('errors change no state: the inputs keep no gradient function and the runtime still works', () => {
    torch.tidy(() => {
      const x = spread([1, 2, 4, 4]), w = spread([2, 1, 3, 3]);
      const before = torch.memory();
      expect(() => torch.conv2d(x, w)).toThrow(torch.ShapeError);
      expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
      expect(x.grad).toBeNull();
      expect(torch.conv2d(x, w, null, { groups: 2 }).shape).toEqual([1, 2, 2, 2]);
    });
  });
});
