// Philox random kernels of the built module: known answers, split invariance, distributions, and how seed and offset steer the stream.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, type KernelVariant, type RawKernels } from './load-kernels';

const OUT = 1 << 20;                         // byte address of the output buffer (the module has no data of its own)
const N = 1_000_000;

/** Standard normal CDF through erf in float64 (Abramowitz-Stegun 7.1.26 is too coarse for a KS test of 1e6 samples). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  let erf: number;
  if (x < 3) {                               // positive series: erf = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!
    let term = x, sum = x;
    for (let n = 1; term > sum * 1e-17; n++) { term *= (2 * x * x) / (2 * n + 1); sum += term; }
    erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  } else {                                   // continued fraction for erfc
    let f = 0;
    for (let k = 60; k >= 1; k--) f = (k / 2) / (x + f);
    erf = 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
  }
  return z < 0 ? (1 - erf) / 2 : (1 + erf) / 2;
}

describe.each<KernelVariant>(['simd', 'relaxed'])('random kernels (%s build)', (variant) => {
  let k: RawKernels;
  beforeAll(async () => { k = await loadKernels(variant); });

  type Kind = 'uniform' | 'normal' | 'int';
  interface Params { seed?: bigint; offset?: bigint; a?: number; b?: number }
  /** Calls a kernel for [begin, end) into the output buffer; a, b are low/high, mean/std or low/high. */
  function call(kind: Kind, begin: number, end: number, { seed = 42n, offset = 0n, a, b }: Params = {}) {
    const s = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
    const o = [Number(offset & 0xffffffffn), Number(offset >> 32n)];
    if (kind === 'uniform') k.exports.random_uniform_f32(OUT, s[0], s[1], o[0], o[1], a ?? 0, b ?? 1, begin, end);
    else if (kind === 'normal') k.exports.random_normal_f32(OUT, s[0], s[1], o[0], o[1], a ?? 0, b ?? 1, begin, end);
    else k.exports.random_int_i32(OUT, s[0], s[1], o[0], o[1], a ?? 0, b ?? 10, begin, end);
  }
  function generate(kind: Kind, n: number, p: Params = {}): Float32Array | Int32Array {
    call(kind, 0, n, p);
    return kind === 'int' ? k.i32().slice(OUT / 4, OUT / 4 + n) : k.f32().slice(OUT / 4, OUT / 4 + n);
  }
  const bitsOf = (a: Float32Array | Int32Array) => new Uint32Array(a.buffer.slice(0));

  it('Philox4x32-10 reproduces the Random123 known-answer vectors', () => {
    const block = (c: number[], key: number[]) => {
      k.exports.philox4x32_10(OUT, c[0], c[1], c[2], c[3], key[0], key[1]);
      return Array.from(new Uint32Array(k.memory.buffer, OUT, 4));
    };
    expect(block([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    const ones = 0xffffffff;
    expect(block([ones, ones, ones, ones], [ones, ones])).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(block([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))
      .toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  it('the kernels draw from that block: element i is word i & 3 of counter offset + (i >> 2), key = seed', () => {
    const seed = 0x0123456789abcdefn, offset = 0xfffffffen;     // offset + 3 carries into the high word
    const ints = generate('int', 4 * 5, { seed, offset, a: 0, b: 2 });  // b = 2: the top bit of the main word
    const floats = generate('uniform', 4 * 5, { seed, offset });
    for (let g = 0; g < 5; g++) {
      const ctr = offset + BigInt(g);
      k.exports.philox4x32_10(OUT, Number(ctr & 0xffffffffn), Number(ctr >> 32n), 0, 0,
        Number(seed & 0xffffffffn), Number(seed >> 32n));
      const words = new Uint32Array(k.memory.buffer, OUT, 4);
      for (let w = 0; w < 4; w++) {
        expect(floats[4 * g + w]).toBe((words[w] >>> 8) * 2 ** -24);
        expect(ints[4 * g + w]).toBe(words[w] >>> 31);
      }
    }
  });

  describe.each<Kind>(['uniform', 'normal', 'int'])('%s', (kind) => {
    it('one call equals any split into ranges, bitwise', () => {
      const n = 10_007;
      const whole = bitsOf(generate(kind, n, { seed: 7n, offset: 123n }));
      let seedR = 99;
      const rand = () => (seedR = (seedR * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (let trial = 0; trial < 5; trial++) {
        k.u8().fill(0xab, OUT, OUT + 4 * n);
        // ranges of every size (1 element, unaligned, a few hundred), in shuffled order
        const cuts = [0];
        while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + 1 + Math.floor(rand() ** 3 * (trial + 1) * 300)));
        const ranges = cuts.slice(1).map((end, i) => [cuts[i], end]).sort(() => rand() - 0.5);
        for (const [b, e] of ranges) call(kind, b, e, { seed: 7n, offset: 123n });
        const pieced = new Uint32Array(k.memory.buffer.slice(OUT, OUT + 4 * n));
        expect(pieced).toEqual(whole);
      }
    });

    it('writes exactly [begin, end)', () => {
      // every alignment of both ends (the kernels work in blocks of 16), empty and reversed ranges
      const bad: string[] = [];
      for (let b = 0; b < 18; b++) {
        for (let e = b - 2; e <= b + 36; e++) {
          k.u8().fill(0xcd, OUT, OUT + 4 * 64);
          call(kind, b, e);
          const words = new Uint32Array(k.memory.buffer, OUT, 64);
          for (let i = 0; i < 64; i++) {
            if ((i < b || i >= e) !== (words[i] === 0xcdcdcdcd)) bad.push(`[${b}, ${e}) at ${i}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });

    it('seed and offset each change the stream; the offset counts groups of 4 elements', () => {
      const base = bitsOf(generate(kind, 4096, { seed: 1n, offset: 10n }));
      for (const p of [{ seed: 2n, offset: 10n }, { seed: 1n + (1n << 32n), offset: 10n }, { seed: 1n, offset: 11n + (1n << 32n) }]) {
        const other = bitsOf(generate(kind, 4096, p));
        let same = 0;
        for (let i = 0; i < 4096; i++) same += Number(other[i] === base[i]);
        expect(same, JSON.stringify(p, (_, v) => typeof v === 'bigint' ? String(v) : v)).toBeLessThan(kind === 'int' ? 700 : 20);
      }
      // offset + 1 = the same stream moved on by one group: what lets a caller split one draw into two calls
      const shifted = bitsOf(generate(kind, 4096, { seed: 1n, offset: 11n }));
      expect(shifted.subarray(0, 4096 - 4)).toEqual(base.subarray(4));
      // the 64-bit counter carries from the low into the high word
      const low = bitsOf(generate(kind, 64, { seed: 1n, offset: 0xffffffffn }));
      const high = bitsOf(generate(kind, 60, { seed: 1n, offset: 1n << 32n }));
      expect(low.subarray(4)).toEqual(high);
    });
  });

  it('uniform: 24-bit grid in [0, 1), mean 1/2, variance 1/12', () => {
    const u = generate('uniform', N) as Float32Array;
    let sum = 0, sq = 0, min = 1, max = 0, offGrid = 0;
    for (const v of u) {
      offGrid += Number(!Number.isInteger(v * 2 ** 24));
      sum += v; sq += v * v; min = Math.min(min, v); max = Math.max(max, v);
    }
    expect(offGrid).toBe(0);
    const mean = sum / N, variance = sq / N - mean * mean;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(min).toBeLessThan(1e-4);
    expect(max).toBeGreaterThan(1 - 1e-4);
  });

  it('uniform: [low, high) scaled, and never high even where rounding would reach it', () => {
    const u = generate('uniform', N, { a: -3, b: 5 }) as Float32Array;
    let sum = 0, outside = 0;
    for (const v of u) { outside += Number(!(v >= -3 && v < 5)); sum += v; }
    expect(outside).toBe(0);
    expect(Math.abs(sum / N - 1)).toBeLessThan(5 * 8 * Math.sqrt(1 / 12 / N));
    // a range of one ulp: low + u * (high - low) rounds up to high for half the draws
    const high = Math.fround(1 + 2 ** -23);
    const narrow = generate('uniform', 4096, { a: 1, b: high }) as Float32Array;
    expect(narrow.every((v) => v === 1)).toBe(true);
    const negativeHigh = -2 + 2 ** -22;
    const negative = generate('uniform', 4096, { a: -2, b: negativeHigh }) as Float32Array;
    expect(negative.every((v) => v >= -2 && v < negativeHigh)).toBe(true);
  });

  it('normal: mean 0, std 1, Kolmogorov-Smirnov against the normal CDF; mean and std applied', () => {
    const z = generate('normal', N) as Float32Array;
    let sum = 0, sq = 0;
    expect(z.every(Number.isFinite)).toBe(true);
    for (const v of z) { sum += v; sq += v * v; }
    const mean = sum / N, std = Math.sqrt(sq / N - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(std - 1)).toBeLessThan(5 / Math.sqrt(2 * N));
    const sorted = Float64Array.from(z).sort();
    let d = 0;
    for (let i = 0; i < N; i++) {
      const f = normalCdf(sorted[i]);
      d = Math.max(d, Math.abs(f - i / N), Math.abs(f - (i + 1) / N));
    }
    expect(d).toBeLessThan(1.95 / Math.sqrt(N));                  // alpha = 0.001
    // tails: P(|z| > 4) = 6.3e-5, and nothing beyond what 32-bit u1 allows (|z| <= 6.8)
    let tail = 0;
    for (const v of z) if (Math.abs(v) > 4) tail++;
    expect(z.every((v) => Math.abs(v) < 6.8)).toBe(true);
    expect(tail).toBeGreaterThan(30);
    expect(tail).toBeLessThan(100);
    const scaled = generate('normal', N, { a: 3, b: 0.5 }) as Float32Array;
    let s2 = 0, q2 = 0;
    for (const v of scaled) { s2 += v; q2 += v * v; }
    expect(Math.abs(s2 / N - 3)).toBeLessThan(5 * 0.5 / Math.sqrt(N));
    expect(Math.abs(Math.sqrt(q2 / N - (s2 / N) ** 2) - 0.5)).toBeLessThan(5 * 0.5 / Math.sqrt(2 * N));
  });

  it('int: bounds and a chi-square histogram', () => {
    const low = -5, high = 7, bins = high - low;
    const r = generate('int', N, { a: low, b: high }) as Int32Array;
    const counts = new Array(bins).fill(0);
    expect(r.every((v) => v >= low && v < high)).toBe(true);
    for (const v of r) counts[v - low]++;
    const expected = N / bins;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(31.26);                              // 11 degrees of freedom, alpha = 0.001
    const single = generate('int', 1000, { a: 17, b: 18 }) as Int32Array;
    expect(single.every((v) => v === 17)).toBe(true);
  });

  it('int: the full int32 range and large ranges without the bias of 32-bit scaling', () => {
    const full = generate('int', 100_000, { a: -(2 ** 31), b: 2 ** 31 - 1 }) as Int32Array;
    let negatives = 0;
    expect(full.every((v) => v < 2 ** 31 - 1)).toBe(true);
    for (const v of full) negatives += Number(v < 0);
    expect(Math.abs(negatives / 100_000 - 0.5)).toBeLessThan(0.01);
    // With 32 random bits, range 3 * 2^29 would give the residues 0, 1, 2 (mod 3) unequal weights
    // (3, 3, 2 preimages per value in turn); with 64 bits they are even.
    const range = 3 * 2 ** 29;
    const big = generate('int', N, { a: 0, b: range }) as Int32Array;
    const residues = [0, 0, 0];
    expect(big.every((v) => v >= 0 && v < range)).toBe(true);
    for (const v of big) residues[v % 3]++;
    const chi2 = residues.reduce((acc, c) => acc + (c - N / 3) ** 2 / (N / 3), 0);
    expect(chi2).toBeLessThan(13.8);                               // 2 degrees of freedom, alpha = 0.001
  });

  it('the simd and relaxed builds give identical streams', async () => {
    const other = await loadKernels(variant === 'simd' ? 'relaxed' : 'simd');
    for (const kind of ['uniform', 'normal', 'int'] as Kind[]) {
      const mine = bitsOf(generate(kind, 5000, { seed: 5n }));
      const fn = { uniform: 'random_uniform_f32', normal: 'random_normal_f32', int: 'random_int_i32' }[kind];
      other.exports[fn](OUT, 5, 0, 0, 0, 0, kind === 'int' ? 10 : 1, 0, 5000);
      expect(new Uint32Array(other.memory.buffer.slice(OUT, OUT + 4 * 5000))).toEqual(mine);
    }
  });
});
