// Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with many channels, 2.25x fewer multiplies than im2col + GEMM.
//
// Geometry descriptor (i32 words at `desc`) of the convolution computed, from X [N, C, H, W] to Y [N, O, OH, OW]:
//   0 N, 1 C, 2 H, 3 W, 4 O, 5 OH, 6 OW, 7 padTop, 8 padLeft, 9 tilesH, 10 tilesW.
// Tile (ty, tx) of an image makes outputs (2ty..2ty+1, 2tx..2tx+1) from the 4x4 input patch at (2ty - padTop,
// 2tx - padLeft), zeros outside X. With e = 4*row + column of a 4x4 transform, per image:
//   U [16][Cp][O]       = G g G^T       (g = one 3x3 filter; Cp = C rounded up to 4, the extra rows zero)
//   V [16][lanes][Cp]   = B^T d B       (d = one channel's patch; lane = ty*tilesW + tx, rounded up to 4)
//   M [16][lanes][O]    = V[e] U[e]     (16 products, each summed over the channels in order)
//   Y                   = A^T M A (+ bias)
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
// One work item is one image, start to end in its thread's scratch (V and M never leave L2): unfused, the trips of
// V and M through memory cost more than the multiplies saved. Every output is computed by one work item in a fixed
// order, so any split across threads gives the same bits.

import { madd, storeTransposed4x4 } from './simd';
import { word, at } from './strided';

@inline function paddedChannels(channels: i32): i32 {
  return (channels + 3) & ~3;
}

@inline function laneCount(tilesH: i32, tilesW: i32): i32 {
  return (tilesH * tilesW + 3) & ~3;
}

// Scratch sizes are computed in f64: for large images they pass 2^31 floats, and an i32 would wrap to a size that
// looks small enough.
@inline function paddedChannelsF64(channels: i32): f64 {
  return <f64>((channels + 3) >> 2) * 4;
}

@inline function laneCountF64(tilesH: i32, tilesW: i32): f64 {
  return Math.ceil(<f64>tilesH * <f64>tilesW / 4) * 4;
}

/** Floats of per-thread scratch winograd_conv_f32 needs: the padded image (channels last), V and M. */
export function winograd_scratch_floats(channels: i32, outChannels: i32, tilesH: i32, tilesW: i32): f64 {
  const cp = paddedChannelsF64(channels), lanes = laneCountF64(tilesH, tilesW);
  // + 4: the output transform reads a vector of M from its last output channel on.
  return (2 * <f64>tilesH + 2) * (2 * <f64>tilesW + 2) * cp + 16 * lanes * (cp + <f64>outChannels) + 4;
}

/**
 * U from W: work item = (o, i) of the convolution computed, U[e] planeFloats apart and each at i * inputStride +
 * o * outputStride (layout [Cp][O]: strides O, 1; [Op][Cp]: 1, Cp); entries for padding channels are left as they
 * are (the caller zeroes U). `transposed` != 0 computes the convolution that is the transpose of W's (W is [C, O, 3, 3]
 * here): its filter (o, i) is W[i, o] turned 180 degrees. A non-finite tap sets *status to 1.
 */
export function winograd_weights_f32(u: usize, w: usize, outChannels: i32, inChannels: i32, transposed: i32, inputStride: i32, outputStride: i32,
  planeFloats: i32, status: usize, begin: i32, end: i32): void {
  const eBytes = <usize>planeFloats << 2;
  for (let item = begin; item < end; item++) {
    const o = item / inChannels, i = item - o * inChannels;
    const filter = at(w, (transposed != 0 ? i * outChannels + o : item) * 9);
    let g00 = load<f32>(filter), g01 = load<f32>(filter, 4), g02 = load<f32>(filter, 8);
    let g10 = load<f32>(filter, 12), g11 = load<f32>(filter, 16), g12 = load<f32>(filter, 20);
    let g20 = load<f32>(filter, 24), g21 = load<f32>(filter, 28), g22 = load<f32>(filter, 32);
    // An infinite tap would meet its negation in the transforms (inf - inf): see winograd_conv_f32.
    const check = g00 + g01 + g02 + g10 + g11 + g12 + g20 + g21 + g22;
    if (check - check != 0) store<i32>(status, 1);
    if (transposed != 0) {
      let swap = g00; g00 = g22; g22 = swap;
      swap = g01; g01 = g21; g21 = swap;
      swap = g02; g02 = g20; g20 = swap;
      swap = g10; g10 = g12; g12 = swap;
    }
    // t = G g (rows), then each row times G^T.
    const to = at(u, i * inputStride + o * outputStride);
    filterRow(g00, g01, g02, to, eBytes);
    filterRow((g00 + g10 + g20) * 0.5, (g01 + g11 + g21) * 0.5, (g02 + g12 + g22) * 0.5, to + 4 * eBytes, eBytes);
    filterRow((g00 - g10 + g20) * 0.5, (g01 - g11 + g21) * 0.5, (g02 - g12 + g22) * 0.5, to + 8 * eBytes, eBytes);
    filterRow(g20, g21, g22, to + 12 * eBytes, eBytes);
  }
}

/** One row t of G g times G^T: (t0, (t0 + t1 + t2)/2, (t0 - t1 + t2)/2, t2), for e = 4*row .. 4*row + 3. */
@inline function filterRow(t0: f32, t1: f32, t2: f32, to: usize, eBytes: usize): void {
  store<f32>(to, t0);
  store<f32>(to + eBytes, (t0 + t1 + t2) * 0.5);
  store<f32>(to + 2 * eBytes, (t0 - t1 + t2) * 0.5);
  store<f32>(to + 3 * eBytes, t2);
}

