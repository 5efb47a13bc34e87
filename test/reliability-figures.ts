// Where the reliability tests leave their figures (build/reliability/<name>.json) for `npm run reliability` to turn into RELIABILITY.md.

/** Writes one test file's figures; in a browser (no file system) it does nothing: the Node run records them. */
export async function recordFigures(name: string, figures: unknown): Promise<void> {
  if (typeof process === 'undefined' || !process.versions?.node) return;
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const folder = new URL('../build/reliability/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  writeFileSync(new URL(`${name}.json`, folder), JSON.stringify(figures, null, 2));
}
