// Checks the gemm_f32 kernel of both builds against a float64 reference: shapes, strides, accumulation, row splits.
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { loadKernels, type KernelVariant, type RawKernels } from './load-kernels';

// How an operand of logical shape rows x cols lies in memory, as element strides (row, column).
const layouts = {
  rowMajor: (rows: number, cols: number) => [cols, 1],
  colMajor: (rows: number, cols: number) => [1, rows], // a transposed row-major matrix
  paddedRows: (rows: number, cols: number) => [cols + 3, 1], // a slice of a wider matrix
  paddedCols: (rows: number, cols: number) => [1, rows + 2], // a transposed slice
  rowBroadcast: (rows: number, cols: number) => [0, 1], // expanded along rows: every row is the same
  colBroadcast: (rows: number, cols: number) => [1, 0], // expanded along columns
  scalar: (rows: number, cols: number) => [0, 0],
  flippedRows: (rows: number, cols: number) => [-cols, 1], // negative stride: rows in reverse order
  strided: (rows: number, cols: number) => [2, 2 * rows + 1], // neither stride is 1: the generic packing path
} satisfies Record<string, (rows: number, cols: number) => number[]>;
type Layout = keyof typeof layouts;
const layoutNames = Object.keys(layouts) as Layout[];

interface Operand { pointer: number; rowStride: number; colStride: number; get(i: number, j: number): number }
interface Case {
  m: number; n: number; k: number;
  aLayout?: Layout; bLayout?: Layout;
  accumulate?: boolean;
  cPadding?: number; // extra elements at the end of each C row
  misalign?: number; // floats added to every operand's address, to test unaligned access
}

const GUARD = 16; // floats before and after C that the kernel must leave alone

/** One variant's module plus a bump allocator over its memory; `reset()` frees everything (cases run one at a time). */
class Harness {
  private top = 1024;
  private readonly firstFree: number;
  readonly scratch: number;
  constructor(readonly kernels: RawKernels) {
    this.scratch = this.alloc(kernels.exports.gemm_scratch_bytes() / 4);
    this.firstFree = this.top;
  }
  reset(): void { this.top = this.firstFree; }

  /** Returns a 64-byte aligned byte address (plus `misalign` floats) of room for `floats` floats. */
  alloc(floats: number, misalign = 0): number {
    const pointer = Math.ceil(this.top / 64) * 64 + 4 * misalign;
    this.top = pointer + 4 * Math.max(floats, 1);
    if (this.top > this.kernels.memory.buffer.byteLength) throw new Error('test memory too small');
    return pointer;
  }

  /** Allocates an operand in `layout`, filled with random floats; also fills the gaps strides leave. */
  operand(rows: number, cols: number, layout: Layout, random: () => number, misalign = 0): Operand {
    const [rowStride, colStride] = layouts[layout](rows, cols);
    const corners = [0, (rows - 1) * rowStride, (cols - 1) * colStride, (rows - 1) * rowStride + (cols - 1) * colStride];
    const lowest = rows && cols ? Math.min(...corners) : 0;
    const highest = rows && cols ? Math.max(...corners) : 0;
    const start = this.alloc(highest - lowest + 1, misalign);
    const view = this.kernels.f32();
    for (let e = 0; e <= highest - lowest; e++) view[start / 4 + e] = random();
    const pointer = start - 4 * lowest; // element (0, 0); the others may lie below it for negative strides
    return { pointer, rowStride, colStride, get: (i, j) => view[pointer / 4 + i * rowStride + j * colStride] };
  }
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => { // xorshift32, mapped to [-1, 1)
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    return state / 2 ** 31 - 1;
  };
}

interface Prepared {
  c: number; cRowStride: number; cFloats: number; // C's region starts GUARD floats before c
  initial: Float32Array; // the whole C region before the call
  a: Operand; b: Operand;
}

