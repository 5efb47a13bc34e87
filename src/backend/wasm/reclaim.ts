// Frees the storage of tensors whose handles were garbage-collected, on demand inside synchronous loops (wasm-notes 23).
//
// FinalizationRegistry callbacks normally run as tasks after a GC, so a synchronous training loop with no
// dispose() would grow the memory without bound. In Node we take `gc` and a registry with `cleanupSome`
// from a fresh vm context (flags set after start-up apply to new contexts only); the allocator calls
// reclaim() before it grows the memory. Browsers have neither, but their loops yield to the event loop.

type Registry = FinalizationRegistry<unknown> & { cleanupSome?: (callback?: (held: unknown) => void) => void };

export interface Reclaimer {
  registry: Registry;
  /** Runs a full GC and the callbacks of every collected handle, synchronously; false where unsupported. */
  reclaim(): boolean;
  readonly synchronous: boolean;
}

export async function createReclaimer(onCollected: (held: unknown) => void): Promise<Reclaimer> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (isNode) {
    try {
      const v8 = await import('node:v8');
      const vm = await import('node:vm');
      v8.setFlagsFromString('--expose-gc');
      v8.setFlagsFromString('--harmony-weak-refs-with-cleanup-some');
      const context = vm.runInNewContext('({ gc: globalThis.gc, FinalizationRegistry })') as {
        gc?: () => void; FinalizationRegistry: typeof FinalizationRegistry;
      };
      const registry = new context.FinalizationRegistry(onCollected) as Registry;
      if (typeof context.gc === 'function' && typeof registry.cleanupSome === 'function') {
        const gc = context.gc;
        return {
          registry,
          synchronous: true,
          reclaim() {
            gc();
            registry.cleanupSome!();
            return true;
          },
        };
      }
    } catch {
      // Fall through to the plain registry: the flags may be gone in a later V8.
    }
  }
  return { registry: new FinalizationRegistry(onCollected) as Registry, synchronous: false, reclaim: () => false };
}