/**
 * The convolution, one band of `desc[11]` tile rows of one image per work item (item = n * bands + band; one band
 * per image for large batches, several when the batch alone would leave threads idle). Every output is computed
 * the same way whatever the banding. In this thread's scratch: the band's input rows zero-padded with channels last
 * (so one vector load is one input position for four channels), then V, M, and Y written from M.
 * An image holding an infinity or NaN sets *status to 1 and is skipped: the transforms would turn an infinity into
 * NaN (inf - inf), so the caller computes the whole convolution another way.
 */
export function winograd_conv_f32(y: usize, x: usize, u: usize, bias: usize, hasBias: i32, desc: usize, status: usize, scratch: usize, begin: i32, end: i32): void {
  const channels = word(desc, 1), height = word(desc, 2), width = word(desc, 3), outChannels = word(desc, 4);
  const outH = word(desc, 5), outW = word(desc, 6), padTop = word(desc, 7), padLeft = word(desc, 8);
  const tilesH = word(desc, 9), tilesW = word(desc, 10), bandRows = word(desc, 11);
  const bands = (tilesH + bandRows - 1) / bandRows;
  const cp = paddedChannels(channels), paddedW = 2 * tilesW + 2;
  const image = scratch;
  // Laid out for a whole image's band (the largest), as winograd_scratch_floats counts.
  const v = at(image, (2 * bandRows + 2) * paddedW * cp);
  const m = at(v, 16 * laneCount(bandRows, tilesW) * cp);
  for (let item = begin; item < end; item++) {
    const n = item / bands, band = item - n * bands;
    const firstTileRow = band * bandRows, tileRows = min(bandRows, tilesH - firstTileRow);
    const lanes = laneCount(tileRows, tilesW);
    if (!padImage(image, at(x, n * channels * height * width), channels, height, width, cp, 2 * tileRows + 2, paddedW, 2 * firstTileRow - padTop, padLeft)) {
      store<i32>(status, 1);
      continue;
    }
    inputTransform(v, image, cp, paddedW, tileRows, tilesW, lanes);
    products(m, v, u, cp, outChannels, lanes);
    outputTransform(at(y, (n * outChannels * outH + 2 * firstTileRow) * outW), m, bias, hasBias, outChannels, min(2 * tileRows, outH - 2 * firstTileRow),
      outW, outH * outW, tilesW, tileRows * tilesW, lanes);
  }
}

/** Zeroes `floats` floats (a multiple of 4) from `address` on. */
@inline function zeroVectors(address: usize, floats: i32): void {
  const zero = f32x4.splat(0);
  for (let i = 0; i < floats; i += 4) v128.store(at(address, i), zero);
}

/** Lanes of v that are infinite or NaN (x - x is NaN exactly for those). */
@inline function nonFinite(v: v128): v128 {
  return f32x4.ne(f32x4.sub(v, v), f32x4.splat(0));
}

/**
 * image[(y - firstRow) * paddedW + x + padLeft][c] = plane c at (y, x) for the paddedH rows from firstRow on (which
 * may start above the plane: top padding), zeros elsewhere; four channels by four columns through a register
 * transpose. Returns false when a value copied is infinite or NaN.
 */
function padImage(image: usize, planes: usize, channels: i32, height: i32, width: i32, cp: i32, paddedH: i32, paddedW: i32, firstRow: i32, padLeft: i32): bool {
  zeroVectors(image, paddedH * paddedW * cp);
  // Rows and columns the tiles never read are left out (an output size that ignores the input's last rows).
  const rowBegin = max(0, firstRow), rowEnd = min(height, firstRow + paddedH), columns = min(width, paddedW - padLeft);
  const planeSize = height * width;
  const positionBytes = <usize>cp << 2;
  let bad = f32x4.splat(0);
  let badScalar = false;
  let c = 0;
  for (; c + 4 <= channels; c += 4) {
    const plane0 = at(planes, c * planeSize);
    const planeBytes = <usize>planeSize << 2;
    for (let row = rowBegin; row < rowEnd; row++) {
      const from = at(plane0, row * width);
      const to = at(image, ((row - firstRow) * paddedW + padLeft) * cp + c);
      let column = 0;
      for (; column + 4 <= columns; column += 4) {
        const p = at(from, column);
        const v0 = v128.load(p), v1 = v128.load(p + planeBytes), v2 = v128.load(p + 2 * planeBytes), v3 = v128.load(p + 3 * planeBytes);
        bad = v128.or(bad, v128.or(v128.or(nonFinite(v0), nonFinite(v1)), v128.or(nonFinite(v2), nonFinite(v3))));
        storeTransposed4x4(v0, v1, v2, v3, to + <usize>column * positionBytes, positionBytes);
      }
      for (; column < columns; column++) {
        for (let k = 0; k < 4; k++) {
          const value = load<f32>(at(from, k * planeSize + column));
          badScalar = badScalar || value - value != 0;
          store<f32>(to + <usize>column * positionBytes + (<usize>k << 2), value);
        }
      }
    }
  }
  for (; c < channels; c++) {
    const plane = at(planes, c * planeSize);
    for (let row = rowBegin; row < rowEnd; row++) {
      const to = at(image, ((row - firstRow) * paddedW + padLeft) * cp + c);
      for (let column = 0; column < columns; column++) {
        const value = load<f32>(at(plane, row * width + column));
        badScalar = badScalar || value - value != 0;
        store<f32>(to + <usize>column * positionBytes, value);
      }
    }
  }
  return !badScalar && !v128.any_true(bad);
}

