// The worker pool: bitwise-equal results for any thread count, faults that never hang the caller, scripts that exit.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { Word, claimTile, jobBlockBytes, ownTiles, resetCursors } from '../src/backend/wasm/dispatch.js';

const cores = torch.getNumThreads();

function bits(t: torch.Tensor): Buffer {
  const values = t.toArray();
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Byte-for-byte equality (toEqual on 600k elements is slow). */
function expectSameBits(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

/** Runs fn with 1 thread and with 2, returning both results' raw bits. */
async function onOneAndTwoThreads(fn: () => torch.Tensor): Promise<[Buffer, Buffer]> {
  await torch.setNumThreads(1);
  const one = torch.tidy(() => bits(fn()));
  await torch.setNumThreads(2);
  expect(torch.backend.info().threads).toBe(2);
  const two = torch.tidy(() => bits(fn()));
  return [one, two];
}

afterAll(async () => { await torch.setNumThreads(cores); });

describe('thread pool', () => {
  it('starts with the cores available and reports them', () => {
    expect(cores).toBeGreaterThanOrEqual(1);
    const info = torch.backend.info();
    expect(info.threadsRequested).toBe(cores);
    expect(info.threads).toBe(cores);
  });

  it('matmul in all its forms gives bitwise-equal results on 1 and 2 threads', async () => {
    torch.manualSeed(3);
    const a = torch.randn(301, 257), b = torch.randn(257, 263), batch = torch.randn(3, 67, 129), vector = torch.randn(257);
    const wide = torch.randn(64, 1000), deep = torch.randn(1000, 100);
    const cases: (() => torch.Tensor)[] = [
      () => a.mm(b),
      () => a.t().t().mm(b.t().contiguous().t()),
      () => b.t().mm(a.t()),
      () => batch.matmul(batch.transpose(1, 2)),
      () => a.matmul(vector),
      () => a.narrow(0, 0, 37).mm(b), // few rows: columns are split instead
      () => wide.mm(deep), // few rows, two k blocks: k is split (one block per thread), partial sums added in order
      () => wide.mm(deep.t().contiguous().t()),
      () => deep.t().mm(wide.t()).t(),
    ];
    for (const run of cases) {
      const [one, two] = await onOneAndTwoThreads(run);
      expectSameBits(two, one);
    }
    torch.dispose(a, b, batch, vector, wide, deep);
  });

  it('tiles: every tile is claimed once, each thread starts on its own contiguous share, shares of absent threads are taken over', () => {
    const words = new Int32Array(jobBlockBytes / 4);
    let state = 12345;
    const random = () => { state = (state * 1103515245 + 12345) & 0x7fffffff; return state / 0x80000000; };
    for (const [threads, tiles, present] of [[2, 2, 2], [2, 8, 2], [3, 7, 3], [4, 9, 2], [5, 3, 5], [8, 64, 1]]) {
      words[Word.threadCount] = threads;
      words[Word.tileCount] = tiles;
      resetCursors(words, threads, tiles);
      const claimed: number[] = [];
      // Each present thread's first claim is the first tile of its own share (when it has one).
      for (let thread = 0; thread < present; thread++) {
        const [begin, end] = ownTiles(thread, threads, tiles);
        if (end === begin) continue;
        expect(claimTile(words, thread)).toBe(begin);
        claimed.push(begin);
      }
      const active = Array.from({ length: present }, (_, t) => t);
      while (active.length) {
        const slot = Math.floor(random() * active.length);
        const tile = claimTile(words, active[slot]);
        if (tile < 0) active.splice(slot, 1);
        else claimed.push(tile);
      }
      expect(claimed.sort((x, y) => x - y)).toEqual(Array.from({ length: tiles }, (_, t) => t));
    }
  });

  it('large elementwise ops, reductions, softmax and random numbers match bitwise', async () => {
    torch.manualSeed(5);
    const x = torch.randn(600, 1000), y = torch.randn(1000);
    const cases: (() => torch.Tensor)[] = [
      () => x.exp().mul(y).add(x.t().t()),
      () => x.sum(1),
      () => x.softmax(1),
      () => x.t().contiguous(),
      () => { torch.manualSeed(9); return torch.randn(500, 1000); },
    ];
    for (const run of cases) {
      const [one, two] = await onOneAndTwoThreads(run);
      expectSameBits(two, one);
    }
    torch.dispose(x, y);
  });

  it('a worker that throws surfaces as a WorkerError, and the next op works', async () => {
    await torch.setNumThreads(2);
    const a = torch.randn(512, 512);
    torch.backend.injectWorkerFault('fail', 0);
    expect(() => a.mm(a)).toThrow(torch.WorkerError);
    const product = torch.tidy(() => bits(a.mm(a)));
    await torch.setNumThreads(1);
    expectSameBits(torch.tidy(() => bits(a.mm(a))), product);
    a.dispose();
  });

  it('a worker killed mid-run never hangs the caller: the pool goes on and replaces it', async () => {
    await torch.setNumThreads(2);
    const a = torch.randn(512, 512);
    const expected = torch.tidy(() => bits(a.mm(a)));
    torch.backend.injectWorkerFault('die', 0, 500);
    const started = performance.now();
    expect(() => a.mm(a)).toThrow(/stopped while running gemm_f32/);
    expect(performance.now() - started).toBeLessThan(5000);
    expectSameBits(torch.tidy(() => bits(a.mm(a))), expected); // fewer threads, same bits
    await torch.backend.ready();
    expect(torch.backend.info().threads).toBe(2);
    expectSameBits(torch.tidy(() => bits(a.mm(a))), expected);
    a.dispose();
  });

  it('setNumThreads rejects nonsense', () => {
    expect(() => torch.setNumThreads(0)).toThrow(/positive integer/);
    expect(() => torch.setNumThreads(1.5)).toThrow(/positive integer/);
  });

  it('a Node script with workers exits by itself when its work is done', () => {
    const script = "import * as torch from 'wasmtorch'; const a = torch.randn(400, 400); a.mm(a).sum().item(); console.log(torch.backend.info().threads);";
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: new URL('..', import.meta.url).pathname });
    expect(Number(output.trim())).toBe(cores);
  });
});
