// torch.save / torch.load (safetensors): compatibility both ways with PyTorch 1.13, the reference's byte layout, round trips, malformed files.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as torch from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { fixturePath, trainMlp } from './fixtures/make_wasmtorch_weights.mjs';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/safetensors/${name}`, import.meta.url)));
const expected = JSON.parse(readFileSync(new URL('./fixtures/safetensors/expected.json', import.meta.url), 'utf8'));
/** Byte-identical training needs the kernels the fixture was made with (the relaxed build: FMA in matmul and SGD). */
const sameKernelsAsFixture = torch.backend.info().kernels === 'relaxed';

const text = (value: string) => new TextEncoder().encode(value);
/** A file from a header string (padded with spaces unless told not to) and data bytes. */
function file(header: string, data: number[] | Uint8Array = [], pad = true): Uint8Array {
  let head = text(header);
  if (pad && head.length % 8) head = new Uint8Array([...head, ...new Array(8 - (head.length % 8)).fill(0x20)]);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** The MLP nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) with functional ops, from a state dict. */
function mlp(weights: Record<string, Tensor>, x: Tensor): Tensor {
  return torch.tidy(() => {
    const hidden = x.matmul(weights['0.weight'].t()).add(weights['0.bias']).relu();
    return hidden.matmul(weights['2.weight'].t()).add(weights['2.bias']);
  });
}

function expectNear(got: ArrayLike<number>, want: number[], tolerance: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(tolerance * (1 + Math.abs(want[i])));
}

