// The one WebAssembly runtime of this process, created when wasmtorch is imported (top-level await).
import { createRuntime } from './runtime.js';

/** Storage handed to the finalization registry: freed when its tensor handle was garbage-collected. */
export interface Collectable {
  collected(): void;
}

export const wasm = await createRuntime((held) => (held as Collectable).collected());
