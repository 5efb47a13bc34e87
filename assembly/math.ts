// Float32 SIMD math (exp, log, tanh, sigmoid, sin, cos, erf, pow) on f32x4 lanes, built from wasm builtins only: kernels carry no tables or globals.

// AssemblyScript's Math/Mathf would pull lookup tables and globals (data segments) into the module,
// which every worker instance re-copies into the shared memory (wasm-notes 3); so everything here is
// polynomials and bit tricks on v128 values. Each function is branch-free on the common path: lanes take
// every path and v128.bitselect picks the right one, because per-lane scalar code is what makes SIMD
// math slow. Plain mul+add (no relaxed FMA) keeps both kernel builds bitwise identical.
//
// f32x4.pmin(x, c) / pmax(x, c) clamp with x first: they return x when x is NaN, so NaN flows on
// through the arithmetic instead of needing its own select.

@inline function f4(c: f32): v128 { return f32x4.splat(c); }
@inline function i4(c: i32): v128 { return i32x4.splat(c); }
@inline function d2(c: f64): v128 { return f64x2.splat(c); }

@inline function signBit4(x: v128): v128 { return v128.and(x, i4(0x80000000)); }

// ---------------------------------------------------------------- exp

/** e^x per lane. Overflows to +inf above ~88.72, underflows through the subnormals to 0 below ~-103.97. */
@inline export function exp4(x: v128): v128 {
  // Past these bounds the result is already inf / 0; clamping keeps n inside what two scale factors reach.
  const xc = f32x4.pmax(f32x4.pmin(x, f4(89.0)), f4(-104.0));
  // Adding 1.5 * 2^23 rounds to an integer and leaves it in the low mantissa bits: n as float and
  // as int without a (slow, saturating) conversion.
  const t = f32x4.add(f32x4.mul(xc, f4(1.44269504088896341)), f4(12582912.0));
  const n = f32x4.sub(t, f4(12582912.0));
  // Cody-Waite: n * 0.693359375 is exact (few bits), so r keeps its low bits when x is large.
  let r = f32x4.sub(xc, f32x4.mul(n, f4(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f4(-2.12194440e-4)));
  const z = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f4(1.9875691500e-4), r), f4(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f4(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f4(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f4(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f4(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, z), r), f4(1.0));
  // 2^n split in two factors: n reaches 128 (overflow) and -150 (deepest subnormal), beyond one
  // float exponent; the second multiply rounds once, so subnormal results are correctly scaled.
  const ni = i32x4.sub(t, i4(0x4b400000));
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i4(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i4(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// ---------------------------------------------------------------- log

/** Natural log per lane: log(±0) = -inf, log(x < 0) = NaN, log(inf) = inf, subnormals exact-scaled. */
@inline export function log4(x: v128): v128 {
  // Subnormals: scale into the normal range first so the exponent field means what it says.
  const sub = f32x4.lt(x, f4(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f4(8388608.0)), x, sub);
  // Offsetting by the bits of sqrt(1/2) puts the mantissa m in [sqrt(1/2), sqrt(2)): f = m - 1 is
  // small on both sides of 1, which is where the polynomial is accurate.
  const t = i32x4.sub(xs, i4(0x3f3504f3));
  const k = i32x4.shr_s(t, 23);
  const m = i32x4.sub(xs, i32x4.shl(k, 23));
  const kf = f32x4.convert_i32x4_s(i32x4.sub(k, v128.and(sub, i4(23))));
  const f = f32x4.sub(m, f4(1.0));
  const z = f32x4.mul(f, f);
  let p = f32x4.add(f32x4.mul(f4(7.0376836292e-2), f), f4(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, f), f4(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, f), z);
  // ln 2 in two parts: k * 0.693359375 is exact, the small remainder is added to the small terms.
  y = f32x4.add(y, f32x4.mul(kf, f4(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f4(0.5)));
  let r = f32x4.add(f, y);
  r = f32x4.add(r, f32x4.mul(kf, f4(0.693359375)));
  r = v128.bitselect(r, x, f32x4.lt(x, f4(Infinity)));   // +inf and NaN give themselves
  r = v128.bitselect(f4(-Infinity), r, f32x4.eq(x, f4(0.0)));
  return v128.bitselect(f4(NaN), r, f32x4.lt(x, f4(0.0)));
}

// ---------------------------------------------------------------- tanh, sigmoid

/** tanh per lane; odd (tanh(-0) = -0), ±1 at ±inf, x-accurate near 0. */
@inline export function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  // Near 0, 1 - 2/(e^2a + 1) cancels; an odd polynomial keeps full relative accuracy there.
  const s = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.mul(f4(-5.70498872745e-3), s), f4(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, s), f4(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, s), f4(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, s), f4(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, s), a), a);
  // exp overflows to inf for large a, which gives exactly 1.
  const e = exp4(f32x4.add(a, a));
  const large = f32x4.sub(f4(1.0), f32x4.div(f4(2.0), f32x4.add(e, f4(1.0))));
  const r = v128.bitselect(small, large, f32x4.lt(a, f4(0.625)));
  return v128.or(r, signBit4(x));   // computed on |x|: odd symmetry, and the sign of -0 survives
}

/** 1 / (1 + e^-x) per lane: 0 at -inf, 1 at +inf, never NaN for large |x|, subnormal tail kept. */
@inline export function sigmoid4(x: v128): v128 {
  // e^-|x| never overflows; for x < 0 sigmoid = e^x / (1 + e^x) keeps the tiny results that
  // 1 / (1 + e^-x) would lose to overflow below x = -88.7.
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(f4(1.0), e, f32x4.ge(x, f4(0.0)));
  return f32x4.div(num, f32x4.add(e, f4(1.0)));
}

// ---------------------------------------------------------------- sin, cos

// 2/pi as a bit string, 64 bits a word, after one word of zeros (so windows that start above the
// binary point need no special case). A switch compiles to code, not to a data segment.
function twoOverPiWord(j: i32): u64 {
  switch (j) {
    case 1: return 0xa2f9836e4e441529;
    case 2: return 0xfc2757d1f534ddc0;
    case 3: return 0xdb6295993c439041;
    case 4: return 0xfe5163abdebbc561;
    case 5: return 0xb7246e3a424dd2e0;
    default: return 0;
  }
}

@inline function twoOverPiBits(k: i32): u64 {
  const j = k >> 6, s = <u64>(k & 63);
  const hi = twoOverPiWord(j);
  return s == 0 ? hi : (hi << s) | (twoOverPiWord(j + 1) >> (64 - s));
}

// Payne-Hanek reduction for a finite float32 |x| >= 2^20 (rare: kept scalar and off the vector path).
// Returns r = x - q*pi/2, |r| <= pi/4, with q mod 4 in the two low mantissa bits of r: 51 bits of r
// are far more than a float32 result needs, and it saves a second return value.
function reducePiOver2Large(x: f64): f64 {
  const xf = <f32>x;
  const bits = reinterpret<u32>(xf);
  const e = <i32>((bits >> 23) & 0xff) - 150;      // x = m * 2^e, m a 24-bit integer
  const m = <u64>((bits & 0x7fffff) | 0x800000);
  // Bits of 2/pi worth >= 4 after multiplying by m*2^e only add multiples of 4 (whole turns): start
  // the 128-bit window just below them, at bit e-1 (index e+62 counting the zero word); bits past
  // the window change the result by < 2^-100.
  const k = e + 62;
  const c0 = twoOverPiBits(k), c1 = twoOverPiBits(k + 64);
  // Low 128 bits of m * (c0:c1): 2 integer bits (the quadrant) then the fraction.
  const a = m * (c1 & 0xffffffff), b = m * (c1 >> 32);
  const lo = a + (b << 32);
  const hi = m * c0 + (b >> 32) + <u64>(lo < a);
  let q = <i32>(hi >> 62);
  const frac = <i64>((hi << 2) | (lo >> 62));       // a fraction >= 1/2 reads as negative: f - 1
  q = (q + <i32>(<u64>frac >> 63)) & 3;
  let r = <f64>frac * 8.515303950216386e-20;        // (pi/2) * 2^-64
  if (bits >> 31) { r = -r; q = (-q) & 3; }
  return reinterpret<f64>((reinterpret<u64>(r) & ~(<u64>3)) | <u64>q);
}

// sin (cosine = false) or cos of two float32 values widened to f64x2. The reduction and the
// polynomials run in f64: x - n*pi/2 then stays accurate far out (|x| < 2^20 * pi/2 here), and
// musl's float-in-double polynomials (|error| < 2^-34 on |r| <= pi/4) leave only the final rounding.
@inline function sinCos2(x: v128, cosine: bool): v128 {
  const magic = d2(6755399441055744.0);             // 1.5 * 2^52: adding it rounds to an integer in the low bits
  const t = f64x2.add(f64x2.mul(x, d2(0.6366197723675814)), magic);
  const n = f64x2.sub(t, magic);
  // pi/2 = p1 + p1t with p1 of 31 bits: n * p1 is exact for |n| <= 2^20 and so is x - n*p1.
  let r = f64x2.sub(x, f64x2.mul(n, d2(1.5707963267341256)));
  r = f64x2.sub(r, f64x2.mul(n, d2(6.077100506506192e-11)));
  let q = t;                                        // n mod 4 lives in the low bits of t
  const ax = f64x2.abs(x);
  const large = v128.and(f64x2.ge(ax, d2(1647099.0)), f64x2.lt(ax, d2(Infinity)));
  if (v128.any_true(large)) {
    if (i64x2.extract_lane(large, 0) != 0) {
      const v = reducePiOver2Large(f64x2.extract_lane(x, 0));
      r = f64x2.replace_lane(r, 0, v);
      q = i64x2.replace_lane(q, 0, reinterpret<i64>(v));
    }
    if (i64x2.extract_lane(large, 1) != 0) {
      const v = reducePiOver2Large(f64x2.extract_lane(x, 1));
      r = f64x2.replace_lane(r, 1, v);
      q = i64x2.replace_lane(q, 1, reinterpret<i64>(v));
    }
  }
  if (cosine) q = i64x2.add(q, i64x2.splat(1));     // cos x = sin(x + pi/2)
  const z = f64x2.mul(r, r);
  let ps = f64x2.add(f64x2.mul(d2(2.718311493989822e-6), z), d2(-1.9839334836096632e-4));
  ps = f64x2.add(f64x2.mul(ps, z), d2(8.333329385889463e-3));
  ps = f64x2.add(f64x2.mul(ps, z), d2(-1.6666666641626524e-1));
  // r * (1 + ...) rather than r + r*(...): keeps sin(-0) = -0, and costs nothing in f64.
  const s = f64x2.mul(r, f64x2.add(f64x2.mul(ps, z), d2(1.0)));
  let pc = f64x2.add(f64x2.mul(d2(2.439044879627741e-5), z), d2(-1.3886763774609929e-3));
  pc = f64x2.add(f64x2.mul(pc, z), d2(4.166662332373906e-2));
  pc = f64x2.add(f64x2.mul(pc, z), d2(-4.999999972510310e-1));
  const c = f64x2.add(f64x2.mul(pc, z), d2(1.0));
  const odd = i64x2.shr_s(i64x2.shl(q, 63), 63);    // quadrant 1 or 3: the other function
  const neg = i64x2.shl(i64x2.shr_u(q, 1), 63);     // quadrant 2 or 3: negated
  return v128.xor(v128.bitselect(c, s, odd), neg);
}

@inline function sinCos4(x: v128, cosine: bool): v128 {
  const lo = sinCos2(f64x2.promote_low_f32x4(x), cosine);
  const hi = sinCos2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3)), cosine);
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** sin per lane: accurate over the whole float32 range (Payne-Hanek beyond 1.6e6), sin(±inf) = NaN. */
@inline export function sin4(x: v128): v128 { return sinCos4(x, false); }

/** cos per lane: accurate over the whole float32 range, cos(±inf) = NaN. */
@inline export function cos4(x: v128): v128 { return sinCos4(x, true); }

// ---------------------------------------------------------------- erf

/** erf per lane: odd, ±1 at ±inf, relative-accurate near 0. */
@inline export function erf4(x: v128): v128 {
  const a = f32x4.abs(x);
  // |x| < 0.921875: erf = a + a*P(a^2), minimax for relative error (< 2^-25.9).
  const s = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.mul(f4(-0.0005990892532281578), s), f4(0.004993189126253128));
  p = f32x4.add(f32x4.mul(p, s), f4(-0.026766624301671982));
  p = f32x4.add(f32x4.mul(p, s), f4(0.1128181666135788));
  p = f32x4.add(f32x4.mul(p, s), f4(-0.37612494826316833));
  p = f32x4.add(f32x4.mul(p, s), f4(0.12837915122509003));
  const small = f32x4.add(f32x4.mul(p, a), a);
  // Otherwise erf = 1 - exp(Q(a)), Q ~ log(erfc(a)) minimax in u = a - 1 (weighted by erfc, so the
  // error is measured where it reaches erf). Beyond a = 3.92 erf rounds to 1; clamping at 4 keeps Q
  // inside its fitted range (inf and large a give exactly 1).
  const u = f32x4.sub(f32x4.pmin(a, f4(4.0)), f4(1.0));
  let q = f32x4.add(f32x4.mul(f4(0.00019473375868983567), u), f4(-0.0018631912535056472));
  q = f32x4.add(f32x4.mul(q, u), f4(0.009944410063326359));
  q = f32x4.add(f32x4.mul(q, u), f4(-0.041534628719091415));
  q = f32x4.add(f32x4.mul(q, u), f4(-0.8431090712547302));
  q = f32x4.add(f32x4.mul(q, u), f4(-2.638967752456665));
  q = f32x4.add(f32x4.mul(q, u), f4(-1.8496055603027344));
  const large = f32x4.sub(f4(1.0), exp4(q));
  const r = v128.bitselect(small, large, f32x4.lt(a, f4(0.921875)));
  return v128.or(r, signBit4(x));
}