/** V[e][lane][c] = (B^T d B)[e] of each tile's patch, four channels per vector; lanes past the tiles are zero. */
function inputTransform(v: usize, image: usize, cp: i32, paddedW: i32, tilesH: i32, tilesW: i32, lanes: i32): void {
  const planeBytes = <usize>(lanes * cp) << 2;
  const positionBytes = <usize>cp << 2, rowBytes = <usize>(paddedW * cp) << 2;
  let lane = 0;
  for (let ty = 0; ty < tilesH; ty++) {
    for (let tx = 0; tx < tilesW; tx++, lane++) {
      const patch = image + (<usize>(2 * ty) * rowBytes) + <usize>(2 * tx) * positionBytes;
      const to = at(v, lane * cp);
      for (let c = 0; c < cp; c += 4) {
        const p = patch + (<usize>c << 2);
        // w = (row r of d) B for rows 0-2, then V's rows 0-2 = B^T w; row 3 after loading d's last row.
        let q = p;
        let d0 = v128.load(q), d1 = v128.load(q + positionBytes), d2 = v128.load(q + 2 * positionBytes), d3 = v128.load(q + 3 * positionBytes);
        const w00 = f32x4.sub(d0, d2), w01 = f32x4.add(d1, d2), w02 = f32x4.sub(d2, d1), w03 = f32x4.sub(d1, d3);
        q += rowBytes;
        d0 = v128.load(q); d1 = v128.load(q + positionBytes); d2 = v128.load(q + 2 * positionBytes); d3 = v128.load(q + 3 * positionBytes);
        const w10 = f32x4.sub(d0, d2), w11 = f32x4.add(d1, d2), w12 = f32x4.sub(d2, d1), w13 = f32x4.sub(d1, d3);
        q += rowBytes;
        d0 = v128.load(q); d1 = v128.load(q + positionBytes); d2 = v128.load(q + 2 * positionBytes); d3 = v128.load(q + 3 * positionBytes);
        const w20 = f32x4.sub(d0, d2), w21 = f32x4.add(d1, d2), w22 = f32x4.sub(d2, d1), w23 = f32x4.sub(d1, d3);
        const o = to + (<usize>c << 2);
        v128.store(o, f32x4.sub(w00, w20));
        v128.store(o + planeBytes, f32x4.sub(w01, w21));
        v128.store(o + 2 * planeBytes, f32x4.sub(w02, w22));
        v128.store(o + 3 * planeBytes, f32x4.sub(w03, w23));
        v128.store(o + 4 * planeBytes, f32x4.add(w10, w20));
        v128.store(o + 5 * planeBytes, f32x4.add(w11, w21));
        v128.store(o + 6 * planeBytes, f32x4.add(w12, w22));
        v128.store(o + 7 * planeBytes, f32x4.add(w13, w23));
        v128.store(o + 8 * planeBytes, f32x4.sub(w20, w10));
        v128.store(o + 9 * planeBytes, f32x4.sub(w21, w11));
        v128.store(o + 10 * planeBytes, f32x4.sub(w22, w12));
        v128.store(o + 11 * planeBytes, f32x4.sub(w23, w13));
        q += rowBytes;
        d0 = v128.load(q); d1 = v128.load(q + positionBytes); d2 = v128.load(q + 2 * positionBytes); d3 = v128.load(q + 3 * positionBytes);
        v128.store(o + 12 * planeBytes, f32x4.sub(w10, f32x4.sub(d0, d2)));
        v128.store(o + 13 * planeBytes, f32x4.sub(w11, f32x4.add(d1, d2)));
        v128.store(o + 14 * planeBytes, f32x4.sub(w12, f32x4.sub(d2, d1)));
        v128.store(o + 15 * planeBytes, f32x4.sub(w13, f32x4.sub(d1, d3)));
      }
    }
  }
  // Padding lanes: zeros, so their (unused) products stay finite and fast.
  const zero = f32x4.splat(0);
  for (; lane < lanes; lane++) for (let e = 0; e < 16; e++) for (let c = 0; c < cp; c += 4) v128.store(at(v, (e * lanes + lane) * cp + c), zero);
}

/**
 * M[e] = V[e] U[e]: four lanes by eight output channels at a time (8 accumulators), summed over the channels in
 * order; then four, then one output channel for the rest.
 */
