// torch.save / torch.load in the safetensors format: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
//
// The writer lays tensors out as the reference implementation (huggingface/safetensors) does: sorted by dtype
// alignment, largest first, then by name (byte order); `__metadata__` first in the header, then the tensors in
// data order; the JSON compact and padded with spaces to a multiple of 8 bytes. So a file written here is
// byte-identical to the reference's for the same tensors (metadata keys, a hash map there, are sorted here).
import { wasm } from '../backend/wasm/device.js';
import type { Dtype } from '../dtype.js';
import { ArgumentError, DeviceError, DtypeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { addressOf, describeValue, emptyTensor, formatShape, isContiguous, numelOf } from '../ops/support.js';

/** Every dtype of the format, in the reference's order (increasing alignment), with its element size. */
const formatDtypes = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;
type FormatDtype = keyof typeof formatDtypes;
const formatOrder = Object.keys(formatDtypes) as FormatDtype[];

/** What each readable format dtype becomes here. */
const readAs: Partial<Record<FormatDtype, Dtype>> = { F32: 'float32', F16: 'float32', BF16: 'float32', I32: 'int32', I64: 'int32', BOOL: 'bool' };

function formatDtypeOf(dtype: Dtype): FormatDtype {
  switch (dtype) {
    case 'float32': return 'F32';
    case 'int32': return 'I32';
    case 'bool': return 'BOOL';
    default: return dtype satisfies never;
  }
}

/** The reference rejects headers above 100 MB. */
const maximumHeaderBytes = 100_000_000;
const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

/** Rust's String ordering: by UTF-8 bytes (JavaScript's < compares UTF-16 units, which differs above U+FFFF). */
function compareUtf8(a: string, b: string): number {
  const left = utf8.encode(a), right = utf8.encode(b);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) if (left[i] !== right[i]) return left[i] - right[i];
  return left.length - right.length;
}

export interface SaveOptions {
  /** Text-only entries stored under `__metadata__` (e.g. `{ format: 'pt' }`). */
  metadata?: Record<string, string>;
}

/**
 * torch.save for a state dict: the tensors (float32 → F32, int32 → I32, bool → BOOL) in the safetensors format,
 * named by their keys. Non-contiguous tensors are written in row-major order.
 */
export function save(stateDict: Record<string, Tensor> | Map<string, Tensor>, options: SaveOptions = {}): Uint8Array {
  const entries = readStateDict(stateDict);
  const metadata = readMetadata(options);
  const onGpu = entries.find(([, tensor]) => tensor.device !== 'cpu');
  if (onGpu) {
    throw new DeviceError(`save: tensor '${onGpu[0]}' is on '${onGpu[1].device}', which is read asynchronously; ` +
      "move the model first with await model.toAsync('cpu') (or each tensor with await t.toAsync('cpu'))");
  }
  entries.sort(([leftName, left], [rightName, right]) =>
    formatOrder.indexOf(formatDtypeOf(right.dtype)) - formatOrder.indexOf(formatDtypeOf(left.dtype)) || compareUtf8(leftName, rightName));
  // The header is built by hand so its key order is the reference's whatever the names (JavaScript objects
  // put integer-like keys first).
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(`"__metadata__":{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, tensor] of entries) {
    const bytes = tensor.numel() * tensor.elementSize();
    parts.push(`${JSON.stringify(name)}:{"dtype":"${formatDtypeOf(tensor.dtype)}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${offset + bytes}]}`);
    offset += bytes;
  }
  let header = utf8.encode(`{${parts.join(',')}}`);
  const padding = (8 - (header.length % 8)) % 8;
  if (padding) {
    const padded = new Uint8Array(header.length + padding).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.length, true);
  view.setUint32(4, 0, true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const [, tensor] of entries) {
    at += writeTensorBytes(tensor, out, at);
  }
  return out;
}

function readStateDict(stateDict: unknown): [string, Tensor][] {
  const isMap = stateDict instanceof Map;
  if (!isMap && (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict) || stateDict instanceof Tensor)) {
    throw new ArgumentError(`save: expected a state dict (an object or Map from names to tensors), got ${describeValue(stateDict)}`);
  }
  const entries = isMap ? [...(stateDict as Map<unknown, unknown>)] : Object.entries(stateDict as object);
  return entries.map(([name, value]) => {
    if (typeof name !== 'string') throw new ArgumentError(`save: tensor names must be strings, got ${describeValue(name)}`);
    if (name === '__metadata__') throw new ArgumentError("save: '__metadata__' is reserved by the safetensors format; pass metadata as save(stateDict, { metadata })");
    if (!(value instanceof Tensor)) throw new ArgumentError(`save: ${JSON.stringify(name)} must be a tensor, got ${describeValue(value)}`);
    void value.storage; // a disposed tensor throws here, before anything is written
    return [name, value];
  });
}

