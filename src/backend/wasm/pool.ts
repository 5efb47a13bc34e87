// The worker pool: spawns kernel workers on the shared memory, hands them tiles through the job block, survives their faults.
import { workerSource } from '../../generated/worker-source.js';
import { TorchError } from '../../errors.js';
import { Command, Word, argumentsOffsetBytes, dispatchableKernels, jobBlockBytes, maximumArguments, maximumWorkers, resetCursors, runTiles, type DispatchableKernel } from './dispatch.js';

export class WorkerError extends TorchError {
  override name = 'WorkerError';
}

interface WorkerHandle {
  index: number;
  terminate(): void;
  alive: boolean;
}

type Kernels = Record<string, (...args: number[]) => unknown>;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
/**
 * How long an idle worker spins before it sleeps in Atomics.wait. Waking a sleeping worker took 100-150 µs
 * on this VM, longer than many jobs; spinning after each job keeps the next one's start under a microsecond
 * in a training loop (the lecture's step leaves at most ~105 µs, p90 ~185 µs, between two parallel jobs).
 * Longer spins cost when other processes want the cores: a spinning worker then takes CPU time from the
 * caller. On this shared 2-core VM the lecture step took 0.88x the time with 300 µs as with 2 ms (median
 * of paired ratios, 30 interleaved rounds), and its fastest quarter of samples was no slower (564 vs 587 µs).
 */
const spinMicroseconds = 300;
/** One blob URL for the embedded worker source, shared by every worker this page starts (nothing to host). */
let workerUrl: string | null = null;
function workerScriptUrl(): string {
  workerUrl ??= URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  return workerUrl;
}

/** The browser main thread may not block in Atomics.wait: it spins instead. */
const canBlock = isNode || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

export interface PoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  kernels: Kernels;
  jobBlock: number;
  /** One GEMM scratch block per thread: index 0 is the caller's. */
  allocateScratch: () => number;
}

export class ThreadPool {
  readonly #options: PoolOptions;
  readonly #words: Int32Array;
  readonly #argumentsView: Float64Array;
  readonly #workers: (WorkerHandle | null)[] = [];
  readonly #scratch: number[] = [];
  /** Tokens handed to workers (Word.owners): a slot's worker serves jobs only while its token is the slot's. */
  #nextToken = 1;
  #requested = 1;
  #spawning: Promise<void> = Promise.resolve();
  /** A worker making no progress this long is declared dead (it was terminated or crashed). */
  stallTimeoutMs = 5000;
  /** Why fewer threads run than were asked for, for backend.info(). */
  readonly notes: string[] = [];
  #pendingFault: { command: number; worker: number } | null = null;

  /** Tests: make worker `index` throw ('fail') or vanish mid-tile ('die') in the next job it joins. */
  injectFault(kind: 'fail' | 'die', index: number): void {
    this.#pendingFault = { command: kind === 'fail' ? Command.fail : Command.die, worker: index };
  }

  constructor(options: PoolOptions) {
    this.#options = options;
    const buffer = options.memory.buffer;
    this.#words = new Int32Array(buffer, options.jobBlock, jobBlockBytes / 4);
    this.#argumentsView = new Float64Array(buffer, options.jobBlock + argumentsOffsetBytes, maximumArguments);
    this.#scratch.push(options.allocateScratch());
  }

  /** Threads that take part in a job now: the caller plus the live workers. */
  get threads(): number {
    return 1 + this.#workers.filter((w) => w?.alive).length;
  }

  get requested(): number {
    return this.#requested;
  }

  callerScratch(): number {
    return this.#scratch[0];
  }

