// Adapts a Node worker_threads Worker or parentPort (an EventEmitter) to the Endpoint comlink expects.
import type { Endpoint } from 'comlink';

interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(type: string, listener: (value: unknown) => void): unknown;
  off(type: string, listener: (value: unknown) => void): unknown;
}

type Listener = EventListenerOrEventListenerObject;

export function nodeEndpoint(port: NodePort): Endpoint {
  // comlink removes the listeners it added: remember which Node listener stands for each.
  const listeners = new WeakMap<Listener, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener(_type: string, listener: Listener) {
      const forward = (data: unknown) => {
        const event = { data } as MessageEvent;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      port.on('message', forward);
      listeners.set(listener, forward);
    },
    removeEventListener(_type: string, listener: Listener) {
      const forward = listeners.get(listener);
      if (!forward) return;
      port.off('message', forward);
      listeners.delete(listener);
    },
  };
}
