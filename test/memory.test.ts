// Memory is part of correctness: dispose, using, tidy, the finalizer backstop and out-of-memory leave torch.memory() where it was.
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

describe('deterministic release', () => {
  it('dispose frees the storage once the last view goes, and twice is harmless', () => {
    const before = torch.memory();
    const x = torch.ones(100, 100);
    const view = x.t();
    expect(torch.memory().tensors).toBe(before.tensors + 2);
    expect(torch.memory().storages).toBe(before.storages + 1);
    x.dispose();
    expect(torch.memory().storages).toBe(before.storages + 1); // the view still holds it
    expect(torch.tidy(() => view.sum().item())).toBe(10000);
    view.dispose();
    view.dispose();
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes });
  });

  it('a disposed tensor throws a clear error naming what happened', () => {
    const x = torch.zeros(2, 3);
    x.dispose();
    expect(() => x.add(1)).toThrow(torch.DisposedError);
    expect(() => x.add(1)).toThrow(/disposed/);
    expect(() => torch.ones(2, 3).add(x)).toThrow(/disposed/);
    expect(x.isDisposed).toBe(true);
  });

  it('Symbol.dispose releases at the end of a using block', () => {
    const before = torch.memory();
    {
      using x = torch.ones(10);
      using y = x.mul(2);
      expect(y.sum().item()).toBe(20);
    }
    // The sum's 0-d result above was not held: it is the only survivor.
    expect(torch.memory().tensors).toBe(before.tensors + 1);
  });

  it('tidy frees everything created inside except what is returned', () => {
    const w = torch.ones(64, 100);
    const before = torch.memory();
    for (let step = 0; step < 50; step++) {
      torch.tidy(() => {
        const h = w.mul(0.5).add(1).relu();
        const s = h.sum(1).softmax(0).max();
        return s.item();
      });
    }
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes });
    const kept = torch.tidy(() => ({ result: w.sum(0), other: [w.mean()] }));
    expect(torch.memory().tensors).toBe(before.tensors + 2);
    torch.dispose(kept);
    expect(torch.memory().tensors).toBe(before.tensors);
    w.dispose();
  });

  it('nested tidy moves returned tensors to the outer scope, which frees them', () => {
    const before = torch.memory();
    torch.tidy(() => {
      const inner = torch.tidy(() => torch.ones(3).add(1));
      expect(inner.isDisposed).toBe(false);
      return undefined;
    });
    expect(torch.memory().tensors).toBe(before.tensors);
  });

  it('tidy frees its tensors when the function throws, and rejects async functions', () => {
    const before = torch.memory();
    expect(() => torch.tidy(() => { torch.ones(5); throw new Error('boom'); })).toThrow('boom');
    expect(() => torch.tidy((async () => torch.ones(2)) as never)).toThrow(/async/);
    expect(torch.memory().tensors).toBe(before.tensors);
  });

  it('storage of collected handles is reclaimed before the memory grows (no dispose at all)', () => {
    const start = torch.memory();
    // 200 MiB of garbage through 8 MiB tensors: without reclaiming, the memory would grow by all of it.
    for (let i = 0; i < 25; i++) torch.zeros(2 * 1024 * 1024).add(1);
    const info = torch.backend.info();
    if (info.synchronousReclaim) {
      expect(torch.memory().memoryBytes - start.memoryBytes).toBeLessThan(100 * 1024 * 1024);
    }
  });
});

describe('out of memory', () => {
  it('a tensor beyond the memory limit gives OutOfMemoryError and the runtime keeps working', () => {
    torch.backend.collectGarbage(); // tensors earlier tests dropped would be reclaimed mid-test
    const before = torch.memory();
    expect(() => torch.empty(2 ** 31)).toThrow(torch.OutOfMemoryError);
    expect(() => torch.empty(2 ** 31)).toThrow(/out of memory: cannot allocate 8.00 GiB/);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    expect(torch.ones(3).sum().item()).toBe(3);
  });
});
