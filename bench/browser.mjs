// npm run bench:browser: matmul (N = 256, 1024) and the lecture loop in headless Chromium, wasmtorch beside tfjs-backend-wasm and onnxruntime-web (all threaded) in one isolated page.
//
//   node bench/browser.mjs [--sizes 256,1024]
//
// The page is bundled here with esbuild (the peers' .wasm files are served from node_modules), opened in
// Debian's Chromium through playwright-core, and its results printed as tables and saved under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startServer } from '../examples/web/serve.mjs';
import { launchChromium } from '../test/browser/chromium.mjs';
import { table } from './stats.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const sizesArgument = process.argv.indexOf('--sizes');
const sizes = sizesArgument >= 0 ? process.argv[sizesArgument + 1] : '256,1024';
const out = `${root}build/bench-browser`;

// bench/peers/onnx-matmul.mjs is a Node CLI too; in the page only its model writer is used.
const nodeShims = {
  name: 'node-shims',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-shim' }));
    build.onLoad({ filter: /.*/, namespace: 'node-shim' }, () => ({
      contents: 'export const createRequire = () => () => { throw new Error("not in a browser"); }; export const dirname = (p) => p; export const pathToFileURL = (p) => new URL(p, location.href);',
      loader: 'js',
    }));
  },
};
await esbuild.build({
  entryPoints: [`${root}bench/browser-page.js`], bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
  outfile: `${out}/page.js`, plugins: [nodeShims], define: { 'process.argv': '[]' }, logLevel: 'error',
});
writeFileSync(`${out}/index.html`, '<!doctype html><meta charset="utf-8"><title>wasmtorch browser bench</title><pre><script type="module" src="./page.js"></script>');

const server = await startServer({ isolated: true });
const browser = await launchChromium();
let results;
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'log') console.log(`  ${message.text()}`); });
  await page.goto(`${server.url}/build/bench-browser/?sizes=${sizes}`);
  await page.waitForFunction(() => globalThis.benchResults || globalThis.benchError, null, { timeout: 540_000, polling: 500 });
  const error = await page.evaluate(() => globalThis.benchError);
  if (error) throw new Error(`the bench page failed: ${error}`);
  results = await page.evaluate(() => globalThis.benchResults);
} finally {
  await browser.close();
  await server.close();
}

const info = results.wasmtorch;
console.log(`\n${results.userAgent.match(/Chrome\/\S+/)?.[0] ?? 'Chromium'}, ${results.cores} cores, cross-origin isolated: ${results.crossOriginIsolated}`);
console.log(`wasmtorch ${info.kernels} kernels, ${info.threads} threads; tfjs-backend-wasm ${results.tfjs.version} (${results.tfjs.threads} threads, ` +
  `multithread ${results.tfjs.multithread}); onnxruntime-web ${results.onnx.version} (numThreads ${results.onnx.threads})`);
console.log('\nmatmul, float32, GFLOP/s (median of 7 samples; the machine is shared, so figures are noisy)');
console.log(table(['N', `ours ${results.cores}T`, 'ours 1T', `tfjs ${results.tfjs.threads}T`, `ort ${results.onnx.threads}T`, 'ours / faster peer'],
  results.matmul.map((r) => [r.n, r.oursAll.toFixed(1), r.oursOne.toFixed(1), r.tfjs.toFixed(1), r.onnx.toFixed(1), (r.oursAll / Math.max(r.tfjs, r.onnx)).toFixed(2)])));
const lecture = results.lecture;
console.log(`\nlecture two-layer net (N=64, D_in=1000, H=100, D_out=10), autograd + SGD, ms per step (median)`);
console.log(table(['library', 'ms/step', 'tfjs time / this'], [
  [`wasmtorch, ${results.cores} threads`, lecture.oursAll.toFixed(3), (lecture.tfjs / lecture.oursAll).toFixed(2)],
  ['wasmtorch, 1 thread', lecture.oursOne.toFixed(3), (lecture.tfjs / lecture.oursOne).toFixed(2)],
  [`tfjs-backend-wasm (${results.tfjs.threads} threads, backward by hand)`, lecture.tfjs.toFixed(3), '1.00'],
]));
mkdirSync(`${root}bench/results`, { recursive: true });
const file = `${root}bench/results/browser-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nsaved ${file}`);
