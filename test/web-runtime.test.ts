// The runtime's browser-facing fallbacks, checked under Node: kernels with the shared flag cleared for engines without shared WebAssembly memory, and what info() reports then.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { relaxedKernelsBase64, simdKernelsBase64 } from '../src/generated/kernels.js';
import { withUnsharedMemoryImport } from '../src/backend/wasm/runtime.js';
import * as torch from '../src/index.js';

const bytesOf = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
const memoryLimits = { initial: 64, maximum: 65536 };

describe('kernels for an unshared memory', () => {
  for (const [name, base64] of [['simd', simdKernelsBase64], ['relaxed', relaxedKernelsBase64]] as const) {
    it(`${name}: the shipped module needs a shared memory; the variant takes an unshared one and computes the same`, async () => {
      const shared = bytesOf(base64);
      const unshared = withUnsharedMemoryImport(shared);
      expect(unshared).not.toBe(shared);
      expect(unshared.length).toBe(shared.length);
      // Exactly one byte differs: the memory import's flags.
      expect([...shared].filter((byte, i) => byte !== unshared[i]).length).toBe(1);
      await expect(WebAssembly.instantiate(shared, { env: { memory: new WebAssembly.Memory(memoryLimits) } })).rejects.toThrow(/shared/);
      const memory = new WebAssembly.Memory(memoryLimits);
      const { instance } = await WebAssembly.instantiate(unshared, { env: { memory } });
      expect(typeof instance.exports.gemm_f32).toBe('function');
      // Cleared once, unchanged after.
      expect(withUnsharedMemoryImport(unshared)).toBe(unshared);
    });
  }
});

describe('a runtime without shared memory (WASMTORCH_MEMORY=unshared, as Firefox or Safari without isolation)', () => {
  it('runs on one thread, says so, computes right, grows its memory, and refuses more threads', () => {
    const script = `
      import * as torch from 'wasmtorch';
      const before = torch.backend.info();
      torch.manualSeed(0);
      const a = torch.randn(300, 200), b = torch.randn(200, 100);
      const big = torch.zeros(8, 1024, 1024);                      // 32 MiB: the memory grows
      const product = a.mm(b).sum().item();
      await torch.setNumThreads(4);
      const after = torch.backend.info();
      console.log(JSON.stringify({ before, after, product, bigSum: big.sum().item() }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, WASMTORCH_MEMORY: 'unshared' },
    });
    const { before, after, product, bigSum } = JSON.parse(output.trim().split('\n').pop()!);
    expect(before.sharedMemory).toBe(false);
    expect(before.threads).toBe(1);
    expect(before.notes.join(' ')).toMatch(/one thread/);
    expect(after.threads).toBe(1);
    expect(after.memoryBytes).toBeGreaterThan(32 * 1024 * 1024);
    expect(bigSum).toBe(0);
    torch.manualSeed(0);
    const a = torch.randn(300, 200), b = torch.randn(200, 100);
    const expected = torch.tidy(() => a.mm(b).sum().item());
    expect(Math.abs(product - expected)).toBeLessThan(1e-2);
    torch.dispose(a, b);
  });

  it('the usual runtime reports shared memory and no isolation state outside a browser', () => {
    const info = torch.backend.info();
    expect(info.sharedMemory).toBe(true);
    expect(info.crossOriginIsolated).toBeNull();
  });
});
