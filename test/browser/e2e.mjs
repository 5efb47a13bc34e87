// End-to-end checks in headless Chromium: the demo page trains and draws (screenshots saved), and apps bundled by esbuild and by Vite import 'wasmtorch' with no configuration.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startServer } from '../../examples/web/serve.mjs';
import { launchChromium } from './chromium.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = `${root}build/browser`;
mkdirSync(artifacts, { recursive: true });

const results = [];
async function check(name, body) {
  const started = performance.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`  ✗ ${name}\n    ${String(error?.stack ?? error).split('\n').join('\n    ')}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await launchChromium();
try {
  for (const isolated of [true, false]) {
    const server = await startServer({ isolated });
    const label = isolated ? 'isolated page' : 'page that is not isolated';
    try {
      await check(`demo (${label}): trains in the worker, the loss falls, the chart drew`, async () => {
        const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
        const errors = [];
        const warnings = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (message) => { if (message.type() === 'warning' && message.text().startsWith('wasmtorch')) warnings.push(message.text()); });
        await page.goto(`${server.url}/examples/web/?autostart&steps=60`);
        await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 120_000 });
        const state = await page.evaluate(() => {
          const canvas = document.getElementById('chart');
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let line = 0; // pixels of the loss line's blue
          for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 2] > 180 && pixels[i] < 90 && pixels[i + 3] > 200) line++;
          const text = (id) => document.getElementById(id).textContent;
          return { status: text('status'), state: document.getElementById('status').dataset.state, line, threads: text('threads'),
            simd: text('simd'), relaxed: text('relaxed'), isolated: text('isolated'), stepTime: text('step-time'), step: text('step'),
            cores: navigator.hardwareConcurrency };
        });
        const screenshot = `${artifacts}/demo-${isolated ? 'isolated' : 'not-isolated'}.png`;
        await page.screenshot({ path: screenshot, fullPage: true });
        await page.close();
        console.log(`    ${state.status}; threads ${state.threads}; step time ${state.stepTime}; screenshot ${screenshot}`);
        assert(state.state === 'done', `the demo did not finish: ${state.status}`);
        const [first, last] = state.status.match(/loss (\S+) → (\S+);/).slice(1).map(Number);
        assert(last < first / 10, `the loss did not fall: ${first} → ${last}`);
        assert(state.step === '60', `expected 60 steps shown, got ${state.step}`);
        assert(state.line > 300, `the chart has only ${state.line} pixels of the loss line`);
        assert(state.simd === 'yes' && state.relaxed.startsWith('yes'), `SIMD readouts: ${state.simd}, ${state.relaxed}`);
        assert(/ms \(median/.test(state.stepTime), `no step time: ${state.stepTime}`);
        assert(state.isolated === String(isolated), `isolation readout ${state.isolated}`);
        const threads = Number(state.threads.split(' ')[0]);
        assert(isolated ? threads === state.cores && threads > 1 : threads === 1, `threads ${state.threads} in the ${label}`);
        assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
        // The page and its worker each start a runtime; each warns once at most, never per op.
        assert(warnings.length <= (isolated ? 0 : 2), `console warnings: ${warnings.length}`);
      });
    } finally {
      await server.close();
    }
  }

  // Zero configuration from a bundler: bare 'wasmtorch' and 'wasmtorch/worker' imports, the browser condition,
  // the defaults of esbuild and of Vite's production build.
  const bundlers = {
    esbuild: async (out) => {
      await esbuild.build({
        entryPoints: [`${root}test/browser/bundler/entry.js`], bundle: true, format: 'esm', platform: 'browser',
        target: 'es2022', outdir: out, logLevel: 'warning',
      });
      writeFileSync(`${out}/index.html`, '<!doctype html><script type="module" src="./entry.js"></script>');
    },
    vite: async (out) => {
      const { build } = await import('vite');
      const source = `${out}-source`;
      mkdirSync(source, { recursive: true });
      writeFileSync(`${source}/index.html`, `<!doctype html><script type="module" src="${root}test/browser/bundler/entry.js"></script>`);
      await build({ root: source, base: './', configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    },
  };
  const server = await startServer({ isolated: true });
  try {
    for (const [bundler, bundle] of Object.entries(bundlers)) {
      await check(`an app bundled by ${bundler}, \`import * as torch from 'wasmtorch'\` runs with threads, nothing else to host`, async () => {
        const out = `${root}build/browser/${bundler}-app`;
        rmSync(out, { recursive: true, force: true });
        await bundle(out);
        const page = await browser.newPage();
        const errors = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`${server.url}/build/browser/${bundler}-app/`);
        await page.waitForFunction(() => globalThis.bundlerResult, null, { timeout: 60_000 });
        const result = await page.evaluate(() => globalThis.bundlerResult);
        await page.close();
        assert(JSON.stringify(result.product) === '[[7,10],[15,22]]', `product ${JSON.stringify(result.product)}`);
        assert(JSON.stringify(result.crossed) === '[[7,10],[15,22]]', `crossed ${JSON.stringify(result.crossed)}`);
        assert(result.info.threads > 1 && result.info.kernels === 'relaxed', `info ${JSON.stringify(result.info)}`);
        assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
      });
    }
  } finally {
    await server.close();
  }
} finally {
  await browser.close();
}

const passed = results.filter((r) => r.ok).length;
console.log(`e2e: ${passed} passed, ${results.length - passed} failed`);
process.exitCode = passed === results.length ? 0 : 1;
