// Concurrency (issue #8.4): two training loops interleaved in one process, and two models in two workers at once, give the results each gives alone.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { recordFigures } from './reliability-figures.js';
import { wrap } from '../src/worker/index.js';
import { makeRun, trainAlone } from './fixtures/concurrent-training.mjs';

const STEPS = 40;
const figures: { case: string; steps: number; runs: number; bitwiseEqual: boolean }[] = [];
afterAll(() => recordFigures('concurrency', { figures }));

describe('concurrency', () => {
  it('two async training loops interleaved step by step give bitwise the losses each gives alone', async () => {
    const alone = [trainAlone(torch, 1, STEPS), trainAlone(torch, 2, STEPS)];
    const before = torch.memory();
    const runs = [makeRun(torch, 1), makeRun(torch, 2)];
    const interleaved = await Promise.all(runs.map(async (run) => {
      const losses: number[] = [];
      for (let t = 0; t < STEPS; t++) {
        losses.push(run.step());
        // Yield so the other loop's step runs between two of ours.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return losses;
    }));
    runs.forEach((run) => run.dispose());
    expect(interleaved).toEqual(alone);
    figures.push({ case: 'two async training loops interleaved step by step in one process', steps: STEPS, runs: 2, bitwiseEqual: true });
    expect(alone[0]).not.toEqual(alone[1]);
    expect(alone[0][STEPS - 1]).toBeLessThan(alone[0][0]);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('two models training in two workers at once give bitwise the losses of each run alone on this thread', async () => {
    const alone = [trainAlone(torch, 3, STEPS), trainAlone(torch, 4, STEPS)];
    const workers = [0, 1].map(() => new Worker(new URL('./fixtures/concurrent-model-worker.mjs', import.meta.url)));
    try {
      const remotes = workers.map((worker) => wrap<{ train(seed: number, steps: number): number[] }>(worker));
      const together = await Promise.all([remotes[0].train(3, STEPS), remotes[1].train(4, STEPS)]);
      expect(together).toEqual(alone);
      figures.push({ case: 'two models training in two workers at once', steps: STEPS, runs: 2, bitwiseEqual: true });
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });
});
