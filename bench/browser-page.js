// The browser bench page (bundled by bench/browser.mjs): matmul and the lecture loop in wasmtorch, tfjs-backend-wasm and onnxruntime-web, in one cross-origin isolated page.
import * as torch from 'wasmtorch';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { matmulModel } from './peers/onnx-matmul.mjs';
import { timePerCall } from './stats.mjs';

const parameters = new URLSearchParams(location.search);
const sizes = (parameters.get('sizes') ?? '256,1024').split(',').map(Number);
const cores = navigator.hardwareConcurrency;
const log = (text) => { document.body.append(`${text}\n`); console.log(text); };
const [N, Din, H, Dout] = [64, 1000, 100, 10];
const learningRate = 1e-6;

function randomData(length, seed) {
  const values = new Float32Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    values[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return values;
}

async function wasmtorchMatmul(n, threads) {
  await torch.setNumThreads(threads);
  const a = torch.randn(n, n), b = torch.randn(n, n);
  const seconds = await timePerCall(() => { torch.mm(a, b).dispose(); });
  torch.dispose(a, b);
  return (2 * n ** 3) / seconds / 1e9;
}

async function wasmtorchLecture(threads) {
  await torch.setNumThreads(threads);
  torch.manualSeed(0);
  const x = torch.randn(N, Din), y = torch.randn(N, Dout);
  const w1 = torch.randn(Din, H, { requiresGrad: true }), w2 = torch.randn(H, Dout, { requiresGrad: true });
  const step = () => torch.tidy(() => {
    const loss = x.mm(w1).clamp({ min: 0 }).mm(w2).sub(y).pow(2).sum();
    loss.item();
    loss.backward();
    torch.noGrad(() => {
      w1.sub_(w1.grad.mul(learningRate));
      w2.sub_(w2.grad.mul(learningRate));
      w1.grad.zero_();
      w2.grad.zero_();
    });
  });
  const seconds = await timePerCall(step, { samples: 7, minimumSeconds: 0.3 });
  torch.dispose(x, y, w1.grad, w2.grad, w1, w2);
  return seconds * 1e3;
}

async function tfjsMatmul(n) {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  const seconds = await timePerCall(() => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); });
  a.dispose(); b.dispose();
  return (2 * n ** 3) / seconds / 1e9;
}

/** The same loop as bench/lecture.mjs: tfjs-core alone registers no gradients, so the backward is written out. */
async function tfjsLecture() {
  const x = tf.randomNormal([N, Din]), y = tf.randomNormal([N, Dout]);
  const w1 = tf.variable(tf.randomNormal([Din, H])), w2 = tf.variable(tf.randomNormal([H, Dout]));
  const step = () => tf.tidy(() => {
    const h = tf.matMul(x, w1);
    const hRelu = tf.relu(h);
    const yPred = tf.matMul(hRelu, w2);
    const diff = tf.sub(yPred, y);
    tf.sum(tf.square(diff)).dataSync();
    const gradYPred = tf.mul(diff, 2);
    const gradW2 = tf.matMul(hRelu, gradYPred, true, false);
    const gradH = tf.mul(tf.matMul(gradYPred, w2, false, true), tf.step(h));
    const gradW1 = tf.matMul(x, gradH, true, false);
    w1.assign(tf.sub(w1, tf.mul(gradW1, learningRate)));
    w2.assign(tf.sub(w2, tf.mul(gradW2, learningRate)));
    w2.dataSync();
  });
  const seconds = await timePerCall(step, { samples: 5, minimumSeconds: 0.3 });
  tf.dispose([x, y, w1, w2]);
  return seconds * 1e3;
}

async function onnxMatmul(ort, n) {
  const session = await ort.InferenceSession.create(matmulModel(n), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const feeds = {
    A: new ort.Tensor('float32', randomData(n * n, 1 + n), [n, n]),
    B: new ort.Tensor('float32', randomData(n * n, 2 + n), [n, n]),
  };
  const seconds = await timePerCall(async () => { (await session.run(feeds)).C.dispose?.(); });
  await session.release();
  return (2 * n ** 3) / seconds / 1e9;
}

async function run() {
  const results = { userAgent: navigator.userAgent, cores, crossOriginIsolated, matmul: [], lecture: {} };
  results.wasmtorch = torch.backend.info();

  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  setThreadsCount(cores);
  await tf.setBackend('wasm');
  await tf.ready();
  results.tfjs = { version: tf.version_core, threads: getThreadsCount(), multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') };
  log(`tfjs-backend-wasm ${tf.version_core}: ${results.tfjs.threads} threads`);

  // onnxruntime-web is loaded from its own files (it fetches its .wasm and glue next to itself).
  const ortUrl = '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
  const ort = await import(/* @vite-ignore */ ortUrl);
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = cores;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  results.onnx = { version: ort.env.versions?.web ?? 'unknown', threads: cores };

  for (const n of sizes) {
    const row = { n };
    row.oursAll = await wasmtorchMatmul(n, cores);
    row.oursOne = await wasmtorchMatmul(n, 1);
    row.tfjs = await tfjsMatmul(n);
    row.onnx = await onnxMatmul(ort, n);
    results.matmul.push(row);
    log(`matmul ${n}: ${JSON.stringify(row)}`);
  }
  results.lecture.oursAll = await wasmtorchLecture(cores);
  results.lecture.oursOne = await wasmtorchLecture(1);
  results.lecture.tfjs = await tfjsLecture();
  log(`lecture: ${JSON.stringify(results.lecture)}`);
  await torch.setNumThreads(cores);
  return results;
}

run().then((results) => { globalThis.benchResults = results; }, (error) => { globalThis.benchError = String(error?.stack ?? error); });
