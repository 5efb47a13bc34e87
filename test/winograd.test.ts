// The Winograd F(2x2, 3x3) path of 3x3 stride-1 convolutions (forward, input gradient, weight gradient): which geometries take it, a float64 reference over random geometries, threads, memory.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { wasm } from '../src/backend/wasm/device.js';

type Tensor = torch.Tensor;

/** The kernels a call launches, by name (the runtime's launch, wrapped for the duration of `run`). */
function kernelsLaunchedBy(run: () => void): string[] {
  const launched: string[] = [];
  const original = wasm.launch;
  wasm.launch = function (this: typeof wasm, kernel, ...rest) {
    launched.push(kernel);
    return original.call(this, kernel, ...rest);
  } as typeof wasm.launch;
  try {
    run();
  } finally {
    wasm.launch = original;
  }
  return launched;
}

interface Geometry { batch: number; channels: number; height: number; width: number; outChannels: number; padding: number; bias: boolean }

/**
 * conv2d's output and the gradients of input, weight and bias for sum(y * upstream), in float64, with the sum of
 * the products' magnitudes beside each value (the scale of its rounding error).
 */
function reference(g: Geometry, x: Float32Array, w: Float32Array, b: Float32Array | null, upstream: Float32Array) {
  const { batch: n, channels: c, height: h, width: wd, outChannels: o, padding: p } = g;
  const oh = h + 2 * p - 2, ow = wd + 2 * p - 2;
  const y = new Float64Array(n * o * oh * ow), yScale = new Float64Array(y.length);
  const dx = new Float64Array(x.length), dxScale = new Float64Array(x.length);
  const dw = new Float64Array(w.length), dwScale = new Float64Array(w.length);
  const db = new Float64Array(o);
  for (let ni = 0; ni < n; ni++) for (let oi = 0; oi < o; oi++) for (let yy = 0; yy < oh; yy++) for (let xx = 0; xx < ow; xx++) {
    const out = ((ni * o + oi) * oh + yy) * ow + xx, up = upstream[out];
    let sum = b ? b[oi] : 0, scale = b ? Math.abs(b[oi]) : 0;
    db[oi] += up;
    for (let ci = 0; ci < c; ci++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
      const iy = yy + ky - p, ix = xx + kx - p;
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      const xi = ((ni * c + ci) * h + iy) * wd + ix, wi = ((oi * c + ci) * 3 + ky) * 3 + kx;
      sum += x[xi] * w[wi]; scale += Math.abs(x[xi] * w[wi]);
      dx[xi] += up * w[wi]; dxScale[xi] += Math.abs(up * w[wi]);
      dw[wi] += up * x[xi]; dwScale[wi] += Math.abs(up * x[xi]);
    }
    y[out] = sum; yScale[out] = scale;
  }
  return { y: [y, yScale], dx: [dx, dxScale], dw: [dw, dwScale], db } as const;
}

/** |got - want| <= 1e-6 * (scale + 1): a few float32 roundings of the largest partial sums. */
function expectNear(got: Tensor, [want, scale]: readonly [Float64Array, Float64Array], what: string): void {
  const values = got.toArray() as Float32Array;
  expect(values.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(values[i] - want[i]) <= 1e-6 * (scale[i] + 1))) {
      throw new Error(`${what}[${i}]: got ${values[i]}, expected ${want[i]} (error bound ${1e-6 * (scale[i] + 1)})`);
    }
  }
}

afterAll(async () => { await torch.setNumThreads(1); });

