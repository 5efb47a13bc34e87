// The browser half of `npm test`: the core suite in headless Chromium in an isolated and a non-isolated page (vitest browser mode), then the end-to-end checks.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromiumPath } from './chromium.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
chromiumPath(); // fails here, with the fix, when Chromium is missing

const steps = [
  { name: 'core suite, cross-origin isolated page (threads on)', command: ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/browser/vitest.config.ts'], env: { WASMTORCH_BROWSER_ISOLATED: '1' } },
  { name: 'core suite, page not isolated (one thread)', command: ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/browser/vitest.config.ts'], env: { WASMTORCH_BROWSER_ISOLATED: '0' } },
  { name: 'end-to-end: demo page, apps bundled by esbuild and Vite', command: ['test/browser/e2e.mjs'], env: {} },
];

const failed = [];
for (const step of steps) {
  console.log(`\n== browser: ${step.name}`);
  const result = spawnSync(process.execPath, step.command, { cwd: root, stdio: 'inherit', env: { ...process.env, ...step.env } });
  if (result.status !== 0) failed.push(step.name);
}
if (failed.length) console.log(`\nfailed: ${failed.join('; ')}`);
console.log(`browser: ${steps.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length ? 1 : 0;
