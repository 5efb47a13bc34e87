// npm run bench: every benchmark, each kernel build in its own process (the build is chosen at start-up).
import { execFileSync } from 'node:child_process';

const here = new URL('.', import.meta.url).pathname;
// `npm run bench -- --device webgpu`: the WebGPU matmul beside tfjs-backend-webgpu, instead of the CPU benches.
const deviceFlag = process.argv.indexOf('--device');
if (deviceFlag >= 0 && process.argv[deviceFlag + 1] === 'webgpu') {
  execFileSync(process.execPath, [`${here}webgpu.mjs`], { stdio: 'inherit' });
  process.exit(0);
}
const only = process.argv[2];
for (const kernels of ['relaxed', 'simd']) {
  if (only && only !== kernels) continue;
  // onnxruntime-web runs once (it does not depend on our kernel build).
  const env = { ...process.env, WASMTORCH_KERNELS: kernels, BENCH_PEERS: kernels === 'relaxed' ? '1' : '0' };
  execFileSync(process.execPath, [`${here}matmul.mjs`], { stdio: 'inherit', env });
  execFileSync(process.execPath, [`${here}lecture.mjs`], { stdio: 'inherit', env });
  execFileSync(process.execPath, [`${here}convnet.mjs`], { stdio: 'inherit', env });
}
