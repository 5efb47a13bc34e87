// Counter-based random numbers (Philox4x32-10): element i depends only on (seed, offset, i), so any split into ranges gives the same tensor.
import { log4 } from './math';

// Layout: key = the 64-bit seed; counter = (offset + (i >> 2), 0, 0) as 64 + 64 bits; element i takes
// word i & 3 of that block. No state lives between calls: the caller advances the offset (by the
// number of groups of 4 it consumed) the way PyTorch advances its Philox offset.
//
// The work goes in blocks of 16 elements (4 groups), one group per SIMD lane: each Philox round then
// advances four independent blocks at once, where one block per vector would be a single long chain
// of dependent multiplies. Blocks sit at multiples of 16 whatever [begin, end) is, and a block at
// the edge of the range is computed whole but stores only its own elements (a neighbour's belong to
// another thread). That is what makes results bitwise independent of the split.

const UNIFORM = 0, NORMAL = 1, INT = 2, RAW = 3;

// High 32 bits of the four products a * m (unsigned).
@inline function mulHi(a: v128, m: v128): v128 {
  return i32x4.shuffle(i64x2.extmul_low_i32x4_u(a, m), i64x2.extmul_high_i32x4_u(a, m), 1, 3, 5, 7);
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

// sin and cos of 2 pi u for u in [0, 1) on a 2^-24 grid. The angle is in turns, so the quadrant split
// is exact (u - q/4 has no rounding) and float32 polynomials on |r| <= pi/4 suffice: cheaper than the
// general sin4/cos4, which reduce in f64 for arbitrary arguments.
@inline function sinPoly(r: v128): v128 {          // sin r, |r| <= pi/4 (Cephes sinf)
  const z = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(-1.9515295891e-4), z), f32x4.splat(8.3321608736e-3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-1.6666654611e-1));
  return f32x4.add(f32x4.mul(f32x4.mul(p, z), r), r);
}

@inline function cosPoly(r: v128): v128 {          // cos r, |r| <= pi/4 (Cephes cosf)
  const z = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(2.443315711809948e-5), z), f32x4.splat(-1.388731625493765e-3));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(4.166664568298827e-2));
  return f32x4.add(f32x4.sub(f32x4.mul(f32x4.mul(p, z), z), f32x4.mul(z, f32x4.splat(0.5))), f32x4.splat(1.0));
}

// sin(r + q pi/2) is sin r, cos r, -sin r, -cos r for q = 0..3; cos is sin one quadrant on (shift 1).
@inline function sinOfTurns(u: v128, shift: i32): v128 {
  const q = f32x4.nearest(f32x4.mul(u, f32x4.splat(4.0)));
  const r = f32x4.mul(f32x4.sub(u, f32x4.mul(q, f32x4.splat(0.25))), f32x4.splat(6.283185307179586));
  const qi = i32x4.add(i32x4.trunc_sat_f32x4_s(q), i32x4.splat(shift));
  const odd = i32x4.eq(v128.and(qi, i32x4.splat(1)), i32x4.splat(1));
  const v = v128.bitselect(cosPoly(r), sinPoly(r), odd);
  return v128.xor(v, i32x4.shl(i32x4.shr_u(qi, 1), 31));
}

// Box-Muller radius sqrt(-2 log u1), u1 in (0, 1] from all 32 bits of w1: never 0, so never log 0,
// and the tail reaches |z| = 6.8 (24 bits would stop at 5.9). The angle comes from 24 bits of the
// pair's other word.
@inline function radius(w1: v128): v128 {
  const u1 = f32x4.add(f32x4.mul(f32x4.convert_i32x4_u(w1), f32x4.splat(2.3283064365386963e-10)),
    f32x4.splat(1.1641532182693481e-10));
  return f32x4.sqrt(f32x4.mul(log4(u1), f32x4.splat(-2.0)));
}

@inline function unit24(w: v128): v128 {           // (w >>> 8) * 2^-24, exact
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(w, 8)), f32x4.splat(5.9604644775390625e-8));
}

