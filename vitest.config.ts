// Tests run in forked processes: each sets V8 flags (relaxed SIMD) for itself.
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// WebGPU in Node runs on SwiftShader where there is no GPU: the Vulkan loader finds it through this variable.
const swiftShader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const gpuEnvironment = !process.env.VK_ICD_FILENAMES && existsSync(swiftShader) ? { VK_ICD_FILENAMES: swiftShader } : {};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    env: gpuEnvironment,
  },
});
