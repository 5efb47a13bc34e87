// The kernel worker: instantiates the kernel module on the shared memory once, then runs tiles of jobs posted through Atomics.
//
// The same source runs as a worker_threads worker in Node and as a module Web Worker in browsers; the
// build embeds it in the library as text, so there is no file to host.
import { Command, Word, argumentsOffsetBytes, claimTile, jobBlockBytes, maximumArguments, runTiles } from '../src/backend/wasm/dispatch.js';

interface Setup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  jobBlock: number;
  index: number;
  scratch: number;
  spinMicroseconds: number;
  /** This worker's token: while Word.owners[index] holds it, the slot is this worker's (pool.ts #retire). */
  token: number;
}

type Port = { post(message: unknown): void; onMessage(handler: (message: unknown) => void): void; exit(): void };

async function portForThisThread(): Promise<Port> {
  const scope = globalThis as unknown as { postMessage?: (m: unknown) => void; addEventListener?: (t: string, h: (e: { data: unknown }) => void) => void; close?: () => void };
  if (typeof process !== 'undefined' && process.versions?.node) {
    const { parentPort } = await import('node:worker_threads');
    return {
      post: (m) => parentPort!.postMessage(m),
      onMessage: (h) => parentPort!.once('message', h),
      exit: () => process.exit(0),
    };
  }
  return {
    post: (m) => scope.postMessage!(m),
    onMessage: (h) => scope.addEventListener!('message', (event) => h(event.data)),
    exit: () => scope.close!(),
  };
}

// No top-level await: Node evaluates this source as a CommonJS script.
void portForThisThread().then((port) => {
  port.onMessage(async (message) => {
    const setup = message as Setup;
    const instance = await WebAssembly.instantiate(setup.module, { env: { memory: setup.memory } });
    const kernels = instance.exports as unknown as Record<string, (...args: number[]) => unknown>;
    serve(setup, kernels, port);
  });
});

function serve(setup: Setup, kernels: Record<string, (...args: number[]) => unknown>, port: Port): void {
  const buffer = setup.memory.buffer;
  const words = new Int32Array(buffer, setup.jobBlock, jobBlockBytes / 4);
  const argumentsView = new Float64Array(buffer, setup.jobBlock + argumentsOffsetBytes, maximumArguments);
  // Wait on the generation this worker last handled, never a fresh read, or it could sleep through a job (wasm-notes 14).
  let handled = Atomics.load(words, Word.generation);
  // Ready only now: a job published after this message is one this worker will see. (Announced before the
  // read, a job published in between was taken as already handled, and the worker sat it out.)
  port.post({ ready: true });
  const activeWord = Word.active + setup.index;
  for (;;) {
    const started = performance.now();
    const published = () => { const g = Atomics.load(words, Word.generation); return g !== handled && (g & 1) === 0; };
    while (!published() && performance.now() - started < setup.spinMicroseconds / 1000) {
      // Spin briefly: a job that follows soon is picked up in well under a microsecond.
    }
    // Wait on the value just checked, never a fresh read (wasm-notes 14).
    for (;;) {
      const seen = Atomics.load(words, Word.generation);
      if (seen !== handled && (seen & 1) === 0) break;
      Atomics.wait(words, Word.generation, seen, 100);
    }
    // Retired (its slot has a new token, or none) but not yet terminated: leave without touching the slot's
    // words or scratch, which the worker taking the slot now uses.
    if (Atomics.load(words, Word.owners + setup.index) !== setup.token) {
      port.exit();
      return;
    }
    const generation = Atomics.load(words, Word.generation);
    Atomics.store(words, activeWord, 1);
    if (Atomics.load(words, Word.generation) !== generation) {
      // The caller started writing the next job between our two reads: wait for it to be published.
      Atomics.store(words, activeWord, 0);
      continue;
    }
    handled = generation;
    const command = Atomics.load(words, Word.command);
    if (command === Command.exit) {
      Atomics.store(words, activeWord, 0);
      return;
    }
    const targeted = Atomics.load(words, Word.faultWorker) === setup.index;
    if (targeted && command === Command.die) {
      // Fault injection: claim a tile and vanish without finishing it, like a worker killed mid-run.
      claimTile(words, setup.index + 1);
      port.exit();
      return;
    }
    runTiles(words, argumentsView, kernels, setup.scratch, setup.index + 1, 2 + setup.index, targeted && command === Command.fail);
    Atomics.store(words, activeWord, 0);
    Atomics.notify(words, activeWord);
  }
}