// floor(x * range / 2^64) for x = hi:lo (64 random bits) and range < 2^32, four lanes: the 64-bit
// fraction keeps the bias below range / 2^64.
@inline function scale64(hi: v128, lo: v128, range: v128): v128 {
  const a = i64x2.add(i64x2.extmul_low_i32x4_u(hi, range), i64x2.shr_u(i64x2.extmul_low_i32x4_u(lo, range), 32));
  const b = i64x2.add(i64x2.extmul_high_i32x4_u(hi, range), i64x2.shr_u(i64x2.extmul_high_i32x4_u(lo, range), 32));
  return i32x4.shuffle(a, b, 1, 3, 5, 7);
}

// Everything the kernels share, specialised per kind at compile time (kind is a constant after
// inlining, so each kernel keeps only its own branch). Counter of lane j in block b: (offset + 4b + j,
// c2, c3); `fa, fb` are low/high or mean/std, `ia, ib` low/high for integers.
@inline function philoxFill(kind: i32, out: usize, key0: u32, key1: u32, offsetLo: u32, offsetHi: u32,
  c2: u32, c3: u32, fa: f32, fb: f32, ia: i32, ib: i32, begin: i32, end: i32): void {
  if (begin >= end) return;
  const m0 = i32x4.splat(0xd2511f53), m1 = i32x4.splat(0xcd9e8d57);
  const offLo = i32x4.splat(offsetLo);
  for (let blk = begin >> 4, last = (end - 1) >> 4; blk <= last; blk++) {
    const lo = i32x4.add(offLo, i32x4.add(i32x4.splat(blk << 2), i32x4(0, 1, 2, 3)));
    const hi = i32x4.sub(i32x4.splat(offsetHi), i32x4.lt_u(lo, offLo));      // carry: the mask is -1
    // Ten rounds (Random123): (c0, c1, c2, c3) <- (hi(c2 m1) ^ c1 ^ k0, lo(c2 m1), hi(c0 m0) ^ c3 ^ k1, lo(c0 m0)),
    // the key bumped by the Weyl constants between rounds. Two passes for INT (third word c2, c2 + 1).
    let h0 = i32x4.splat(0), h1 = h0, h2 = h0, h3 = h0;
    for (let pass = 0; pass < (kind == INT ? 2 : 1); pass++) {
      let x0 = lo, x1 = hi, x2 = i32x4.splat(c2 + pass), x3 = i32x4.splat(c3);
      let k0 = i32x4.splat(key0), k1 = i32x4.splat(key1);
      for (let round = 0; round < 10; round++) {
        const y0 = v128.xor(v128.xor(mulHi(x2, m1), x1), k0);
        const y2 = v128.xor(v128.xor(mulHi(x0, m0), x3), k1);
        x1 = i32x4.mul(x2, m1);
        x3 = i32x4.mul(x0, m0);
        x0 = y0;
        x2 = y2;
        k0 = i32x4.add(k0, i32x4.splat(0x9e3779b9));
        k1 = i32x4.add(k1, i32x4.splat(0xbb67ae85));
      }
      if (pass == 0) { h0 = x0; h1 = x1; h2 = x2; h3 = x3; }
      else { h0 = scale64(h0, x0, i32x4.splat(ib - ia)); h1 = scale64(h1, x1, i32x4.splat(ib - ia));
        h2 = scale64(h2, x2, i32x4.splat(ib - ia)); h3 = scale64(h3, x3, i32x4.splat(ib - ia)); }
    }
    // h_w holds word w of the four groups; element 4g + w goes to lane g of vector w, before the transpose.
    let o0 = h0, o1 = h1, o2 = h2, o3 = h3;
    if (kind == UNIFORM) {
      const low = f32x4.splat(fa), range = f32x4.splat(fb - fa);
      const high = f32x4.splat(fb), under = f32x4.splat(below(fb));
      o0 = f32x4.add(low, f32x4.mul(unit24(h0), range)); o0 = v128.bitselect(under, o0, f32x4.ge(o0, high));
      o1 = f32x4.add(low, f32x4.mul(unit24(h1), range)); o1 = v128.bitselect(under, o1, f32x4.ge(o1, high));
      o2 = f32x4.add(low, f32x4.mul(unit24(h2), range)); o2 = v128.bitselect(under, o2, f32x4.ge(o2, high));
      o3 = f32x4.add(low, f32x4.mul(unit24(h3), range)); o3 = v128.bitselect(under, o3, f32x4.ge(o3, high));
    } else if (kind == NORMAL) {
      // pairs (w0, w1) and (w2, w3) of each group
      const mean = f32x4.splat(fa), std = f32x4.splat(fb);
      const ra = radius(h0), ta = unit24(h1), rb = radius(h2), tb = unit24(h3);
      o0 = f32x4.add(mean, f32x4.mul(std, f32x4.mul(ra, sinOfTurns(ta, 1))));
      o1 = f32x4.add(mean, f32x4.mul(std, f32x4.mul(ra, sinOfTurns(ta, 0))));
      o2 = f32x4.add(mean, f32x4.mul(std, f32x4.mul(rb, sinOfTurns(tb, 1))));
      o3 = f32x4.add(mean, f32x4.mul(std, f32x4.mul(rb, sinOfTurns(tb, 0))));
    } else if (kind == INT) {
      const low = i32x4.splat(ia);
      o0 = i32x4.add(h0, low); o1 = i32x4.add(h1, low); o2 = i32x4.add(h2, low); o3 = i32x4.add(h3, low);
    }
    // 4x4 transpose: t_g = (o0[g], o1[g], o2[g], o3[g]) = elements 16 blk + 4g .. + 3
    const a = i32x4.shuffle(o0, o1, 0, 4, 1, 5), b = i32x4.shuffle(o2, o3, 0, 4, 1, 5);
    const c = i32x4.shuffle(o0, o1, 2, 6, 3, 7), d = i32x4.shuffle(o2, o3, 2, 6, 3, 7);
    const first = blk << 4;
    storeGroup(out, first, i32x4.shuffle(a, b, 0, 1, 4, 5), begin, end);
    storeGroup(out, first + 4, i32x4.shuffle(a, b, 2, 3, 6, 7), begin, end);
    storeGroup(out, first + 8, i32x4.shuffle(c, d, 0, 1, 4, 5), begin, end);
    storeGroup(out, first + 12, i32x4.shuffle(c, d, 2, 3, 6, 7), begin, end);
  }
}