function prepare(h: Harness, t: Case, seed: number): Prepared {
  h.reset();
  const random = seededRandom(seed);
  const a = h.operand(t.m, t.k, t.aLayout ?? 'rowMajor', random, t.misalign ?? 0);
  const b = h.operand(t.k, t.n, t.bLayout ?? 'rowMajor', random, t.misalign ?? 0);
  const cRowStride = t.n + (t.cPadding ?? 0);
  const cFloats = GUARD + t.m * cRowStride + GUARD;
  const region = h.alloc(cFloats, t.misalign ?? 0);
  const view = h.kernels.f32();
  // Guards, padding and (when not accumulating) C itself hold values that must either survive or be overwritten.
  for (let e = 0; e < cFloats; e++) view[region / 4 + e] = t.accumulate ? random() : 1234.5;
  return { c: region + 4 * GUARD, cRowStride, cFloats, initial: view.slice(region / 4, region / 4 + cFloats), a, b };
}

function run(h: Harness, t: Case, p: Prepared, rowBegin = 0, rowEnd = t.m): void {
  h.kernels.exports.gemm_f32(t.m, t.n, t.k, p.a.pointer, p.a.rowStride, p.a.colStride, p.b.pointer, p.b.rowStride,
    p.b.colStride, p.c, p.cRowStride, t.accumulate ? 1 : 0, h.scratch, rowBegin, rowEnd);
}

function cRegion(h: Harness, p: Prepared): Float32Array {
  const start = p.c / 4 - GUARD;
  return h.kernels.f32().slice(start, start + p.cFloats);
}

/** Compares rows [rowBegin, rowEnd) of C with a float64 product; every other float of the region must be untouched. */
function check(h: Harness, t: Case, p: Prepared, rowBegin = 0, rowEnd = t.m): void {
  const after = cRegion(h, p);
  const initialBits = new Uint32Array(p.initial.buffer);
  const afterBits = new Uint32Array(after.buffer);
  for (let e = 0; e < p.cFloats; e++) {
    const offset = e - GUARD;
    const i = Math.floor(offset / p.cRowStride), j = offset - i * p.cRowStride;
    const inside = offset >= 0 && i >= rowBegin && i < rowEnd && j < t.n;
    if (!inside) {
      if (afterBits[e] !== initialBits[e]) {
        expect.fail(`${JSON.stringify(t)}: float ${offset} outside the computed part of C changed to ${after[e]}`);
      }
      continue;
    }
    const start = t.accumulate ? p.initial[e] : 0;
    let sum = start, magnitude = Math.abs(start);
    for (let q = 0; q < t.k; q++) {
      const product = p.a.get(i, q) * p.b.get(q, j);
      sum += product;
      magnitude += Math.abs(product);
    }
    // Worst-case float32 rounding of a k-term sum (FMA or mul+add), with a factor 2 of room.
    const tolerance = 2 * (t.k + 2) * 2 ** -24 * magnitude;
    if (!(Math.abs(after[e] - sum) <= tolerance)) {
      expect.fail(`${JSON.stringify(t)}: C[${i}][${j}] = ${after[e]}, expected ${sum} (tolerance ${tolerance})`);
    }
  }
}

function checkCase(h: Harness, t: Case, seed = 1): void {
  const p = prepare(h, t, seed);
  run(h, t, p);
  check(h, t, p);
}

const variants: KernelVariant[] = ['relaxed', 'simd'];