// ---------------------------------------------------------------- pow

// log2 of positive float32 values (two lanes, already split into k and m in [sqrt(1/2), sqrt(2))), in f64:
// pow needs y*log2(x) to ~2^-40 relative, beyond float32.
@inline function log2Parts2(k: v128, m: v128): v128 {
  const f = f64x2.sub(m, d2(1.0));
  const s = f64x2.div(f, f64x2.add(f, d2(2.0)));   // ln m = 2 atanh(s), |s| < 0.1716
  const z = f64x2.mul(s, s);
  let p = f64x2.add(f64x2.mul(d2(1.0 / 15.0), z), d2(1.0 / 13.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0 / 11.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0 / 9.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0 / 7.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0 / 5.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0 / 3.0));
  p = f64x2.add(f64x2.mul(p, z), d2(1.0));
  // 2/ln2 folds the atanh factor 2 and the change of base
  return f64x2.add(k, f64x2.mul(f64x2.mul(s, p), d2(2.8853900817779268)));
}

// 2^t for f64 lanes, rounded once to float32 by the caller's demote (so overflow/underflow/subnormals
// come out right). t is clamped to +-200: the result is inf / 0 in float32 long before that.
@inline function exp2d2(t: v128): v128 {
  const tc = f64x2.pmax(f64x2.pmin(t, d2(200.0)), d2(-200.0));
  const magic = d2(6755399441055744.0);
  const tm = f64x2.add(tc, magic);
  const f = f64x2.sub(tc, f64x2.sub(tm, magic));    // in [-0.5, 0.5]
  let p = f64x2.add(f64x2.mul(d2(1.5196156564959668e-5), f), d2(0.00015466756322306938));
  p = f64x2.add(f64x2.mul(p, f), d2(0.001333393505543788));
  p = f64x2.add(f64x2.mul(p, f), d2(0.009618038132040376));
  p = f64x2.add(f64x2.mul(p, f), d2(0.0555041036599164));
  p = f64x2.add(f64x2.mul(p, f), d2(0.2402265106656124));
  p = f64x2.add(f64x2.mul(p, f), d2(0.6931471807045316));
  p = f64x2.add(f64x2.mul(p, f), d2(1.0));
  // (n + 1023) << 52 straight from tm's low bits: the magic's own bits shift out of the word.
  const scale = i64x2.shl(i64x2.add(tm, i64x2.splat(1023)), 52);
  return f64x2.mul(p, scale);
}

