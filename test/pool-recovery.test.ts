// A replacement kernel worker takes part in the very next job once backend.ready() resolves (it announces itself only after reading the job counter).
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

describe('worker replacement', () => {
  it('after a worker dies and ready() resolves, the new worker runs the next job (a fault aimed at it fires, no stall)', async () => {
    await torch.backend.ready();
    if (torch.backend.info().threads < 2) return; // one core: no workers to replace
    const a = torch.randn(256, 256);
    const expected = torch.tidy(() => a.mm(a).sum().item());
    torch.backend.injectWorkerFault('die', 0, 500);
    expect(() => torch.tidy(() => a.mm(a).sum().item())).toThrow(/stopped/);
    await torch.backend.ready();
    // The caller stays out of a job with a fault: only the replacement can run it. Before the fix it had
    // taken this job as already handled and the caller stalled until the timeout.
    torch.backend.injectWorkerFault('fail', 0, 3000);
    const started = performance.now();
    expect(() => torch.tidy(() => a.mm(a).sum().item())).toThrow(/kernel worker 0 failed/);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(Math.abs(torch.tidy(() => a.mm(a).sum().item()) - expected)).toBeLessThan(1e-2);
    a.dispose();
  });
});
