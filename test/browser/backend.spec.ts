// Browser-only checks of the WebAssembly backend: threads on in an isolated page and off (one warning, the reason, the fix) in one that is not; the main thread never calls Atomics.wait.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const isolated = inject('isolated');
const warnings: string[] = [];
let atomicsWaitCalls = 0;
const originalWarn = console.warn;
const originalWait = Atomics.wait;
let torch: typeof import('../../src/index.js');

/** Plain triple loop: the reference the kernels are compared with. */
function naiveMatmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) {
    const aip = a[i * k + p];
    for (let j = 0; j < m; j++) out[i * m + j] += aip * b[p * m + j];
  }
  return out;
}

beforeAll(async () => {
  // Installed before the library loads, so start-up is observed too.
  console.warn = (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); originalWarn(...args); };
  Atomics.wait = ((...args: Parameters<typeof Atomics.wait>) => { atomicsWaitCalls++; return originalWait(...args); }) as typeof Atomics.wait;
  torch = await import('../../src/index.js');
  await torch.backend.ready();
});

afterAll(() => {
  console.warn = originalWarn;
  Atomics.wait = originalWait;
});

describe(`backend in a page that is ${isolated ? '' : 'not '}cross-origin isolated`, () => {
  it('reports the page state and SIMD', () => {
    const info = torch.backend.info();
    expect(globalThis.crossOriginIsolated).toBe(isolated);
    expect(info.crossOriginIsolated).toBe(isolated);
    expect(info.simd).toBe(true);
    // Chromium has shipped relaxed SIMD since 114.
    expect(info.relaxedSimd).toBe(true);
    expect(info.kernels).toBe('relaxed');
  });

  if (isolated) {
    it('runs on every core, with shared memory and no warning', () => {
      const info = torch.backend.info();
      expect(navigator.hardwareConcurrency).toBeGreaterThanOrEqual(2);
      expect(info.threads).toBe(navigator.hardwareConcurrency);
      expect(info.sharedMemory).toBe(true);
      expect(info.notes.filter((note) => note.includes('one thread'))).toEqual([]);
      expect(warnings.filter((w) => w.startsWith('wasmtorch'))).toEqual([]);
    });
  } else {
    it('runs on one thread and says why and how to fix it', () => {
      const info = torch.backend.info();
      expect(info.threads).toBe(1);
      const reason = info.notes.find((note) => note.includes('not cross-origin isolated'));
      expect(reason).toBeDefined();
      expect(reason).toContain('Cross-Origin-Opener-Policy: same-origin');
      expect(reason).toContain('Cross-Origin-Embedder-Policy: require-corp');
    });

    it('setNumThreads cannot turn threads on without isolation', async () => {
      await torch.setNumThreads(4);
      expect(torch.backend.info().threads).toBe(1);
    });
  }

  it('computes a threaded-size matmul right (compared with a plain loop)', () => {
    const [n, k, m] = [192, 160, 144];
    torch.manualSeed(3);
    const a = torch.randn(n, k), b = torch.randn(k, m);
    const product = a.mm(b);
    const expected = naiveMatmul(a.toArray() as Float32Array, b.toArray() as Float32Array, n, k, m);
    const actual = product.toArray() as Float32Array;
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
    expect(worst).toBeLessThan(1e-4);
    torch.dispose(a, b, product);
  });

  it('many parallel ops in a row: right results, no tensor left behind', () => {
    const before = torch.memory();
    const a = torch.randn(400, 300);
    for (let step = 0; step < 30; step++) {
      torch.tidy(() => {
        const total = a.mm(a.t()).relu().sum().item();
        expect(Number.isFinite(total)).toBe(true);
        expect(a.exp().mul(2).sub(1).mean().item()).toBeGreaterThan(1);
      });
    }
    a.dispose();
    const after = torch.memory();
    expect([after.tensors, after.storages, after.bytes]).toEqual([before.tensors, before.storages, before.bytes]);
  });

  if (isolated) {
    it('a kernel worker that dies mid-op: the main thread (spinning, never waiting) reports it, the pool recovers', async () => {
      const a = torch.randn(256, 256);
      const expected = torch.tidy(() => a.mm(a).sum().item());
      torch.backend.injectWorkerFault('die', 0, 500);
      expect(() => torch.tidy(() => a.mm(a).sum().item())).toThrow(torch.WorkerError);
      await torch.backend.ready();
      expect(torch.backend.info().threads).toBe(navigator.hardwareConcurrency);
      expect(Math.abs(torch.tidy(() => a.mm(a).sum().item()) - expected)).toBeLessThan(1e-2);
      torch.backend.injectWorkerFault('fail', 0, 5000);
      expect(() => torch.tidy(() => a.mm(a).sum().item())).toThrow(/kernel worker 0 failed/);
      expect(Math.abs(torch.tidy(() => a.mm(a).sum().item()) - expected)).toBeLessThan(1e-2);
      a.dispose();
    });
  }

  it('the main thread never blocked in Atomics.wait, and warned at most once', () => {
    expect(atomicsWaitCalls).toBe(0);
    expect(warnings.filter((w) => w.startsWith('wasmtorch')).length).toBe(isolated ? 0 : 1);
  });
});
