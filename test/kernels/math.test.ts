// Accuracy (ulp against float64 references) and special values of the f32x4 math in assembly/math.ts, through a test-only entry.
import { beforeAll, describe, expect, it } from 'vitest';
import asc from 'assemblyscript/asc';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OPS = { exp: 0, log: 1, tanh: 2, sigmoid: 3, sin: 4, cos: 5, erf: 6 } as const;
type Op = keyof typeof OPS;

let exports: Record<string, (...args: number[]) => void>;
let memory: WebAssembly.Memory;
const CHUNK = 1 << 20;                       // elements per call; buffers X, Y, OUT follow each other
const X = 1 << 16, Y = X + 4 * CHUNK, OUT = Y + 4 * CHUNK;

beforeAll(async () => {
  // --baseDir points asc at the entry's folder: run from the repository root, asc would also read
  // asconfig.json and compile the whole kernel module into this test binary.
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const tmp = mkdtempSync(join(tmpdir(), 'wasmtorch-math-'));
  const outFile = join(tmp, 'math.wasm');
  try {
    const { error, stderr } = await asc.main(['math-entry.ts', '--baseDir', dir, '--outFile', outFile,
      '--runtime', 'stub', '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
      '--enable', 'simd', '--enable', 'threads', '--noAssert', '-O3']);
    if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
    const bytes = readFileSync(outFile);
    memory = new WebAssembly.Memory({ initial: (OUT + 4 * CHUNK) / 65536 + 1, maximum: 65536, shared: true });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
    exports = instance.exports as typeof exports;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

/** Runs an op (or pow when ys is given) over any number of float32 inputs. */
function run(op: Op | 'pow', xs: Float32Array, ys?: Float32Array): Float32Array {
  const out = new Float32Array(xs.length);
  const heap = new Float32Array(memory.buffer);
  for (let s = 0; s < xs.length; s += CHUNK) {
    const m = Math.min(CHUNK, xs.length - s), padded = (m + 3) & ~3;   // the entry works in whole vectors
    heap.fill(0, X / 4, X / 4 + padded).set(xs.subarray(s, s + m), X / 4);
    if (op === 'pow') {
      heap.fill(0, Y / 4, Y / 4 + padded).set(ys!.subarray(s, s + m), Y / 4);
      exports.math_pow(OUT, X, Y, padded);
    } else {
      exports.math_unary(OPS[op], OUT, X, padded);
    }
    out.set(heap.subarray(OUT / 4, OUT / 4 + m), s);
  }
  return out;
}

const run1 = (op: Op, x: number) => run(op, Float32Array.of(x))[0];
const pow1 = (x: number, y: number) => run('pow', Float32Array.of(x), Float32Array.of(y))[0];

/**
 * Error of a float32 result in units of the last place of the float32 nearest the exact value
 * (subnormal spacing below 2^-126). A result that should overflow must be inf, and inf must be deserved.
 */
function ulpError(got: number, exact: number): number {
  if (Number.isNaN(exact)) return Number.isNaN(got) ? 0 : Infinity;
  if (Number.isNaN(got)) return Infinity;
  const rounded = Math.fround(exact);
  if (!Number.isFinite(rounded) || !Number.isFinite(got)) return rounded === got ? 0 : Infinity;
  const a = Math.abs(exact);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;                       // log2 rounds up just below powers of two
  const ulp = a < 2 ** -126 ? 2 ** -149 : 2 ** (e - 23);
  return Math.abs(got - exact) / ulp;
}

interface Worst { ulp: number; x: number; y?: number; got: number; exact: number }
function worst(op: Op | 'pow', xs: Float32Array, ref: (x: number, y: number) => number, ys?: Float32Array): Worst {
  const got = run(op, xs, ys);
  let w: Worst = { ulp: 0, x: NaN, got: NaN, exact: NaN };
  for (let i = 0; i < xs.length; i++) {
    const exact = ref(xs[i], ys ? ys[i] : 0);
    const e = ulpError(got[i], exact);
    if (e > w.ulp) w = { ulp: e, x: xs[i], y: ys?.[i], got: got[i], exact };
  }
  return w;
}

/** Every step-th float32 bit pattern: all exponents, both signs, NaNs and infinities included. */
function bitPatterns(step: number, start = 0): Float32Array {
  const n = Math.floor((2 ** 32 - 1 - start) / step) + 1;
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = start + i * step;
  return new Float32Array(bits.buffer);
}

/** count consecutive float32 bit patterns from `first`. */
function bitRange(first: number, count: number): Float32Array {
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = first + i;
  return new Float32Array(bits.buffer);
}

function linspace(lo: number, hi: number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * i / (n - 1);
  return a;
}

/** Small deterministic generator (mulberry32): the sweeps are the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBits(n: number, seed: number): Float32Array {
  const r = rng(seed), bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = Math.floor(r() * 4294967296);
  return new Float32Array(bits.buffer);
}

/**
 * erf in float64 without cancellation: erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)),
 * a series of positive terms (relative error ~1e-15 for all x that do not round to ±1).
 */
function erfReference(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a, sum = a;
  for (let n = 1; n < 1000 && term > sum * 1e-18; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum || x;   // || x keeps -0
}

const sigmoidReference = (x: number) => 1 / (1 + Math.exp(-x));

const REFERENCES: Record<Op, (x: number) => number> = {
  exp: Math.exp, log: Math.log, tanh: Math.tanh, sigmoid: sigmoidReference,
  sin: Math.sin, cos: Math.cos, erf: erfReference,
};

// Measured maxima over these sweeps: exp 0.97, log 0.78, tanh 1.26, sigmoid 2.29, sin/cos 0.501, erf 1.14
// ulp. The bounds leave a little room, catch regressions, and stay within the 4 ulp budget.
const BOUNDS: Record<Op, number> = { exp: 1.5, log: 1.5, tanh: 2, sigmoid: 3, sin: 1, cos: 1, erf: 2 };

describe('the erf reference itself', () => {
  it('matches published values', () => {
    const known: [number, number][] = [[0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [1.5, 0.9661051464753108], [2, 0.9953222650189527], [3, 0.9999779095030014], [4, 0.9999999845827421],
      [1e-6, 1.1283791670951364e-6]];   // mpmath, 200 bits
    for (const [x, v] of known) expect(Math.abs(erfReference(x) - v) / v).toBeLessThan(1e-14);
  });
});

describe.each(Object.keys(OPS) as Op[])('%s4 accuracy', (op) => {
  const ref = REFERENCES[op];
  it(`every 1009th float32 bit pattern within ${BOUNDS[op]} ulp`, () => {
    const w = worst(op, bitPatterns(1009, 7), ref);
    expect(w.ulp, JSON.stringify(w)).toBeLessThanOrEqual(BOUNDS[op]);
  });
  it('dense on [-12, 12] and random bit patterns', () => {
    const dense = worst(op, linspace(-12, 12, 1_200_001), ref);
    expect(dense.ulp, JSON.stringify(dense)).toBeLessThanOrEqual(BOUNDS[op]);
    const random = worst(op, randomBits(1_000_000, 1 + OPS[op]), ref);
    expect(random.ulp, JSON.stringify(random)).toBeLessThanOrEqual(BOUNDS[op]);
  });
});

describe('accuracy in the regions that usually break', () => {
  it('exp near overflow, underflow and through the subnormals', () => {
    for (const [lo, hi] of [[80, 89], [-104, -80], [-1e-3, 1e-3]]) {
      const w = worst('exp', linspace(lo, hi, 400_001), Math.exp);
      expect(w.ulp, JSON.stringify(w)).toBeLessThanOrEqual(BOUNDS.exp);
    }
  });
  it('log near 1 and on subnormal inputs', () => {
    const near1 = worst('log', linspace(0.99, 1.01, 400_001), Math.log);
    expect(near1.ulp, JSON.stringify(near1)).toBeLessThanOrEqual(BOUNDS.log);
    const sub = worst('log', bitRange(1, 0x7fffff), Math.log);     // every positive subnormal
    expect(sub.ulp, JSON.stringify(sub)).toBeLessThanOrEqual(BOUNDS.log);
  });
  it('tanh, erf and sin keep full relative accuracy near 0', () => {
    const tiny = new Float32Array(4000);
    for (let i = 0; i < tiny.length; i++) tiny[i] = (i % 2 ? -1 : 1) * 10 ** (-45 + 44 * i / tiny.length);
    for (const op of ['tanh', 'erf', 'sin'] as const) {
      const w = worst(op, tiny, REFERENCES[op]);
      expect(w.ulp, `${op} ${JSON.stringify(w)}`).toBeLessThanOrEqual(BOUNDS[op]);
    }
    expect(Math.abs(run1('tanh', 1e-5) / Math.tanh(Math.fround(1e-5)) - 1)).toBeLessThan(1.2e-7);
    expect(Math.abs(run1('erf', 1e-6) / erfReference(Math.fround(1e-6)) - 1)).toBeLessThan(1.2e-7);
    expect(Math.abs(run1('erf', -3e-30) / erfReference(Math.fround(-3e-30)) - 1)).toBeLessThan(1.2e-7);
  });
  it('sigmoid keeps its tiny values (x down to -103) instead of flushing them', () => {
    const w = worst('sigmoid', linspace(-104, -80, 200_001), sigmoidReference);
    expect(w.ulp, JSON.stringify(w)).toBeLessThanOrEqual(BOUNDS.sigmoid);
    expect(run1('sigmoid', -100)).toBeGreaterThan(0);
  });
  it('sin and cos stay correct for large arguments, densely up to 1e5 and on to 3.4e38', () => {
    for (const op of ['sin', 'cos'] as const) {
      const mid = worst(op, linspace(-1e5, 1e5, 1_000_001), REFERENCES[op]);
      expect(mid.ulp, `${op} ${JSON.stringify(mid)}`).toBeLessThanOrEqual(BOUNDS[op]);
      // around the switch to the Payne-Hanek path and far beyond it
      const edge = worst(op, linspace(1.6e6, 1.7e6, 200_001), REFERENCES[op]);
      expect(edge.ulp, `${op} ${JSON.stringify(edge)}`).toBeLessThanOrEqual(BOUNDS[op]);
      const big = worst(op, bitPatterns(997, 0x49000000).filter((v) => Math.abs(v) > 1e6), REFERENCES[op]);
      expect(big.ulp, `${op} ${JSON.stringify(big)}`).toBeLessThanOrEqual(BOUNDS[op]);
    }
  });
});

describe('special values', () => {
  const inf = Infinity;
  const same = (got: number, want: number) => expect(Object.is(got, want), `got ${got}, want ${want}`).toBe(true);
  const near = (got: number, exact: number) => expect(ulpError(got, exact), `got ${got}, want ${exact}`).toBeLessThanOrEqual(1);

  it('NaN propagates through every function', () => {
    for (const op of Object.keys(OPS) as Op[]) expect(run1(op, NaN), op).toBeNaN();
    expect(pow1(NaN, 2)).toBeNaN();
    expect(pow1(2, NaN)).toBeNaN();
  });
  it('exp', () => {
    same(run1('exp', inf), inf); same(run1('exp', -inf), 0); same(run1('exp', 0), 1); same(run1('exp', -0), 1);
    same(run1('exp', 88.8), inf); same(run1('exp', 1000), inf); same(run1('exp', -104), 0); same(run1('exp', -1000), 0);
    near(run1('exp', 88.72283), Math.exp(Math.fround(88.72283)));                      // near the largest finite
    same(run1('exp', -103.27893), 2 ** -149);                                         // smallest subnormal
    expect(run1('exp', -95)).toBeGreaterThan(0);
  });
  it('log', () => {
    same(run1('log', 0), -inf); same(run1('log', -0), -inf); same(run1('log', inf), inf); same(run1('log', 1), 0);
    expect(run1('log', -1)).toBeNaN(); expect(run1('log', -inf)).toBeNaN(); expect(run1('log', -1e-45)).toBeNaN();
    near(run1('log', 2 ** -149), Math.log(2 ** -149));
    near(run1('log', 3.4028234663852886e38), Math.log(3.4028234663852886e38));
  });
  it('tanh and sigmoid', () => {
    same(run1('tanh', inf), 1); same(run1('tanh', -inf), -1); same(run1('tanh', -0), -0); same(run1('tanh', 0), 0);
    same(run1('tanh', 20), 1); same(run1('tanh', -1e30), -1); same(run1('tanh', 2 ** -149), 2 ** -149);
    same(run1('sigmoid', -inf), 0); same(run1('sigmoid', inf), 1); same(run1('sigmoid', 0), 0.5);
    same(run1('sigmoid', 1e30), 1); same(run1('sigmoid', -1e30), 0); same(run1('sigmoid', 200), 1); same(run1('sigmoid', -200), 0);
  });
  it('sin and cos', () => {
    expect(run1('sin', inf)).toBeNaN(); expect(run1('sin', -inf)).toBeNaN();
    expect(run1('cos', inf)).toBeNaN(); expect(run1('cos', -inf)).toBeNaN();
    same(run1('sin', -0), -0); same(run1('sin', 0), 0); same(run1('cos', -0), 1); same(run1('cos', 0), 1);
    same(run1('sin', 2 ** -149), 2 ** -149); same(run1('sin', -1e-30), Math.fround(-1e-30));
    const maxf = 3.4028234663852886e38;
    near(run1('sin', maxf), Math.sin(maxf)); near(run1('cos', -maxf), Math.cos(maxf));
  });
  it('erf', () => {
    same(run1('erf', inf), 1); same(run1('erf', -inf), -1); same(run1('erf', -0), -0); same(run1('erf', 0), 0);
    same(run1('erf', 4), 1); same(run1('erf', -10), -1); same(run1('erf', 1e30), 1);
    // gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) is what erf is for: spot-check its building block
    near(run1('erf', Math.fround(1 / Math.SQRT2)), erfReference(Math.fround(1 / Math.SQRT2)));
  });

  it('pow follows C powf', () => {
    const nan = NaN;
    // [x, y, expected]
    const cases: [number, number, number][] = [
      [nan, 0, 1], [nan, -0, 1], [inf, 0, 1], [-inf, -0, 1], [0, 0, 1], [-3, 0, 1],           // pow(x, ±0) = 1
      [1, nan, 1], [1, inf, 1], [1, -inf, 1], [1, 12.5, 1],                                 // pow(1, y) = 1
      [-1, inf, 1], [-1, -inf, 1],                                                          // pow(-1, ±inf) = 1
      [nan, 1, nan], [2, nan, nan], [-1, nan, nan],
      [-2, 3, -8], [-2, 2, 4], [-2, -1, -0.5], [-2, -2, 0.25], [-8, 1 / 3, nan], [-2, 0.5, nan], [-1, 0.5, nan],
      [-2, 2 ** 24, inf], [-2, 2 ** 31, inf], [-0.5, 2 ** 25 + 2, 0], [-1, 2 ** 24 + 2, 1], [-1, 16777215, -1],
      [0, -1, inf], [-0, -1, -inf], [-0, -3, -inf], [0, -2, inf], [-0, -2, inf], [-0, -0.5, inf], [0, -inf, inf], [-0, -inf, inf],
      [0, 1, 0], [-0, 1, -0], [-0, 3, -0], [-0, 2, 0], [-0, 0.5, 0], [0, inf, 0], [-0, inf, 0],
      [0.5, inf, 0], [-0.5, inf, 0], [0.5, -inf, inf], [-0.5, -inf, inf], [2, inf, inf], [-2, inf, inf], [2, -inf, 0], [-2, -inf, 0],
      [-inf, -1, -0], [-inf, -3, -0], [-inf, -2, 0], [-inf, -0.5, 0], [-inf, 1, -inf], [-inf, 3, -inf], [-inf, 2, inf], [-inf, 0.5, inf],
      [inf, -1, 0], [inf, -0.5, 0], [inf, 0.5, inf], [inf, 3, inf],
      [2, 128, inf], [2, 127, 2 ** 127], [2, -149, 2 ** -149], [2, -150, 0], [2, -126, 2 ** -126], [10, 39, inf], [10, -46, 0],
      [-2, 129, -inf], [-2, -149, -(2 ** -149)], [-2, -151, -0],
      [4, 0.5, 2], [2 ** -149, 0.5, Math.fround(Math.sqrt(2 ** -149))], [2 ** -149, -1, inf], [3, 2, 9], [10, 10, 1e10],
    ];
    const xs = Float32Array.from(cases.map((c) => c[0])), ys = Float32Array.from(cases.map((c) => c[1]));
    const got = run('pow', xs, ys);
    cases.forEach(([x, y, want], i) => {
      expect(Object.is(got[i], Math.fround(want)), `pow(${x}, ${y}) = ${got[i]}, want ${want}`).toBe(true);
    });
  });
});

describe('pow4 accuracy', () => {
  const n = 1_000_000;
  function pairs(seed: number, make: (r: () => number) => [number, number]) {
    const r = rng(seed), xs = new Float32Array(n), ys = new Float32Array(n);
    for (let i = 0; i < n; i++) [xs[i], ys[i]] = make(r);
    return [xs, ys] as const;
  }
  const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
  const cases: [string, (r: () => number) => [number, number]][] = [
    ['any positive x, |y log2 x| up to 200', (r) => {
      bits[0] = Math.floor(r() * 0x7f800000); const x = asFloat[0];
      return [x, (r() * 2 - 1) * 200 / (Math.abs(Math.log2(x)) || 1)];
    }],
    ['negative x, integer y', (r) => [-r() * 10, Math.round((r() * 2 - 1) * 40)]],
    ['x near 1, large y', (r) => [1 + (r() - 0.5) * 1e-3, (r() * 2 - 1) * 1e5]],
    ['subnormal x', (r) => { bits[0] = Math.floor(r() * 0x7fffff) + 1; return [asFloat[0], (r() * 2 - 1) * 1.3]; }],
    ['squares, cubes, roots, reciprocals', (r) => [r() * 100, [0.5, 2, 3, -1, -0.5, 1, -2][Math.floor(r() * 7)]]],
  ];
  it.each(cases)('%s: within 1 ulp', (_name, make) => {
    const [xs, ys] = pairs(7, make);
    const w = worst('pow', xs, Math.pow, ys);
    expect(w.ulp, JSON.stringify(w)).toBeLessThanOrEqual(1);
  });
});