describe('PyTorch → wasmtorch', () => {
  it('loads the weights PyTorch wrote and computes PyTorch\'s output', () => {
    const before = torch.memory();
    const loaded = torch.load(fixture('pytorch_mlp.safetensors'));
    for (const [name, values] of Object.entries(expected.pytorchWeights) as [string, number[]][]) {
      expect(loaded[name].dtype).toBe('float32');
      expect(Array.from(loaded[name].toArray())).toEqual(values);
    }
    expect(loaded['0.weight'].shape).toEqual([8, 4]);
    expect(loaded['2.bias'].shape).toEqual([3]);
    const x = torch.fromArray(new Float32Array(expected.input), expected.inputShape);
    const output = mlp(loaded, x);
    expect(output.shape).toEqual([6, 3]);
    expectNear(output.toArray(), expected.pytorchOutput, 1e-6);
    torch.dispose(loaded, x, output);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  it('reads F16 and BF16 as float32 (bit for bit PyTorch\'s .float()), I64 as int32, I32, BOOL, 0-d and empty tensors', () => {
    const dtypes: Record<string, string> = { 'extra.i64': 'int32', 'extra.i32': 'int32', 'extra.bool': 'bool', 'extra.scalar': 'float32', 'extra.empty': 'float32' };
    const loaded = torch.load(fixture('pytorch_mlp.safetensors'));
    for (const [name, want] of Object.entries(expected.extras) as [string, { shape: number[]; float32Bits?: number[]; values?: (number | boolean)[] }][]) {
      const tensor = loaded[name];
      expect(tensor.shape, name).toEqual(want.shape);
      if (want.float32Bits) {
        expect(tensor.dtype).toBe('float32');
        expect(Array.from(new Int32Array((tensor.toArray() as Float32Array).buffer)), name).toEqual(want.float32Bits);
      } else {
        expect(tensor.dtype, name).toBe(dtypes[name]);
        expect([tensor.tolist()].flat(3), name).toEqual(want.values);
      }
    }
    expect(torch.loadMetadata(fixture('pytorch_mlp.safetensors'))).toEqual({ format: 'pt', source: 'generate_safetensors.py' });
    torch.dispose(loaded);
  });

  it('writes back a file of F32, I32 and BOOL tensors byte-identical to the one PyTorch\'s side wrote', () => {
    const bytes = fixture('pytorch_roundtrip.safetensors');
    const loaded = torch.load(bytes);
    const again = torch.save(loaded, { metadata: torch.loadMetadata(bytes) });
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    torch.dispose(loaded);
  });
});

describe('with nn', () => {
  it('nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) loads PyTorch\'s file and gives PyTorch\'s output; its stateDict saves to the same bytes', () => {
    const bytes = fixture('pytorch_roundtrip.safetensors');
    const model = new torch.nn.Sequential(new torch.nn.Linear(4, 8), new torch.nn.ReLU(), new torch.nn.Linear(8, 3));
    const loaded = torch.load(bytes);
    const weights = Object.fromEntries(['0.weight', '0.bias', '2.weight', '2.bias'].map((name) => [name, loaded[name]]));
    model.loadStateDict(weights);
    const x = torch.fromArray(new Float32Array(expected.input), expected.inputShape);
    const output = torch.noGrad(() => model.forward(x));
    expectNear(output.toArray(), expected.pytorchOutput, 1e-6);
    const stateDict = model.stateDict();
    const resaved = torch.save(stateDict);
    const reference = torch.save(weights);
    expect(Buffer.from(resaved).equals(Buffer.from(reference))).toBe(true);
    torch.dispose(loaded, x, output, stateDict);
  });
});

describe('wasmtorch → PyTorch', () => {
  it('the committed weights PyTorch read are what trainMlp() writes, and PyTorch computed the output wasmtorch computes', () => {
    const committed = new Uint8Array(readFileSync(fixturePath));
    expect(committed.length).toBe(expected.wasmtorchWeightsBytes);
    const before = torch.memory();
    const bytes = trainMlp(torch);
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
    if (sameKernelsAsFixture) {
      expect(Buffer.from(bytes).equals(Buffer.from(committed))).toBe(true);
    } else {
      // The plain SIMD build rounds matmul and SGD's a + alpha * b twice: same layout, nearby values.
      const [mine, theirs] = [torch.load(bytes), torch.load(committed)];
      for (const name of Object.keys(theirs)) expectNear(mine[name].toArray(), Array.from(theirs[name].toArray()), 1e-5);
      torch.dispose(mine, theirs);
    }
    const loaded = torch.load(committed);
    const x = torch.fromArray(new Float32Array(expected.input), expected.inputShape);
    const output = mlp(loaded, x);
    expectNear(output.toArray(), expected.wasmtorchWeightsOutput, 1e-6);
    torch.dispose(loaded, x, output);
  });
});

describe('the reference implementation\'s layout', () => {
  // The byte vectors of huggingface/safetensors' own serialization tests.
  it('one F32 tensor: compact JSON, no padding needed', () => {
    const t = torch.arange(6, { dtype: 'float32' }).reshape(1, 2, 3);
    const bytes = torch.save({ 'attn.0': t });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(Array.from(bytes)).toEqual(Array.from(file(header, new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer))));
    t.dispose();
  });

  it('padding with spaces to 8 bytes', () => {
    const t = torch.arange(6, { dtype: 'float32' }).reshape(1, 1, 2, 3);
    const bytes = torch.save({ attn0: t });
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(72);
    expect(new TextDecoder().decode(bytes.subarray(8, 80))).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
    t.dispose();
  });

  it('an empty dict, with and without metadata', () => {
    expect(Array.from(torch.save({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(new TextDecoder().decode(torch.save({}, { metadata: { framework: 'pt' } }).subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(torch.load(torch.save({}))).toEqual({});
  });

  it('orders tensors by dtype alignment (F32, I32, BOOL), then by name in UTF-8 byte order', () => {
    const tensors = {
      b: torch.tensor([true]), a: torch.tensor([1], { dtype: 'int32' }), '10': torch.tensor([1]), '9': torch.tensor([2]),
      '\u{1F600}': torch.tensor([3]), '\uFFFF': torch.tensor([4]),
    };
    const bytes = torch.save(tensors);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer).getUint32(0, true))));
    const order = Object.entries(header as Record<string, { data_offsets: number[] }>).sort(([, x], [, y]) => x.data_offsets[0] - y.data_offsets[0]).map(([name]) => name);
    // U+FFFF is EF BF BF in UTF-8, U+1F600 is F0 9F 98 80: byte order puts U+FFFF first (UTF-16 order would not).
    expect(order).toEqual(['10', '9', '\uFFFF', '\u{1F600}', 'a', 'b']);
    const loaded = torch.load(bytes);
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(tensors).sort());
    torch.dispose(tensors, loaded);
  });

  it('writes non-contiguous tensors row-major and takes a Map', () => {
    const base = torch.arange(12, { dtype: 'float32' }).reshape(3, 4);
    const view = base.t().slice(0, 1, 4, 2);
    const bytes = torch.save(new Map([['v', view]]));
    const loaded = torch.load(bytes);
    expect(loaded.v.tolist()).toEqual(view.tolist());
    expect(loaded.v.isContiguous()).toBe(true);
    torch.dispose(base, view, loaded);
  });
});

describe('round trips (property)', () => {
  const dtypeArbitrary = fc.constantFrom('float32', 'int32', 'bool');
  const shapeArbitrary = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
  const nameArbitrary = fc.string({ unit: 'grapheme', minLength: 0, maxLength: 6 }).filter((name) => name !== '__metadata__');
  const entriesArbitrary = fc.uniqueArray(fc.tuple(nameArbitrary, dtypeArbitrary, shapeArbitrary, fc.integer()), { selector: ([name]) => name, maxLength: 6 });

  it('load(save(dict)) gives the same names, shapes, dtypes and values; save(load(bytes)) gives the same bytes', () => {
    fc.assert(fc.property(entriesArbitrary, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (entries, metadata) => {
      const before = torch.memory();
      const dict: Record<string, Tensor> = {};
      for (const [name, dtype, shape, seed] of entries) {
        const count = shape.reduce((a, b) => a * b, 1);
        const values = Array.from({ length: count }, (_, i) => Math.sin(seed + i) * 1000);
        const tensor = dtype === 'float32' ? torch.fromArray(new Float32Array(values), shape)
          : dtype === 'int32' ? torch.fromArray(new Int32Array(values.map(Math.round)), shape) : torch.fromArray(new Uint8Array(values.map((v) => (v > 0 ? 1 : 0))), shape);
        Object.defineProperty(dict, name, { value: tensor, enumerable: true, configurable: true, writable: true });
      }
      const bytes = torch.save(dict, { metadata });
      const loaded = torch.load(bytes);
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(dict).sort());
      for (const name of Object.keys(dict)) {
        expect(loaded[name].dtype).toBe(dict[name].dtype);
        expect(loaded[name].shape).toEqual(dict[name].shape);
        expect(Array.from(loaded[name].toArray())).toEqual(Array.from(dict[name].toArray()));
      }
      expect(torch.loadMetadata(bytes)).toEqual(metadata);
      expect(Buffer.from(torch.save(loaded, { metadata })).equals(Buffer.from(bytes))).toBe(true);
      expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
      torch.dispose(dict, loaded);
      expect(torch.memory().tensors).toBe(before.tensors);
    }), { numRuns: 60 });
  });

  it('loads from an ArrayBuffer and from a Uint8Array that is a window into a larger buffer', () => {
    const t = torch.tensor([[1, 2], [3, 4]]);
    const bytes = torch.save({ t });
    const framed = new Uint8Array(bytes.length + 7);
    framed.set(bytes, 3);
    for (const input of [bytes.buffer as ArrayBuffer, framed.subarray(3, 3 + bytes.length)]) {
      const loaded = torch.load(input);
      expect(loaded.t.tolist()).toEqual([[1, 2], [3, 4]]);
      torch.dispose(loaded);
    }
    t.dispose();
  });
});

describe('malformed files and bad input: clear errors, nothing created', () => {
  const f32 = (n: number) => new Array(4 * n).fill(0);
  const cases: [string, () => unknown, RegExp, typeof torch.TorchError][] = [
    ['not bytes', () => torch.load('abc' as never), /expected the bytes of a safetensors file \(a Uint8Array or ArrayBuffer\), got "abc"/, torch.ArgumentError],
    ['too short', () => torch.load(new Uint8Array(5)), /5 bytes is shorter than the 8-byte header length/, torch.ArgumentError],
    ['header length past the end', () => torch.load(new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123, 125])), /header length 200 runs past the end of the 10 bytes/, torch.ArgumentError],
    ['huge header length', () => torch.load(new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0])), /exceeds the format's limit/, torch.ArgumentError],
    ['not JSON', () => torch.load(file('{"a":')), /not valid JSON/, torch.ArgumentError],
    ['not an object', () => torch.load(file('[1, 2]')), /must be a JSON object starting with '\{'/, torch.ArgumentError],
    ['invalid UTF-8', () => torch.load(file('{}').map((b, i) => (i === 9 ? 0xff : b))), /not valid UTF-8/, torch.ArgumentError],
    ['unknown dtype', () => torch.load(file('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', new Array(16).fill(0))), /tensor "a" has unknown dtype "F128"; the safetensors dtypes are BOOL, U8/, torch.DtypeError],
    ['unsupported dtype', () => torch.load(file('{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0))), /dtype F64, which wasmtorch does not read/, torch.DtypeError],
    ['bad shape', () => torch.load(file('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32(1))), /shape an array \[-1\], expected an array of non-negative integers/, torch.ArgumentError],
    ['size mismatch', () => torch.load(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', f32(1))), /needs 8 bytes but its data_offsets \[0, 4\] span 4/, torch.ArgumentError],
    ['overlapping offsets', () => torch.load(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2))), /overlap the previous tensor/, torch.ArgumentError],
    ['a gap', () => torch.load(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2))), /leave a gap/, torch.ArgumentError],
    ['offsets past the data', () => torch.load(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32(1))), /reach byte 8 but the data has only 4 bytes/, torch.ArgumentError],
    ['trailing bytes', () => torch.load(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(2))), /4 more bytes follow/, torch.ArgumentError],
    ['metadata not strings', () => torch.load(file('{"__metadata__":{"a":1}}')), /__metadata__ value "a" must be a string/, torch.ArgumentError],
    ['I64 out of int32 range', () => torch.load(file('{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0, 0, 0])),
      /tensor "a" \(I64\) holds 2147483648 at element 1, outside int32's range/, torch.DtypeError],
    ['save: not a dict', () => torch.save(torch.zeros(2) as never), /expected a state dict \(an object or Map from names to tensors\), got a tensor/, torch.ArgumentError],
    ['save: a non-tensor value', () => torch.save({ a: [1, 2] } as never), /"a" must be a tensor, got an array/, torch.ArgumentError],
    ['save: reserved name', () => torch.tidy(() => torch.save({ __metadata__: torch.zeros(1) })), /'__metadata__' is reserved/, torch.ArgumentError],
    ['save: metadata not strings', () => torch.save({}, { metadata: { a: 1 as never } }), /metadata values must be strings/, torch.ArgumentError],
    ['save: a disposed tensor', () => { const t = torch.zeros(1); t.dispose(); return torch.save({ t }); }, /disposed/, torch.DisposedError],
  ];
  for (const [what, fn, message, errorClass] of cases) {
    it(what, () => {
      const before = torch.memory();
      expect(fn).toThrow(errorClass);
      expect(fn).toThrow(message);
      torch.backend.collectGarbage();
      expect(torch.memory().tensors).toBeLessThanOrEqual(before.tensors);
    });
  }

  it('the largest and smallest int32 values pass through I64', () => {
    const loaded = torch.load(file('{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', [255, 255, 255, 127, 0, 0, 0, 0, 0, 0, 0, 128, 255, 255, 255, 255]));
    expect(loaded.a.tolist()).toEqual([2147483647, -2147483648]);
    torch.dispose(loaded);
  });
});
