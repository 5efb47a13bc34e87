// The lecture's two-layer network with autograd (PyTorch's "Learning PyTorch with examples: Tensors and
// autograd", CS231n lecture 6), ported line by line.
//
//   node examples/two-layer-net-autograd.mjs
//
// The same network as two-layer-net-tensors.mjs, but the backward pass is computed by autograd: the
// forward pass records a graph, and loss.backward() fills w1.grad and w2.grad.
import { pathToFileURL } from 'node:url';
import * as torch from 'wasmtorch';

/**
 * Runs `steps` steps of gradient descent on w1 and w2 (leaves with requiresGrad), updating them in place.
 * Calls onStep(t, loss) after each step's loss is known and returns every step's loss. Each step's
 * temporaries (and its graph) are freed at the end of its torch.tidy; w1.grad and w2.grad stay.
 */
export function train({ x, y, w1, w2, steps = 500, learningRate = 1e-6, onStep }) {
  const losses = [];
  for (let t = 0; t < steps; t++) {
    torch.tidy(() => {
      // Forward pass: compute predicted y using operations on Tensors; these are exactly the same operations
      // we used to compute the forward pass using Tensors, but we do not need to keep references to
      // intermediate values since we are not implementing the backward pass by hand.
      const yPred = x.mm(w1).clamp({ min: 0 }).mm(w2);

      // Compute and print loss using operations on Tensors.
      // Now loss is a Tensor of shape [] and loss.item() gets the number it holds.
      const loss = yPred.sub(y).pow(2).sum();
      losses.push(loss.item());
      onStep?.(t, losses[t]);

      // Use autograd to compute the backward pass. This call will compute the gradient of loss with respect
      // to all Tensors with requiresGrad: true. After this call w1.grad and w2.grad will be Tensors holding
      // the gradient of the loss with respect to w1 and w2 respectively.
      loss.backward();

      // Manually update weights using gradient descent. Wrap in torch.noGrad because weights have
      // requiresGrad: true, but we don't need to track this in autograd.
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
  // Setting requiresGrad: false indicates that we do not need to compute gradients with respect to these
  // Tensors during the backward pass (false is the default).
  const x = torch.randn(N, D_in);
  const y = torch.randn(N, D_out);

  // Create random Tensors for weights.
  // Setting requiresGrad: true indicates that we want to compute gradients with respect to these Tensors
  // during the backward pass.
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
