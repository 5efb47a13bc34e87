// wasmtorch/worker: run a model or a training loop in a worker and call it from the page with an async API (comlink), tensors included.
//
// The browser's main thread may not block in Atomics.wait, and a training loop there freezes the page: run the
// model in a worker of its own and call it from the page. Tensors in arguments and results (also inside arrays
// and plain objects) cross as shape + dtype + data, their data buffer transferred rather than copied; the tensor
// that arrives is a new, detached tensor the receiver owns (dispose it; an exposed method owns the tensors it
// receives, and returns disposeAfterSend(result) to free a result once it is sent). Errors thrown in the
// worker reach the caller with their name and message.
//
//   // model-worker.js
//   import * as torch from 'wasmtorch';
//   import { expose } from 'wasmtorch/worker';
//   expose({ async train(steps, onStep) { ... await onStep(t, loss) ... }, predict: (x) => model.forward(x) });
//
//   // page.js
//   import { wrap, proxy } from 'wasmtorch/worker';
//   const remote = wrap(new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module' }));
//   await remote.train(100, proxy((step, loss) => draw(step, loss)));
import * as Comlink from 'comlink';
import { nodeEndpoint } from './node-endpoint.js';
import * as torch from '../index.js';

export { proxy, transfer, releaseProxy, type Remote, type Endpoint } from 'comlink';

/** A tensor on the wire: what crosses a worker boundary (data is a fresh copy, so it can be transferred). */
export interface TensorMessage {
  shape: number[];
  dtype: torch.Dtype;
  data: Float32Array | Int32Array | Uint8Array;
}

const marker = '__wasmtorchTensor';
type Marked = { [marker]: TensorMessage };
/** How deep arguments and results are searched for tensors (arrays and plain objects only). */
const maximumDepth = 16;

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function containsTensor(value: unknown, depth = 0): boolean {
  if (value instanceof torch.Tensor) return true;
  if (depth >= maximumDepth || !isPlainContainer(value)) return false;
  return (Array.isArray(value) ? value : Object.values(value)).some((item) => containsTensor(item, depth + 1));
}

/** The wire form of one tensor: its elements in row-major order, copied out of the WebAssembly memory. */
export function tensorToMessage(tensor: torch.Tensor): TensorMessage {
  return { shape: [...tensor.shape], dtype: tensor.dtype, data: tensor.toArray() as TensorMessage['data'] };
}

/** A new tensor (owned by the caller) from its wire form. */
export function tensorFromMessage(message: TensorMessage): torch.Tensor {
  return torch.fromArray(message.data, message.shape);
}

function encode(value: unknown, transfers: Transferable[], depth: number): unknown {
  if (value instanceof torch.Tensor) {
    const message = tensorToMessage(value);
    transfers.push(message.data.buffer as ArrayBuffer);
    return { [marker]: message } satisfies Marked;
  }
  if (depth >= maximumDepth || !isPlainContainer(value)) return value;
  if (Array.isArray(value)) return value.map((item) => encode(item, transfers, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, encode(item, transfers, depth + 1)]));
}

function decode(value: unknown, depth: number): unknown {
  if (!isPlainContainer(value)) return value;
  // Before the depth limit: encode turns a tensor into its wire object at any depth it reaches, the last included.
  if (!Array.isArray(value) && marker in value) return tensorFromMessage((value as Marked)[marker]);
  if (depth >= maximumDepth) return value;
  if (Array.isArray(value)) return value.map((item) => decode(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, decode(item, depth + 1)]));
}

/** Values whose tensors are disposed once they have been copied onto the wire (see disposeAfterSend). */
const sendThenDispose = new WeakSet<object>();

/**
 * Marks a result (a tensor, or an array or plain object holding tensors) to be disposed as soon as it has
 * been sent: `return disposeAfterSend(model(x))`. Without it a tensor returned from an exposed method stays
 * allocated on the sending side until disposed or garbage-collected, since the receiver gets a copy.
 */
export function disposeAfterSend<T>(value: T): T {
  if (value !== null && typeof value === 'object') sendThenDispose.add(value);
  return value;
}

function disposeTensors(value: unknown, depth: number): void {
  if (value instanceof torch.Tensor) value.dispose();
  else if (depth < maximumDepth && isPlainContainer(value)) {
    for (const item of Array.isArray(value) ? value : Object.values(value)) disposeTensors(item, depth + 1);
  }
}

/**
 * comlink's transfer handler for tensors, alone or inside arrays and plain objects: serialized as shape, dtype
 * and data, the data's buffer listed for transfer.
 */
export const tensorTransferHandler: Comlink.TransferHandler<unknown, unknown> = {
  canHandle: (value): value is unknown => containsTensor(value),
  serialize(value) {
    const transfers: Transferable[] = [];
    const wire = encode(value, transfers, 0);
    if (value !== null && typeof value === 'object' && sendThenDispose.has(value)) {
      sendThenDispose.delete(value);
      disposeTensors(value, 0);
    }
    return [wire, transfers];
  },
  deserialize: (wire) => decode(wire, 0),
};

