// The allocator against a model of its blocks (fast-check): live blocks never overlap, stay aligned and inside the memory, and freed memory is found again at the limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator, sizeClass } from '../src/backend/wasm/allocator.js';
import { OutOfMemoryError } from '../src/index.js';

const pageBytes = 65536;

function makeAllocator(maximumPages: number) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maximumPages });
  return { memory, allocator: new Allocator({ memory, heapStart: 1024, maximumBytes: maximumPages * pageBytes }) };
}

describe('allocator', () => {
  it('random allocations and frees near the limit: live blocks never overlap, and freed bytes serve any size once the memory is full', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('allocate' as const), bytes: fc.integer({ min: 1, max: 200_000 }) }),
      fc.record({ kind: fc.constant('free' as const), which: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
      const { memory, allocator } = makeAllocator(32); // 2 MiB: the limit is hit often
      const live: { pointer: number; bytes: number }[] = [];
      for (const step of operations) {
        if (step.kind === 'free') {
          if (!live.length) continue;
          const [block] = live.splice(step.which % live.length, 1);
          allocator.free(block.pointer, block.bytes);
          continue;
        }
        try {
          const pointer = allocator.allocate(step.bytes);
          expect(pointer % 64).toBe(0);
          expect(pointer).toBeGreaterThanOrEqual(1024);
          expect(pointer + step.bytes).toBeLessThanOrEqual(memory.buffer.byteLength);
          for (const other of live) {
            const apart = pointer + sizeClass(step.bytes) <= other.pointer || other.pointer + sizeClass(other.bytes) <= pointer;
            expect(apart).toBe(true);
          }
          live.push({ pointer, bytes: step.bytes });
        } catch (error) {
          expect(error).toBeInstanceOf(OutOfMemoryError);
        }
      }
      expect(allocator.stats().liveBytes).toBe(live.reduce((sum, block) => sum + sizeClass(block.bytes), 0));
    }), { numRuns: 200 });
  });

  it('memory filled with small blocks and freed holds one block of nearly all of it', () => {
    const { allocator } = makeAllocator(32);
    const blocks: number[] = [];
    try {
      for (;;) blocks.push(allocator.allocate(4096));
    } catch (error) {
      expect(error).toBeInstanceOf(OutOfMemoryError);
    }
    for (const pointer of blocks) allocator.free(pointer, 4096);
    // 1.5 MiB is its own size class; before coalescing, only 4 KiB blocks were free.
    expect(blocks.length * 4096).toBeGreaterThan(1.5 * 2 ** 20);
    const large = allocator.allocate(1.5 * 2 ** 20);
    expect(large).toBeGreaterThanOrEqual(1024);
    allocator.free(large, 1.5 * 2 ** 20);
    expect(allocator.stats().liveBytes).toBe(0);
  });
});
