// npm run reliability: runs the reliability tests (soak, ...) and writes RELIABILITY.md from the figures they record in build/reliability/.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
const reliabilityTests = ['test/soak.test.ts', 'test/faults.test.ts', 'test/hostile-input.test.ts', 'test/hostile-properties.test.ts',
  'test/concurrency.test.ts', 'test/webgpu/device-loss.test.ts'];
if (!process.argv.includes('--no-run')) {
  execFileSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...reliabilityTests], { stdio: 'inherit' });
}
const figuresOf = (name) => (existsSync(`build/reliability/${name}.json`) ? JSON.parse(readFileSync(`build/reliability/${name}.json`, 'utf8')) : null);

const MiB = 2 ** 20;
const mib = (bytes) => `${(bytes / MiB).toFixed(2)} MiB`;
const lines = [
  '# RELIABILITY',
  '',
  'What the reliability tests measured, written by `npm run reliability` (do not edit by hand).',
  `Last run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}).`,
  '',
];

const soakPath = 'build/reliability/soak.json';
if (existsSync(soakPath)) {
  const { figures, tfjsGrowth } = JSON.parse(readFileSync(soakPath, 'utf8'));
  lines.push(
    '## Soak: the lecture loop in each style a user writes (`test/soak.test.ts`)',
    '',
    'Live tensors and bytes are `torch.memory()` after warm-up and at the end; the memory is the WebAssembly memory\'s',
    'peak size. Scoped styles must stay exactly flat; the unscoped ones must stay under 256 MiB (the allocator drains',
    'collected tensors before it grows) and free everything once collected.',
    '',
    '| style | steps | live after warm-up | live at the end | peak memory | RSS at the end | seconds | loss first → last |',
    '|---|---|---|---|---|---|---|---|',
    ...figures.map((f) => `| ${f.style} | ${f.steps} | ${f.afterWarmUp.tensors} tensors, ${mib(f.afterWarmUp.bytes)} | ` +
      `${f.atEnd.tensors} tensors, ${mib(f.atEnd.bytes)} | ${mib(f.peakMemoryBytes)} | ${mib(f.rssBytes)} | ${f.seconds.toFixed(1)} | ` +
      `${f.firstLoss.toPrecision(4)} → ${f.lastLoss.toPrecision(4)} |`),
    '',
  );
  if (tfjsGrowth) {
    lines.push(`tfjs-backend-wasm, the same loop without \`tidy\`, in the same process: its tensors grew by ${mib(tfjsGrowth.bytes)} ` +
      `(${tfjsGrowth.tensors} tensors) in ${tfjsGrowth.steps} steps and are never freed.`, '');
  }
} else {
  lines.push('## Soak', '', 'Not run yet.', '');
}

const faultsPath = 'build/reliability/faults.json';
if (existsSync(faultsPath)) {
  const { figures } = JSON.parse(readFileSync(faultsPath, 'utf8'));
  const GiB = 2 ** 30;
  const gib = (bytes) => `${(bytes / GiB).toFixed(2)} GiB`;
  const cell = (text) => String(text).replaceAll('|', '\\|');
  lines.push(
    '## Faults: each injected, the error seen, the recovery checked (`test/faults.test.ts`)',
    '',
    '| fault | injected | error seen | recovery checked |',
    '|---|---|---|---|',
    ...figures.map((f) => `| ${cell(f.fault)} | ${cell(f.injected)} | ${cell(f.error)} | ${cell(f.recovery)} |`),
    '',
  );
  const chunks = figures.find((f) => f.chunks !== undefined);
  if (chunks) {
    lines.push(`Filling the memory: ${chunks.chunks} tensors of ${mib(chunks.chunkBytes)} (${gib(chunks.chunks * chunks.chunkBytes)}) ` +
      `before the error, the WebAssembly memory at ${gib(chunks.memoryBytes)}, tensors computed on up to address ${gib(chunks.highestAddress)}; ` +
      `${chunks.seconds.toFixed(2)} s for the whole case, peak RSS ${mib(chunks.peakRssBytes)} (\`empty\` leaves the pages untouched).`, '');
  }
} else {
  lines.push('## Faults', '', 'Not run yet.', '');
}

const deviceLoss = figuresOf('device-loss');
if (deviceLoss) {
  lines.push(
    '## Fault: the WebGPU device lost (`test/webgpu/device-loss.test.ts`)',
    '',
    `On ${deviceLoss.adapter}: ${deviceLoss.injected}. Refused with a clear error: ${deviceLoss.refused.join('; ')} ` +
    `(${deviceLoss.error}), all within ${deviceLoss.secondsToErrors.toFixed(2)} s of the loss, no hang. Recovery: ${deviceLoss.recovery}.`,
    '',
  );
}

const hostile = figuresOf('hostile-input'), properties = figuresOf('hostile-properties');
if (hostile || properties) {
  lines.push('## Hostile input', '');
  if (hostile) {
    lines.push(`\`test/hostile-input.test.ts\`: every public function (${hostile.functions}) × 13 hostile arguments (wrong types, wrong shapes, ` +
      `out-of-range dims and indices, negative and non-integer sizes, disposed tensors): ${hostile.casesTried} cases, each a named error ` +
      `with the runtime, \`torch.memory()\` and the inputs unchanged; ${hostile.knownCases} known findings left unfixed.`, '');
  }
  if (properties) {
    lines.push(`\`test/hostile-properties.test.ts\`: ${properties.properties} fast-check properties, ${properties.cases} generated cases over ` +
      'rank 0-6 shapes with 0-size and size-1 dims, transposed, sliced and expanded views, float32/int32/bool and NaN, ±Inf, -0 and ' +
      'subnormals, against a naive reference.', '');
  }
}

const concurrency = figuresOf('concurrency');
if (concurrency) {
  lines.push('## Concurrency (`test/concurrency.test.ts`)', '', '| case | steps | runs | same bits as each run alone |', '|---|---|---|---|',
    ...concurrency.figures.map((f) => `| ${f.case} | ${f.steps} | ${f.runs} | ${f.bitwiseEqual ? 'yes' : 'no'} |`), '');
}

writeFileSync('RELIABILITY.md', lines.join('\n'));
console.log('wrote RELIABILITY.md');