/** x^y per lane with C powf's special cases (pow(x, ±0) = 1, pow(1, y) = 1, negative x needs integer y, ...). */
@inline export function pow4(x: v128, y: v128): v128 {
  const ax = f32x4.abs(x);
  // |x| = m * 2^k as in log4, in float32 (exact), then widened.
  const sub = f32x4.lt(ax, f4(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(ax, f4(8388608.0)), ax, sub);
  const t = i32x4.sub(xs, i4(0x3f3504f3));
  const k0 = i32x4.shr_s(t, 23);
  const m = i32x4.sub(xs, i32x4.shl(k0, 23));
  const k = i32x4.sub(k0, v128.and(sub, i4(23)));
  const mHi = i32x4.shuffle(m, m, 2, 3, 2, 3), kHi = i32x4.shuffle(k, k, 2, 3, 2, 3);
  let lLo = log2Parts2(f64x2.convert_low_i32x4_s(k), f64x2.promote_low_f32x4(m));
  let lHi = log2Parts2(f64x2.convert_low_i32x4_s(kHi), f64x2.promote_low_f32x4(mHi));
  // log2 of 0, inf and NaN by IEEE: y * log2|x| then gives the C limits (0^y, inf^y, x^±inf) by itself.
  const axLo = f64x2.promote_low_f32x4(ax), axHi = f64x2.promote_low_f32x4(i32x4.shuffle(ax, ax, 2, 3, 2, 3));
  lLo = v128.bitselect(lLo, axLo, f64x2.lt(axLo, d2(Infinity)));
  lLo = v128.bitselect(d2(-Infinity), lLo, f64x2.eq(axLo, d2(0.0)));
  lHi = v128.bitselect(lHi, axHi, f64x2.lt(axHi, d2(Infinity)));
  lHi = v128.bitselect(d2(-Infinity), lHi, f64x2.eq(axHi, d2(0.0)));
  const yLo = f64x2.promote_low_f32x4(y), yHi = f64x2.promote_low_f32x4(i32x4.shuffle(y, y, 2, 3, 2, 3));
  const rLo = exp2d2(f64x2.mul(yLo, lLo)), rHi = exp2d2(f64x2.mul(yHi, lHi));
  let r = i32x4.shuffle(f32x4.demote_f64x2_zero(rLo), f32x4.demote_f64x2_zero(rHi), 0, 1, 4, 5);

  const ay = f32x4.abs(y);
  const yInt = f32x4.eq(f32x4.nearest(y), y);       // ±inf counts as an (even) integer, NaN does not
  // Odd integers exist only below 2^24; above it trunc_sat may saturate to an odd-looking value.
  const yOdd = v128.and(v128.and(yInt, f32x4.lt(ay, f4(16777216.0))),
    i32x4.shl(i32x4.trunc_sat_f32x4_s(y), 31));
  r = v128.or(r, v128.and(yOdd, signBit4(x)));      // negative x (and -0, -inf) to an odd power
  const negFinite = v128.and(f32x4.lt(x, f4(0.0)), f32x4.gt(x, f4(-Infinity)));
  r = v128.bitselect(f4(NaN), r, v128.andnot(negFinite, yInt));
  const one = v128.or(v128.or(f32x4.eq(x, f4(1.0)), f32x4.eq(y, f4(0.0))),
    v128.and(f32x4.eq(ax, f4(1.0)), f32x4.eq(ay, f4(Infinity))));
  return v128.bitselect(f4(1.0), r, one);
}