  /** Grows or shrinks the pool to `threads` (caller included); resolves once new workers are ready. */
  resize(threads: number): Promise<void> {
    this.#requested = threads;
    const wanted = Math.min(threads - 1, maximumWorkers);
    for (let i = wanted; i < this.#workers.length; i++) this.#retire(i);
    // A failed start must not wedge later resizes; the count is read when the chain runs, and workers
    // that finished starting after a smaller count was asked for are retired then.
    this.#spawning = this.#spawning.catch(() => {}).then(async () => {
      const target = Math.min(this.#requested - 1, maximumWorkers);
      const starts: Promise<void>[] = [];
      for (let i = 0; i < target; i++) if (!this.#workers[i]) starts.push(this.#spawn(i));
      await Promise.all(starts);
      const now = Math.min(this.#requested - 1, maximumWorkers);
      for (let i = now; i < this.#workers.length; i++) this.#retire(i);
    });
    return this.#spawning;
  }

  /** Resolves when every worker asked for is running. */
  ready(): Promise<void> {
    return this.#spawning;
  }

  #retire(index: number): void {
    const worker = this.#workers[index];
    if (!worker) return;
    // terminate() is asynchronous (in browsers a worker may run on for a while): the slot's token goes first, so
    // the old worker never serves another job beside the one that will take its slot, index and scratch.
    Atomics.store(this.#words, Word.owners + index, 0);
    worker.alive = false;
    worker.terminate();
    this.#workers[index] = null;
  }

  async #spawn(index: number): Promise<void> {
    while (this.#scratch.length <= index + 1) this.#scratch.push(this.#options.allocateScratch());
    const token = this.#nextToken++;
    const setup = {
      module: this.#options.module, memory: this.#options.memory, jobBlock: this.#options.jobBlock, index,
      scratch: this.#scratch[index + 1], spinMicroseconds: spinMicroseconds, token,
    };
    Atomics.store(this.#words, Word.active + index, 0);
    Atomics.store(this.#words, Word.owners + index, token);
    const handle: WorkerHandle = { index, alive: false, terminate: () => {} };
    // Tracked from the start: a worker serves jobs as soon as it is ready, before this thread's event loop
    // hears so, and run() must wait on its active flag before rewriting the job block.
    this.#workers[index] = handle;
    const started = new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if ((message as { ready?: boolean })?.ready) {
          handle.alive = true;
          resolve();
        }
      };
      if (isNode) {
        import('node:worker_threads').then(({ Worker }) => {
          const worker = new Worker(workerSource, { eval: true });
          worker.on('message', (message) => {
            onMessage(message);
            // Unreferenced once ready (earlier, the pending reply would re-reference it): scripts exit when done.
            worker.unref();
          });
          worker.on('error', (error) => { handle.alive = false; reject(error); });
          worker.on('exit', () => { handle.alive = false; });
          handle.terminate = () => { void worker.terminate(); };
          worker.postMessage(setup);
        }, reject);
      } else {
        const worker = new Worker(workerScriptUrl(), { type: 'module' });
        worker.onmessage = (event) => onMessage(event.data);
        worker.onerror = (event) => { handle.alive = false; reject(new WorkerError(`kernel worker failed to start: ${event.message}`)); };
        handle.terminate = () => worker.terminate();
        worker.postMessage(setup);
      }
    });
    try {
      await started;
    } catch (error) {
      if (this.#workers[index] === handle) this.#workers[index] = null;
      throw error;
    }
  }

  /**
   * Runs kernel(...args, begin, end) over [0, workItems) in `tiles` tiles (boundaries at multiples of
   * `align`) on the caller and the workers, and returns when every tile is done. Each thread starts with its
   * own contiguous share of the tiles (the caller the first) and then takes over what others left. A tile
   * that threw, or a worker that stopped, surfaces as a WorkerError after the others finished; the pool goes
   * on without it.
   */
  run(kernel: DispatchableKernel, args: readonly number[], workItems: number, tiles: number, align: number, scratchArgument: number): void {
    const words = this.#words;
    const fault = this.#pendingFault;
    this.#pendingFault = null;
    const live = this.#workers.filter((w): w is WorkerHandle => !!w);
    // Shares go to worker slots, not to live workers, so a thread keeps its share while another one restarts.
    const threadCount = 1 + (live.length ? live[live.length - 1].index + 1 : 0);
    // Odd generation: a job is being written; wait until no worker still reads the previous one.
    const generation = Atomics.add(words, Word.generation, 1) + 1;
    for (const worker of live) this.#waitFor(() => Atomics.load(words, Word.active + worker.index) === 0, Word.active + worker.index, worker);
    words[Word.kernel] = dispatchableKernels.indexOf(kernel);
    words[Word.argumentCount] = args.length;
    words[Word.workItems] = workItems;
    words[Word.tileCount] = tiles;
    words[Word.threadCount] = threadCount;
    words[Word.tileAlign] = align;
    words[Word.scratchArgument] = scratchArgument;
    words[Word.command] = fault ? fault.command : Command.run;
    words[Word.faultWorker] = fault ? fault.worker : -1;
    words[Word.errorCode] = 0;
    for (let i = 0; i < args.length; i++) this.#argumentsView[i] = args[i];
    resetCursors(words, threadCount, tiles);
    Atomics.store(words, Word.tilesDone, 0);
    Atomics.store(words, Word.generation, generation + 1);
    Atomics.notify(words, Word.generation);

    // With a fault injected the caller stays out, so the targeted worker surely takes a tile.
    const callerError = fault ? undefined : runTiles(words, this.#argumentsView, this.#options.kernels, this.#scratch[0], 0, 1);
    const stalled = this.#waitForTiles(tiles, live);
    const errorCode = Atomics.load(words, Word.errorCode);
    if (callerError !== undefined) throw callerError;
    if (stalled.length) {
      for (const worker of stalled) if (worker.index >= 0) this.#retire(worker.index);
      this.notes.push(`worker ${stalled.map((w) => w.index).join(', ')} stopped responding and was replaced`);
      void this.resize(this.#requested).catch(() => {});
      throw new WorkerError(`a kernel worker stopped while running ${kernel} (terminated or crashed): its tiles were not computed; ` +
        `the pool continues with ${this.threads} thread(s) and replaces it. Run the op again.`);
    }
    if (errorCode > 1) {
      throw new WorkerError(`kernel worker ${errorCode - 2} failed while running ${kernel}; the result is incomplete. Run the op again.`);
    }
  }

  /** Waits until all tiles are done; returns the workers declared dead when progress stopped. */
  #waitForTiles(tiles: number, live: WorkerHandle[]): WorkerHandle[] {
    const words = this.#words;
    let lastDone = Atomics.load(words, Word.tilesDone);
    let lastProgress = performance.now();
    let spins = 0;
    while (lastDone < tiles) {
      if (spins < 2000) spins++;
      else if (canBlock) Atomics.wait(words, Word.tilesDone, lastDone, 20);
      const done = Atomics.load(words, Word.tilesDone);
      const now = performance.now();
      if (done !== lastDone) {
        lastDone = done;
        lastProgress = now;
      } else if (now - lastProgress > this.stallTimeoutMs) {
        const stuck = live.filter((w) => Atomics.load(words, Word.active + w.index) === 1);
        // Tiles are missing whoever is to blame: never return an incomplete result as a success.
        return stuck.length ? stuck : live.length ? live : [{ index: -1, alive: false, terminate: () => {} }];
      }
    }
    return [];
  }

  #waitFor(condition: () => boolean, word: number, worker: WorkerHandle): void {
    const started = performance.now();
    while (!condition()) {
      if (canBlock) Atomics.wait(this.#words, word, 1, 20);
      if (performance.now() - started > this.stallTimeoutMs) {
        // It never left the previous job: treat it as gone.
        this.#retire(worker.index);
        return;
      }
    }
  }

  /** Stops every worker (they also end with the process). */
  close(): void {
    Atomics.store(this.#words, Word.command, Command.exit);
    Atomics.add(this.#words, Word.generation, 2);
    Atomics.notify(this.#words, Word.generation);
    for (let i = 0; i < this.#workers.length; i++) this.#retire(i);
  }
}
