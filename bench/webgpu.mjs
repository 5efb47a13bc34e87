// npm run bench -- --device webgpu: matmul on the WebGPU device beside tfjs-backend-webgpu, N = 1024…4096, in one process. On SwiftShader (no GPU) the figures mean nothing and are printed labelled so.
import * as torch from '../dist/index.js';
import { median } from './stats.mjs';

if (!(await torch.webgpu.isAvailable())) {
  console.log(`webgpu bench: no device (${torch.webgpu.unavailableReason()}); not measured`);
  process.exit(0);
}
const adapter = torch.webgpu.adapterInfo();
const software = /swiftshader|llvmpipe|software/i.test(adapter);
const sizes = (process.env.BENCH_WEBGPU_SIZES ?? (software ? '256,512' : '1024,2048,4096')).split(',').map(Number);
const repeats = software ? 3 : 10;

/** Seconds per product: `inner` products recorded back to back, then one synchronize, medians of `repeats`. */
async function timeProducts(run, synchronize, inner) {
  await run(); await synchronize(); // pipelines compiled, buffers pooled
  const samples = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < inner; i++) await run();
    await synchronize();
    samples.push((performance.now() - start) / 1000 / inner);
  }
  return median(samples);
}

// tfjs-backend-webgpu looks for navigator.gpu; in Node the webgpu package provides it.
let tf = null;
try {
  if (!globalThis.navigator?.gpu) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]), userAgent: 'node' }, configurable: true });
  }
  tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) tf = null;
  else await tf.ready();
} catch (error) {
  console.log(`tfjs-backend-webgpu unavailable here: ${error.message.split('\n')[0]}`);
  tf = null;
}

console.log(`\nmatmul on WebGPU, GFLOP/s (adapter: ${adapter})${software ? ' — SOFTWARE RENDERER (SwiftShader): these figures mean nothing about GPUs' : ''}`);
console.log('| N | wasmtorch webgpu | tfjs-backend-webgpu | ratio |');
console.log('|---|---|---|---|');
for (const n of sizes) {
  const inner = software ? 1 : 5;
  const a = torch.randn(n, n, { device: 'webgpu' }), b = torch.randn(n, n, { device: 'webgpu' });
  const ours = await timeProducts(() => { torch.mm(a, b).dispose(); }, () => torch.webgpu.synchronize(), inner);
  torch.dispose(a, b);
  let theirs = NaN;
  if (tf) {
    const ta = tf.randomNormal([n, n]), tb = tf.randomNormal([n, n]);
    theirs = await timeProducts(() => { tf.matMul(ta, tb).dispose(); }, async () => { const t = tf.matMul(ta, tb); await t.data(); t.dispose(); }, inner);
    tf.dispose([ta, tb]);
  }
  const flops = 2 * n ** 3;
  const gflops = (seconds) => (Number.isNaN(seconds) ? 'n/a' : (flops / seconds / 1e9).toFixed(1));
  console.log(`| ${n} | ${gflops(ours)} | ${gflops(theirs)} | ${Number.isNaN(theirs) ? 'n/a' : (theirs / ours).toFixed(2)} |`);
}
process.exit(0);
