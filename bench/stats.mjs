// Timing helpers shared by the benchmarks: medians of repeated samples, each long enough to time reliably.
import { execFileSync } from 'node:child_process';

/** Median seconds per call of fn over `samples` samples of at least `minimumSeconds` each, after warm-up. */
export async function timePerCall(fn, { samples = 7, minimumSeconds = 0.15, warmup = 3 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  let calls = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    if ((performance.now() - start) / 1000 >= minimumSeconds / 4) break;
    calls *= 2;
  }
  const perCall = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    let done = 0;
    while (done < calls || (performance.now() - start) / 1000 < minimumSeconds) { await fn(); done++; }
    perCall.push((performance.now() - start) / 1000 / done);
  }
  return median(perCall);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padStart(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * Times `step()`, defined by a Python script, where a Python with torch is installed (Debian's python3-torch at
 * /usr/bin/python3 first): the median of `samples` runs of `calls` steps after 20 warm-up steps, in ms per step,
 * or null when no such Python is found.
 */
export function runPytorch(setup, { samples, calls }) {
  const script = `${setup}
import time
for _ in range(20): step()
samples = []
for _ in range(${samples}):
    t = time.perf_counter()
    for _ in range(${calls}): step()
    samples.append((time.perf_counter() - t) / ${calls})
samples.sort(); print(samples[${Math.floor(samples / 2)}] * 1000)
`;
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      return Number(execFileSync(python, ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch { /* not installed there */ }
  }
  return null;
}
