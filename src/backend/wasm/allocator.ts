// Hands out 64-byte-aligned blocks of the shared WebAssembly memory by size class, growing the memory on demand.
import { OutOfMemoryError } from '../../errors.js';

const alignment = 64;
const pageBytes = 65536;

/**
 * Size classes: multiples of 64 bytes up to 1 KiB, then four classes per power of two, so a block wastes at
 * most a quarter of its size. Freed blocks go to their class's free list and are reused as they are:
 * training loops allocate the same sizes each step. Only when the memory cannot grow any more are the free
 * blocks coalesced (see #coalesce), so that memory freed as many small blocks can hold one large one.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(alignment, Math.ceil(bytes / alignment) * alignment);
  const power = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = power / 4;
  return Math.ceil(bytes / step) * step;
}

export interface AllocatorOptions {
  memory: WebAssembly.Memory;
  /** First byte the allocator may hand out; everything below belongs to the runtime. */
  heapStart: number;
  maximumBytes: number;
  /** Called once before the memory grows; returns after freeing what it can (collected tensors). */
  reclaim?: () => void;
}

export class Allocator {
  readonly #memory: WebAssembly.Memory;
  readonly #maximumBytes: number;
  readonly #reclaim: (() => void) | undefined;
  readonly #freeLists = new Map<number, number[]>();
  /** Coalesced free ranges in address order, made by #coalesce when the memory is at its limit. */
  #spans: { start: number; bytes: number }[] = [];
  #top: number;
  #liveBytes = 0;
  #liveBlocks = 0;
  #peakBytes = 0;
  #reclaiming = false;

  constructor(options: AllocatorOptions) {
    this.#memory = options.memory;
    this.#maximumBytes = options.maximumBytes;
    this.#reclaim = options.reclaim;
    this.#top = Math.ceil(options.heapStart / alignment) * alignment;
  }

  /** Returns a 64-byte-aligned block of at least `bytes` bytes; its contents are undefined. */
  allocate(bytes: number): number {
    const size = sizeClass(Math.max(bytes, 1));
    const reused = this.#freeLists.get(size)?.pop();
    if (reused !== undefined) return this.#account(size, reused);
    if (this.#top + size > this.#memory.buffer.byteLength) {
      if (this.#reclaim && !this.#reclaiming) {
        // Tensors whose handles were garbage-collected hold blocks we can reuse before growing.
        this.#reclaiming = true;
        try { this.#reclaim(); } finally { this.#reclaiming = false; }
        const afterReclaim = this.#freeLists.get(size)?.pop();
        if (afterReclaim !== undefined) return this.#account(size, afterReclaim);
      }
      const fromSpan = this.#takeFromSpans(size);
      if (fromSpan !== undefined) return this.#account(size, fromSpan);
      if (this.#top + size > this.#maximumBytes) {
        this.#coalesce();
        const afterCoalescing = this.#takeFromSpans(size);
        if (afterCoalescing !== undefined) return this.#account(size, afterCoalescing);
      }
      if (this.#top + size > this.#memory.buffer.byteLength) this.#grow(this.#top + size, bytes);
    }
    const pointer = this.#top;
    this.#top += size;
    return this.#account(size, pointer);
  }

  free(pointer: number, bytes: number): void {
    const size = sizeClass(Math.max(bytes, 1));
    let list = this.#freeLists.get(size);
    if (!list) this.#freeLists.set(size, (list = []));
    list.push(pointer);
    this.#liveBytes -= size;
    this.#liveBlocks--;
  }

  /** Bytes in live blocks (by size class), the memory's size, and the highest live bytes seen. */
  stats() {
    return {
      liveBytes: this.#liveBytes,
      liveBlocks: this.#liveBlocks,
      peakBytes: this.#peakBytes,
      memoryBytes: this.#memory.buffer.byteLength,
      maximumBytes: this.#maximumBytes,
    };
  }

  /** First fit from the coalesced ranges; undefined when none is large enough. */
  #takeFromSpans(size: number): number | undefined {
    const index = this.#spans.findIndex((span) => span.bytes >= size);
    if (index < 0) return undefined;
    const span = this.#spans[index];
    const pointer = span.start;
    span.start += size;
    span.bytes -= size;
    if (span.bytes === 0) this.#spans.splice(index, 1);
    return pointer;
  }

  /**
   * Merges every free block (and earlier ranges) into maximal ranges of adjacent free bytes; a range that
   * ends at the bump pointer lowers it instead. Blocks are 64-byte multiples, so ranges stay aligned.
   */
  #coalesce(): void {
    const free = [...this.#spans];
    for (const [size, pointers] of this.#freeLists) for (const start of pointers) free.push({ start, bytes: size });
    this.#freeLists.clear();
    free.sort((a, b) => a.start - b.start);
    const merged: { start: number; bytes: number }[] = [];
    for (const block of free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.bytes === block.start) last.bytes += block.bytes;
      else merged.push({ ...block });
    }
    const last = merged[merged.length - 1];
    if (last && last.start + last.bytes === this.#top) {
      this.#top = last.start;
      merged.pop();
    }
    this.#spans = merged;
  }

  #account(size: number, pointer: number): number {
    this.#liveBytes += size;
    this.#liveBlocks++;
    if (this.#liveBytes > this.#peakBytes) this.#peakBytes = this.#liveBytes;
    return pointer;
  }

  #grow(neededTop: number, requested: number): void {
    const current = this.#memory.buffer.byteLength;
    if (neededTop > this.#maximumBytes) {
      throw new OutOfMemoryError(`out of memory: cannot allocate ${formatBytes(requested)} ` +
        `(${formatBytes(this.#liveBytes)} in live tensors, the WebAssembly memory's limit is ${formatBytes(this.#maximumBytes)}); ` +
        'dispose tensors you no longer need (dispose(), torch.tidy) or use smaller tensors');
    }
    // Grow by at least half again, so a loop that allocates steadily grows the memory O(log n) times.
    const target = Math.min(this.#maximumBytes, Math.max(neededTop, current + Math.floor(current / 2)));
    const pages = Math.ceil((target - current) / pageBytes);
    try {
      this.#memory.grow(pages);
    } catch {
      const minimalPages = Math.ceil((neededTop - current) / pageBytes);
      try {
        this.#memory.grow(minimalPages);
      } catch (error) {
        throw new OutOfMemoryError(`out of memory: the WebAssembly memory could not grow from ${formatBytes(current)} ` +
          `to hold ${formatBytes(requested)} more (${(error as Error).message})`);
      }
    }
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
