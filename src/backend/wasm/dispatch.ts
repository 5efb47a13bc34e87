// The job block in shared memory through which the calling thread hands kernel tiles to workers (Atomics, no messages).
//
// Shared by the runtime (which writes jobs) and the worker (which runs tiles), so both agree on the layout.

/** Kernels that may run on workers; a job names one by its index here. */
export const dispatchableKernels = [
  'unary_f32', 'unary_i32', 'binary_f32', 'binary_i32', 'compare', 'where_select', 'convert', 'reduce', 'softmax_f32',
  'gather', 'sequence', 'random_uniform_f32', 'random_normal_f32', 'random_int_i32', 'gemm_f32', 'gemm_f32_columns', 'gemm_f32_k_parts',
  'conv_im2col_f32', 'conv_col2im_f32', 'conv_im2col_unpadded_f32', 'conv_col2im_unpadded_f32', 'conv_rows_to_planes_f32', 'conv_planes_to_rows_f32',
  'conv_direct_f32', 'conv_direct_weight_f32', 'conv_bias_grad_f32',
  'winograd_weights_f32', 'winograd_conv_f32', 'winograd_weight_grad_f32', 'winograd_weight_sum_f32', 'winograd_weight_finish_f32',
  'max_pool2d_f32', 'max_pool2d_backward_f32', 'max_pool2d_backward_2x2_f32', 'avg_pool2d_f32', 'avg_pool2d_backward_f32',
  'sgd_f32', 'adam_f32', 'rmsprop_f32', 'adagrad_f32',
] as const;
export type DispatchableKernel = (typeof dispatchableKernels)[number];

/** i32 word offsets inside the job block. */
export const Word = {
  generation: 0, // odd while the caller writes a job, even once it is published; workers wait on it
  kernel: 1,
  argumentCount: 2,
  workItems: 3,
  tileCount: 4,
  tileAlign: 5, // tile boundaries are multiples of this (the GEMM's row block): bitwise-equal results
  threadCount: 6, // threads the tiles are shared out to (caller and worker slots, live or not)
  tilesDone: 7,
  command: 8, // 0 run, 1 exit, 2 fail (fault injection: throw), 3 die (fault injection: stop mid-tile)
  errorCode: 9, // non-zero when a worker's tile threw
  scratchArgument: 10, // index of the argument each thread replaces with its own scratch, or -1
  faultWorker: 11, // which worker a fault command targets
  active: 16, // one word per worker: 1 while it may read the job block, so the caller never rewrites it under a reader
  cursors: 112, // one word per thread (caller first): the next tile of its own range, fetch-added by it and by thieves
  owners: 146, // one word per worker slot: the token of the worker that serves it; a retired worker's token is gone
} as const;

export const maximumWorkers = 32;
export const argumentsOffsetBytes = 256; // f64 arguments after the words
export const maximumArguments = 24;
export const jobBlockBytes = (Word.owners + maximumWorkers) * 4;

export const Command = { run: 0, exit: 1, fail: 2, die: 3 } as const;

/** Tile t of `tiles` over [0, workItems), boundaries rounded down to multiples of align. */
export function tileRange(tile: number, tiles: number, workItems: number, align: number): [number, number] {
  const boundary = (t: number) => (t >= tiles ? workItems : Math.min(workItems, Math.floor(Math.floor((workItems * t) / tiles) / align) * align));
  return [boundary(tile), boundary(tile + 1)];
}

/**
 * The tiles thread `thread` of `threads` takes first: a contiguous share, the same for every job of the same
 * size. Each thread thus keeps touching the same part of a tensor from op to op (the elementwise ops, the row
 * split of a GEMM), which stays in its core's cache; a line written by the other core costs a transfer.
 */
export function ownTiles(thread: number, threads: number, tiles: number): [number, number] {
  return [Math.floor((tiles * thread) / threads), Math.floor((tiles * (thread + 1)) / threads)];
}

/** Publishes the tile cursors of a job: each thread's starts at the first tile of its own share. */
export function resetCursors(words: Int32Array, threads: number, tiles: number): void {
  for (let t = 0; t < threads; t++) Atomics.store(words, Word.cursors + t, ownTiles(t, threads, tiles)[0]);
}

/**
 * Claims the next tile for `thread`: from its own share first, then from the others' (the thread after it
 * first), so a thread that is late or gone has its tiles taken over. Returns -1 when none is left.
 */
export function claimTile(words: Int32Array, thread: number): number {
  const threads = words[Word.threadCount], tiles = words[Word.tileCount];
  for (let step = 0; step < threads; step++) {
    const owner = (thread + step) % threads;
    const end = ownTiles(owner, threads, tiles)[1];
    if (Atomics.load(words, Word.cursors + owner) >= end) continue;
    const tile = Atomics.add(words, Word.cursors + owner, 1);
    if (tile < end) return tile;
  }
  return -1;
}

/**
 * Runs tiles of the current job until none are left, as thread `thread` (0 is the caller, worker i is i + 1).
 * A tile that throws is still counted done, the error is flagged for the caller, and the remaining tiles are
 * drained unrun: nobody ever waits on a failed tile. `failFirstTile` is fault injection for tests. Returns
 * the error, if any.
 */
export function runTiles(words: Int32Array, argumentsView: Float64Array, kernels: Record<string, (...args: number[]) => unknown>,
  scratch: number, thread: number, errorCode: number, failFirstTile = false): unknown {
  const kernel = kernels[dispatchableKernels[words[Word.kernel]]];
  const count = words[Word.argumentCount], tiles = words[Word.tileCount];
  const workItems = words[Word.workItems], align = words[Word.tileAlign], scratchArgument = words[Word.scratchArgument];
  const args = new Array<number>(count + 2);
  for (let i = 0; i < count; i++) args[i] = argumentsView[i];
  if (scratchArgument >= 0) args[scratchArgument] = scratch;
  let failure: unknown = undefined;
  for (;;) {
    const tile = claimTile(words, thread);
    if (tile < 0) return failure;
    if (failure === undefined) {
      const [begin, end] = tileRange(tile, tiles, workItems, align);
      args[count] = begin;
      args[count + 1] = end;
      try {
        if (failFirstTile) throw new Error('injected fault');
        if (end > begin) kernel(...args);
      } catch (error) {
        failure = error;
        Atomics.store(words, Word.errorCode, errorCode);
      }
    }
    Atomics.add(words, Word.tilesDone, 1);
    Atomics.notify(words, Word.tilesDone);
  }
}
