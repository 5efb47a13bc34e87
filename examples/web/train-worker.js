// The demo's model worker: wasmtorch runs here (threads need no main thread), exposed to the page through wasmtorch/worker.
//
// A plain module worker, no bundler: it imports the package's browser build by path. With a bundler the
// imports are just 'wasmtorch' and 'wasmtorch/worker'.
import * as torch from '../../dist/browser.js';
import { expose } from '../../dist/worker.browser.js';

let stopRequested = false;

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

await expose({
  info: () => torch.backend.info(),
  trainLecture,
  stop: () => { stopRequested = true; },
});
