// Instantiates a built kernel module (build/kernels-*.wasm) on a fresh shared memory, for tests of raw kernels.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--experimental-wasm-relaxed-simd');

export type KernelVariant = 'simd' | 'relaxed';
export interface RawKernels {
  exports: Record<string, (...args: number[]) => number>;
  memory: WebAssembly.Memory;
  /** A fresh view: the memory may grow. */
  f32(): Float32Array;
  i32(): Int32Array;
  u8(): Uint8Array;
}

export async function loadKernels(variant: KernelVariant, pages = 256): Promise<RawKernels> {
  const bytes = readFileSync(new URL(`../../build/kernels-${variant}.wasm`, import.meta.url));
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  return {
    exports: instance.exports as RawKernels['exports'],
    memory,
    f32: () => new Float32Array(memory.buffer),
    i32: () => new Int32Array(memory.buffer),
    u8: () => new Uint8Array(memory.buffer),
  };
}
