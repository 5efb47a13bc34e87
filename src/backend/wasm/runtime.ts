// The WebAssembly device: one shared memory, the kernel module chosen at start-up, the allocator, and kernel launch helpers.
import { mergeDims } from '../merge-dims.js';
import { relaxedKernelsBase64, simdKernelsBase64 } from '../../generated/kernels.js';
import { Allocator } from './allocator.js';
import type { Kernels } from './kernels.js';
import { createReclaimer, type Reclaimer } from './reclaim.js';
import { ThreadPool } from './pool.js';
import type { DispatchableKernel } from './dispatch.js';

const pageBytes = 65536;
/** 4 GiB: wasm32's limit. Pointers at or above 2 GiB come back negative through i32 (wasm-notes 16). */
export const maximumMemoryBytes = 65536 * pageBytes;

// The runtime's own area below the heap: argument descriptors and scalar operands, rewritten by each op.
const descriptorAddress = 256;
const descriptorWords = 512;
const scalarAddress = descriptorAddress + descriptorWords * 4;
const jobBlockAddress = 8192;
const heapStart = 65536;
/** Work below this many nanoseconds (estimated) runs on the calling thread: waking workers costs more. */
const parallelThresholdNs = 40_000;
/** The packed GEMM's speed on one thread (relaxed SIMD), in flops per nanosecond, for launch estimates. */
const gemmFlopsPerNs = 40;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export interface BackendInfo {
  simd: boolean;
  relaxedSimd: boolean;
  kernels: 'relaxed' | 'simd';
  threads: number;
  threadsRequested: number;
  memoryBytes: number;
  maximumMemoryBytes: number;
  synchronousReclaim: boolean;
  /** Whether the memory is a shared WebAssembly.Memory (needed for worker threads). */
  sharedMemory: boolean;
  /** The page's `crossOriginIsolated`; null outside a browser. Threads in a browser need it true. */
  crossOriginIsolated: boolean | null;
  notes: string[];
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly kernels: Kernels;
  readonly module: WebAssembly.Module;
  readonly allocator: Allocator;
  readonly relaxed: boolean;
  readonly gemmRowBlock: number;
  readonly pool: ThreadPool;
  readonly reclaimer: Reclaimer;
  readonly notes: string[];
  #buffer: ArrayBufferLike;
  #f32!: Float32Array;
  #i32!: Int32Array;
  #u8!: Uint8Array;
  #f64!: Float64Array;

  constructor(memory: WebAssembly.Memory, module: WebAssembly.Module, instance: WebAssembly.Instance, relaxed: boolean, reclaimer: Reclaimer, notes: string[]) {
    this.memory = memory;
    this.module = module;
    this.kernels = instance.exports as unknown as Kernels;
    this.relaxed = relaxed;
    this.reclaimer = reclaimer;
    this.notes = notes;
    this.allocator = new Allocator({ memory, heapStart, maximumBytes: maximumMemoryBytes, reclaim: () => { reclaimer.reclaim(); } });
    this.gemmRowBlock = this.kernels.gemm_row_block();
    const scratchBytes = this.kernels.gemm_scratch_bytes();
    this.pool = new ThreadPool({
      module, memory, jobBlock: jobBlockAddress, kernels: instance.exports as never,
      allocateScratch: () => this.allocator.allocate(scratchBytes),
    });
    this.#buffer = memory.buffer;
    this.#refreshViews();
  }

  #refreshViews(): void {
    this.#buffer = this.memory.buffer;
    this.#f32 = new Float32Array(this.#buffer);
    this.#i32 = new Int32Array(this.#buffer);
    this.#u8 = new Uint8Array(this.#buffer);
    this.#f64 = new Float64Array(this.#buffer);
  }

  // Views are re-created whenever the memory grew (the old SharedArrayBuffer keeps its old length).
  get f32(): Float32Array { if (this.#buffer !== this.memory.buffer) this.#refreshViews(); return this.#f32; }
  get i32(): Int32Array { if (this.#buffer !== this.memory.buffer) this.#refreshViews(); return this.#i32; }
  get u8(): Uint8Array { if (this.#buffer !== this.memory.buffer) this.#refreshViews(); return this.#u8; }
  get f64(): Float64Array { if (this.#buffer !== this.memory.buffer) this.#refreshViews(); return this.#f64; }

  /**
   * Writes a strided descriptor: rank, shape, then each operand's strides, after dropping size-1 dims and
   * merging dims that are contiguous in every operand, so kernels see the longest rows possible.
   */
  describe(shape: readonly number[], operandStrides: readonly (readonly number[])[]): number {
    const operands = operandStrides.length;
    const { shape: keptShape, strides: keptStrides } = mergeDims(shape, operandStrides);
    // Kernels walk at least one dim: a shape of size-1 dims is one element with stride 0.
    if (keptShape.length === 0) {
      keptShape.push(1);
      for (let k = 0; k < operands; k++) keptStrides[k].push(0);
    }
    const rank = keptShape.length;
    const words = this.i32;
    let at = descriptorAddress >> 2;
    words[at++] = rank;
    for (const size of keptShape) words[at++] = size;
    for (let k = 0; k < operands; k++) for (const stride of keptStrides[k]) words[at++] = stride;
    return descriptorAddress;
  }

  /** Writes raw i32 words as a descriptor (reductions build their own layout). */
  describeWords(words: readonly number[]): number {
    this.i32.set(words, descriptorAddress >> 2);
    return descriptorAddress;
  }

  /** Puts a scalar operand in memory for kernels that read it with stride 0; `slot` 0 or 1. */
  scalar(value: number, dtypeCode: number, slot = 0): number {
    const address = scalarAddress + slot * 16;
    if (dtypeCode === 0) this.f32[address >> 2] = value;
    else if (dtypeCode === 1) this.i32[address >> 2] = value;
    else this.u8[address] = value ? 1 : 0;
    return address;
  }

  /**
   * Runs kernel(...args, begin, end) over [0, workItems): on this thread when the estimated work
   * (nsPerItem each) is small, else in tiles on the pool. Tile boundaries are multiples of `align`;
   * `scratchArgument` names the argument each thread replaces with its own scratch block.
   */
  launch(kernel: DispatchableKernel, args: number[], workItems: number, nsPerItem: number, align = 1, scratchArgument = -1): void {
    if (workItems <= 0) return;
    // The calling thread's own scratch; pool threads put theirs in its place.
    if (scratchArgument >= 0) args[scratchArgument] = this.pool.callerScratch();
    const threads = this.pool.threads;
    if (threads === 1 || workItems * nsPerItem < parallelThresholdNs || workItems < 2 * align) {
      (this.kernels[kernel] as (...a: number[]) => void)(...args, 0, workItems);
      return;
    }
    // A few tiles per thread, so that a thread the OS holds up has its share taken over (scratch is per thread,
    // not per tile; GEMM, which wants one tile per thread, splits its own work in gemm()).
    const tiles = Math.min(Math.ceil(workItems / align), threads * 4);
    this.pool.run(kernel, args, workItems, tiles, align, scratchArgument);
  }

  /**
   * C[m,n] = A[m,k] B[k,n] for matrices given by byte address and element strides, on this thread or shared
   * among the pool's. Every split gives the same bits: each element of C is summed over the same k blocks by
   * the same micro-kernel, whatever thread computes it.
   */
  gemm(m: number, n: number, k: number, a: number, aRow: number, aCol: number, b: number, bRow: number, bCol: number, c: number, cRow: number): void {
    const threads = this.pool.threads;
    const scratch = this.pool.callerScratch();
    const nsPerColumn = (2 * m * k) / gemmFlopsPerNs;
    if (threads === 1 || n * nsPerColumn < parallelThresholdNs) {
      this.kernels.gemm_f32(m, n, k, a, aRow, aCol, b, bRow, bCol, c, cRow, 0, scratch, 0, m);
      return;
    }
    // Argument 12 is the packing scratch: each thread uses its own.
    const args = [m, n, k, a, aRow, aCol, b, bRow, bCol, c, cRow, 0, scratch];
    const fewRows = m < 16 * this.gemmRowBlock;
    const kBlocks = this.kernels.gemm_k_blocks(k);
    // A row split makes every thread pack all of B (k x n), a column split all of A (m x k), a k split neither
    // but adds (kBlocks - 1) partial products of m x n. Wide products (a convolution's input gradient, B over
    // every output position) split columns; deep ones with a small C (its weight gradient) split k.
    const deepK = kBlocks >= 2 && m * kBlocks < k;
    const wideB = n > 2 * m;
    if ((fewRows && kBlocks >= 2 && kBlocks <= threads) || deepK) {
      // Few rows and a deep k (a batch times a wide layer): each thread takes one k block (or several, when
      // there are more blocks than threads), packing only its slice of A and B. A weight's rows are then read
      // by the thread whose share of the elementwise ops (its update) they fall in.
      const columnTiles = Math.max(1, Math.floor(threads / kBlocks));
      const paddedColumns = Math.ceil(n / 8) * 8;
      const partialBytes = 4 * (kBlocks - 1) * m * n;
      const partials = this.allocator.allocate(partialBytes);
      try {
        this.pool.run('gemm_f32_k_parts', [...args, partials], kBlocks * paddedColumns, Math.min(kBlocks * columnTiles, threads * 4), 8, 12);
        this.kernels.gemm_add_partials(m, n, c, cRow, partials, kBlocks);
      } finally {
        this.allocator.free(partials, partialBytes);
      }
    } else if ((fewRows || wideB) && n >= 32) {
      // Few rows, or B much wider than A is tall: split columns, so each thread packs only its part of B; one
      // tile per thread, each packs all of A.
      this.pool.run('gemm_f32_columns', args, n, Math.min(Math.ceil(n / 8), threads), 8, 12);
    } else if (m >= 2 * this.gemmRowBlock) {
      // Rows split at multiples of the micro-kernel height; one tile per thread, each packs all of B.
      this.pool.run('gemm_f32', args, m, Math.min(Math.ceil(m / this.gemmRowBlock), threads), this.gemmRowBlock, 12);
    } else {
      // One micro-tile row and few columns: nothing to share out.
      this.kernels.gemm_f32(m, n, k, a, aRow, aCol, b, bRow, bCol, c, cRow, 0, scratch, 0, m);
    }
  }

  info(): BackendInfo {
    return {
      simd: true,
      relaxedSimd: this.relaxed,
      kernels: this.relaxed ? 'relaxed' : 'simd',
      threads: this.pool.threads,
      memoryBytes: this.memory.buffer.byteLength,
      maximumMemoryBytes: maximumMemoryBytes,
      synchronousReclaim: this.reclaimer.synchronous,
      threadsRequested: this.pool.requested,
      sharedMemory: !(this.memory.buffer instanceof ArrayBuffer),
      crossOriginIsolated: crossOriginIsolation(),
      notes: [...this.notes, ...this.pool.notes],
    };
  }
}

async function enableRelaxedSimdInNode(): Promise<void> {
  if (typeof process === 'undefined' || !process.versions?.node) return;
  try {
    const v8 = await import('node:v8');
    // Node 20 ships relaxed SIMD behind a flag; setting it before the first compile covers workers too.
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Not fatal: validation below then picks the plain SIMD build.
  }
}

export interface RuntimeOptions {
  forceKernels?: 'simd' | 'relaxed';
  /** 'unshared' forces the single-thread memory that engines without shared WebAssembly memory get. */
  forceMemory?: 'shared' | 'unshared';
  /**
   * Tests only (test/faults.test.ts): kernel module bytes used instead of the embedded builds, so a test can hand
   * in a corrupted module and check the fallback and the error. Production code never passes it.
   */
  kernelBytes?: { relaxed?: Uint8Array<ArrayBuffer>; simd?: Uint8Array<ArrayBuffer> };
}

const isolationAdvice = 'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and ' +
  'Cross-Origin-Embedder-Policy: require-corp (or credentialless)';

export async function createRuntime(onCollected: (held: unknown) => void, options: RuntimeOptions = {}): Promise<WasmRuntime> {
  const notes: string[] = [];
  if (typeof WebAssembly === 'undefined') throw new Error('wasmtorch needs WebAssembly, which this environment lacks');
  await enableRelaxedSimdInNode();
  const relaxedBytes = options.kernelBytes?.relaxed ?? decodeBase64(relaxedKernelsBase64);
  const simdBytes = options.kernelBytes?.simd ?? decodeBase64(simdKernelsBase64);
  let relaxed = options.forceKernels !== 'simd' && WebAssembly.validate(relaxedBytes);
  if (options.forceKernels === 'relaxed' && !relaxed) throw new Error('relaxed SIMD kernels were asked for but this engine rejects them');
  if (!relaxed && options.forceKernels !== 'simd') notes.push('relaxed SIMD unavailable in this engine: using the plain SIMD kernels (about 1.4x slower matmul)');
  if (!WebAssembly.validate(simdBytes)) throw new Error('wasmtorch needs WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+)');
  const memory = createMemory(options.forceMemory, notes);
  const shared = !(memory.buffer instanceof ArrayBuffer);
  // A module whose memory import is declared shared refuses an unshared memory (LinkError): engines that
  // gate shared memory behind cross-origin isolation (Firefox, Safari) get the same kernels with the flag cleared.
  const variant = (bytes: Uint8Array<ArrayBuffer>) => (shared ? bytes : withUnsharedMemoryImport(bytes));
  // The last resort failing is fatal: say which build failed and why, not just the engine's CompileError.
  const compileSimd = () => WebAssembly.compile(variant(simdBytes)).catch((error: unknown) => {
    throw new Error(`wasmtorch's plain SIMD kernels failed to compile (${(error as Error).message}); ` +
      'there is no other build to fall back to', { cause: error });
  });
  let module: WebAssembly.Module;
  if (relaxed) {
    try {
      module = await WebAssembly.compile(variant(relaxedBytes));
    } catch (error) {
      notes.push(`relaxed SIMD kernels failed to compile (${(error as Error).message}): using the plain SIMD kernels`);
      relaxed = false;
      module = await compileSimd();
    }
  } else {
    module = await compileSimd();
  }
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const reclaimer = await createReclaimer(onCollected);
  const runtime = new WasmRuntime(memory, module, instance, relaxed, reclaimer, notes);
  const threads = shared ? await defaultThreads(notes) : 1;
  await runtime.pool.resize(threads).catch((error) => {
    notes.push(`worker threads could not start (${(error as Error).message}): running on one thread`);
  });
  warnOnceInBrowser(notes);
  return runtime;
}

function crossOriginIsolation(): boolean | null {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return typeof isolated === 'boolean' ? isolated : null;
}

/**
 * The shared memory when the engine can make one, else an unshared one (one thread) with the reason in notes.
 * Chromium makes shared WebAssembly memory even in pages that are not cross-origin isolated (it just cannot be
 * posted to workers there); Firefox and Safari refuse it.
 */
function createMemory(force: RuntimeOptions['forceMemory'], notes: string[]): WebAssembly.Memory {
  const descriptor = { initial: 64, maximum: maximumMemoryBytes / pageBytes };
  if (force !== 'unshared') {
    try {
      return new WebAssembly.Memory({ ...descriptor, shared: true });
    } catch (error) {
      if (force === 'shared') throw error;
      notes.push(`shared WebAssembly memory is unavailable (${(error as Error).message}): one thread; ${isolationAdvice}`);
    }
  } else {
    notes.push('unshared memory was asked for (WASMTORCH_MEMORY=unshared): one thread');
  }
  return new WebAssembly.Memory(descriptor);
}

/** Browsers: one console warning at start-up when threads are off, never one per op. */
function warnOnceInBrowser(notes: string[]): void {
  const isBrowser = typeof (globalThis as { window?: unknown; WorkerGlobalScope?: unknown }).window !== 'undefined' ||
    typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
  const reason = notes.find((note) => note.includes('one thread'));
  if (isBrowser && reason && typeof console !== 'undefined') {
    console.warn(`wasmtorch: ${reason}. torch.backend.info() has the details.`);
  }
}

/**
 * A copy of a kernel module whose `env.memory` import is declared unshared: the kernels use no atomics, so
 * only the import's flag differs. Returns the bytes unchanged when the import is not shared.
 */
export function withUnsharedMemoryImport(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const readUnsigned = (at: number): [number, number] => {
    let value = 0, shift = 0, byte: number;
    do {
      byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return [value, at];
  };
  let position = 8;
  while (position < bytes.length) {
    const id = bytes[position];
    const [size, contentStart] = readUnsigned(position + 1);
    if (id === 2) {
      let [count, cursor] = readUnsigned(contentStart);
      for (let i = 0; i < count; i++) {
        for (let name = 0; name < 2; name++) {
          const [length, start] = readUnsigned(cursor);
          cursor = start + length;
        }
        const kind = bytes[cursor++];
        if (kind !== 2) throw new Error('kernel module: expected only a memory import (the build checks this)');
        const flags = bytes[cursor];
        if (!(flags & 2)) return bytes;
        const copy = bytes.slice();
        copy[cursor] = flags & ~2;
        return copy;
      }
    }
    position = contentStart + size;
  }
  return bytes;
}

/** The cores available, when workers can share the memory; else 1, with the reason and the fix in notes. */
async function defaultThreads(notes: string[]): Promise<number> {
  const isolated = crossOriginIsolation();
  if (isolated === false) {
    notes.push(`the page is not cross-origin isolated, so workers cannot share the memory: one thread; ${isolationAdvice}`);
    return 1;
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    notes.push(`SharedArrayBuffer is unavailable: one thread; ${isolationAdvice}`);
    return 1;
  }
  if (typeof process !== 'undefined' && process.versions?.node) {
    const os = await import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  return Math.max(1, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
}