/** out[i] = uniform in [low, high) from 24 random bits, for begin <= i < end. */
export function random_uniform_f32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  low: f32, high: f32, begin: i32, end: i32): void {
  philoxFill(UNIFORM, out, seedLo, seedHi, offsetLo, offsetHi, 0, 0, low, high, 0, 0, begin, end);
}

/** out[i] = normal(mean, std) by Box-Muller on word pairs (0,1) and (2,3) of each block, for begin <= i < end. */
export function random_normal_f32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  mean: f32, std: f32, begin: i32, end: i32): void {
  philoxFill(NORMAL, out, seedLo, seedHi, offsetLo, offsetHi, 0, 0, mean, std, 0, 0, begin, end);
}

/**
 * out[i] = uniform integer in [low, high), high > low, for begin <= i < end. Each element uses 64 random
 * bits: word i & 3 of the main block (high half) and of the block with third counter word 1 (low half),
 * which is a separate stream that consumes no offsets.
 */
export function random_int_i32(out: usize, seedLo: u32, seedHi: u32, offsetLo: u32, offsetHi: u32,
  low: i32, high: i32, begin: i32, end: i32): void {
  philoxFill(INT, out, seedLo, seedHi, offsetLo, offsetHi, 0, 0, 0, 0, low, high, begin, end);
}

/** One raw Philox4x32-10 block: out[0..3] (u32) for counter (c0, c1, c2, c3) and key (k0, k1). For known-answer tests. */
export function philox4x32_10(out: usize, c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  philoxFill(RAW, out, k0, k1, c0, c1, c2, c3, 0, 0, 0, 0, 0, 4);
}
