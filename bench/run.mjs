// npm run bench: every benchmark, each kernel build in its own process (the build is chosen at start-up).
import { execFileSync } from 'node:child_process';

const here = new URL('.', import.meta.url).pathname;
const only = process.argv[2];
for (const kernels of ['relaxed', 'simd']) {
  if (only && only !== kernels) continue;
  const env = { ...process.env, WASMTORCH_KERNELS: kernels };
  execFileSync(process.execPath, [`${here}matmul.mjs`], { stdio: 'inherit', env });
  execFileSync(process.execPath, [`${here}lecture.mjs`], { stdio: 'inherit', env });
}
