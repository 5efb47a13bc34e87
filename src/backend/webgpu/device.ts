// The WebGPU device: acquisition (navigator.gpu, or the `webgpu` package in Node), pooled buffers, cached pipelines, batched dispatch, async reads, device loss.
import { DeviceError } from '../../errors.js';

/** GPU storage is 4 bytes per element for every dtype (bool as a u32 0/1): WGSL has no byte-sized storage types. */
export const gpuElementBytes = 4;

/** Raised by any op touching a device that was lost (driver reset, destroy(), GPU removed). */
export class DeviceLostError extends DeviceError {
  override name = 'DeviceLostError';
}

/** Bytes of parameters one dispatch may take (binding 0): 128 words covers rank-8 strides for four operands. */
const paramSlotBytes = 512;
const paramRingBytes = 1 << 20;
/** Dispatches recorded before a submit even when nobody reads: bounds the work queued behind one submit. */
const maximumBatchedDispatches = 64;
const maximumWorkgroupsPerDimension = 65535;

/**
 * New GPU buffers made since the last reclaim that make the device drain collected tensors first: the CPU
 * allocator's rule (reclaim before growing) in GPU terms, so a loop that never disposes stays bounded.
 */
const reclaimEveryBytes = 64 * 2 ** 20;

/** Buffer sizes are rounded to classes so freed buffers are reused (GPU allocation is slow everywhere). */
function sizeClass(bytes: number): number {
  const size = Math.max(16, bytes);
  if (size <= 1 << 20) return 2 ** Math.ceil(Math.log2(size));
  const step = 1 << 20;
  return Math.ceil(size / step) * step;
}

export class WebgpuDevice {
  readonly device: GPUDevice;
  readonly adapterInfo: string;
  /**
   * The GPU instance and adapter the device came from, held for the device's lifetime: in Node (dawn.node)
   * collecting either tears down the instance under a live device and aborts the process.
   */
  readonly #owners: readonly unknown[];
  #pipelines = new Map<string, GPUComputePipeline>();
  #freeBuffers = new Map<number, GPUBuffer[]>();
  #encoder: GPUCommandEncoder | null = null;
  #batched = 0;
  #paramRing: GPUBuffer;
  #paramOffset = 0;
  #lostReason: string | null = null;
  /** The first error the device reported by itself (validation, out of memory): raised by the next op. */
  #deviceError: string | null = null;
  #liveBytes = 0;
  #pooledBytes = 0;
  #createdSinceReclaim = 0;

