// Counter-based random numbers (Philox4x32-10): element i depends only on (seed, offset, i), so any split into ranges gives the same tensor.
import { cos4, log4, sin4 } from './math';

// Layout: key = the 64-bit seed; counter = (offset + (i >> 2), 0, 0) as 64 + 64 bits; element i takes
// word i & 3 of that block. No state lives between calls: the caller advances the offset (by the
// number of groups it consumed) the way PyTorch advances its Philox offset.
//
// Every element is computed by the same lane-wise code whatever [begin, end) is: partial groups at
// the edges compute the whole group and store only their own elements (never a neighbour's, which
// belongs to another thread). That is what makes results bitwise independent of the split.

// One Philox4x32-10 block with the state held as [c0, c2, c1, c3]: the two words that get multiplied
// sit in lanes 0 and 1, where one i64x2.extmul_low gives both 64-bit products.
@inline function philox(state: v128, key: v128): v128 {
  const mult = i32x4(0xd2511f53, 0xcd9e8d57, 0, 0);
  const weyl = i32x4(0x9e3779b9, 0xbb67ae85, 0, 0);
  let s = state, k = key;
  for (let round = 0; round < 10; round++) {
    const p = i64x2.extmul_low_i32x4_u(s, mult);   // [lo0, hi0, lo1, hi1]
    // Random123: (c0, c1, c2, c3) <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0), in our lane order
    const mixed = i32x4.shuffle(p, p, 3, 1, 2, 0);
    const carried = v128.xor(i32x4.shuffle(s, i32x4.splat(0), 2, 3, 4, 4), k);
    s = v128.xor(mixed, carried);
    k = i32x4.add(k, weyl);
  }
  return i32x4.shuffle(s, s, 0, 2, 1, 3);            // back to (c0, c1, c2, c3)
}

@inline function keyOf(seedLo: u32, seedHi: u32): v128 {
  return i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(0), 0, seedLo), 1, seedHi);
}

// The block of group g: counter = offset + g (64-bit add), third word as given (0 for the main stream).
@inline function groupBits(offsetLo: u32, offsetHi: u32, g: u32, c2: u32, key: v128): v128 {
  const lo = offsetLo + g;
  const hi = offsetHi + <u32>(lo < offsetLo);
  let s = i32x4.replace_lane(i32x4.splat(0), 0, lo);
  s = i32x4.replace_lane(s, 1, c2);
  s = i32x4.replace_lane(s, 2, hi);
  return philox(s, key);
}

// Stores the elements of a 4-element group (first index `first`) that fall in [begin, end).
@inline function storeGroup(out: usize, first: i32, v: v128, begin: i32, end: i32): void {
  const p = out + (<usize>first << 2);
  if (first >= begin && first + 4 <= end) {
    v128.store(p, v);
  } else {
    if (first >= begin && first < end) store<i32>(p, i32x4.extract_lane(v, 0));
    if (first + 1 >= begin && first + 1 < end) store<i32>(p, i32x4.extract_lane(v, 1), 4);
    if (first + 2 >= begin && first + 2 < end) store<i32>(p, i32x4.extract_lane(v, 2), 8);
    if (first + 3 >= begin && first + 3 < end) store<i32>(p, i32x4.extract_lane(v, 3), 12);
  }
}

// The largest float32 below h: uniform results that round up to `high` are pulled back under it.
@inline function below(h: f32): f32 {
  const b = reinterpret<i32>(h);
  if (h == 0) return reinterpret<f32>(0x80000001);
  return reinterpret<f32>(h > 0 ? b - 1 : b + 1);
}

/** out[i] = uniform in [low, high) from 24 random bits, for begin <= i < end. */
export function random_uniform_f32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  low: f32, high: f32, begin: i32, end: i32): void {
  if (begin >= end) return;
  const key = keyOf(seedLo, seedHi);
  const lowV = f32x4.splat(low), highV = f32x4.splat(high);
  const rangeV = f32x4.splat(high - low), belowV = f32x4.splat(below(high));
  for (let g = begin >> 2, last = (end - 1) >> 2; g <= last; g++) {
    const bits = groupBits(offsetLo, offsetHi, <u32>g, 0, key);
    const u = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(bits, 8)), f32x4.splat(5.9604644775390625e-8));
    let r = f32x4.add(lowV, f32x4.mul(u, rangeV));
    r = v128.bitselect(belowV, r, f32x4.ge(r, highV));
    storeGroup(out, g << 2, r, begin, end);
  }
}

