// Peer benchmark: float32 matmul through onnxruntime-web's WASM execution provider.
//
// The model is a one-node ONNX graph (C = MatMul(A, B), A and B float32 [N, N]) whose
// protobuf bytes are written here by hand, so no ONNX/protobuf package is needed.
//
// IMPORTANT: `ort.env.wasm.numThreads` is process-global and is read once, when the first
// InferenceSession initialises the WASM backend. One process can therefore measure only
// one thread count: run this in a fresh process per `threads` value, e.g. via the CLI
//
//   node bench/peers/onnx-matmul.mjs <threads> <n1,n2,...> [samples]
//
// which prints `[{"n":64,"gflops":...},...]` (JSON, one line) on stdout and nothing else.
// Calling `onnxMatmul` again in the same process with a different `threads` throws.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------
// A tiny protobuf writer: varints and length-delimited fields are all a ModelProto needs.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

function varint(value) {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // int64 two's complement (not needed here, but correct)
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

const tag = (field, wire) => varint((field << 3) | wire);
const concat = (...parts) => parts.flat();
const fInt = (field, value) => concat(tag(field, WIRE_VARINT), varint(value));
const fBytes = (field, bytes) => concat(tag(field, WIRE_LEN), varint(bytes.length), bytes);
const fStr = (field, s) => fBytes(field, [...new TextEncoder().encode(s)]);

// onnx.proto field numbers.
const ONNX_FLOAT = 1; // TensorProto.DataType.FLOAT

function valueInfo(name, shape) {
  const dims = shape.map((d) => fBytes(1, fInt(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = concat(fInt(1, ONNX_FLOAT), fBytes(2, concat(...dims))); // elem_type, shape
  const typeProto = fBytes(1, tensorType); // TypeProto.tensor_type
  return concat(fStr(1, name), fBytes(2, typeProto)); // ValueInfoProto.name, .type
}

/** ModelProto bytes for C = MatMul(A, B) with A, B, C float32 [n, n]. */
export function matmulModel(n) {
  const node = concat(fStr(1, 'A'), fStr(1, 'B'), fStr(2, 'C'), fStr(3, 'matmul'), fStr(4, 'MatMul'));
  const graph = concat(
    fBytes(1, node), // GraphProto.node
    fStr(2, 'matmul_graph'), // GraphProto.name
    fBytes(11, valueInfo('A', [n, n])), // GraphProto.input
    fBytes(11, valueInfo('B', [n, n])),
    fBytes(12, valueInfo('C', [n, n])), // GraphProto.output
  );
  const opset = concat(fStr(1, ''), fInt(2, 13)); // OperatorSetIdProto: default domain, v13
  const model = concat(
    fInt(1, 8), // ir_version
    fStr(2, 'wasmtorch-bench'), // producer_name
    fBytes(7, graph), // graph
    fBytes(8, opset), // opset_import
  );
  return Uint8Array.from(model);
}

// ---------------------------------------------------------------------------------------

let ort = null;
let initialisedThreads = null;

async function loadOrt(threads) {
  if (initialisedThreads !== null && initialisedThreads !== threads) {
    throw new Error(
      `onnxMatmul: ort.env.wasm.numThreads is process-global and was already ${initialisedThreads}; ` +
        `run threads=${threads} in a fresh process (node bench/peers/onnx-matmul.mjs ${threads} ...)`,
    );
  }
  if (ort === null) {
    ort = await import('onnxruntime-web');
    const dist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
    ort.env.wasm.wasmPaths = pathToFileURL(dist + '/').href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
  }
  initialisedThreads = threads;
  return ort;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function randomData(len, seed) {
  const a = new Float32Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

const MIN_SAMPLE_MS = 150;

/**
 * GFLOP/s (2·N³ / s) of onnxruntime-web's WASM MatMul for each N in `sizes`, with
 * `ort.env.wasm.numThreads = threads`. Median of `samples` timed samples after warm-up;
 * each sample repeats `session.run` until it lasts at least 150 ms.
 * One `threads` value per process (see the header).
 */
export async function onnxMatmul({ sizes, threads, samples = 7 }) {
  const o = await loadOrt(threads);
  const results = [];
  for (const n of sizes) {
    const session = await o.InferenceSession.create(matmulModel(n), {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const feeds = {
      A: new o.Tensor('float32', randomData(n * n, 1 + n), [n, n]),
      B: new o.Tensor('float32', randomData(n * n, 2 + n), [n, n]),
    };
    const runOnce = async () => {
      const out = await session.run(feeds);
      out.C.dispose?.();
    };

    // Warm-up, and find a repeat count that makes one sample last >= MIN_SAMPLE_MS.
    await runOnce();
    let reps = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await runOnce();
      const ms = performance.now() - t0;
      if (ms >= MIN_SAMPLE_MS) break;
      reps = Math.max(reps * 2, Math.ceil((reps * MIN_SAMPLE_MS * 1.2) / Math.max(ms, 1e-3)));
    }

    const perRunMs = [];
    for (let s = 0; s < samples; s++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await runOnce();
      perRunMs.push((performance.now() - t0) / reps);
    }
    const seconds = median(perRunMs) / 1000;
    results.push({ n, gflops: (2 * n ** 3) / seconds / 1e9 });
    await session.release();
  }
  return results;
}

// ---------------------------------------------------------------------------------------
// CLI: node bench/peers/onnx-matmul.mjs <threads> <n1,n2,...> [samples]

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

if (isMain) {
  const [threadsArg, sizesArg = '64,128,256,512,1024,2048', samplesArg] = process.argv.slice(2);
  const threads = Number(threadsArg);
  const sizes = sizesArg.split(',').map(Number);
  const samples = samplesArg === undefined ? 7 : Number(samplesArg);
  if (!Number.isInteger(threads) || threads < 1 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    process.stderr.write('usage: node bench/peers/onnx-matmul.mjs <threads> <n1,n2,...> [samples]\n');
    process.exit(2);
  }
  // Keep stdout for the JSON alone: anything the library logs goes to stderr.
  const realLog = console.log;
  console.log = console.info = console.debug = (...a) => console.error(...a);
  try {
    const res = await onnxMatmul({ sizes, threads, samples });
    console.log = realLog;
    // The wasm thread pool keeps the event loop alive: exit once stdout is flushed.
    process.stdout.write(JSON.stringify(res) + '\n', () => process.exit(0));
  } catch (err) {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  }
}
