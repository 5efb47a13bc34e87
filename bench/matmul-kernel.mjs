// Times the raw gemm_f32 kernel (both builds, one thread) beside tfjs-backend-wasm's matMul on square float32 matrices.
// Usage: node bench/matmul-kernel.mjs [--sizes 64,128,...] [--runs 7]   (after `node scripts/build.mjs`)
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import v8 from 'node:v8';

// Node 20 compiles relaxed SIMD only behind this flag, and only if it is set before the first compile (wasm-notes 9).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const options = { sizes: [64, 128, 256, 512, 1024, 2048], runs: 7 };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (flag === '--sizes') options.sizes = value.split(',').map(Number);
  else if (flag === '--runs') options.runs = Math.max(5, Number(value));
  else throw new Error(`unknown option ${flag}`);
}
const kernelsDir = process.env.KERNELS_DIR ?? new URL('../build/', import.meta.url).pathname;
const largest = Math.max(...options.sizes);

async function loadKernel(variant) {
  const bytes = readFileSync(`${kernelsDir}/kernels-${variant}.wasm`);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const gemm = instance.exports;
  // Scratch first, then A, B and C for the largest size, each 64-byte aligned.
  const align = (bytes) => Math.ceil(bytes / 64) * 64;
  const scratch = 1024;
  const a = align(scratch + gemm.gemm_scratch_bytes());
  const b = align(a + 4 * largest * largest);
  const c = align(b + 4 * largest * largest);
  const end = c + 4 * largest * largest;
  memory.grow(Math.ceil(end / 65536));
  return {
    variant,
    prepare(n, aValues, bValues) {
      const view = new Float32Array(memory.buffer);
      view.set(aValues, a / 4);
      view.set(bValues, b / 4);
      const run = () => gemm.gemm_f32(n, n, n, a, n, 1, b, n, 1, c, n, 0, scratch, 0, n);
      return { run, result: () => new Float32Array(memory.buffer, c, n * n).slice() };
    },
  };
}

async function loadTfjs() {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  let tensors = [];
  return {
    variant: 'tfjs-wasm',
    version: tf.version_core,
    prepare(n, aValues, bValues) {
      tensors.forEach((t) => t.dispose());
      tensors = [tf.tensor2d(aValues, [n, n]), tf.tensor2d(bValues, [n, n])];
      const [a, b] = tensors;
      // dataSync: the product is really computed and read back, as a user of tf.matMul would.
      const run = () => { const c = tf.matMul(a, b); const data = c.dataSync(); c.dispose(); return data; };
      return { run, result: () => run() };
    },
  };
}

// The one-core FMA ceiling of this machine: a register-only loop of 10 independent relaxed_madd chains. Kernel figures
// are only comparable across machines as a fraction of it (wasm-notes 11: 58.7 GFLOP/s on Zen 4).
async function measureFmaRoof() {
  const { default: asc } = await import('assemblyscript/asc');
  const source = `export function fmaRoof(iterations: i32, x: f32): f32 {
    const a = f32x4.splat(x), b = f32x4.splat(1 - x);
    let c0 = a, c1 = b, c2 = a, c3 = b, c4 = a, c5 = b, c6 = a, c7 = b, c8 = a, c9 = b;
    for (let i = 0; i < iterations; i++) {
      c0 = f32x4.relaxed_madd(a, b, c0); c1 = f32x4.relaxed_madd(a, b, c1); c2 = f32x4.relaxed_madd(a, b, c2);
      c3 = f32x4.relaxed_madd(a, b, c3); c4 = f32x4.relaxed_madd(a, b, c4); c5 = f32x4.relaxed_madd(a, b, c5);
      c6 = f32x4.relaxed_madd(a, b, c6); c7 = f32x4.relaxed_madd(a, b, c7); c8 = f32x4.relaxed_madd(a, b, c8);
      c9 = f32x4.relaxed_madd(a, b, c9);
    }
    const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(f32x4.add(c6, c7), f32x4.add(c8, c9))));
    return f32x4.extract_lane(s, 0);
  }`;
  const { error, binary, stderr } = await asc.compileString({ 'roof.ts': source },
    { enable: ['simd', 'relaxed-simd'], runtime: 'stub', noAssert: true, optimizeLevel: 3 });
  if (error) throw new Error(`roof module: ${stderr}`);
  const { instance } = await WebAssembly.instantiate(binary, {});
  const iterations = 2e7, flopsPerIteration = 10 * 4 * 2;
  instance.exports.fmaRoof(1e6, 0.5);
  const times = [];
  for (let r = 0; r < 7; r++) {
    const start = performance.now();
    instance.exports.fmaRoof(iterations, 0.5);
    times.push((performance.now() - start) / 1000);
  }
  return (iterations * flopsPerIteration) / median(times) / 1e9;
}

const median = (values) => { const s = [...values].sort((x, y) => x - y); return s[s.length >> 1]; };

/** Median seconds per call, over `runs` interleaved samples per contender, after a warm-up that lets TurboFan tier up. */
function measure(runners, n) {
  const samples = runners.map(() => []);
  const repsFor = runners.map((runner) => {
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < 300 || calls < 3) { runner.run(); calls++; } // warm-up (wasm-notes 12)
    const perCall = (performance.now() - start) / calls;
    return Math.max(1, Math.round(25 / perCall)); // each sample at least ~25 ms, so timer resolution does not matter
  });
  for (let round = 0; round < options.runs; round++) {
    runners.forEach((runner, r) => {
      const start = performance.now();
      for (let i = 0; i < repsFor[r]; i++) runner.run();
      samples[r].push((performance.now() - start) / repsFor[r] / 1000);
    });
  }
  return samples.map(median);
}

const contenders = [await loadKernel('relaxed'), await loadKernel('simd'), await loadTfjs()];
console.log(`gemm_f32 single thread vs @tensorflow/tfjs-backend-wasm ${contenders[2].version}; ${cpus()[0].model}, ` +
  `Node ${process.version}; median of ${options.runs} interleaved samples after warm-up; GFLOP/s = 2N^3 / time`);
const roof = await measureFmaRoof();
console.log(`FMA roof of one core (register-only relaxed_madd loop): ${roof.toFixed(1)} GFLOP/s`);
const header = ['N', 'relaxed', 'simd', 'tfjs-wasm', 'relaxed/tfjs', 'simd/tfjs', 'relaxed/roof', 'max rel. diff'];
console.log(header.map((h) => h.padStart(14)).join(''));

let seed = 12345;
const random = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
for (const n of options.sizes) {
  const aValues = Float32Array.from({ length: n * n }, random);
  const bValues = Float32Array.from({ length: n * n }, random);
  const runners = contenders.map((c) => c.prepare(n, aValues, bValues));
  const seconds = measure(runners, n);
  const gflops = seconds.map((s) => (2 * n ** 3) / s / 1e9);
  // A sanity check that every contender computed the same product.
  const results = runners.map((r) => r.result());
  let scale = 0, worst = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(results[2][i]));
  for (const other of results.slice(0, 2)) for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs(other[i] - results[2][i]) / scale);
  const cells = [n, ...gflops.map((g) => g.toFixed(1)), (gflops[0] / gflops[2]).toFixed(2) + 'x', (gflops[1] / gflops[2]).toFixed(2) + 'x',
    Math.round((100 * gflops[0]) / roof) + '%', worst.toExponential(1)];
  console.log(cells.map((c) => String(c).padStart(14)).join(''));
}