describe.each(variants)('gemm_f32 (%s build)', (variant) => {
  let h: Harness;
  let rowBlock: number;
  beforeAll(async () => {
    h = new Harness(await loadKernels(variant, 1024));
    rowBlock = h.kernels.exports.gemm_row_block();
  });

  it('reports its micro-kernel height and a 64-byte multiple of scratch', () => {
    expect(rowBlock).toBe(variant === 'relaxed' ? 5 : 4);
    expect(h.kernels.exports.gemm_scratch_bytes() % 64).toBe(0);
    expect(h.kernels.exports.gemm_scratch_bytes()).toBeGreaterThan(0);
  });

  it('handles tiny and edge shapes (partial tiles, k around the k block, n around the B panel)', () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1], [3, 5, 7], [1, 9, 1], [9, 1, 3], [2, 2, 2],
      [4, 8, 16], [5, 8, 16], [6, 9, 17], [10, 16, 4], [11, 17, 5], [20, 24, 31],
      [7, 7, 511], [6, 10, 512], [9, 9, 513], [5, 3, 1100], // k blocks of 512
      [79, 13, 9], [80, 8, 9], [81, 9, 9], [163, 17, 21], // row blocks of 80
      [6, 1023, 3], [3, 1024, 5], [7, 1025, 4], [2, 2050, 3], // column panels of 1024
    ];
    for (const [m, n, k] of shapes) checkCase(h, { m, n, k }, m * 1000 + n * 10 + k);
  });

  it('leaves C alone for empty products, and writes zeros for k = 0', () => {
    for (const accumulate of [false, true]) {
      for (const [m, n, k] of [[0, 5, 3], [5, 0, 3], [0, 0, 0], [5, 3, 0], [12, 17, 0], [1, 1, 0]] as const) {
        checkCase(h, { m, n, k, accumulate, cPadding: 2 });
      }
    }
  });

  it('computes all four transpose combinations', () => {
    for (const aLayout of ['rowMajor', 'colMajor'] as const) {
      for (const bLayout of ['rowMajor', 'colMajor'] as const) {
        for (const [m, n, k] of [[37, 29, 53], [130, 70, 600], [8, 16, 4], [13, 11, 3]] as const) {
          checkCase(h, { m, n, k, aLayout, bLayout });
        }
      }
    }
  });

  it('computes the shapes of a small network layer and its gradients', () => {
    checkCase(h, { m: 64, n: 1000, k: 100 }); // x @ w1 style, wide
    checkCase(h, { m: 1000, n: 64, k: 100, aLayout: 'colMajor' }); // transposed A (weight gradient)
    checkCase(h, { m: 64, n: 100, k: 1000, bLayout: 'colMajor' }); // transposed B
  });

  it('reads broadcast (stride-0), padded, negative and arbitrary strides', () => {
    const shape = { m: 23, n: 19, k: 45 };
    for (const aLayout of layoutNames) checkCase(h, { ...shape, aLayout, bLayout: 'rowMajor' });
    for (const bLayout of layoutNames) checkCase(h, { ...shape, aLayout: 'colMajor', bLayout });
    checkCase(h, { ...shape, aLayout: 'scalar', bLayout: 'scalar' });
    checkCase(h, { m: 40, n: 40, k: 40, aLayout: 'rowBroadcast', bLayout: 'colBroadcast', misalign: 1 });
  });

  it('adds onto C when accumulating, across k blocks too', () => {
    for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 33, 600], [25, 16, 1030]] as const) {
      checkCase(h, { m, n, k, accumulate: true, cPadding: 3 });
      checkCase(h, { m, n, k, accumulate: true, aLayout: 'colMajor', bLayout: 'colMajor', misalign: 3 });
    }
  });

  it('gives bitwise the same C whether rows are done in one call or split at multiples of gemm_row_block()', () => {
    const cases: Case[] = [
      { m: 97, n: 45, k: 33 },
      { m: 163, n: 37, k: 1100, aLayout: 'colMajor', accumulate: true },
      { m: 41, n: 1030, k: 7, bLayout: 'colMajor' },
      { m: 200, n: 24, k: 600, aLayout: 'strided', bLayout: 'rowBroadcast' },
    ];
    const random = seededRandom(7);
    for (const t of cases) {
      const whole = prepare(h, t, 11);
      run(h, t, whole);
      const expected = new Uint32Array(cRegion(h, whole).buffer);
      const blocks = Math.ceil(t.m / rowBlock);
      for (const parts of [2, 3, 7]) {
        const cuts = new Set<number>([0, t.m]);
        while (cuts.size < parts + 1) cuts.add(rowBlock * (1 + Math.floor((random() + 1) / 2 * (blocks - 1))));
        const bounds = [...cuts].sort((x, y) => x - y);
        const split = prepare(h, t, 11);
        // Out of order, as threads would finish.
        for (let s = bounds.length - 2; s >= 0; s--) run(h, t, split, bounds[s], bounds[s + 1]);
        expect(new Uint32Array(cRegion(h, split).buffer)).toEqual(expected);
      }
      check(h, t, whole);
    }
  });

  it('property: any shape, layouts, padding and row range match the reference', () => {
    const shape = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 24 })) },
      { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 700 })) },
    );
    fc.assert(fc.property(
      shape, fc.constantFrom(...layoutNames), fc.constantFrom(...layoutNames), fc.boolean(),
      fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.nat(), fc.nat(), fc.nat(),
      ([m, n, k], aLayout, bLayout, accumulate, cPadding, misalign, beginPick, endPick, seed) => {
        const t: Case = { m, n, k, aLayout, bLayout, accumulate, cPadding, misalign };
        const blocks = Math.ceil(m / rowBlock);
        const begin = Math.min(m, rowBlock * (beginPick % (blocks + 1)));
        const end = Math.min(m, begin + rowBlock * (endPick % (blocks + 1)) + (endPick % 2 ? m : 0));
        const p = prepare(h, t, seed);
        run(h, t, p, begin, end);
        check(h, t, p, begin, end);
      },
    ), { numRuns: 300, seed: 20261127 });
  });

  it('split k (gemm_f32_k_parts, any split of its items, then gemm_add_partials) is bitwise equal to one call', () => {
    const exports = h.kernels.exports;
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1700 }),
      fc.constantFrom(...layoutNames), fc.constantFrom(...layoutNames), fc.boolean(),
      fc.uniqueArray(fc.nat(), { maxLength: 5 }), fc.nat(),
      (m, n, k, aLayout, bLayout, accumulate, cutPicks, seed) => {
        const t: Case = { m, n, k, aLayout, bLayout, accumulate };
        const whole = prepare(h, t, seed);
        run(h, t, whole);
        const expected = new Uint32Array(cRegion(h, whole).buffer);
        const split = prepare(h, t, seed);
        const parts = exports.gemm_k_blocks(k);
        const items = parts * Math.ceil(n / 8) * 8;
        const partials = h.alloc((parts - 1) * m * n);
        const bounds = [...new Set([0, ...cutPicks.map((c) => c % (items + 1)), items])].sort((x, y) => x - y);
        // Out of order, as threads would finish.
        for (let s = bounds.length - 2; s >= 0; s--) {
          exports.gemm_f32_k_parts(m, n, k, split.a.pointer, split.a.rowStride, split.a.colStride, split.b.pointer, split.b.rowStride,
            split.b.colStride, split.c, split.cRowStride, accumulate ? 1 : 0, h.scratch, partials, bounds[s], bounds[s + 1]);
        }
        exports.gemm_add_partials(m, n, split.c, split.cRowStride, partials, parts);
        expect(new Uint32Array(cRegion(h, split).buffer)).toEqual(expected);
      },
    ), { numRuns: 120, seed: 7 });
    // The lecture's layer: two k blocks, A row-major, B row-major and transposed.
    for (const bLayout of ['rowMajor', 'colMajor'] as const) {
      const t: Case = { m: 64, n: 100, k: 1000, bLayout };
      const whole = prepare(h, t, 3);
      run(h, t, whole);
      const split = prepare(h, t, 3);
      const partials = h.alloc(64 * 100);
      for (const [begin, end] of [[104, 208], [0, 104]]) {
        exports.gemm_f32_k_parts(64, 100, 1000, split.a.pointer, split.a.rowStride, split.a.colStride, split.b.pointer, split.b.rowStride,
          split.b.colStride, split.c, split.cRowStride, 0, h.scratch, partials, begin, end);
      }
      exports.gemm_add_partials(64, 100, split.c, split.cRowStride, partials, 2);
      expect(new Uint32Array(cRegion(h, split).buffer)).toEqual(new Uint32Array(cRegion(h, whole).buffer));
    }
  });

  it('property: splitting rows at multiples of gemm_row_block() is bitwise equal to one call', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 600 }),
      fc.constantFrom(...layoutNames), fc.constantFrom(...layoutNames), fc.boolean(),
      fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }), fc.nat(),
      (m, n, k, aLayout, bLayout, accumulate, cutBlocks, seed) => {
        const t: Case = { m, n, k, aLayout, bLayout, accumulate };
        const whole = prepare(h, t, seed);
        run(h, t, whole);
        const expected = new Uint32Array(cRegion(h, whole).buffer);
        const bounds = [...new Set([0, ...cutBlocks.map((c) => Math.min(m, c * rowBlock)), m])].sort((x, y) => x - y);
        const split = prepare(h, t, seed);
        for (let s = 0; s + 1 < bounds.length; s++) run(h, t, split, bounds[s], bounds[s + 1]);
        expect(new Uint32Array(cRegion(h, split).buffer)).toEqual(expected);
      },
    ), { numRuns: 150, seed: 42 });
  });
});
