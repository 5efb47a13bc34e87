// End-to-end checks in headless Chromium: the demo page trains the lecture's net and the digits CNN and draws (screenshots saved), and apps bundled by esbuild and by Vite import 'wasmtorch' with no configuration.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startServer } from '../../examples/web/serve.mjs';
import { launchChromium } from './chromium.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = `${root}build/browser`;
mkdirSync(artifacts, { recursive: true });

// `node test/browser/e2e.mjs --only digits` runs the checks whose name contains the text.
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

const results = [];
async function check(name, body) {
  if (only !== undefined && !name.includes(only)) return;
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
      if (isolated) {
        await check('demo (isolated page): the digits CNN fetches MNIST in the worker and learns (loss falls, accuracy above chance)', async () => {
          const steps = 60;
          const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
          const errors = [];
          page.on('pageerror', (error) => errors.push(error.message));
          await page.goto(`${server.url}/examples/web/?model=digits&autostart&steps=${steps}`);
          await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 180_000 });
          // The last evaluation's callback may land a frame after the result: wait for its digits to be drawn.
          await page.waitForFunction(() => document.getElementById('test-accuracy').textContent.includes('10,000'), null, { timeout: 10_000 }).catch(() => {});
          const state = await page.evaluate(() => {
            const text = (id) => document.getElementById(id).textContent;
            const inked = (id, test) => {
              const canvas = document.getElementById(id);
              const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              let count = 0;
              for (let i = 0; i < pixels.length; i += 4) if (test(pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])) count++;
              return count;
            };
            const result = globalThis.digitsResult;
            return {
              status: text('status'), state: document.getElementById('status').dataset.state, step: text('step'), stepTime: text('step-time'),
              trainAccuracyText: text('train-accuracy'), testAccuracyText: text('test-accuracy'), threads: text('threads'),
              losses: result?.losses, trainAccuracy: result?.trainAccuracy, testAccuracy: result?.testAccuracy, testImages: result?.testImages,
              stepsPerSecond: result?.stepsPerSecond, tensorsLeft: result?.memory.tensors,
              lossLine: inked('chart', (r, g, b, a) => b > 180 && r < 90 && a > 200),
              accuracyLine: inked('chart', (r, g, b, a) => r > 200 && g > 100 && g < 150 && b < 60 && a > 200),
              digitInk: inked('digits', (r, g, b, a) => a > 200 && r < 60 && g < 60 && b < 60),
              labelsDrawn: inked('digits', (r, g, b, a) => a > 200 && ((g > 120 && r < 60) || (r > 170 && g < 70))),
              sourceShown: !document.querySelector('p.source').hidden,
            };
          });
          const screenshot = `${artifacts}/demo-digits.png`;
          await page.screenshot({ path: screenshot, fullPage: true });
          await page.close();
          console.log(`    ${state.status}; threads ${state.threads}; step time ${state.stepTime}; screenshot ${screenshot}`);
          assert(state.state === 'done', `the demo did not finish: ${state.status}`);
          assert(state.losses?.length === steps && state.step === String(steps), `expected ${steps} steps, got ${state.losses?.length} (shown ${state.step})`);
          const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
          const [first, last] = [mean(state.losses.slice(0, 10)), mean(state.losses.slice(-10))];
          // An untrained net's cross-entropy is about ln 10 = 2.3; after 60 batches the mean of 10 is well under half the first ten's.
          assert(state.losses[0] > 2 && last < first / 2, `the loss did not fall: step 1 ${state.losses[0].toFixed(3)}, ` +
            `first 10 steps ${first.toFixed(3)}, last 10 ${last.toFixed(3)}`);
          assert(state.testImages === 10_000, `the final test evaluation covered ${state.testImages} images, not the 10,000`);
          assert(state.testAccuracy > 0.5 && state.trainAccuracy > 0.3, `accuracy not above chance (10%): test ${state.testAccuracy}, train ${state.trainAccuracy}`);
          assert(/^\d+\.\d\d% \(last 50/.test(state.trainAccuracyText), `train accuracy readout: ${state.trainAccuracyText}`);
          assert(state.testAccuracyText.startsWith(`${(100 * state.testAccuracy).toFixed(2)}% of all 10,000`), `test accuracy readout: ${state.testAccuracyText}`);
          assert(/ms \(median.*steps\/s/.test(state.stepTime), `no step time: ${state.stepTime}`);
          assert(state.tensorsLeft === 0, `${state.tensorsLeft} tensors left in the worker after the run`);
          assert(state.lossLine > 300, `the chart has only ${state.lossLine} pixels of the loss line`);
          assert(state.accuracyLine > 20, `the chart has only ${state.accuracyLine} pixels of the accuracy line`);
          assert(state.digitInk > 500 && state.labelsDrawn > 100, `the test digits were not drawn: ${state.digitInk} ink pixels, ${state.labelsDrawn} label pixels`);
          assert(state.sourceShown, 'the page does not say where the digits come from');
          assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
        });
      }
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