function products(m: usize, v: usize, u: usize, cp: i32, outChannels: i32, lanes: i32): void {
  const vRowBytes = <usize>cp << 2, uRowBytes = <usize>outChannels << 2;
  for (let e = 0; e < 16; e++) {
    const vE = at(v, e * lanes * cp), uE = at(u, e * cp * outChannels), mE = at(m, e * lanes * outChannels);
    for (let lane = 0; lane < lanes; lane += 4) {
      const a0 = at(vE, lane * cp);
      const to = at(mE, lane * outChannels);
      let o = 0;
      for (; o + 8 <= outChannels; o += 8) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let b = at(uE, o), a = a0;
        const aEnd = a0 + vRowBytes;
        while (a < aEnd) {
          const b0 = v128.load(b), b1 = v128.load(b, 16);
          let ai = v128.load32_splat(a);
          c00 = madd(ai, b0, c00); c01 = madd(ai, b1, c01);
          ai = v128.load32_splat(a + vRowBytes);
          c10 = madd(ai, b0, c10); c11 = madd(ai, b1, c11);
          ai = v128.load32_splat(a + 2 * vRowBytes);
          c20 = madd(ai, b0, c20); c21 = madd(ai, b1, c21);
          ai = v128.load32_splat(a + 3 * vRowBytes);
          c30 = madd(ai, b0, c30); c31 = madd(ai, b1, c31);
          a += 4;
          b += uRowBytes;
        }
        const row = at(to, o);
        v128.store(row, c00); v128.store(row, c01, 16);
        v128.store(row + uRowBytes, c10); v128.store(row + uRowBytes, c11, 16);
        v128.store(row + 2 * uRowBytes, c20); v128.store(row + 2 * uRowBytes, c21, 16);
        v128.store(row + 3 * uRowBytes, c30); v128.store(row + 3 * uRowBytes, c31, 16);
      }
      for (; o + 4 <= outChannels; o += 4) {
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let b = at(uE, o), a = a0;
        for (let c = 0; c < cp; c++) {
          const b0 = v128.load(b);
          c0 = madd(v128.load32_splat(a), b0, c0);
          c1 = madd(v128.load32_splat(a + vRowBytes), b0, c1);
          c2 = madd(v128.load32_splat(a + 2 * vRowBytes), b0, c2);
          c3 = madd(v128.load32_splat(a + 3 * vRowBytes), b0, c3);
          a += 4;
          b += uRowBytes;
        }
        const row = at(to, o);
        v128.store(row, c0); v128.store(row + uRowBytes, c1); v128.store(row + 2 * uRowBytes, c2); v128.store(row + 3 * uRowBytes, c3);
      }
      for (; o < outChannels; o++) {
        for (let r = 0; r < 4; r++) {
          let sum: f32 = 0;
          for (let c = 0; c < cp; c++) sum += load<f32>(at(a0, r * cp + c)) * load<f32>(at(uE, c * outChannels + o));
          store<f32>(at(to, r * outChannels + o), sum);
        }
      }
    }
  }
}

/** Y's four outputs of one tile for output channel `o` (those outside Y skipped). */
@inline function storeTile(plane: usize, outW: i32, lastRow: bool, lastColumn: bool, y00: f32, y01: f32, y10: f32, y11: f32): void {
  store<f32>(plane, y00);
  if (!lastColumn) store<f32>(plane, y01, 4);
  if (lastRow) return;
  const below = plane + (<usize>outW << 2);
  store<f32>(below, y10);
  if (!lastColumn) store<f32>(below, y11, 4);
}

/**
 * Y = A^T M A + bias for each tile, four output channels per vector; Y is NCHW (planes outPlane floats apart, outH
 * rows of them here), so each lane is stored alone.
 */
function outputTransform(y: usize, m: usize, bias: usize, hasBias: i32, outChannels: i32, outH: i32, outW: i32, outPlane: i32, tilesW: i32, tileCount: i32, lanes: i32): void {
  const planeBytes = <usize>(lanes * outChannels) << 2;
  for (let lane = 0; lane < tileCount; lane++) {
    const ty = lane / tilesW, tx = lane - ty * tilesW;
    const oy = 2 * ty, ox = 2 * tx;
    const lastRow = oy + 1 >= outH, lastColumn = ox + 1 >= outW;
    const from = at(m, lane * outChannels);
    const origin = at(y, oy * outW + ox);
    let o = 0;
    for (; o < outChannels; o += 4) {
      const p = from + (<usize>o << 2);
      const m1 = p + 4 * planeBytes, m2 = p + 8 * planeBytes, m3 = p + 12 * planeBytes;
      // p = A^T m (rows of the 4x4 m are e = 0-3, 4-7, 8-11, 12-15), then y = p A.
      const p00 = f32x4.add(f32x4.add(v128.load(p), v128.load(m1)), v128.load(m2));
      const p01 = f32x4.add(f32x4.add(v128.load(p + planeBytes), v128.load(m1 + planeBytes)), v128.load(m2 + planeBytes));
      const p02 = f32x4.add(f32x4.add(v128.load(p + 2 * planeBytes), v128.load(m1 + 2 * planeBytes)), v128.load(m2 + 2 * planeBytes));
      const p03 = f32x4.add(f32x4.add(v128.load(p + 3 * planeBytes), v128.load(m1 + 3 * planeBytes)), v128.load(m2 + 3 * planeBytes));
      const p10 = f32x4.sub(f32x4.sub(v128.load(m1), v128.load(m2)), v128.load(m3));
      const p11 = f32x4.sub(f32x4.sub(v128.load(m1 + planeBytes), v128.load(m2 + planeBytes)), v128.load(m3 + planeBytes));
      const p12 = f32x4.sub(f32x4.sub(v128.load(m1 + 2 * planeBytes), v128.load(m2 + 2 * planeBytes)), v128.load(m3 + 2 * planeBytes));
      const p13 = f32x4.sub(f32x4.sub(v128.load(m1 + 3 * planeBytes), v128.load(m2 + 3 * planeBytes)), v128.load(m3 + 3 * planeBytes));
      let y00 = f32x4.add(f32x4.add(p00, p01), p02);
      let y01 = f32x4.sub(f32x4.sub(p01, p02), p03);
      let y10 = f32x4.add(f32x4.add(p10, p11), p12);
      let y11 = f32x4.sub(f32x4.sub(p11, p12), p13);
      // Bias after the transform, as im2col's path adds it after the sum.
      if (hasBias != 0) {
        const b = o + 4 <= outChannels ? v128.load(at(bias, o)) : biasTail(bias, o, outChannels);
        y00 = f32x4.add(y00, b); y01 = f32x4.add(y01, b); y10 = f32x4.add(y10, b); y11 = f32x4.add(y11, b);
      }
      const to = at(origin, o * outPlane);
      const planeStep = <usize>outPlane << 2;
      storeTile(to, outW, lastRow, lastColumn, f32x4.extract_lane(y00, 0), f32x4.extract_lane(y01, 0), f32x4.extract_lane(y10, 0), f32x4.extract_lane(y11, 0));
      if (o + 1 >= outChannels) break;
      storeTile(to + planeStep, outW, lastRow, lastColumn, f32x4.extract_lane(y00, 1), f32x4.extract_lane(y01, 1), f32x4.extract_lane(y10, 1), f32x4.extract_lane(y11, 1));
      if (o + 2 >= outChannels) break;
      storeTile(to + 2 * planeStep, outW, lastRow, lastColumn, f32x4.extract_lane(y00, 2), f32x4.extract_lane(y01, 2), f32x4.extract_lane(y10, 2), f32x4.extract_lane(y11, 2));
      if (o + 3 >= outChannels) break;
      storeTile(to + 3 * planeStep, outW, lastRow, lastColumn, f32x4.extract_lane(y00, 3), f32x4.extract_lane(y01, 3), f32x4.extract_lane(y10, 3), f32x4.extract_lane(y11, 3));
    }
  }
}

