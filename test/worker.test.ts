// wasmtorch/worker under Node: a worker_threads worker serves tensor functions over comlink; the page-side wrap works on a Node Worker too.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { disposeAfterSend, tensorFromMessage, tensorToMessage, tensorTransferHandler, wrap } from '../src/worker/index.js';

interface NodeModelApi {
  echo(value: unknown): unknown;
  double(x: torch.Tensor): torch.Tensor;
  fail(): torch.Tensor;
  threads(): number;
}

const worker = new Worker(new URL('./fixtures/node-model-worker.mjs', import.meta.url));
const remote = wrap<NodeModelApi>(worker);
afterAll(() => worker.terminate());

describe('tensor wire form', () => {
  it('keeps shape, dtype and values, row-major even for views', () => {
    const base = torch.arange(6, { dtype: 'int32' }).reshape(2, 3);
    const view = base.t();
    const message = tensorToMessage(view);
    expect(message.shape).toEqual([3, 2]);
    expect(message.dtype).toBe('int32');
    expect(Array.from(message.data)).toEqual([0, 3, 1, 4, 2, 5]);
    const back = tensorFromMessage(message);
    expect(back.tolist()).toEqual(view.tolist());
    torch.dispose(base, view, back);
  });

  it('the handler lists each data buffer for transfer and leaves other values alone', () => {
    const a = torch.ones(3), b = torch.zeros(2, 2);
    expect(tensorTransferHandler.canHandle({ n: 1, list: [1, 'x'] })).toBe(false);
    expect(tensorTransferHandler.canHandle([1, { deep: [a] }])).toBe(true);
    const [wire, transfers] = tensorTransferHandler.serialize({ a, rest: [b, 5] });
    expect(transfers).toHaveLength(2);
    const back = tensorTransferHandler.deserialize(wire) as { a: torch.Tensor; rest: [torch.Tensor, number] };
    expect(back.a.tolist()).toEqual([1, 1, 1]);
    expect(back.rest[0].tolist()).toEqual([[0, 0], [0, 0]]);
    expect(back.rest[1]).toBe(5);
    torch.dispose(a, b, back);
  });
});

describe('disposeAfterSend', () => {
  it('frees the tensors of a marked result once serialized, and only those', () => {
    const before = torch.memory();
    const kept = torch.ones(2);
    const sent = { y: torch.zeros(3), extra: [torch.ones(1), 'label'] };
    const [wireKept] = tensorTransferHandler.serialize(kept);
    expect(kept.isDisposed).toBe(false);
    const [wireSent] = tensorTransferHandler.serialize(disposeAfterSend(sent));
    expect(sent.y.isDisposed).toBe(true);
    expect((sent.extra[0] as torch.Tensor).isDisposed).toBe(true);
    const copies = [tensorTransferHandler.deserialize(wireKept), tensorTransferHandler.deserialize(wireSent)];
    expect((copies[1] as { y: torch.Tensor }).y.tolist()).toEqual([0, 0, 0]);
    torch.dispose(kept, copies);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});

describe('a worker_threads model worker', () => {
  it('round-trips tensors and computes on them', async () => {
    const x = torch.tensor([[1.5, -2], [3, 4]]);
    const doubled = await remote.double(x);
    expect(doubled.tolist()).toEqual([[3, -4], [6, 8]]);
    const echoed = await remote.echo({ x, flags: torch.tensor([true, false]) }) as { x: torch.Tensor; flags: torch.Tensor };
    expect(echoed.x.tolist()).toEqual(x.tolist());
    expect(echoed.flags.dtype).toBe('bool');
    expect(echoed.flags.tolist()).toEqual([true, false]);
    torch.dispose(x, doubled, echoed);
  });

  it('a worker-side error rejects with its class name and message', async () => {
    await expect(remote.fail()).rejects.toThrow(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)/);
    await expect(remote.fail()).rejects.toMatchObject({ name: 'ShapeError' });
    expect(await remote.threads()).toBeGreaterThanOrEqual(1); // still serving
  });
});
