// The job block in shared memory through which the calling thread hands kernel tiles to workers (Atomics, no messages).
//
// Shared by the runtime (which writes jobs) and the worker (which runs tiles), so both agree on the layout.

/** Kernels that may run on workers; a job names one by its index here. */
export const dispatchableKernels = [
  'unary_f32', 'unary_i32', 'binary_f32', 'binary_i32', 'compare', 'where_select', 'convert', 'reduce', 'softmax_f32',
  'gather', 'sequence', 'random_uniform_f32', 'random_normal_f32', 'random_int_i32', 'gemm_f32', 'gemm_f32_columns',
  'conv_im2col_f32', 'conv_col2im_f32', 'conv_im2col_unpadded_f32', 'conv_col2im_unpadded_f32', 'conv_rows_to_planes_f32', 'conv_planes_to_rows_f32',
  'conv_direct_f32', 'conv_direct_weight_f32', 'conv_bias_grad_f32',
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
  nextTile: 6, // fetch-add by every participant
  tilesDone: 7,
  command: 8, // 0 run, 1 exit, 2 fail (fault injection: throw), 3 die (fault injection: stop mid-tile)
  errorCode: 9, // non-zero when a worker's tile threw
  scratchArgument: 10, // index of the argument each thread replaces with its own scratch, or -1
  faultWorker: 11, // which worker a fault command targets
  active: 16, // one word per worker: 1 while it may read the job block, so the caller never rewrites it under a reader
} as const;

export const maximumWorkers = 32;
export const argumentsOffsetBytes = 256; // f64 arguments after the words
export const maximumArguments = 24;
export const jobBlockBytes = argumentsOffsetBytes + maximumArguments * 8;

export const Command = { run: 0, exit: 1, fail: 2, die: 3 } as const;

/** Tile t of `tiles` over [0, workItems), boundaries rounded down to multiples of align. */
export function tileRange(tile: number, tiles: number, workItems: number, align: number): [number, number] {
  const boundary = (t: number) => (t >= tiles ? workItems : Math.min(workItems, Math.floor(Math.floor((workItems * t) / tiles) / align) * align));
  return [boundary(tile), boundary(tile + 1)];
}

/**
 * Runs tiles of the current job until none are left. A tile that throws is still counted done, the error
 * is flagged for the caller, and the remaining tiles are drained unrun: nobody ever waits on a failed tile.
 * `failFirstTile` is fault injection for tests. Returns the error, if any.
 */
export function runTiles(words: Int32Array, argumentsView: Float64Array, kernels: Record<string, (...args: number[]) => unknown>,
  scratch: number, errorCode: number, failFirstTile = false): unknown {
  const kernel = kernels[dispatchableKernels[words[Word.kernel]]];
  const count = words[Word.argumentCount], tiles = words[Word.tileCount];
  const workItems = words[Word.workItems], align = words[Word.tileAlign], scratchArgument = words[Word.scratchArgument];
  const args = new Array<number>(count + 2);
  for (let i = 0; i < count; i++) args[i] = argumentsView[i];
  if (scratchArgument >= 0) args[scratchArgument] = scratch;
  let failure: unknown = undefined;
  for (;;) {
    const tile = Atomics.add(words, Word.nextTile, 1);
    if (tile >= tiles) return failure;
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
