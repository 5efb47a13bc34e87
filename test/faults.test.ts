// Faults (issue #8.3): out of memory and kernel modules that fail to compile give clear errors, and the runtime goes on.
//
// A worker killed mid-matmul is tested in test/threads.test.ts ("a worker killed mid-run never hangs the caller")
// and test/pool-recovery.test.ts; WebGPU device loss waits for the WebGPU device. Figures (sizes, counts, times,
// RSS) go to build/reliability/faults.json, which `npm run reliability` turns into RELIABILITY.md.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as torch from '../src/index.js';
import { recordFigures } from './reliability-figures.js';
import { createRuntime, maximumMemoryBytes, type WasmRuntime } from '../src/backend/wasm/runtime.js';
import { relaxedKernelsBase64, simdKernelsBase64 } from '../src/generated/kernels.js';
import { addressOf } from '../src/ops/support.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const chunkElements = 64 * MiB; // float32: 256 MiB a chunk

interface FaultFigure {
  fault: string;
  injected: string;
  error: string;
  recovery: string;
  [figure: string]: unknown;
}
const figures: FaultFigure[] = [];

afterAll(() => recordFigures('faults', { figures }));

/** The message of what `run` throws (the test fails when it throws nothing). */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThan(tolerance);
}

describe('out of memory', () => {
  it('one tensor just over the 4 GiB limit: OutOfMemoryError naming the size and the limit, nothing changed, the runtime works', () => {
    torch.backend.collectGarbage();
    const before = torch.memory();
    const message = messageOf(() => torch.empty(2 ** 30 + 1));
    expect(() => torch.empty(2 ** 30 + 1)).toThrow(torch.OutOfMemoryError);
    expect(message).toMatch(/out of memory: cannot allocate 4\.00 GiB/);
    expect(message).toMatch(/limit is 4\.00 GiB/);
    expect(message).toMatch(/dispose/);
    // The check comes before the memory grows: not even the memory's size moved.
    expect(torch.memory()).toEqual(before);
    expect(torch.tidy(() => torch.ones(3, 4).mm(torch.ones(4, 2)).sum().item())).toBe(24);
    figures.push({
      fault: 'one tensor over the limit', injected: 'torch.empty(2**30 + 1): 4 GiB + 4 bytes of float32',
      error: message, recovery: 'torch.memory() identical (memory not grown); a matmul after it is right',
      requestedBytes: (2 ** 30 + 1) * 4, limitBytes: maximumMemoryBytes,
    });
  });

  it('256 MiB tensors up to the limit: a clear error, tensors above 2 GiB read and compute right, all freed, the same again', () => {
    torch.backend.collectGarbage();
    const before = torch.memory();
    const started = performance.now();
    const chunks: torch.Tensor[] = [];
    let message = '';
    // empty() never writes its storage, so the pages stay untouched and RSS stays low however large the memory.
    for (;;) {
      try {
        chunks.push(torch.empty(chunkElements));
      } catch (error) {
        expect(error).toBeInstanceOf(torch.OutOfMemoryError);
        message = (error as Error).message;
        break;
      }
      expect(chunks.length).toBeLessThanOrEqual(16);
    }
    const fillSeconds = (performance.now() - started) / 1000;
    const count = chunks.length;
    const full = torch.memory();
    // Everything but the runtime's first 64 KiB and the GEMM scratch went to chunks: 15 of 256 MiB fit, the 16th not.
    expect(count).toBe(15);
    expect(full.tensors).toBe(before.tensors + count);
    expect(full.bytes).toBe(before.bytes + count * chunkElements * 4);
    expect(message).toMatch(/out of memory: cannot allocate 256\.0 MiB \(3\.7\d GiB in live tensors, the WebAssembly memory's limit is 4\.00 GiB\)/);
    expect(full.memoryBytes).toBeLessThanOrEqual(maximumMemoryBytes);
    expect(full.memoryBytes).toBeGreaterThan(count * chunkElements * 4);

    // Addresses at and above 2 GiB come back negative through i32 and must be read with `>>> 2` (wasm-notes 16):
    // the last chunk lies near 3.7 GiB, and small tensors made now go above all the chunks.
    const last = chunks[count - 1];
    expect(addressOf(last)).toBeGreaterThan(3 * GiB);
    const tail = last.narrow(0, chunkElements - 1000, 1000);
    tail.fill_(-1.5);
    expect(Array.from(tail.toArray())).toEqual(new Array(1000).fill(-1.5));
    expect(torch.tidy(() => tail.sum().item())).toBe(-1500);
    const m = 37, k = 53, n = 41;
    const aValues = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const bValues = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
    const a = torch.fromArray(aValues, [m, k]), b = torch.fromArray(bValues, [k, n]);
    const small = torch.empty(1000).fill_(2.5);
    for (const high of [a, b, small]) expect(addressOf(high)).toBeGreaterThan(count * 256 * MiB);
    expect(Array.from(small.toArray())).toEqual(new Array(1000).fill(2.5));
    const product = a.mm(b);
    expect(addressOf(product)).toBeGreaterThan(2 * GiB);
    expectClose(product.toArray(), naiveMatmul(aValues, bValues, m, k, n), 1e-4);
    expect(torch.tidy(() => small.mul(2).add(tail.narrow(0, 0, 1)).sum().item())).toBe(3500);
    const highestAddress = addressOf(product) + product.numel() * 4;
    torch.dispose(tail, a, b, small, product);

    // Free them all: every count is back, and the freed blocks take the same chunks again without growing.
    torch.dispose(chunks);
    chunks.length = 0;
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes, allocatedBytes: before.allocatedBytes });
    expect(torch.tidy(() => torch.arange(10).float().mul(2).sum().item())).toBe(90);
    const again: torch.Tensor[] = [];
    for (let i = 0; i < count; i++) again.push(torch.empty(chunkElements));
    expect(torch.memory().memoryBytes).toBe(full.memoryBytes);
    expect(() => torch.empty(chunkElements)).toThrow(torch.OutOfMemoryError);
    const head = again[0].narrow(0, 0, 4).fill_(7);
    expect(Array.from(head.toArray())).toEqual([7, 7, 7, 7]);
    torch.dispose(again, head);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes, allocatedBytes: before.allocatedBytes });
    expect(torch.tidy(() => torch.ones(64, 64).mm(torch.ones(64, 64)).mean().item())).toBe(64);

    const usage = process.resourceUsage();
    figures.push({
      fault: 'many tensors up to the limit', injected: `torch.empty of ${chunkElements * 4 / MiB} MiB until it throws`,
      error: message,
      recovery: 'tensors above 2 GiB (up to the top of the memory) fill, read, sum and multiply right; after freeing all, ' +
        'torch.memory() is back and the same chunks fit again without the memory growing',
      chunkBytes: chunkElements * 4, chunks: count, memoryBytes: full.memoryBytes, highestAddress,
      seconds: (performance.now() - started) / 1000, fillSeconds,
      rssBytes: process.memoryUsage().rss, peakRssBytes: usage.maxRSS * 1024,
    });
    // The pages were never touched: resident memory stays far below the 3.75 GiB handed out.
    expect(usage.maxRSS * 1024).toBeLessThan(1.5 * GiB);
  });

  // Free blocks are merged when the memory is at its limit: memory freed as many 256 MiB tensors holds larger ones.
  it('after 256 MiB tensors filled the memory and were all freed, tensors of 257 MiB and 1 GiB fit and work', () => {
    torch.backend.collectGarbage();
    const before = torch.memory();
    const chunks: torch.Tensor[] = [];
    try {
      for (;;) chunks.push(torch.empty(chunkElements));
    } catch (error) {
      expect(error).toBeInstanceOf(torch.OutOfMemoryError);
    }
    torch.dispose(chunks);
    const errors = [257 * MiB, GiB].map((bytes) => {
      try {
        const big = torch.empty(bytes / 4);
        const tail = big.narrow(0, bytes / 4 - 256, 256).fill_(0.25);
        const sum = torch.tidy(() => tail.sum().item());
        torch.dispose(tail, big);
        return sum === 64 ? null : `wrong sum ${sum}`;
      } catch (error) {
        return (error as Error).message;
      }
    });
    figures.push({
      fault: 'larger tensors after freeing the chunks', injected: 'free all 256 MiB tensors, then ask for 257 MiB and 1 GiB',
      error: errors.every((error) => error === null) ? 'none thrown' : errors.map(String).join(' / '),
      recovery: 'both fit in the freed space (free blocks are merged at the limit); the end of each fills and sums right',
    });
    expect(errors).toEqual([null, null]);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes, allocatedBytes: before.allocatedBytes });
  });
});