  constructor(device: GPUDevice, adapterInfo: string, owners: readonly unknown[]) {
    this.device = device;
    this.#owners = owners;
    this.adapterInfo = adapterInfo;
    this.#paramRing = device.createBuffer({ size: paramRingBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    void device.lost.then((info) => {
      this.#lostReason = info.message || info.reason || 'unknown reason';
    });
    // WebGPU reports shader and command errors asynchronously; the next op raises them rather than computing on.
    device.addEventListener('uncapturederror', (event) => {
      this.#deviceError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  get lost(): boolean {
    return this.#lostReason !== null;
  }

  /** Throws the device-lost error when the device is gone: every op calls this before recording anything. */
  checkAlive(): void {
    if (this.#deviceError !== null) {
      const message = this.#deviceError;
      this.#deviceError = null;
      throw new DeviceError(`webgpu: an earlier kernel failed on the device, so results since then are wrong: ${message}`);
    }
    if (this.#lostReason !== null) {
      throw new DeviceLostError(`the WebGPU device was lost (${this.#lostReason}); tensors on it are gone. ` +
        "Call await torch.webgpu.isAvailable() for a new device and recreate the tensors (keep a copy on 'cpu' to survive this)");
    }
  }

  /** Bytes of live tensor storage on the GPU, and bytes held in the pool for reuse. */
  stats(): { liveBytes: number; pooledBytes: number } {
    return { liveBytes: this.#liveBytes, pooledBytes: this.#pooledBytes };
  }

  /**
   * A buffer of at least `bytes`: a pooled one of its size class, else a new one. `reclaim` frees the storage
   * of collected tensor handles (synchronously where the engine can); it runs before every 64 MiB of new buffers.
   */
  allocate(bytes: number, reclaim: () => unknown = () => false): GPUBuffer {
    this.checkAlive();
    const size = sizeClass(bytes);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (size > limit) {
      throw new DeviceError(`webgpu: a tensor of ${bytes} bytes exceeds this device's largest storage binding (${limit} bytes)`);
    }
    let reused = this.#freeBuffers.get(size)?.pop();
    if (!reused && this.#createdSinceReclaim + size > reclaimEveryBytes) {
      this.#createdSinceReclaim = 0;
      reclaim();
      reused = this.#freeBuffers.get(size)?.pop();
    }
    this.#liveBytes += size;
    if (reused) {
      this.#pooledBytes -= size;
      return reused;
    }
    this.#createdSinceReclaim += size;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  /**
   * Returns a buffer to the pool. Recorded commands that still use it run before any later use (one queue,
   * in order), and uploads flush first (see write), so reuse never races.
   */
  free(buffer: GPUBuffer): void {
    this.#liveBytes -= buffer.size;
    if (this.#lostReason !== null) return;
    let list = this.#freeBuffers.get(buffer.size);
    if (!list) this.#freeBuffers.set(buffer.size, (list = []));
    list.push(buffer);
    this.#pooledBytes += buffer.size;
  }

  /** Destroys the pooled buffers (not live ones): for memory pressure and tests. */
  releasePool(): void {
    this.flush();
    for (const list of this.#freeBuffers.values()) for (const buffer of list) buffer.destroy();
    this.#freeBuffers.clear();
    this.#pooledBytes = 0;
  }

  /** One compute pipeline per distinct WGSL source; `main` is the entry point. */
  pipeline(code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(code);
    if (!pipeline) {
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code });
      pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.#pipelines.set(code, pipeline);
      // A shader that fails to compile is reported (by the next op) and dropped from the cache, so each later
      // use reports the compile error itself rather than "invalid pipeline".
      void this.device.popErrorScope().then((error) => {
        if (!error) return;
        this.#pipelines.delete(code);
        this.#deviceError ??= `a WebGPU kernel failed to compile: ${error.message}`;
      });
    }
    return pipeline;
  }

  /**
   * Records one dispatch of `code` over `invocations` threads (its workgroup size is 64 unless given): binding 0
   * is `params` (u32 words; floats as their bits), bindings 1.. are `buffers`. Two-dimensional grids cover
   * more than 65535 workgroups; shaders rebuild the flat index with `flatIndex` (see wgsl.ts).
   */
  dispatch(code: string, buffers: readonly GPUBuffer[], params: Uint32Array, invocations: number, workgroupSize = 64): void {
    if (invocations <= 0) return;
    const groups = Math.ceil(invocations / workgroupSize);
    this.dispatchGroups(code, buffers, params, Math.min(groups, maximumWorkgroupsPerDimension), Math.ceil(groups / maximumWorkgroupsPerDimension));
  }

  /** Records one dispatch over an explicit grid of workgroups (tiled kernels such as the GEMM). */
  dispatchGroups(code: string, buffers: readonly GPUBuffer[], params: Uint32Array, x: number, y = 1, z = 1): void {
    this.checkAlive();
    if (x <= 0 || y <= 0 || z <= 0) return;
    if (params.byteLength > paramSlotBytes) throw new Error(`webgpu: ${params.byteLength} bytes of parameters exceed a slot (${paramSlotBytes})`);
    if (Math.max(x, y, z) > maximumWorkgroupsPerDimension) throw new Error(`webgpu: a grid of ${x}×${y}×${z} workgroups exceeds ${maximumWorkgroupsPerDimension} per dimension`);
    const pipeline = this.pipeline(code);
    if (this.#paramOffset + paramSlotBytes > paramRingBytes) {
      // Slots are reused only after everything recorded with them has been submitted (queue order does the rest).
      this.flush();
      this.#paramOffset = 0;
    }
    const paramOffset = this.#paramOffset;
    this.#paramOffset += paramSlotBytes;
    this.device.queue.writeBuffer(this.#paramRing, paramOffset, params.buffer, params.byteOffset, params.byteLength);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.#paramRing, offset: paramOffset, size: paramSlotBytes } }];
    buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.#encoder ??= this.device.createCommandEncoder();
    const pass = this.#encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    if (++this.#batched >= maximumBatchedDispatches) this.flush();
  }

  /** Submits recorded dispatches. */
  flush(): void {
    if (this.#encoder === null) return;
    const commands = this.#encoder.finish();
    this.#encoder = null;
    this.#batched = 0;
    if (this.#lostReason === null) this.device.queue.submit([commands]);
  }

  /** Copies bytes into a buffer; earlier recorded work is submitted first so it still sees the old contents. */
  write(buffer: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.checkAlive();
    this.flush();
    // writeBuffer wants a multiple of 4 bytes; GPU storage always is (4 bytes per element).
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  copy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.checkAlive();
    if (bytes === 0) return;
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
  }

  /** The bytes [byteOffset, byteOffset + bytes) of a buffer, once the GPU has written them. */
  async read(buffer: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copy(buffer, byteOffset, staging, 0, staging.size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (error) {
      staging.destroy();
      this.checkAlive();
      // mapAsync can also reject just before device.lost resolves: report it as the loss it is.
      throw new DeviceLostError(`webgpu: reading a tensor failed (${(error as Error).message}); the device may have been lost`);
    }
    const result = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.checkAlive(); // an error reported while the read waited means the values are not to be trusted
    return result;
  }

  /** Resolves when everything submitted so far has run. */
  async synchronize(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

}

let current: WebgpuDevice | null = null;
let probe: Promise<WebgpuDevice | null> | null = null;
let unavailableReason = 'not probed yet: call await torch.webgpu.isAvailable() first';

/** navigator.gpu in browsers; the optional `webgpu` package in Node. */
async function findGpu(): Promise<GPU | null> {
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (navigatorGpu) return navigatorGpu;
  if (typeof process === 'undefined' || !process.versions?.node) {
    unavailableReason = 'this browser has no navigator.gpu (WebGPU is off, or the page is not a secure context)';
    return null;
  }
  let module: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    // A computed specifier: bundlers (browser builds, Vite apps) leave it alone, Node resolves it at run time.
    const specifier = 'webgpu';
    module = await import(/* @vite-ignore */ specifier) as typeof module;
  } catch (error) {
    unavailableReason = "Node has no WebGPU without the optional 'webgpu' package: npm install webgpu " +
      `(import failed: ${(error as Error).message.split('\n')[0]})`;
    return null;
  }
  // The package's classes (GPUBufferUsage, GPUMapMode, ...) become globals, as they are in browsers.
  for (const [name, value] of Object.entries(module.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return module.create([]);
}

async function acquire(): Promise<WebgpuDevice | null> {
  try {
    const gpu = await findGpu();
    if (!gpu) return null;
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      unavailableReason = 'no WebGPU adapter (no GPU, or no driver: in Node on Linux SwiftShader needs libvulkan1 and ' +
        'VK_ICD_FILENAMES pointing at its ICD)';
      return null;
    }
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
      },
    });
    const info = (adapter as { info?: GPUAdapterInfo }).info;
    const description = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    return new WebgpuDevice(device, description || 'unknown adapter', [gpu, adapter]);
  } catch (error) {
    unavailableReason = `requesting a WebGPU device failed: ${(error as Error).message}`;
    return null;
  }
}

/** torch.webgpu.isAvailable(): probes once (again after a device loss) and caches the answer. */
export async function isAvailable(): Promise<boolean> {
  if (current !== null && !current.lost) return true;
  if (current?.lost) {
    current = null;
    probe = null;
  }
  probe ??= acquire();
  current = await probe;
  return current !== null;
}

/** The device for ops: synchronous, so it must have been acquired by isAvailable() first. */
export function webgpu(): WebgpuDevice {
  if (current === null) {
    throw new DeviceError(`webgpu: no device: ${unavailableReason}. ` +
      "Await torch.webgpu.isAvailable() before creating tensors with device 'webgpu' (it must resolve to true)");
  }
  return current;
}

/** The device if one was acquired, without throwing (for memory reports). */
export function currentWebgpu(): WebgpuDevice | null {
  return current;
}

export function webgpuUnavailableReason(): string {
  return current !== null ? '' : unavailableReason;
}