@inline function biasTail(bias: usize, o: i32, outChannels: i32): v128 {
  let b = f32x4.splat(0);
  b = f32x4.replace_lane(b, 0, load<f32>(at(bias, o)));
  if (o + 1 < outChannels) b = f32x4.replace_lane(b, 1, load<f32>(at(bias, o + 1)));
  if (o + 2 < outChannels) b = f32x4.replace_lane(b, 2, load<f32>(at(bias, o + 2)));
  return b;
}

// ---- The weight gradient. With Y = A^T (U . V) A per tile, dU[e][c][o] = sum over tiles of V[e][c] * (A dY A^T)[e][o]
// and dW = G^T dU G. Images are summed in fixed chunks (their count depends on N only), each chunk's partial dU in
// image then tile order, then the chunks in order: the same bits for any number of threads.

/** Floats of per-thread scratch winograd_weight_grad_f32 needs: padded input and gradient (channels last), V and their transform. */
export function winograd_weight_scratch_floats(channels: i32, outChannels: i32, tilesH: i32, tilesW: i32): f64 {
  const cp = paddedChannelsF64(channels), op = paddedChannelsF64(outChannels), lanes = laneCountF64(tilesH, tilesW);
  const gridH = 2 * <f64>tilesH, gridW = 2 * <f64>tilesW;
  return (gridH + 2) * (gridW + 2) * cp + 16 * lanes * cp + gridH * gridW * op + 16 * lanes * op;
}

/**
 * Floats between two chunks' partial dU: 16*Cp*Op is often a multiple of 4 KiB, and the sum over chunks would then
 * read all its streams from one L1 set.
 */
export function winograd_chunk_floats(channels: i32, outChannels: i32): i32 {
  return 16 * paddedChannels(channels) * paddedChannels(outChannels) + 48;
}

/**
 * Partial dU of one of `desc[11]` chunks of images (chunk k: images k*N/chunks up to (k+1)*N/chunks, rounded
 * down): work item = chunk; partials [chunks][16][Cp][Op], chunks winograd_chunk_floats apart. The descriptor is the forward convolution's (X the input, Y the output whose gradient
 * is dy). An image holding a non-finite value sets *status (see winograd_conv_f32) and is skipped.
 * When dx is not 0, the input gradient too, from the same gradient transform T: dV[e] = T[e] U[e]^T (`ut` is U laid
 * out [16][Op][Cp], padding rows zero), then each tile's B dV B^T added into a zeroed channels-last image of dx (tiles overlap by two
 * rows and columns; tiles in order), whose inside is dx[n].
 */
export function winograd_weight_grad_f32(partials: usize, dx: usize, ut: usize, x: usize, dy: usize, desc: usize, status: usize, scratch: usize, begin: i32, end: i32): void {
  const batch = word(desc, 0), channels = word(desc, 1), height = word(desc, 2), width = word(desc, 3), outChannels = word(desc, 4);
  const outH = word(desc, 5), outW = word(desc, 6), padTop = word(desc, 7), padLeft = word(desc, 8);
  const tilesH = word(desc, 9), tilesW = word(desc, 10), chunks = word(desc, 11);
  const cp = paddedChannels(channels), op = paddedChannels(outChannels), lanes = laneCount(tilesH, tilesW);
  const paddedH = 2 * tilesH + 2, paddedW = 2 * tilesW + 2;
  const image = scratch;
  const v = at(image, paddedH * paddedW * cp);
  const gradImage = at(v, 16 * lanes * cp);
  const gradTransform = at(gradImage, 4 * tilesH * tilesW * op);
  for (let item = begin; item < end; item++) {
    const partial = at(partials, item * winograd_chunk_floats(channels, outChannels));
    const first = <i32>((<i64>item * batch) / chunks), last = <i32>((<i64>(item + 1) * batch) / chunks);
    for (let n = first; n < last; n++) {
      // The output grid of the tiles: 2*tilesH x 2*tilesW, zeros past Y's edge.
      if (!padImage(image, at(x, n * channels * height * width), channels, height, width, cp, paddedH, paddedW, -padTop, padLeft) ||
        !padImage(gradImage, at(dy, n * outChannels * outH * outW), outChannels, outH, outW, op, 2 * tilesH, 2 * tilesW, 0, 0)) {
        store<i32>(status, 1);
        continue;
      }
      inputTransform(v, image, cp, paddedW, tilesH, tilesW, lanes);
      gradientTransform(gradTransform, gradImage, op, 2 * tilesW, tilesH, tilesW, lanes);
      weightProducts(partial, v, gradTransform, cp, op, lanes, n == first);
      if (dx == 0) continue;
      // V and the padded input are no longer needed: dV takes V's place, the padded input gradient the image's.
      products(v, gradTransform, ut, op, cp, lanes);
      inverseInputTransform(image, v, cp, paddedH, paddedW, tilesH, tilesW, lanes);
      unpadImage(at(dx, n * channels * height * width), image, channels, height, width, cp, paddedW, padTop, padLeft);
    }
  }
}