describe('which convolutions run on Winograd', () => {
  const launchedFor = (input: number[], weight: number[], options: torch.Conv2dOptions = {}, grads: 'both' | 'input' | 'weight' = 'both') => torch.tidy(() => {
    const x = torch.randn(...input).requiresGrad_(grads !== 'weight'), w = torch.randn(...weight).requiresGrad_(grads !== 'input');
    return kernelsLaunchedBy(() => { torch.conv2d(x, w, null, options).sum().backward(); });
  });
  const count = (launched: string[], kernel: string) => launched.filter((k) => k === kernel).length;

  it('3x3, stride 1, 8 or more channels each way: forward and both gradients, which come from one pass from batch 8 on', () => {
    const launched = launchedFor([8, 8, 6, 6], [8, 8, 3, 3], { padding: 1 });
    expect([count(launched, 'winograd_conv_f32'), count(launched, 'winograd_weight_grad_f32')]).toEqual([1, 1]);
    expect(launched.some((k) => k.startsWith('conv_') || k.startsWith('gemm'))).toBe(false);
    // Smaller batches give the one pass fewer work items than the input gradient's own launch has: two passes.
    const small = launchedFor([2, 8, 6, 6], [8, 8, 3, 3], { padding: 1 });
    expect([count(small, 'winograd_conv_f32'), count(small, 'winograd_weight_grad_f32')]).toEqual([2, 1]);
  });

  it('one gradient alone: the input gradient is the transposed convolution on Winograd, the weight gradient its own pass', () => {
    const input = launchedFor([2, 8, 6, 6], [8, 8, 3, 3], { padding: 1 }, 'input');
    expect([count(input, 'winograd_conv_f32'), count(input, 'winograd_weight_grad_f32')]).toEqual([2, 0]);
    const weight = launchedFor([2, 8, 6, 6], [8, 8, 3, 3], { padding: 1 }, 'weight');
    expect([count(weight, 'winograd_conv_f32'), count(weight, 'winograd_weight_grad_f32')]).toEqual([1, 1]);
  });

  it('fewer channels, stride 2, dilation, groups or padding past 2 stay on im2col + GEMM', () => {
    const cases: [number[], number[], torch.Conv2dOptions][] = [
      [[1, 7, 6, 6], [8, 7, 3, 3], {}],
      [[1, 8, 6, 6], [7, 8, 3, 3], {}],
      [[1, 8, 7, 7], [8, 8, 3, 3], { stride: 2 }],
      [[1, 8, 7, 7], [8, 8, 3, 3], { dilation: 2 }],
      [[1, 16, 6, 6], [16, 8, 3, 3], { groups: 2 }],
      [[1, 8, 6, 6], [8, 8, 3, 3], { padding: 3 }],
      [[1, 8, 6, 6], [8, 8, 2, 2], {}],
    ];
    for (const [input, weight, options] of cases) {
      const launched = launchedFor(input, weight, options);
      expect(launched.some((k) => k.startsWith('winograd')), JSON.stringify({ input, weight, options })).toBe(false);
    }
  });
});