describe('a kernel module that fails to compile', () => {
  const extraRuntimes: WasmRuntime[] = [];
  const bytesOf = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
  /** A module cut short: no engine compiles it. */
  const truncated = (bytes: Uint8Array<ArrayBuffer>) => bytes.slice(0, bytes.length - 7);

  /**
   * The process's OS threads (Linux): the pool's workers are unreferenced, so Node's resource list does not
   * show them, but each is a thread until it has exited. null where /proc is missing.
   */
  const osThreads = () => existsSync('/proc/self/status') ? Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) : null;
  let threadsBefore: number | null = null;
  beforeAll(async () => {
    await torch.backend.ready();
    threadsBefore = osThreads();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    // Each runtime started its own workers: stop them, and check they are gone, so the test leaves none running.
    for (const runtime of extraRuntimes.splice(0)) {
      runtime.pool.close();
      expect(runtime.pool.threads).toBe(1);
    }
    for (let waited = 0; osThreads() !== threadsBefore && waited < 2000; waited += 20) await sleep(20);
    expect(osThreads()).toBe(threadsBefore);
  });

  async function start(options: Parameters<typeof createRuntime>[1]): Promise<WasmRuntime> {
    const runtime = await createRuntime(() => {}, options);
    extraRuntimes.push(runtime);
    return runtime;
  }

  /** A 200x150 by 150x170 product on this runtime's kernels and pool (large enough to be split across threads). */
  function multiplyOn(runtime: WasmRuntime): void {
    const m = 200, k = 150, n = 170;
    const aValues = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
    const bValues = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.11));
    const a = runtime.allocator.allocate(m * k * 4), b = runtime.allocator.allocate(k * n * 4), c = runtime.allocator.allocate(m * n * 4);
    runtime.f32.set(aValues, a / 4);
    runtime.f32.set(bValues, b / 4);
    runtime.launch('gemm_f32', [m, n, k, a, k, 1, b, n, 1, c, n, 0, runtime.gemmScratch], m, (2 * n * k) / 40, runtime.gemmRowBlock, 12);
    expectClose(runtime.f32.subarray(c / 4, c / 4 + m * n), naiveMatmul(aValues, bValues, m, k, n), 1e-3);
  }

  it('a corrupted relaxed-SIMD module: the plain SIMD build runs, with a note in info()', async () => {
    const started = performance.now();
    const runtime = await start({ kernelBytes: { relaxed: truncated(bytesOf(relaxedKernelsBase64)) } });
    const info = runtime.info();
    expect(info.kernels).toBe('simd');
    expect(info.relaxedSimd).toBe(false);
    expect(info.notes.join('\n')).toMatch(/relaxed SIMD unavailable in this engine: using the plain SIMD kernels/);
    expect(info.threads).toBe(torch.backend.info().threads); // the workers run the fallback module too
    multiplyOn(runtime);
    figures.push({
      fault: 'relaxed-SIMD module rejected', injected: 'the relaxed build cut short by 7 bytes (WebAssembly.validate refuses it)',
      error: 'none thrown: ' + info.notes.find((note) => note.includes('relaxed')), recovery: `plain SIMD build on ${info.threads} thread(s); a 200x150x170 matmul matches a naive one`,
      seconds: (performance.now() - started) / 1000,
    });
  });

  it('a relaxed module that validates but fails to compile: the plain SIMD build runs, the compile error in the note', async () => {
    const compile = WebAssembly.compile.bind(WebAssembly);
    const spy = vi.spyOn(WebAssembly, 'compile').mockImplementationOnce(() => Promise.reject(new WebAssembly.CompileError('injected: out of code space')));
    spy.mockImplementation(compile);
    const runtime = await start({});
    expect(spy).toHaveBeenCalledTimes(2);
    const info = runtime.info();
    expect(info.kernels).toBe('simd');
    expect(info.notes.join('\n')).toMatch(/relaxed SIMD kernels failed to compile \(injected: out of code space\): using the plain SIMD kernels/);
    multiplyOn(runtime);
    figures.push({
      fault: 'relaxed-SIMD module fails to compile', injected: 'WebAssembly.compile rejects the relaxed build once (CompileError)',
      error: 'none thrown: ' + info.notes.find((note) => note.includes('relaxed')), recovery: `plain SIMD build on ${info.threads} thread(s); the matmul matches`,
    });
  });

  it('no build compiles: a clear error naming the build and the cause, before any worker starts', async () => {
    vi.spyOn(WebAssembly, 'compile').mockImplementation(() => Promise.reject(new WebAssembly.CompileError('injected: out of code space')));
    const error = await createRuntime(() => {}, {}).then(() => null, (caught: Error) => caught);
    expect(error?.message).toMatch(/wasmtorch's plain SIMD kernels failed to compile \(injected: out of code space\); there is no other build to fall back to/);
    figures.push({
      fault: 'both builds fail to compile', injected: 'WebAssembly.compile rejects every module',
      error: error?.message ?? '', recovery: 'start-up fails with this error (no runtime, no workers)',
    });
  });

  it('both modules corrupted: a clear error naming the missing WebAssembly SIMD and the engines that have it', async () => {
    const error = await createRuntime(() => {}, {
      kernelBytes: { relaxed: truncated(bytesOf(relaxedKernelsBase64)), simd: truncated(bytesOf(simdKernelsBase64)) },
    }).then(() => null, (caught: Error) => caught);
    expect(error?.message).toMatch(/wasmtorch needs WebAssembly SIMD \(Chrome 91\+, Firefox 89\+, Safari 16\.4\+, Node 16\.4\+\)/);
    figures.push({
      fault: 'both modules rejected', injected: 'both builds cut short by 7 bytes',
      error: error?.message ?? '', recovery: 'start-up fails with this error (no runtime, no workers)',
    });
  });

  it('a worker killed mid-matmul and a worker that throws: a WorkerError, no hang, the pool recovers (figures for RELIABILITY.md)', async () => {
    await torch.setNumThreads(2);
    await torch.backend.ready();
    const a = torch.randn(512, 512);
    const expected = torch.tidy(() => Array.from(a.mm(a).toArray()));
    for (const kind of ['die', 'fail'] as const) {
      torch.backend.injectWorkerFault(kind, 0, 500);
      const started = performance.now();
      const message = messageOf(() => a.mm(a));
      const secondsToError = (performance.now() - started) / 1000;
      expect(message).toMatch(/worker/i);
      expect(secondsToError).toBeLessThan(5);
      expect(torch.tidy(() => Array.from(a.mm(a).toArray()))).toEqual(expected);
      await torch.backend.ready();
      expect(torch.backend.info().threads).toBe(2);
      expect(torch.tidy(() => Array.from(a.mm(a).toArray()))).toEqual(expected);
      figures.push({
        fault: kind === 'die' ? 'a worker killed mid-matmul' : 'a worker that throws mid-matmul',
        injected: kind === 'die' ? 'worker 0 stops inside a 512×512 matmul tile (stall timeout 0.5 s)' : 'worker 0 throws inside a 512×512 matmul tile',
        error: `${message} (after ${secondsToError.toFixed(2)} s)`,
        recovery: 'the next matmul gives the same bits; the pool replaces the worker and runs 2 threads again',
      });
    }
    a.dispose();
  });

  it('the main runtime was untouched by all of this', () => {
    expect(torch.tidy(() => torch.ones(8, 8).mm(torch.ones(8, 8)).sum().item())).toBe(512);
  });
});