/**
 * image (paddedH x paddedW x cp, channels last) = the sum over tiles of B dV B^T placed at the tile's patch, in tile
 * order, four channels per vector.
 */
function inverseInputTransform(image: usize, dv: usize, cp: i32, paddedH: i32, paddedW: i32, tilesH: i32, tilesW: i32, lanes: i32): void {
  zeroVectors(image, paddedH * paddedW * cp);
  const planeBytes = <usize>(lanes * cp) << 2;
  const positionBytes = <usize>cp << 2, rowBytes = <usize>(paddedW * cp) << 2;
  let lane = 0;
  for (let ty = 0; ty < tilesH; ty++) {
    for (let tx = 0; tx < tilesW; tx++, lane++) {
      const patch = image + <usize>(2 * ty) * rowBytes + <usize>(2 * tx) * positionBytes;
      const from = at(dv, lane * cp);
      for (let c = 0; c < cp; c += 4) {
        const p = from + (<usize>c << 2), q = patch + (<usize>c << 2);
        // Rows of B dV: (dV0), (dV1 - dV2 + dV3), (dV1 + dV2 - dV0), (-dV3), each row k being e = 4k .. 4k + 3.
        const r0 = p, r1 = p + 4 * planeBytes, r2 = p + 8 * planeBytes, r3 = p + 12 * planeBytes;
        for (let j = 0; j < 4; j++) {
          const column = <usize>j * planeBytes;
          const d0 = v128.load(r0 + column), d1 = v128.load(r1 + column), d2 = v128.load(r2 + column), d3 = v128.load(r3 + column);
          columnOfBdV(q, j, d0, f32x4.add(f32x4.sub(d1, d2), d3), f32x4.sub(f32x4.add(d1, d2), d0), f32x4.neg(d3), rowBytes, positionBytes);
        }
      }
    }
  }
}

/**
 * Adds column j of B dV (x0..x3, one per patch row) times row j of B^T to the patch: B^T's rows are (1, 0, -1, 0),
 * (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1), so column j lands on two patch columns with those signs.
 */
@inline function columnOfBdV(patch: usize, j: i32, x0: v128, x1: v128, x2: v128, x3: v128, rowBytes: usize, positionBytes: usize): void {
  if (j == 0) {
    addAt(patch, x0, x1, x2, x3, rowBytes, 0, 1);
    addAt(patch, x0, x1, x2, x3, rowBytes, 2 * positionBytes, -1);
  } else if (j == 1) {
    addAt(patch, x0, x1, x2, x3, rowBytes, positionBytes, 1);
    addAt(patch, x0, x1, x2, x3, rowBytes, 2 * positionBytes, 1);
  } else if (j == 2) {
    addAt(patch, x0, x1, x2, x3, rowBytes, positionBytes, -1);
    addAt(patch, x0, x1, x2, x3, rowBytes, 2 * positionBytes, 1);
  } else {
    addAt(patch, x0, x1, x2, x3, rowBytes, positionBytes, 1);
    addAt(patch, x0, x1, x2, x3, rowBytes, 3 * positionBytes, -1);
  }
}

/** patch[i][column] += sign * x_i for the four rows i of the patch. */
@inline function addAt(patch: usize, x0: v128, x1: v128, x2: v128, x3: v128, rowBytes: usize, column: usize, sign: i32): void {
  const p = patch + column;
  if (sign > 0) {
    v128.store(p, f32x4.add(v128.load(p), x0));
    v128.store(p + rowBytes, f32x4.add(v128.load(p + rowBytes), x1));
    v128.store(p + 2 * rowBytes, f32x4.add(v128.load(p + 2 * rowBytes), x2));
    v128.store(p + 3 * rowBytes, f32x4.add(v128.load(p + 3 * rowBytes), x3));
  } else {
    v128.store(p, f32x4.sub(v128.load(p), x0));
    v128.store(p + rowBytes, f32x4.sub(v128.load(p + rowBytes), x1));
    v128.store(p + 2 * rowBytes, f32x4.sub(v128.load(p + 2 * rowBytes), x2));
    v128.store(p + 3 * rowBytes, f32x4.sub(v128.load(p + 3 * rowBytes), x3));
  }
}