/** Registers the tensor transfer handler with comlink (expose and wrap do this themselves). */
export function registerTensorTransfer(): void {
  Comlink.transferHandlers.set('wasmtorch.tensor', tensorTransferHandler);
}

/** A browser Worker, a worker scope, a MessagePort, or a Node worker_threads Worker / parentPort. */
export type WorkerLike = Comlink.Endpoint | NodeWorkerLike;
interface NodeWorkerLike {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(type: string, listener: (value: unknown) => void): unknown;
  off(type: string, listener: (value: unknown) => void): unknown;
}

function endpointOf(target: WorkerLike): Comlink.Endpoint {
  if ('addEventListener' in target && typeof target.addEventListener === 'function') return target as Comlink.Endpoint;
  return nodeEndpoint(target as NodeWorkerLike);
}

/**
 * In the worker: serves `api` (an object whose methods take and return tensors, numbers, plain data, or
 * comlink proxies for callbacks) to whoever wraps this worker. `endpoint` defaults to the worker's own scope
 * (`self` in a browser, `parentPort` under Node's worker_threads).
 */
export async function expose(api: object, endpoint?: WorkerLike): Promise<void> {
  registerTensorTransfer();
  let target = endpoint;
  if (!target) {
    const scope = globalThis as { WorkerGlobalScope?: unknown };
    if (typeof scope.WorkerGlobalScope !== 'undefined') target = globalThis as unknown as Comlink.Endpoint;
    else if (typeof process !== 'undefined' && process.versions?.node) {
      const { parentPort } = await import('node:worker_threads');
      if (!parentPort) throw new torch.ArgumentError('expose: not running in a worker (no parentPort); pass the endpoint to serve on');
      target = parentPort as unknown as NodeWorkerLike;
    } else {
      throw new torch.ArgumentError('expose: not running in a worker; pass the endpoint to serve on');
    }
  }
  const port = endpointOf(target);
  Comlink.expose(api, withoutHandshake(port));
  // A page that wrapped this worker before the worker listened (a module worker still loading its imports
  // drops messages) hears now that calls can go; a page that wraps later asks, and is answered.
  port.addEventListener('message', (event) => {
    if ((event as MessageEvent).data?.[handshake] === 'ready?') port.postMessage({ [handshake]: 'ready' });
  });
  port.postMessage({ [handshake]: 'ready' });
}

const handshake = '__wasmtorchWorker';

/** The endpoint as comlink's expose sees it: handshake messages filtered out. */
function withoutHandshake(endpoint: Comlink.Endpoint): Comlink.Endpoint {
  const filtered = new WeakMap<EventListenerOrEventListenerObject, EventListener>();
  return {
    postMessage: (message, transfer) => endpoint.postMessage(message, transfer),
    addEventListener(type, listener) {
      const forward: EventListener = (event) => {
        if ((event as MessageEvent).data?.[handshake] !== undefined) return;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      filtered.set(listener, forward);
      endpoint.addEventListener(type, forward);
    },
    removeEventListener(type, listener) {
      const forward = filtered.get(listener);
      if (forward) endpoint.removeEventListener(type, forward);
    },
    start: endpoint.start?.bind(endpoint),
  };
}

/**
 * The endpoint as comlink's wrap sees it: calls made before the worker said it is ready are held, then sent
 * in order. Without this, the first calls to a module worker still loading wasmtorch would be lost.
 */
function afterHandshake(endpoint: Comlink.Endpoint): Comlink.Endpoint {
  let ready = false;
  const held: [unknown, Transferable[] | undefined][] = [];
  const onMessage = (event: Event) => {
    if ((event as MessageEvent).data?.[handshake] !== 'ready' || ready) return;
    ready = true;
    endpoint.removeEventListener('message', onMessage);
    for (const [message, transfer] of held.splice(0)) endpoint.postMessage(message, transfer);
  };
  endpoint.addEventListener('message', onMessage);
  endpoint.start?.();
  endpoint.postMessage({ [handshake]: 'ready?' });
  return {
    postMessage(message, transfer) {
      if (ready) endpoint.postMessage(message, transfer);
      else held.push([message, transfer]);
    },
    addEventListener: (type, listener) => endpoint.addEventListener(type, listener),
    removeEventListener: (type, listener) => endpoint.removeEventListener(type, listener),
    start: endpoint.start?.bind(endpoint),
  };
}

/**
 * On the page: an async proxy for the api a worker exposed. Every method returns a promise; tensors in
 * arguments and results cross as new tensors the receiver owns; a worker-side throw rejects with its message.
 */
export function wrap<Api>(worker: WorkerLike): Comlink.Remote<Api> {
  registerTensorTransfer();
  return Comlink.wrap<Api>(afterHandshake(endpointOf(worker)));
}
