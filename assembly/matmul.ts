// Float32 GEMM for one thread's rows: BLIS-style packing of any-strided A and B, then a register-blocked SIMD micro-kernel.

import { storeTransposed4x4 } from './simd';

// Micro-tile: MR x NR of C stays in MR*2 v128 accumulators for a whole k block. V8 on x64 allocates 15 XMM registers:
// 10 accumulators (5x8) plus two B vectors, one A vector and one broadcast fill them; 6x8 spills and runs at half the
// speed (wasm-notes 10-11). Without FMA every product needs a register until its add, so the plain build uses 4x8.
// @ts-ignore: decorator
@inline const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;
// k block: one packed B sliver (KC x NR, 16 KiB) stays in L1 while all A slivers of the packed A block pass it; 512
// rather than 256 halves how often each C tile is read and written (4% faster at N=1024).
// @ts-ignore: decorator
@inline const KC: i32 = 512;
// Rows of the packed A block (MC x KC, 160 KiB): L2-resident; a multiple of both 5 and 4 so that row blocks end on
// whole micro-tiles (a partial tile costs a trip through the temp tile).
// @ts-ignore: decorator
@inline const MC: i32 = 80;
// Columns of the packed B panel (KC x NC, 2 MiB): bounds the per-thread scratch; wider B is done in several panels.
// @ts-ignore: decorator
@inline const NC: i32 = 1024;

// @ts-ignore: decorator
@inline const PACKED_B_BYTES: usize = <usize>(KC * NC * 4);
// @ts-ignore: decorator
@inline const PACKED_A_BYTES: usize = <usize>(MC * KC * 4);
// One MR x NR tile, rounded up to a 64-byte multiple, so that every scratch piece starts 64-byte aligned.
// @ts-ignore: decorator
@inline const EDGE_TILE_BYTES: usize = <usize>(((MR * NR * 4 + 63) >> 6) << 6);

/** Scratch bytes one calling thread must pass to gemm_f32: packed B panel, packed A block, edge tile. */
export function gemm_scratch_bytes(): i32 {
  return <i32>(PACKED_B_BYTES + PACKED_A_BYTES + EDGE_TILE_BYTES);
}

/** Micro-kernel height of this build: callers split rows at multiples of it. */
export function gemm_row_block(): i32 {
  return MR;
}

/** How many k blocks gemm_f32 sums for a depth of k (each at most KC deep, all but the last the same depth). */
export function gemm_k_blocks(k: i32): i32 {
  return (k + KC - 1) / KC;
}

// Byte offset of element (row, col) for element strides; i32 products wrap to the right usize for negative strides.
// @ts-ignore: decorator
@inline function byteOffset(row: i32, rowStride: i32, col: i32, colStride: i32): usize {
  return <usize>(row * rowStride + col * colStride) << 2;
}

/**
 * C[m x n] = A[m x k] * B[k x n] (+ C when accumulate != 0), for rows [rowBegin, rowEnd) of C only.
 * Strides are in elements and may be 0, negative or transposed. The arithmetic for one element of C depends only on
 * (m, n, k), never on the row range, so any split of rows gives bitwise the same C as one call.
 */
export function gemm_f32(
  m: i32, n: i32, k: i32,
  a: usize, aRowStride: i32, aColStride: i32,
  b: usize, bRowStride: i32, bColStride: i32,
  c: usize, cRowStride: i32, accumulate: i32,
  scratch: usize, rowBegin: i32, rowEnd: i32,
): void {
  if (rowBegin < 0) rowBegin = 0;
  if (rowEnd > m) rowEnd = m;
  if (rowBegin >= rowEnd || n <= 0) return;
  if (k <= 0) {
    // An empty sum: C is 0, or unchanged when accumulating.
    if (accumulate == 0) zeroRows(c, cRowStride, n, rowBegin, rowEnd);
    return;
  }
  const packedB = scratch;
  const packedA = scratch + PACKED_B_BYTES;
  const edgeTile = packedA + PACKED_A_BYTES;

  const kcEven = evenKBlock(k);

  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcEven) {
      const kc = min(kcEven, k - pc);
      // Later k blocks add onto what the earlier ones stored.
      const addToC = accumulate != 0 || pc > 0;
      packB(kc, nc, b + byteOffset(pc, bRowStride, jc, bColStride), bRowStride, bColStride, packedB);
      for (let ic = rowBegin; ic < rowEnd; ic += MC) {
        const mc = min(MC, rowEnd - ic);
        packA(mc, kc, a + byteOffset(ic, aRowStride, pc, aColStride), aRowStride, aColStride, packedA);
        macroKernel(mc, nc, kc, packedA, packedB, c + byteOffset(ic, cRowStride, jc, 1), cRowStride, addToC, edgeTile);
      }
    }
  }
}