/** planes (NCHW, one image) = the inside of the channels-last padded image: the inverse of padImage's copy. */
function unpadImage(planes: usize, image: usize, channels: i32, height: i32, width: i32, cp: i32, paddedW: i32, padTop: i32, padLeft: i32): void {
  const planeSize = height * width;
  const positionBytes = <usize>cp << 2;
  let c = 0;
  for (; c + 4 <= channels; c += 4) {
    const plane0 = at(planes, c * planeSize);
    const planeBytes = <usize>planeSize << 2;
    for (let row = 0; row < height; row++) {
      const from = at(image, ((row + padTop) * paddedW + padLeft) * cp + c);
      const to = at(plane0, row * width);
      let column = 0;
      for (; column + 4 <= width; column += 4) {
        const p = from + <usize>column * positionBytes;
        storeTransposed4x4(v128.load(p), v128.load(p + positionBytes), v128.load(p + 2 * positionBytes), v128.load(p + 3 * positionBytes),
          at(to, column), planeBytes);
      }
      for (; column < width; column++) {
        for (let k = 0; k < 4; k++) store<f32>(at(to, k * planeSize + column), load<f32>(from + <usize>column * positionBytes + (<usize>k << 2)));
      }
    }
  }
  for (; c < channels; c++) {
    const plane = at(planes, c * planeSize);
    for (let row = 0; row < height; row++) {
      const from = at(image, ((row + padTop) * paddedW + padLeft) * cp + c);
      for (let column = 0; column < width; column++) store<f32>(at(plane, row * width + column), load<f32>(from + <usize>column * positionBytes));
    }
  }
}

/** T[e][lane][o] = (A g A^T)[e] of each tile's 2x2 gradient g, four output channels per vector; padding lanes zero. */
function gradientTransform(t: usize, gradImage: usize, op: i32, gridW: i32, tilesH: i32, tilesW: i32, lanes: i32): void {
  const planeBytes = <usize>(lanes * op) << 2;
  const positionBytes = <usize>op << 2, rowBytes = <usize>(gridW * op) << 2;
  let lane = 0;
  for (let ty = 0; ty < tilesH; ty++) {
    for (let tx = 0; tx < tilesW; tx++, lane++) {
      const tile = gradImage + <usize>(2 * ty) * rowBytes + <usize>(2 * tx) * positionBytes;
      const to = at(t, lane * op);
      for (let o = 0; o < op; o += 4) {
        const q = tile + (<usize>o << 2);
        const g00 = v128.load(q), g01 = v128.load(q + positionBytes), g10 = v128.load(q + rowBytes), g11 = v128.load(q + rowBytes + positionBytes);
        // Rows of A g: (g0), (g0 + g1), (g0 - g1), (-g1); each row (a, b) times A^T: (a, a + b, a - b, -b).
        const dst = to + (<usize>o << 2);
        gradientRow(g00, g01, dst, planeBytes);
        gradientRow(f32x4.add(g00, g10), f32x4.add(g01, g11), dst + 4 * planeBytes, planeBytes);
        gradientRow(f32x4.sub(g00, g10), f32x4.sub(g01, g11), dst + 8 * planeBytes, planeBytes);
        gradientRow(f32x4.neg(g10), f32x4.neg(g11), dst + 12 * planeBytes, planeBytes);
      }
    }
  }
  const zero = f32x4.splat(0);
  for (; lane < lanes; lane++) for (let e = 0; e < 16; e++) for (let o = 0; o < op; o += 4) v128.store(at(t, (e * lanes + lane) * op + o), zero);
}

@inline function gradientRow(a: v128, b: v128, to: usize, planeBytes: usize): void {
  v128.store(to, a);
  v128.store(to + planeBytes, f32x4.add(a, b));
  v128.store(to + 2 * planeBytes, f32x4.sub(a, b));
  v128.store(to + 3 * planeBytes, f32x4.neg(b));
}

/**
 * dU[e][c][o] (+)= sum over lanes of V[e][lane][c] * T[e][lane][o]: four channels by eight output channels at a time
 * (8 accumulators), then four; `first` stores instead of adding.
 */
