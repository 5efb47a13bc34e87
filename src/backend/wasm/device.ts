// The one WebAssembly runtime of this process, created when wasmtorch is imported (top-level await).
import { createRuntime } from './runtime.js';

/** Storage handed to the finalization registry: freed when its tensor handle was garbage-collected. */
export interface Collectable {
  collected(): void;
}

/** WASMTORCH_KERNELS=simd (or relaxed) in Node pins the kernel build: for benchmarks and tests of the fallback. */
function kernelsFromEnvironment(): 'simd' | 'relaxed' | undefined {
  const value = typeof process !== 'undefined' ? process.env?.WASMTORCH_KERNELS : undefined;
  return value === 'simd' || value === 'relaxed' ? value : undefined;
}

export const wasm = await createRuntime((held) => (held as Collectable).collected(), { forceKernels: kernelsFromEnvironment() });
