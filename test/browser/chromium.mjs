// Launches the system's Chromium (Debian's `chromium` package) through playwright-core: the browser tests, the demo's end-to-end test and the browser bench share it.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Debian's wrapper script prints a harmless warning; the binary behind it does not (wasm-notes 22). */
const candidates = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath() {
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) {
    throw new Error('Chromium not found: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH. ' +
      '`npx playwright install` cannot download browsers on this network.');
  }
  return found;
}

/**
 * Flags for a closed network: without the background-networking ones Chromium keeps trying to reach Google's
 * hosts. Playwright already gives each launch a fresh profile (it refuses --user-data-dir in args).
 */
export const chromiumArguments = [
  // WebGPU on SwiftShader (Chromium's software Vulkan) even with --disable-gpu: the WebGPU tests need it.
  '--enable-unsafe-webgpu',
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export const launchOptions = () => ({ executablePath: chromiumPath(), headless: true, args: chromiumArguments });

export function launchChromium() {
  return chromium.launch(launchOptions());
}