function weightProducts(partial: usize, v: usize, t: usize, cp: i32, op: i32, lanes: i32, first: bool): void {
  const vRowBytes = <usize>cp << 2, tRowBytes = <usize>op << 2;
  for (let e = 0; e < 16; e++) {
    const vE = at(v, e * lanes * cp), tE = at(t, e * lanes * op), dE = at(partial, e * cp * op);
    for (let c = 0; c < cp; c += 4) {
      let o = 0;
      for (; o + 8 <= op; o += 8) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let a = at(vE, c), b = at(tE, o);
        const aEnd = a + <usize>lanes * vRowBytes;
        while (a < aEnd) {
          const b0 = v128.load(b), b1 = v128.load(b, 16);
          const a0123 = v128.load(a);
          let ai = f32x4.shuffle(a0123, a0123, 0, 0, 0, 0);
          c00 = madd(ai, b0, c00); c01 = madd(ai, b1, c01);
          ai = f32x4.shuffle(a0123, a0123, 1, 1, 1, 1);
          c10 = madd(ai, b0, c10); c11 = madd(ai, b1, c11);
          ai = f32x4.shuffle(a0123, a0123, 2, 2, 2, 2);
          c20 = madd(ai, b0, c20); c21 = madd(ai, b1, c21);
          ai = f32x4.shuffle(a0123, a0123, 3, 3, 3, 3);
          c30 = madd(ai, b0, c30); c31 = madd(ai, b1, c31);
          a += vRowBytes;
          b += tRowBytes;
        }
        const row = at(dE, c * op + o);
        if (!first) {
          c00 = f32x4.add(c00, v128.load(row)); c01 = f32x4.add(c01, v128.load(row, 16));
          c10 = f32x4.add(c10, v128.load(row + tRowBytes)); c11 = f32x4.add(c11, v128.load(row + tRowBytes, 16));
          c20 = f32x4.add(c20, v128.load(row + 2 * tRowBytes)); c21 = f32x4.add(c21, v128.load(row + 2 * tRowBytes, 16));
          c30 = f32x4.add(c30, v128.load(row + 3 * tRowBytes)); c31 = f32x4.add(c31, v128.load(row + 3 * tRowBytes, 16));
        }
        v128.store(row, c00); v128.store(row, c01, 16);
        v128.store(row + tRowBytes, c10); v128.store(row + tRowBytes, c11, 16);
        v128.store(row + 2 * tRowBytes, c20); v128.store(row + 2 * tRowBytes, c21, 16);
        v128.store(row + 3 * tRowBytes, c30); v128.store(row + 3 * tRowBytes, c31, 16);
      }
      if (o < op) {
        // op is a multiple of 4: one block of four output channels is left.
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let a = at(vE, c), b = at(tE, o);
        const aEnd = a + <usize>lanes * vRowBytes;
        while (a < aEnd) {
          const b0 = v128.load(b);
          const a0123 = v128.load(a);
          c0 = madd(f32x4.shuffle(a0123, a0123, 0, 0, 0, 0), b0, c0);
          c1 = madd(f32x4.shuffle(a0123, a0123, 1, 1, 1, 1), b0, c1);
          c2 = madd(f32x4.shuffle(a0123, a0123, 2, 2, 2, 2), b0, c2);
          c3 = madd(f32x4.shuffle(a0123, a0123, 3, 3, 3, 3), b0, c3);
          a += vRowBytes;
          b += tRowBytes;
        }
        const row = at(dE, c * op + o);
        if (!first) {
          c0 = f32x4.add(c0, v128.load(row)); c1 = f32x4.add(c1, v128.load(row + tRowBytes));
          c2 = f32x4.add(c2, v128.load(row + 2 * tRowBytes)); c3 = f32x4.add(c3, v128.load(row + 3 * tRowBytes));
        }
        v128.store(row, c0); v128.store(row + tRowBytes, c1); v128.store(row + 2 * tRowBytes, c2); v128.store(row + 3 * tRowBytes, c3);
      }
    }
  }
}

/** Chunk 0 of the partials += chunks 1, 2, ... in order: work item = four floats. */
export function winograd_weight_sum_f32(partials: usize, chunks: i32, chunkFloats: i32, begin: i32, end: i32): void {
  const chunkBytes = <usize>chunkFloats << 2;
  for (let item = begin; item < end; item++) {
    const first = at(partials, item << 2);
    let sum = v128.load(first);
    for (let k = 1; k < chunks; k++) sum = f32x4.add(sum, v128.load(first + <usize>k * chunkBytes));
    v128.store(first, sum);
  }
}

/** dW [O, C, 3, 3] = G^T dU G from the summed dU (chunk 0 of the partials): work item = filter (o, c). */
export function winograd_weight_finish_f32(dw: usize, partials: usize, outChannels: i32, channels: i32, begin: i32, end: i32): void {
  const op = paddedChannels(outChannels), eFloats = paddedChannels(channels) * op;
  for (let item = begin; item < end; item++) {
    const o = item / channels, c = item - o * channels;
    const first = at(partials, c * op + o);
    const target = at(dw, item * 9);
    // r = G^T dU (3 x 4), a column of dU at a time; then dW = r G (3 x 3). G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
    let d0 = load<f32>(first), d1 = load<f32>(at(first, 4 * eFloats)), d2 = load<f32>(at(first, 8 * eFloats)), d3 = load<f32>(at(first, 12 * eFloats));
    const r00 = d0 + (d1 + d2) * 0.5, r10 = (d1 - d2) * 0.5, r20 = (d1 + d2) * 0.5 + d3;
    d0 = load<f32>(at(first, eFloats)); d1 = load<f32>(at(first, 5 * eFloats)); d2 = load<f32>(at(first, 9 * eFloats)); d3 = load<f32>(at(first, 13 * eFloats));
    const r01 = d0 + (d1 + d2) * 0.5, r11 = (d1 - d2) * 0.5, r21 = (d1 + d2) * 0.5 + d3;
    d0 = load<f32>(at(first, 2 * eFloats)); d1 = load<f32>(at(first, 6 * eFloats)); d2 = load<f32>(at(first, 10 * eFloats)); d3 = load<f32>(at(first, 14 * eFloats));
    const r02 = d0 + (d1 + d2) * 0.5, r12 = (d1 - d2) * 0.5, r22 = (d1 + d2) * 0.5 + d3;
    d0 = load<f32>(at(first, 3 * eFloats)); d1 = load<f32>(at(first, 7 * eFloats)); d2 = load<f32>(at(first, 11 * eFloats)); d3 = load<f32>(at(first, 15 * eFloats));
    const r03 = d0 + (d1 + d2) * 0.5, r13 = (d1 - d2) * 0.5, r23 = (d1 + d2) * 0.5 + d3;
    storeFilterRow(target, r00, r01, r02, r03);
    storeFilterRow(target + 12, r10, r11, r12, r13);
    storeFilterRow(target + 24, r20, r21, r22, r23);
  }
}

/** One row of dW = r G: (r0 + (r1 + r2)/2, (r1 - r2)/2, (r1 + r2)/2 + r3). */
@inline function storeFilterRow(to: usize, r0: f32, r1: f32, r2: f32, r3: f32): void {
  store<f32>(to, r0 + (r1 + r2) * 0.5);
  store<f32>(to, (r1 - r2) * 0.5, 4);
  store<f32>(to, (r1 + r2) * 0.5 + r3, 8);
}
