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

/** WASMTORCH_MEMORY=unshared in Node gives the one-thread memory of engines without shared WebAssembly memory: for its tests. */
function memoryFromEnvironment(): 'shared' | 'unshared' | undefined {
  const value = typeof process !== 'undefined' ? process.env?.WASMTORCH_MEMORY : undefined;
  return value === 'shared' || value === 'unshared' ? value : undefined;
}

export const wasm = await createRuntime((held) => (held as Collectable).collected(),
  { forceKernels: kernelsFromEnvironment(), forceMemory: memoryFromEnvironment() });
