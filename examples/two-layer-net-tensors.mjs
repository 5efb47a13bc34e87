// The lecture's two-layer network on tensors with a hand-written backward pass
// (PyTorch's "Learning PyTorch with examples: Tensors", CS231n lecture 6), ported line by line.
//
//   node examples/two-layer-net-tensors.mjs
//
// A fully-connected ReLU network with one hidden layer and no biases, trained to predict y from x by
// minimizing squared Euclidean distance. The forward and the backward pass are computed by hand with
// tensor operations; no autograd.
import { pathToFileURL } from 'node:url';
import * as torch from 'wasmtorch';

/**
 * Runs `steps` steps of gradient descent, updating w1 and w2 in place. Calls onStep(t, loss) after each
 * step's loss is known and returns every step's loss. Each step's temporaries are freed at the end of its
 * torch.tidy (WebAssembly memory is not garbage-collected).
 */
export function train({ x, y, w1, w2, steps = 500, learningRate = 1e-6, onStep }) {
  const losses = [];
  for (let t = 0; t < steps; t++) {
    torch.tidy(() => {
      // Forward pass: compute predicted y
      const h = x.mm(w1);
      const hRelu = h.clamp({ min: 0 });
      const yPred = hRelu.mm(w2);

      // Compute and print loss
      const loss = yPred.sub(y).pow(2).sum().item();
      losses.push(loss);
      onStep?.(t, loss);

      // Backprop to compute gradients of w1 and w2 with respect to loss
      const gradYPred = yPred.sub(y).mul(2.0);
      const gradW2 = hRelu.t().mm(gradYPred);
      const gradHRelu = gradYPred.mm(w2.t());
      const gradH = gradHRelu.clone();
      gradH.maskedFill_(h.lt(0), 0); // grad_h[h < 0] = 0
      const gradW1 = x.t().mm(gradH);

      // Update weights using gradient descent
      w1.sub_(gradW1.mul(learningRate));
      w2.sub_(gradW2.mul(learningRate));
    });
  }
  return losses;
}

export function main({ steps = 500 } = {}) {
  torch.manualSeed(0);
  // N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
  const [N, D_in, H, D_out] = [64, 1000, 100, 10];

  // Create random input and output data
  const x = torch.randn(N, D_in);
  const y = torch.randn(N, D_out);

  // Randomly initialize weights
  const w1 = torch.randn(D_in, H);
  const w2 = torch.randn(H, D_out);

  const learningRate = 1e-6;
  const started = performance.now();
  const losses = train({
    x, y, w1, w2, steps, learningRate,
    onStep: (t, loss) => { if (t % 100 === 99) console.log(t, loss); },
  });
  const msPerStep = (performance.now() - started) / steps;
  console.log(`final loss ${losses.at(-1).toExponential(4)} after ${steps} steps, ${msPerStep.toFixed(3)} ms per step ` +
    `(${torch.backend.info().kernels} kernels)`);
  torch.dispose(x, y, w1, w2);
  return losses;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
