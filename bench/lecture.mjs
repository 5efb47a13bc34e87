// The lecture's two-layer net (autograd + SGD), ms per step, beside tfjs-backend-wasm and (where installed) PyTorch.
import * as torch from 'wasmtorch';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadavg } from 'node:os';
import { runPytorch, table, timePerCall } from './stats.mjs';

const [N, Din, H, Dout] = [64, 1000, 100, 10];
const learningRate = 1e-6;

function wasmtorchStep(x, y, w1, w2) {
  torch.tidy(() => {
    const yPred = x.mm(w1).clamp({ min: 0 }).mm(w2);
    const loss = yPred.sub(y).pow(2).sum();
    loss.backward();
    torch.noGrad(() => {
      w1.sub_(w1.grad.mul(learningRate));
      w2.sub_(w2.grad.mul(learningRate));
      w1.grad.zero_();
      w2.grad.zero_();
    });
  });
}

async function measureWasmtorch(threads) {
  await torch.setNumThreads(threads);
  torch.manualSeed(0);
  const x = torch.randn(N, Din), y = torch.randn(N, Dout);
  const w1 = torch.randn(Din, H, { requiresGrad: true }), w2 = torch.randn(H, Dout, { requiresGrad: true });
  const perStep = await timePerCall(() => wasmtorchStep(x, y, w1, w2), { samples: 7, minimumSeconds: 0.3 });
  // Op overhead: an add of two [64, 100] tensors with grad recording.
  const a = torch.randn(64, 100, { requiresGrad: true }), b = torch.randn(64, 100);
  const add = await timePerCall(() => { a.add(b).dispose(); }, { samples: 7, minimumSeconds: 0.2 });
  const addNoGrad = await timePerCall(() => { torch.noGrad(() => a.add(b)).dispose(); }, { samples: 7, minimumSeconds: 0.2 });
  return { perStep, add, addNoGrad };
}

async function measureTfjs() {
  await tf.setBackend('wasm');
  const x = tf.randomNormal([N, Din]), y = tf.randomNormal([N, Dout]);
  const w1 = tf.variable(tf.randomNormal([Din, H])), w2 = tf.variable(tf.randomNormal([H, Dout]));
  // tfjs-core alone registers no gradients in Node (the umbrella package does), so the backward is written
  // out with the same transposed matMuls its gradient functions run.
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
  return timePerCall(step, { samples: 5, minimumSeconds: 0.3 });
}

function measurePytorch() {
  const script = `
import torch
torch.set_num_threads(1)
torch.manual_seed(0)
x = torch.randn(${N}, ${Din}); y = torch.randn(${N}, ${Dout})
w1 = torch.randn(${Din}, ${H}, requires_grad=True); w2 = torch.randn(${H}, ${Dout}, requires_grad=True)
def step():
    global w1, w2
    loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w1 -= ${learningRate} * w1.grad; w2 -= ${learningRate} * w2.grad
        w1.grad.zero_(); w2.grad.zero_()
`;
  return runPytorch(script, { samples: 5, calls: 100 });
}

// The core count is read before measureWasmtorch(1) sets one thread (getNumThreads then answers 1).
const cores = torch.getNumThreads();
const loadBefore = loadavg()[0];
const ours = await measureWasmtorch(1);
const oursTwo = await measureWasmtorch(Math.min(2, cores));
const tfjs = await measureTfjs();
const pytorch = measurePytorch();
const info = torch.backend.info();
console.log(`\nlecture two-layer net (N=${N}, D_in=${Din}, H=${H}, D_out=${Dout}), autograd + SGD, ms per step (median)`);
const rows = [
  [`wasmtorch (${info.kernels} kernels), 1 thread`, (ours.perStep * 1e3).toFixed(3), '1.00'],
  [`wasmtorch (${info.kernels} kernels), 2 threads`, (oursTwo.perStep * 1e3).toFixed(3), (oursTwo.perStep / ours.perStep).toFixed(2)],
  [`tfjs-backend-wasm ${tf.version_core} (tidy, backward by hand)`, (tfjs * 1e3).toFixed(3), (tfjs / ours.perStep).toFixed(2)],
];
if (pytorch !== null) rows.push(['PyTorch (Debian, 1 thread)', pytorch.toFixed(3), (pytorch / 1e3 / ours.perStep).toFixed(2)]);
console.log(table(['library', 'ms/step', 'their time / ours'], rows));
// Other processes wanting the cores slow the 2-thread figure most (a descheduled worker holds up the caller):
// the load says whether the figures above come from a quiet machine.
console.log(`machine: ${cores} cores, 1-minute load average ${loadBefore.toFixed(2)} before and ${loadavg()[0].toFixed(2)} after (this process included)`);
console.log(`op overhead: add of two [64,100] tensors, recording grad: ${(ours.add * 1e6).toFixed(2)} µs on 1 thread, ${(oursTwo.add * 1e6).toFixed(2)} µs on 2; ` +
  `under noGrad: ${(ours.addNoGrad * 1e6).toFixed(2)} µs on 1 thread, ${(oursTwo.addNoGrad * 1e6).toFixed(2)} µs on 2`);