describe('infinities, NaN and the switch', () => {
  const values = (t: Tensor) => Array.from(t.toArray() as Float32Array);
  /** Forward and all three gradients of one conv2d, with `poison` applied to the inputs first. */
  const run = (poison: (x: Tensor, w: Tensor, upstream: Tensor) => void) => torch.tidy(() => {
    torch.manualSeed(5);
    const x = torch.randn(2, 8, 6, 7), w = torch.randn(12, 8, 3, 3), b = torch.randn(12), upstream = torch.randn(2, 12, 6, 7);
    poison(x, w, upstream);
    x.requiresGrad_(); w.requiresGrad_(); b.requiresGrad_();
    const y = torch.conv2d(x, w, b, { padding: 1 });
    y.backward(upstream);
    return [y, x.grad!, w.grad!, b.grad!].map(values);
  });
  const onGemm = <T>(f: () => T): T => {
    const previous = torch.backend.setWinograd(false);
    try { return f(); } finally { torch.backend.setWinograd(previous); }
  };

  // The transforms would turn an infinity into NaN (inf - inf): a computation whose operands hold one takes the GEMM
  // path, so every result has the infinities and NaN of setWinograd(false) (PyTorch's: infinity where a window holds
  // one, NaN where it holds both signs or a NaN) and its finite values within rounding.
  const poisons: [string, (x: Tensor, w: Tensor, upstream: Tensor) => void][] = [
    ['an infinite input', (x) => { x.narrow(0, 1, 1).narrow(1, 3, 1).narrow(2, 2, 1).narrow(3, 4, 1).fill_(Infinity); }],
    ['a NaN input', (x) => { x.narrow(2, 0, 1).narrow(3, 0, 1).fill_(NaN); }],
    ['an infinite weight', (_, w) => { w.narrow(0, 5, 1).narrow(1, 2, 1).narrow(2, 1, 1).narrow(3, 1, 1).fill_(-Infinity); }],
    ['an infinite upstream gradient', (_, __, upstream) => { upstream.narrow(1, 7, 1).narrow(2, 3, 1).narrow(3, 3, 1).fill_(Infinity); }],
  ];
  for (const [name, poison] of poisons) {
    it(`${name}: the infinities and NaN of the GEMM path`, () => {
      const winograd = run(poison), gemm = onGemm(() => run(poison));
      expect(gemm.flat().some((v) => !Number.isFinite(v)), 'the poison reaches some result').toBe(true);
      gemm.forEach((expected, k) => {
        expected.forEach((want, i) => {
          const got = winograd[k][i];
          if (!(Number.isFinite(want) ? Math.abs(got - want) <= 1e-4 * (1 + Math.abs(want)) : Object.is(got, want))) {
            throw new Error(`result ${k}[${i}]: got ${got}, expected ${want}`);
          }
        });
      });
    });
  }

  it('an infinity reaches exactly the outputs whose window holds it, as infinity', () => torch.tidy(() => {
    const x = torch.ones(1, 8, 4, 4);
    x.narrow(2, 0, 1).narrow(3, 1, 1).fill_(Infinity);
    expect(torch.conv2d(x, torch.ones(8, 8, 3, 3)).narrow(1, 0, 1).flatten().tolist()).toEqual([Infinity, Infinity, 72, 72]);
  }));

  it('setWinograd(false) keeps every convolution on im2col + GEMM; a non-boolean is refused', () => {
    const launched = onGemm(() => torch.tidy(() => kernelsLaunchedBy(() => {
      const x = torch.randn(2, 8, 6, 6).requiresGrad_(), w = torch.randn(8, 8, 3, 3).requiresGrad_();
      torch.conv2d(x, w, null, { padding: 1 }).sum().backward();
    })));
    expect(launched.some((k) => k.startsWith('winograd'))).toBe(false);
    expect(torch.backend.setWinograd(true)).toBe(true);
    expect(() => torch.backend.setWinograd(0 as unknown as boolean)).toThrow(/setWinograd: expected true or false, got/);
  });

  it('scratch sizes are computed without int32 overflow (a 6000x6000 image does not fit and is not taken)', () => {
    // 8 channels, 3000 x 3000 tiles: about 9.5e8 floats, past 2^31 bytes; an i32 size wrapped negative and let it through.
    for (const size of [wasm.kernels.winograd_scratch_floats(8, 8, 3000, 3000), wasm.kernels.winograd_weight_scratch_floats(8, 8, 3000, 3000)]) {
      expect(size).toBeGreaterThan(2 ** 31);
      expect(size * 4).toBeGreaterThan(wasm.kernels.gemm_scratch_bytes());
    }
  });
});