function readMetadata(options: SaveOptions): Record<string, string> | undefined {
  if (options === null || typeof options !== 'object') throw new ArgumentError(`save: options must be an object, got ${describeValue(options)}`);
  const { metadata } = options;
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ArgumentError(`save: metadata must be an object of strings, got ${describeValue(metadata)}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new ArgumentError(`save: metadata values must be strings (the format stores text only), but ${JSON.stringify(key)} is ${describeValue(value)}`);
  }
  return metadata;
}

/** Copies a tensor's elements, little-endian and row-major, into out at `at`; returns the bytes written. */
function writeTensorBytes(tensor: Tensor, out: Uint8Array, at: number): number {
  const bytes = tensor.numel() * tensor.elementSize();
  if (bytes === 0) return 0;
  if (hostIsLittleEndian && isContiguous(tensor)) {
    const address = addressOf(tensor);
    out.set(wasm.u8.subarray(address, address + bytes), at);
    return bytes;
  }
  const values = tensor.toArray();
  if (tensor.dtype === 'bool') {
    out.set(values as Uint8Array, at);
    return bytes;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, bytes);
  for (let i = 0; i < values.length; i++) {
    if (tensor.dtype === 'float32') view.setFloat32(i * 4, values[i], true);
    else view.setInt32(i * 4, values[i], true);
  }
  return bytes;
}

interface HeaderEntry {
  name: string;
  dtype: FormatDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface ParsedFile {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  dataStart: number;
  bytes: Uint8Array;
}

function asBytes(input: unknown, where: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && input instanceof SharedArrayBuffer)) return new Uint8Array(input);
  throw new ArgumentError(`${where}: expected the bytes of a safetensors file (a Uint8Array or ArrayBuffer), got ${describeValue(input)}`);
}

function malformed(message: string): never {
  throw new ArgumentError(`load: not a valid safetensors file: ${message}`);
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Reads and checks the header: every tensor's dtype, shape and offsets, before any tensor exists. */
function parseFile(input: unknown): ParsedFile {
  const bytes = asBytes(input, 'load');
  if (bytes.length < 8) malformed(`${bytes.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true), high = view.getUint32(4, true);
  const headerBytes = high * 2 ** 32 + low;
  if (headerBytes > maximumHeaderBytes) malformed(`the header length ${headerBytes} exceeds the format's limit of ${maximumHeaderBytes} bytes`);
  if (8 + headerBytes > bytes.length) malformed(`the header length ${headerBytes} runs past the end of the ${bytes.length} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    malformed('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) malformed(`the header must be a JSON object starting with '{', it starts with ${JSON.stringify(text.slice(0, 16))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    malformed(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) malformed('the header must be a JSON object');
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null) continue;
      if (typeof info !== 'object' || Array.isArray(info)) malformed('__metadata__ must be an object of strings');
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') malformed(`__metadata__ value ${JSON.stringify(key)} must be a string, got ${describeValue(value)}`);
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const label = `tensor ${JSON.stringify(name)}`;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) malformed(`${label} must be described by an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in formatDtypes)) {
      throw new DtypeError(`load: ${label} has unknown dtype ${describeValue(dtype)}; the safetensors dtypes are ${formatOrder.join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) malformed(`${label} has shape ${describeValue(shape)}, expected an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      malformed(`${label} has data_offsets ${describeValue(offsets)}, expected [begin, end] (non-negative integers)`);
    }
    const [begin, end] = offsets as number[];
    const expected = numelOf(shape as number[]) * formatDtypes[dtype as FormatDtype];
    if (end < begin || end - begin !== expected) {
      malformed(`${label} (${dtype}, shape ${formatShape(shape as number[])}) needs ${expected} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as FormatDtype, shape: shape as number[], begin, end });
  }
  // The data must be tiled exactly: each tensor starts where the previous ended, the last ends at the end.
  const dataStart = 8 + headerBytes, dataBytes = bytes.length - dataStart;
  const ordered = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  for (const entry of ordered) {
    if (entry.begin !== position) {
      malformed(`tensor ${JSON.stringify(entry.name)} has data_offsets [${entry.begin}, ${entry.end}], which ` +
        `${entry.begin < position ? 'overlap the previous tensor' : 'leave a gap after the previous tensor'} (ending at ${position})`);
    }
    position = entry.end;
  }
  if (position !== dataBytes) {
    malformed(position > dataBytes ? `the tensors' data_offsets reach byte ${position} but the data has only ${dataBytes} bytes`
      : `the tensors' data ends at byte ${position} but ${dataBytes - position} more bytes follow (the last offset must be the end of the file)`);
  }
  for (const entry of ordered) {
    if (!readAs[entry.dtype]) {
      throw new DtypeError(`load: tensor ${JSON.stringify(entry.name)} has dtype ${entry.dtype}, which wasmtorch does not read ` +
        '(it reads F32, F16, BF16, I32, I64 and BOOL); convert it before saving, e.g. tensor.float() in PyTorch');
    }
    if (entry.dtype === 'I64') checkInt32Range(bytes, dataStart, entry);
  }
  return { entries: ordered, metadata, dataStart, bytes };
}

