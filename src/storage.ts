// Reference-counted blocks of the shared memory: views share one Storage; the last release frees it.
import { wasm } from './backend/wasm/device.js';
import { currentWebgpu, webgpu, type WebgpuDevice } from './backend/webgpu/device.js';
import type { Dtype } from './dtype.js';

/** Where a tensor's elements live: the WebAssembly memory, or GPU buffers. */
export type Device = 'cpu' | 'webgpu';

let liveStorages = 0;
let liveStorageBytes = 0;
let liveHandles = 0;

export class Storage {
  /** Byte address in the WebAssembly memory; -1 for GPU storage. */
  readonly pointer: number;
  /** The GPU buffer (webgpu storage only) and the device that owns it. */
  readonly buffer: GPUBuffer | null = null;
  readonly gpu: WebgpuDevice | null = null;
  readonly device: Device;
  readonly bytes: number;
  readonly dtype: Dtype;
  #references = 0;
  /** Bumped by every in-place write; saved tensors compare against it (autograd). */
  version = 0;
  /** Set when a view of this storage is recorded in the autograd graph: in-place ops on it then refuse. */
  viewedInGraph = false;

  constructor(bytes: number, dtype: Dtype, device: Device = 'cpu') {
    this.device = device;
    if (device === 'webgpu') {
      this.gpu = webgpu();
      this.buffer = this.gpu.allocate(bytes, () => wasm.reclaimer.reclaim());
      this.pointer = -1;
    } else {
      this.pointer = wasm.allocator.allocate(bytes);
    }
    this.bytes = bytes;
    this.dtype = dtype;
    liveStorages++;
    liveStorageBytes += bytes;
  }

  /** Handles (tensors, views, saved aliases) holding this storage. */
  get references(): number {
    return this.#references;
  }

  retain(): void {
    this.#references++;
  }

  release(): void {
    if (--this.#references === 0) {
      if (this.buffer !== null) this.gpu!.free(this.buffer);
      else wasm.allocator.free(this.pointer, this.bytes);
      liveStorages--;
      liveStorageBytes -= this.bytes;
    }
  }

  /** Called by the finalization registry when a tensor handle holding this storage was collected. */
  collected(): void {
    liveHandles--;
    this.release();
  }
}

/** Registers a new tensor handle: it holds a reference until dispose() or until it is garbage-collected. */
export function registerHandle(handle: object, storage: Storage): void {
  storage.retain();
  liveHandles++;
  wasm.reclaimer.registry.register(handle, storage, handle);
}

export function unregisterHandle(handle: object, storage: Storage): void {
  wasm.reclaimer.registry.unregister(handle);
  liveHandles--;
  storage.release();
}

export interface MemoryInfo {
  /** Live tensor handles (not disposed, not collected). */
  tensors: number;
  /** Distinct storages behind them (views share one). */
  storages: number;
  /** Bytes of those storages. */
  bytes: number;
  /** Bytes the allocator holds for them, rounded to size classes. */
  allocatedBytes: number;
  /** Size of the WebAssembly memory now, and its limit. */
  memoryBytes: number;
  maximumBytes: number;
  /** GPU buffer bytes held by live tensors on 'webgpu' (size classes), and freed buffers kept for reuse. */
  webgpuBytes: number;
  webgpuPooledBytes: number;
}

export function memory(): MemoryInfo {
  const stats = wasm.allocator.stats();
  const gpu = currentWebgpu()?.stats();
  return {
    tensors: liveHandles,
    storages: liveStorages,
    bytes: liveStorageBytes,
    allocatedBytes: stats.liveBytes,
    memoryBytes: stats.memoryBytes,
    maximumBytes: stats.maximumBytes,
    webgpuBytes: gpu?.liveBytes ?? 0,
    webgpuPooledBytes: gpu?.pooledBytes ?? 0,
  };
}