describe('against a float64 reference', () => {
  const geometry = fc.record({
    batch: fc.integer({ min: 1, max: 12 }), channels: fc.integer({ min: 8, max: 21 }), height: fc.integer({ min: 1, max: 12 }),
    width: fc.integer({ min: 1, max: 14 }), outChannels: fc.integer({ min: 8, max: 21 }), padding: fc.integer({ min: 0, max: 2 }), bias: fc.boolean(),
  }).filter((g) => g.height + 2 * g.padding >= 3 && g.width + 2 * g.padding >= 3);

  // Which gradients are asked for picks the path: both in one pass (batch 8 and more), the input gradient as the
  // transposed convolution, the weight gradient alone.
  it('output, input gradient, weight gradient and bias gradient on random geometries', () => {
    const before = torch.memory();
    fc.assert(fc.property(geometry, fc.integer({ min: 0, max: 1 << 30 }), fc.constantFrom('both', 'input', 'weight'), (g, seed, grads) => {
      torch.tidy(() => {
        torch.manualSeed(seed);
        const x = torch.randn(g.batch, g.channels, g.height, g.width).requiresGrad_(grads !== 'weight');
        const w = torch.randn(g.outChannels, g.channels, 3, 3).mul(0.3).requiresGrad_(grads !== 'input');
        const b = g.bias ? torch.randn(g.outChannels).requiresGrad_() : null;
        let y!: Tensor;
        const launched = kernelsLaunchedBy(() => {
          y = torch.conv2d(x, w, b, { padding: g.padding });
          const upstream = torch.randn(...y.shape);
          y.backward(upstream);
          const want = reference(g, x.toArray() as Float32Array, w.toArray() as Float32Array, b ? b.toArray() as Float32Array : null, upstream.toArray() as Float32Array);
          expectNear(y, want.y, 'output');
          if (grads !== 'weight') expectNear(x.grad!, want.dx, 'input gradient');
          else expect(x.grad).toBeNull();
          if (grads !== 'input') expectNear(w.grad!, want.dw, 'weight gradient');
          else expect(w.grad).toBeNull();
          if (b) expectNear(b.grad!, [want.db, new Float64Array(g.outChannels).fill(y.numel() / g.outChannels * 4)], 'bias gradient');
        });
        const onePass = grads === 'both' && g.batch >= 8;
        expect(launched.filter((k) => k === 'winograd_conv_f32')).toHaveLength(grads === 'weight' || onePass ? 1 : 2);
        expect(launched.includes('winograd_weight_grad_f32')).toBe(grads !== 'input');
      });
    }), { numRuns: 60 });
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});

describe('bands of tile rows', () => {
  it('one image is split into several work items, each output computed as in a large batch (the same bits)', () => torch.tidy(() => {
    torch.manualSeed(8);
    const x = torch.randn(8, 16, 20, 18), w = torch.randn(24, 16, 3, 3).mul(0.2), b = torch.randn(24);
    const items: number[] = [];
    const original = wasm.launch;
    wasm.launch = function (this: typeof wasm, kernel, args, workItems, ...rest) {
      if (kernel === 'winograd_conv_f32') items.push(workItems);
      return original.call(this, kernel, args, workItems, ...rest);
    } as typeof wasm.launch;
    let alone: Tensor, batched: Tensor;
    try {
      alone = torch.conv2d(x.narrow(0, 3, 1), w, b, { padding: 1 });
      batched = torch.conv2d(x, w, b, { padding: 1 });
    } finally {
      wasm.launch = original;
    }
    // 10 tile rows: bands of 2 tile rows (5 work items) for one image, one band per image for 8.
    expect(items).toEqual([5, 8]);
    const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.toArray() as Float32Array).buffer));
    expect(bits(alone!)).toEqual(bits(batched!.narrow(0, 3, 1)));
  }));
});

describe('threads', () => {
  // The weight gradient sums images in 8 chunks fixed by the batch size: 9 and 17 images make them uneven.
  it.skipIf((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false)('bitwise the same on 1 and 2 threads, uneven chunks of images included', async () => {
    const run = (batch: number) => torch.tidy(() => {
      torch.manualSeed(batch);
      const x = torch.randn(batch, 12, 9, 10).requiresGrad_(), w = torch.randn(20, 12, 3, 3).mul(0.2).requiresGrad_();
      const y = torch.conv2d(x, w, null, { padding: 1 });
      y.square().sum().backward();
      return [y, x.grad!, w.grad!].map((t) => Array.from(new Uint32Array(Float32Array.from(t.toArray() as Float32Array).buffer)));
    });
    for (const batch of [9, 17, 32]) {
      await torch.setNumThreads(1);
      const one = run(batch);
      await torch.setNumThreads(2);
      const two = run(batch);
      one.forEach((words, k) => { expect(two[k], `batch ${batch}, result ${k}`).toEqual(words); });
    }
  });
});