/** out[i] = normal(mean, std) by Box-Muller on word pairs (0,1) and (2,3) of each block, for begin <= i < end. */
export function random_normal_f32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  mean: f32, std: f32, begin: i32, end: i32): void {
  if (begin >= end) return;
  const key = keyOf(seedLo, seedHi);
  const meanV = f32x4.splat(mean), stdV = f32x4.splat(std);
  // Two groups a step, so that log, sin and cos run on four useful lanes.
  for (let pair = begin >> 3, last = (end - 1) >> 3; pair <= last; pair++) {
    const a = groupBits(offsetLo, offsetHi, <u32>(pair << 1), 0, key);
    const b = groupBits(offsetLo, offsetHi, <u32>(pair << 1) + 1, 0, key);
    const w1 = i32x4.shuffle(a, b, 0, 2, 4, 6), w2 = i32x4.shuffle(a, b, 1, 3, 5, 7);
    // u1 in (0, 1] from all 32 bits (never 0, so never log 0; the tail reaches |z| = 6.8);
    // u2 in [0, 1) from 24 bits.
    const u1 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_u(w1), f32x4.splat(2.3283064365386963e-10)),
      f32x4.splat(1.1641532182693481e-10));
    const radius = f32x4.sqrt(f32x4.mul(log4(u1), f32x4.splat(-2.0)));
    const theta = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(w2, 8)), f32x4.splat(3.7450702e-7)); // 2 pi 2^-24
    const zc = f32x4.mul(radius, cos4(theta)), zs = f32x4.mul(radius, sin4(theta));
    const za = f32x4.add(meanV, f32x4.mul(stdV, i32x4.shuffle(zc, zs, 0, 4, 1, 5)));
    const zb = f32x4.add(meanV, f32x4.mul(stdV, i32x4.shuffle(zc, zs, 2, 6, 3, 7)));
    storeGroup(out, pair << 3, za, begin, end);
    storeGroup(out, (pair << 3) + 4, zb, begin, end);
  }
}

// floor(x * range / 2^64) for x = hi:lo (64 random bits) and range < 2^32, on two lanes (the low
// ones of each argument); the 64-bit fraction keeps the bias below range / 2^64.
@inline function scaleLow2(hi: v128, lo: v128, range: v128): v128 {
  const a = i64x2.extmul_low_i32x4_u(hi, range);
  const b = i64x2.shr_u(i64x2.extmul_low_i32x4_u(lo, range), 32);
  return i64x2.shr_u(i64x2.add(a, b), 32);
}

/**
 * out[i] = uniform integer in [low, high), high > low, for begin <= i < end. Each element uses 64 random
 * bits: word i & 3 of the main block (high half) and of the block with third counter word 1 (low half),
 * which is a separate stream that consumes no offsets.
 */
export function random_int_i32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  low: i32, high: i32, begin: i32, end: i32): void {
  if (begin >= end) return;
  const key = keyOf(seedLo, seedHi);
  const rangeV = i32x4.splat(high - low), lowV = i32x4.splat(low);   // range read as unsigned
  for (let g = begin >> 2, last = (end - 1) >> 2; g <= last; g++) {
    const hi = groupBits(offsetLo, offsetHi, <u32>g, 0, key);
    const lo = groupBits(offsetLo, offsetHi, <u32>g, 1, key);
    const r01 = scaleLow2(hi, lo, rangeV);
    const r23 = scaleLow2(i32x4.shuffle(hi, hi, 2, 3, 2, 3), i32x4.shuffle(lo, lo, 2, 3, 2, 3), rangeV);
    const r = i32x4.add(i32x4.shuffle(r01, r23, 0, 2, 4, 6), lowV);
    storeGroup(out, g << 2, r, begin, end);
  }
}

/** One raw Philox4x32-10 block: out[0..3] (u32) for counter (c0, c1, c2, c3) and key (k0, k1). For known-answer tests. */
export function philox4x32_10(out: usize, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  let s = i32x4.replace_lane(i32x4.splat(c0), 1, c2);
  s = i32x4.replace_lane(i32x4.replace_lane(s, 2, c1), 3, c3);
  v128.store(out, philox(s, keyOf(k0, k1)));
}