// Equal k blocks instead of KC-sized ones plus a short tail: a tail of a few k steps would pay the full cost of
// loading and storing C tiles for little arithmetic.
// @ts-ignore: decorator
@inline function evenKBlock(k: i32): i32 {
  const kBlocks = gemm_k_blocks(k);
  return (k + kBlocks - 1) / kBlocks;
}

function zeroRows(c: usize, cRowStride: i32, n: i32, rowBegin: i32, rowEnd: i32): void {
  const zero = f32x4.splat(0);
  for (let i = rowBegin; i < rowEnd; i++) {
    const row = c + byteOffset(i, cRowStride, 0, 0);
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(row + (<usize>j << 2), zero);
    for (; j < n; j++) store<f32>(row + (<usize>j << 2), 0);
  }
}

// Runs the micro-kernel over every MR x NR tile of an mc x nc block of C. The B sliver is the outer loop so it stays
// in L1 while the A slivers stream from L2.
function macroKernel(
  mc: i32, nc: i32, kc: i32, packedA: usize, packedB: usize,
  c: usize, cRowStride: i32, addToC: bool, edgeTile: usize,
): void {
  const cRowBytes = <usize>cRowStride << 2;
  const aSliverBytes = <usize>(MR * kc) << 2;
  const bSliverBytes = <usize>(NR * kc) << 2;
  for (let j = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    const bSliver = packedB + <usize>(j / NR) * bSliverBytes;
    let aSliver = packedA;
    for (let i = 0; i < mc; i += MR) {
      const rows = min(MR, mc - i);
      const cTile = c + byteOffset(i, cRowStride, j, 1);
      if (rows == MR && cols == NR) {
        microKernel(kc, aSliver, bSliver, cTile, cRowBytes, addToC);
      } else {
        // Partial tiles run the same kernel (the same arithmetic per element) on a full temp tile; the packed
        // operands are zero-padded, and only the valid part goes back to C.
        edgeTileKernel(kc, aSliver, bSliver, cTile, cRowBytes, addToC, rows, cols, edgeTile);
      }
      aSliver += aSliverBytes;
    }
  }
}

function edgeTileKernel(
  kc: i32, aSliver: usize, bSliver: usize, cTile: usize, cRowBytes: usize, addToC: bool,
  rows: i32, cols: i32, edgeTile: usize,
): void {
  const zero = f32x4.splat(0);
  for (let q = 0; q < MR * NR; q += 4) v128.store(edgeTile + (<usize>q << 2), zero);
  if (addToC) {
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) {
        store<f32>(edgeTile + (<usize>(r * NR + j) << 2), load<f32>(cTile + <usize>r * cRowBytes + (<usize>j << 2)));
      }
    }
  }
  microKernel(kc, aSliver, bSliver, edgeTile, <usize>(NR * 4), addToC);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(cTile + <usize>r * cRowBytes + (<usize>j << 2), load<f32>(edgeTile + (<usize>(r * NR + j) << 2)));
    }
  }
}

// C tile (+)= A sliver (MR x kc, MR values per k step) * B sliver (kc x NR, 8 values per k step).
// @ts-ignore: decorator
@inline function microKernel(kc: i32, aSliver: usize, bSliver: usize, cTile: usize, cRowBytes: usize, addToC: bool): void {
  if (ASC_FEATURE_RELAXED_SIMD) microKernel5x8Fma(kc, aSliver, bSliver, cTile, cRowBytes, addToC);
  else microKernel4x8(kc, aSliver, bSliver, cTile, cRowBytes, addToC);
}

