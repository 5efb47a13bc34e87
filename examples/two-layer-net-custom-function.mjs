// The lecture's two-layer network with a custom autograd Function (PyTorch's "Learning PyTorch with
// examples: Defining new autograd functions", CS231n lecture 6), ported line by line.
//
//   node examples/two-layer-net-custom-function.mjs
//
// The same network as two-layer-net-autograd.mjs, but the ReLU is our own autograd operator, MyReLU,
// with its own forward and backward.
import { pathToFileURL } from 'node:url';
import * as torch from 'wasmtorch';

/**
 * We can implement our own custom autograd Functions by subclassing torch.autograd.Function and
 * implementing the forward and backward passes which operate on Tensors.
 */
export class MyReLU extends torch.autograd.Function {
  /**
   * In the forward pass we receive a Tensor containing the input and return a Tensor containing the
   * output. ctx is a context object that can be used to stash information for backward computation. You
   * can cache arbitrary objects for use in the backward pass using the ctx.saveForBackward method.
   */
  static forward(ctx, input) {
    ctx.saveForBackward(input);
    return input.clamp({ min: 0 });
  }

  /**
   * In the backward pass we receive a Tensor containing the gradient of the loss with respect to the
   * output, and we need to compute the gradient of the loss with respect to the input.
   */
  static backward(ctx, gradOutput) {
    const [input] = ctx.savedTensors;
    const gradInput = gradOutput.clone();
    gradInput.maskedFill_(input.lt(0), 0); // grad_input[input < 0] = 0
    return gradInput;
  }
}

/**
 * Runs `steps` steps of gradient descent on w1 and w2 (leaves with requiresGrad), updating them in place.
 * Calls onStep(t, loss) after each step's loss is known and returns every step's loss. Each step's
 * temporaries (and its graph) are freed at the end of its torch.tidy; w1.grad and w2.grad stay.
 */
export function train({ x, y, w1, w2, steps = 500, learningRate = 1e-6, onStep }) {
  const losses = [];
  for (let t = 0; t < steps; t++) {
    torch.tidy(() => {
      // To apply our Function, we use Function.apply method. We alias this as 'relu'.
      const relu = (input) => MyReLU.apply(input);

      // Forward pass: compute predicted y using operations; we compute ReLU using our custom autograd
      // operation.
      const yPred = relu(x.mm(w1)).mm(w2);

      // Compute and print loss
      const loss = yPred.sub(y).pow(2).sum();
      losses.push(loss.item());
      onStep?.(t, losses[t]);

      // Use autograd to compute the backward pass.
      loss.backward();

      // Update weights using gradient descent
      torch.noGrad(() => {
        w1.sub_(w1.grad.mul(learningRate));
        w2.sub_(w2.grad.mul(learningRate));

        // Manually zero the gradients after updating weights
        w1.grad.zero_();
        w2.grad.zero_();
      });
    });
  }
  return losses;
}

export function main({ steps = 500 } = {}) {
  torch.manualSeed(0);
  // N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
  const [N, D_in, H, D_out] = [64, 1000, 100, 10];

  // Create random Tensors to hold input and outputs.
  const x = torch.randn(N, D_in);
  const y = torch.randn(N, D_out);

  // Create random Tensors for weights.
  const w1 = torch.randn(D_in, H, { requiresGrad: true });
  const w2 = torch.randn(H, D_out, { requiresGrad: true });

  const learningRate = 1e-6;
  const started = performance.now();
  const losses = train({
    x, y, w1, w2, steps, learningRate,
    onStep: (t, loss) => { if (t % 100 === 99) console.log(t, loss); },
  });
  const msPerStep = (performance.now() - started) / steps;
  console.log(`final loss ${losses.at(-1).toExponential(4)} after ${steps} steps, ${msPerStep.toFixed(3)} ms per step ` +
    `(${torch.backend.info().kernels} kernels)`);
  torch.dispose(x, y, w1.grad, w2.grad, w1, w2);
  return losses;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
