// Timing helpers shared by the benchmarks: medians of repeated samples, each long enough to time reliably.

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