function microKernel5x8Fma(kc: i32, aSliver: usize, bSliver: usize, cTile: usize, cRowBytes: usize, addToC: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  const row1 = cTile + cRowBytes, row2 = row1 + cRowBytes, row3 = row2 + cRowBytes, row4 = row3 + cRowBytes;
  // No manual unrolling: V8 would hoist the second step's loads too and spill accumulators (wasm-notes 10). Five
  // load32_splat broadcasts instead of the shuffles spill the same way (25 instead of 43 GFLOP/s).
  const bEnd = bSliver + (<usize>kc << 5);
  while (bSliver < bEnd) {
    const b0 = v128.load(bSliver);
    const b1 = v128.load(bSliver, 16);
    // One load brings rows 0-3 of this k step; lanes are broadcast by shuffles instead of five scalar loads.
    const a0123 = v128.load(aSliver);
    const a4 = v128.load32_splat(aSliver, 16);
    let ai = f32x4.shuffle(a0123, a0123, 0, 0, 0, 0);
    c00 = f32x4.relaxed_madd(ai, b0, c00);
    c01 = f32x4.relaxed_madd(ai, b1, c01);
    ai = f32x4.shuffle(a0123, a0123, 1, 1, 1, 1);
    c10 = f32x4.relaxed_madd(ai, b0, c10);
    c11 = f32x4.relaxed_madd(ai, b1, c11);
    ai = f32x4.shuffle(a0123, a0123, 2, 2, 2, 2);
    c20 = f32x4.relaxed_madd(ai, b0, c20);
    c21 = f32x4.relaxed_madd(ai, b1, c21);
    ai = f32x4.shuffle(a0123, a0123, 3, 3, 3, 3);
    c30 = f32x4.relaxed_madd(ai, b0, c30);
    c31 = f32x4.relaxed_madd(ai, b1, c31);
    c40 = f32x4.relaxed_madd(a4, b0, c40);
    c41 = f32x4.relaxed_madd(a4, b1, c41);
    aSliver += 20;
    bSliver += 32;
  }
  // C is added after the k loop rather than loaded into the accumulators before it: these loads (C rows are a row
  // stride apart, so they often miss) then overlap the loop instead of stalling its first FMAs.
  if (addToC) {
    c00 = f32x4.add(c00, v128.load(cTile)); c01 = f32x4.add(c01, v128.load(cTile, 16));
    c10 = f32x4.add(c10, v128.load(row1)); c11 = f32x4.add(c11, v128.load(row1, 16));
    c20 = f32x4.add(c20, v128.load(row2)); c21 = f32x4.add(c21, v128.load(row2, 16));
    c30 = f32x4.add(c30, v128.load(row3)); c31 = f32x4.add(c31, v128.load(row3, 16));
    c40 = f32x4.add(c40, v128.load(row4)); c41 = f32x4.add(c41, v128.load(row4, 16));
  }
  v128.store(cTile, c00); v128.store(cTile, c01, 16);
  v128.store(row1, c10); v128.store(row1, c11, 16);
  v128.store(row2, c20); v128.store(row2, c21, 16);
  v128.store(row3, c30); v128.store(row3, c31, 16);
  v128.store(row4, c40); v128.store(row4, c41, 16);
}

function microKernel4x8(kc: i32, aSliver: usize, bSliver: usize, cTile: usize, cRowBytes: usize, addToC: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const row1 = cTile + cRowBytes, row2 = row1 + cRowBytes, row3 = row2 + cRowBytes;
  const bEnd = bSliver + (<usize>kc << 5);
  while (bSliver < bEnd) {
    const b0 = v128.load(bSliver);
    const b1 = v128.load(bSliver, 16);
    // Broadcast by load (a load-port op) rather than by shuffle: without FMA the muls and adds already keep the FP
    // ports busy, and shuffles compete for them (25 instead of 31 GFLOP/s). With 8 accumulators V8 does not spill.
    const a0 = v128.load32_splat(aSliver);
    const a1 = v128.load32_splat(aSliver, 4);
    const a2 = v128.load32_splat(aSliver, 8);
    const a3 = v128.load32_splat(aSliver, 12);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    aSliver += 16;
    bSliver += 32;
  }
  if (addToC) {
    c00 = f32x4.add(c00, v128.load(cTile)); c01 = f32x4.add(c01, v128.load(cTile, 16));
    c10 = f32x4.add(c10, v128.load(row1)); c11 = f32x4.add(c11, v128.load(row1, 16));
    c20 = f32x4.add(c20, v128.load(row2)); c21 = f32x4.add(c21, v128.load(row2, 16));
    c30 = f32x4.add(c30, v128.load(row3)); c31 = f32x4.add(c31, v128.load(row3, 16));
  }
  v128.store(cTile, c00); v128.store(cTile, c01, 16);
  v128.store(row1, c10); v128.store(row1, c11, 16);
  v128.store(row2, c20); v128.store(row2, c21, 16);
  v128.store(row3, c30); v128.store(row3, c31, 16);
}