/** I64 values become int32 (wasmtorch's integer dtype): any value outside int32's range is an error, not a wrap. */
function checkInt32Range(bytes: Uint8Array, dataStart: number, entry: HeaderEntry): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + entry.begin, entry.end - entry.begin);
  for (let i = 0; i < view.byteLength; i += 8) {
    const value = view.getBigInt64(i, true);
    if (value < -2147483648n || value > 2147483647n) {
      throw new DtypeError(`load: tensor ${JSON.stringify(entry.name)} (I64) holds ${value} at element ${i / 8}, outside int32's range ` +
        '[-2147483648, 2147483647]: wasmtorch stores integers as int32');
    }
  }
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** Writes one tensor's file data into its (new, contiguous) storage, converting to the wasmtorch dtype. */
function fillTensor(out: Tensor, bytes: Uint8Array, start: number, entry: HeaderEntry): void {
  const count = out.numel();
  if (count === 0) return;
  const source = new DataView(bytes.buffer, bytes.byteOffset + start, entry.end - entry.begin);
  const address = addressOf(out);
  switch (entry.dtype) {
    case 'F32': case 'I32':
      if (hostIsLittleEndian) wasm.u8.set(bytes.subarray(start, start + count * 4), address);
      else if (entry.dtype === 'F32') for (let i = 0; i < count; i++) wasm.f32[(address >>> 2) + i] = source.getFloat32(i * 4, true);
      else for (let i = 0; i < count; i++) wasm.i32[(address >>> 2) + i] = source.getInt32(i * 4, true);
      return;
    case 'F16': {
      const target = wasm.f32;
      for (let i = 0; i < count; i++) target[(address >>> 2) + i] = halfToFloat(source.getUint16(i * 2, true));
      return;
    }
    case 'BF16': {
      // bfloat16 is the high half of a float32: shifting keeps every bit (NaN payloads included).
      const target = wasm.i32;
      for (let i = 0; i < count; i++) target[(address >>> 2) + i] = source.getUint16(i * 2, true) << 16;
      return;
    }
    case 'I64': {
      const target = wasm.i32;
      for (let i = 0; i < count; i++) target[(address >>> 2) + i] = source.getInt32(i * 8, true);
      return;
    }
    case 'BOOL': {
      const target = wasm.u8;
      for (let i = 0; i < count; i++) target[address + i] = bytes[start + i] !== 0 ? 1 : 0;
      return;
    }
    default:
      throw new DtypeError(`load: dtype ${entry.dtype} is not read`);
  }
}

/**
 * torch.load for safetensors bytes: an object from names to new tensors (F32/F16/BF16 → float32, I32/I64 →
 * int32, BOOL → bool), in file order. The whole file is checked before any tensor is created.
 */
export function load(bytes: Uint8Array | ArrayBuffer): Record<string, Tensor> {
  const { entries, dataStart, bytes: data } = parseFile(bytes);
  const result: Record<string, Tensor> = {};
  const created: Tensor[] = [];
  try {
    for (const entry of entries) {
      const out = emptyTensor(entry.shape, readAs[entry.dtype]!);
      created.push(out);
      fillTensor(out, data, dataStart + entry.begin, entry);
      // defineProperty: a tensor named "__proto__" stays an ordinary entry.
      Object.defineProperty(result, entry.name, { value: out, enumerable: true, writable: true, configurable: true });
    }
  } catch (error) {
    for (const tensor of created) tensor.dispose(); // out of memory part-way: nothing is left behind
    throw error;
  }
  return result;
}

/** The `__metadata__` entries of safetensors bytes (an empty object when there are none). */
export function loadMetadata(bytes: Uint8Array | ArrayBuffer): Record<string, string> {
  return parseFile(bytes).metadata;
}
