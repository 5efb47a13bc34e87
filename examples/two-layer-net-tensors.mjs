// The lecture's two-layer network on tensors with a hand-written backward pass (PyTorch's "Tensors" example, line by line).
import * as torch from 'wasmtorch';

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
for (let t = 0; t < 500; t++) {
  // Each step's temporaries are freed at the end of tidy (WebAssembly memory is not garbage-collected).
  torch.tidy(() => {
    // Forward pass: compute predicted y
    const h = x.mm(w1);
    const hRelu = h.clamp({ min: 0 });
    const yPred = hRelu.mm(w2);

    // Compute and print loss
    const loss = yPred.sub(y).pow(2).sum().item();
    if (t % 100 === 99 || t === 0) console.log(`step ${String(t).padStart(3)}  loss ${loss.toExponential(4)}`);

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
const elapsed = performance.now() - started;
console.log(`500 steps in ${elapsed.toFixed(0)} ms (${(elapsed / 500).toFixed(3)} ms per step) on ${torch.backend.info().kernels} kernels`);
