// float32 matmul through the public API (torch.mm) on 1 and 2 threads, beside tfjs-backend-wasm and onnxruntime-web, in one run.
import * as torch from 'wasmtorch';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { table, timePerCall } from './stats.mjs';

const sizes = (process.argv[2] ?? '64,128,256,512,1024,2048').split(',').map(Number);
const withPeers = process.env.BENCH_PEERS !== '0';
await tf.setBackend('wasm');
await tf.ready();

async function ours(n, threads, transposed = false) {
  await torch.setNumThreads(threads);
  const a = torch.randn(n, n), b = torch.randn(n, n);
  const left = transposed ? a.t() : a;
  const seconds = await timePerCall(() => { torch.mm(left, b).dispose(); });
  torch.dispose(a, b, left);
  return (2 * n ** 3) / seconds / 1e9;
}

async function tfjs(n) {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  const seconds = await timePerCall(() => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); });
  a.dispose(); b.dispose();
  return (2 * n ** 3) / seconds / 1e9;
}

/** onnxruntime-web's thread count is global to its process: one child process per count. */
function onnx(threads) {
  const script = new URL('./peers/onnx-matmul.mjs', import.meta.url).pathname;
  if (!withPeers || !existsSync(script)) return null;
  try {
    const output = execFileSync(process.execPath, [script, String(threads), sizes.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return new Map(JSON.parse(output.trim().split('\n').pop()).map((r) => [r.n, r.gflops]));
  } catch {
    return null;
  }
}

const cores = torch.getNumThreads();
const onnxOne = onnx(1), onnxTwo = onnx(2);
const rows = [];
for (const n of sizes) {
  const one = await ours(n, 1), two = await ours(n, Math.min(2, cores)), twoTransposed = await ours(n, Math.min(2, cores), true);
  const peer = await tfjs(n);
  const ortTwo = onnxTwo?.get(n);
  rows.push([n, one.toFixed(1), two.toFixed(1), twoTransposed.toFixed(1), peer.toFixed(1), onnxOne?.get(n)?.toFixed(1) ?? '—', ortTwo?.toFixed(1) ?? '—',
    (one / peer).toFixed(2), ortTwo ? (two / ortTwo).toFixed(2) : '—']);
}
await torch.setNumThreads(cores);
const info = torch.backend.info();
console.log(`\nmatmul, float32, GFLOP/s (median of 7) — wasmtorch ${info.kernels} kernels; tfjs-backend-wasm ${tf.version_core} (1 thread, as in Node); onnxruntime-web`);
console.log(table(['N', 'ours 1T', 'ours 2T', 'ours 2T Aᵀ·B', 'tfjs 1T', 'ort 1T', 'ort 2T', 'ours/tfjs 1T', 'ours/ort 2T'], rows));