// Packs kc x nc of B (starting at src) into NR-wide column slivers, k-major inside a sliver, zero-padded to NR.
function packB(kc: i32, nc: i32, src: usize, rowStride: i32, colStride: i32, dest: usize): void {
  const rowBytes = <usize>rowStride << 2;
  const colBytes = <usize>colStride << 2;
  let j = 0;
  for (; j + NR <= nc; j += NR) {
    const from = src + <usize>j * colBytes;
    const to = dest + (<usize>(j * kc) << 2);
    if (colStride == 1) {
      // Row-major B: each k step of the sliver is 8 adjacent floats.
      let row = from;
      for (let p = 0; p < kc; p++) {
        v128.store(to + (<usize>p << 5), v128.load(row));
        v128.store(to + (<usize>p << 5), v128.load(row, 16), 16);
        row += rowBytes;
      }
    } else if (rowStride == 1) {
      // Column-major (transposed) B: read 4 k steps of each column at once and transpose in registers.
      const col4 = from + 4 * colBytes;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const at = <usize>p << 2;
        const out = to + (<usize>p << 5);
        storeTransposed4x4(
          v128.load(from + at), v128.load(from + colBytes + at),
          v128.load(from + 2 * colBytes + at), v128.load(from + 3 * colBytes + at), out, 32);
        storeTransposed4x4(
          v128.load(col4 + at), v128.load(col4 + colBytes + at),
          v128.load(col4 + 2 * colBytes + at), v128.load(col4 + 3 * colBytes + at), out + 16, 32);
      }
      for (; p < kc; p++) {
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(to + (<usize>(p * NR + jj) << 2), load<f32>(from + <usize>jj * colBytes + (<usize>p << 2)));
        }
      }
    } else {
      packBGeneric(kc, NR, from, rowBytes, colBytes, to);
    }
  }
  if (j < nc) packBGeneric(kc, nc - j, src + <usize>j * colBytes, rowBytes, colBytes, dest + (<usize>(j * kc) << 2));
}

// Any strides (0 for broadcast operands), and the last sliver's zero padding.
function packBGeneric(kc: i32, cols: i32, from: usize, rowBytes: usize, colBytes: usize, to: usize): void {
  for (let p = 0; p < kc; p++) {
    const row = from + <usize>p * rowBytes;
    const out = to + (<usize>(p * NR) << 2);
    let jj = 0;
    for (; jj < cols; jj++) store<f32>(out + (<usize>jj << 2), load<f32>(row + <usize>jj * colBytes));
    for (; jj < NR; jj++) store<f32>(out + (<usize>jj << 2), 0);
  }
}

// Packs mc x kc of A (starting at src) into MR-row slivers, k-major inside a sliver, zero-padded to MR rows.
function packA(mc: i32, kc: i32, src: usize, rowStride: i32, colStride: i32, dest: usize): void {
  const rowBytes = <usize>rowStride << 2;
  const colBytes = <usize>colStride << 2;
  const stepBytes = <usize>(MR << 2);
  let i = 0;
  for (; i + MR <= mc; i += MR) {
    const from = src + <usize>i * rowBytes;
    const to = dest + (<usize>(i * kc) << 2);
    if (rowStride == 1) {
      // Column-major (transposed) A: the MR rows of one k step are adjacent.
      let col = from;
      let out = to;
      for (let p = 0; p < kc; p++) {
        v128.store(out, v128.load(col));
        if (MR == 5) store<f32>(out, load<f32>(col, 16), 16);
        col += colBytes;
        out += stepBytes;
      }
    } else if (colStride == 1) {
      // Row-major A: read 4 k steps of each row at once and transpose in registers.
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const at = <usize>p << 2;
        const out = to + <usize>p * stepBytes;
        // The fifth row goes to the float after each step's four transposed ones.
        if (MR == 5) {
          const row4 = v128.load(from + 4 * rowBytes + at);
          store<f32>(out, f32x4.extract_lane(row4, 0), 16);
          store<f32>(out + stepBytes, f32x4.extract_lane(row4, 1), 16);
          store<f32>(out + 2 * stepBytes, f32x4.extract_lane(row4, 2), 16);
          store<f32>(out + 3 * stepBytes, f32x4.extract_lane(row4, 3), 16);
        }
        storeTransposed4x4(
          v128.load(from + at), v128.load(from + rowBytes + at),
          v128.load(from + 2 * rowBytes + at), v128.load(from + 3 * rowBytes + at), out, stepBytes);
      }
      for (; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(to + <usize>p * stepBytes + (<usize>r << 2), load<f32>(from + <usize>r * rowBytes + (<usize>p << 2)));
        }
      }
    } else {
      packAGeneric(MR, kc, from, rowBytes, colBytes, to);
    }
  }
  if (i < mc) packAGeneric(mc - i, kc, src + <usize>i * rowBytes, rowBytes, colBytes, dest + (<usize>(i * kc) << 2));
}

