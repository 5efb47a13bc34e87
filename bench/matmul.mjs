// Single-thread float32 matmul through the public API (torch.mm) beside tfjs-backend-wasm, in one process.
import * as torch from 'wasmtorch';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { table, timePerCall } from './stats.mjs';

const sizes = (process.argv[2] ?? '64,128,256,512,1024,2048').split(',').map(Number);
await tf.setBackend('wasm');
await tf.ready();

const rows = [];
for (const n of sizes) {
  const flops = 2 * n ** 3;
  const a = torch.randn(n, n), b = torch.randn(n, n);
  const ours = await timePerCall(() => { torch.mm(a, b).dispose(); });
  const ta = tf.randomNormal([n, n]), tb = tf.randomNormal([n, n]);
  const theirs = await timePerCall(() => { const c = tf.matMul(ta, tb); c.dataSync(); c.dispose(); });
  // The transposed product backward needs (A^T B): free for us, a scalar loop for tfjs.
  const oursTransposed = await timePerCall(() => { torch.mm(a.t(), b).dispose(); });
  rows.push([n, (flops / ours / 1e9).toFixed(1), (flops / oursTransposed / 1e9).toFixed(1), (flops / theirs / 1e9).toFixed(1), (theirs / ours).toFixed(2)]);
  a.dispose(); b.dispose(); ta.dispose(); tb.dispose();
}
const info = torch.backend.info();
console.log(`\nmatmul, float32, 1 thread, GFLOP/s (median of 7) — wasmtorch ${info.kernels} kernels vs tfjs-backend-wasm ${tf.version_core}`);
console.log(table(['N', 'wasmtorch mm', 'wasmtorch mm(Aᵀ,B)', 'tfjs-wasm', 'ratio'], rows));