// Any strides (0 for broadcast operands), and the last sliver's zero padding.
function packAGeneric(rows: i32, kc: i32, from: usize, rowBytes: usize, colBytes: usize, to: usize): void {
  for (let p = 0; p < kc; p++) {
    const col = from + <usize>p * colBytes;
    const out = to + (<usize>(p * MR) << 2);
    let r = 0;
    for (; r < rows; r++) store<f32>(out + (<usize>r << 2), load<f32>(col + <usize>r * rowBytes));
    for (; r < MR; r++) store<f32>(out + (<usize>r << 2), 0);
  }
}

/**
 * Columns [columnBegin, columnEnd) of C = A B (+ C): the split for products with few rows and many columns,
 * where splitting rows would make every thread pack all of B. Each element is computed exactly as by
 * gemm_f32, so any column split gives the same bits.
 */
export function gemm_f32_columns(
  m: i32, n: i32, k: i32,
  a: usize, aRowStride: i32, aColStride: i32,
  b: usize, bRowStride: i32, bColStride: i32,
  c: usize, cRowStride: i32, accumulate: i32, scratch: usize,
  columnBegin: i32, columnEnd: i32,
): void {
  if (columnEnd <= columnBegin) return;
  gemm_f32(m, columnEnd - columnBegin, k, a, aRowStride, aColStride,
    b + (<usize>(columnBegin * bColStride) << 2), bRowStride, bColStride,
    c + (<usize>columnBegin << 2), cRowStride, accumulate, scratch, 0, m);
}

/**
 * Split k, for products with few rows and a deep k (rows are too few to share out, and a column split makes every
 * thread pack all of A): part p is k block p of gemm_f32 (p < gemm_k_blocks(k)). Work item p * nPadded + j (nPadded:
 * n rounded up to 8) is column j of part p. Part 0 goes to C (added onto C when accumulating), part p >= 1 to
 * partials + (p - 1) * m * n floats (row stride n); gemm_add_partials then adds them onto C in order. gemm_f32
 * adds each k block's sum onto C the same way, so C gets bitwise the same values for any split of the items.
 */
export function gemm_f32_k_parts(
  m: i32, n: i32, k: i32,
  a: usize, aRowStride: i32, aColStride: i32,
  b: usize, bRowStride: i32, bColStride: i32,
  c: usize, cRowStride: i32, accumulate: i32, scratch: usize, partials: usize,
  itemBegin: i32, itemEnd: i32,
): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  const kcEven = evenKBlock(k);
  const nPadded = ((n + NR - 1) / NR) * NR;
  const parts = gemm_k_blocks(k);
  for (let part = max(itemBegin, 0) / nPadded; part < parts && part * nPadded < itemEnd; part++) {
    const columnBegin = max(itemBegin - part * nPadded, 0), columnEnd = min(itemEnd - part * nPadded, n);
    if (columnEnd <= columnBegin) continue;
    const p0 = part * kcEven;
    const kc = min(kcEven, k - p0);
    const aBlock = a + byteOffset(0, aRowStride, p0, aColStride);
    const bBlock = b + byteOffset(p0, bRowStride, columnBegin, bColStride);
    // One block deep (kc <= KC), so gemm_f32 runs it as exactly this one k block.
    if (part == 0) {
      gemm_f32(m, columnEnd - columnBegin, kc, aBlock, aRowStride, aColStride, bBlock, bRowStride, bColStride,
        c + (<usize>columnBegin << 2), cRowStride, accumulate, scratch, 0, m);
    } else {
      const partial = partials + (<usize>(part - 1) * <usize>m * <usize>n << 2);
      gemm_f32(m, columnEnd - columnBegin, kc, aBlock, aRowStride, aColStride, bBlock, bRowStride, bColStride,
        partial + (<usize>columnBegin << 2), n, 0, scratch, 0, m);
    }
  }
}

/** C = partial[p] + C for p = 0 .. parts - 2 in order: the sums gemm_f32_k_parts left for k blocks 1 .. parts - 1. */
export function gemm_add_partials(m: i32, n: i32, c: usize, cRowStride: i32, partials: usize, parts: i32): void {
  for (let p = 0; p < parts - 1; p++) {
    const partial = partials + (<usize>p * <usize>m * <usize>n << 2);
    for (let i = 0; i < m; i++) {
      const row = c + byteOffset(i, cRowStride, 0, 0);
      const from = partial + (<usize>(i * n) << 2);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const at = <usize>j << 2;
        v128.store(row + at, f32x4.add(v128.load(from + at), v128.load(row + at)));
      }
      for (; j < n; j++) {
        const at = <usize>j << 2;
        store<f32>(row + at, load<f32>(from + at) + load<f32>(row + at));
      }
    }
  }
}
