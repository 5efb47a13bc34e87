// Runs every PyTorch fixture of test/fixtures/ops.json (written by generate.py) through wasmtorch's tensor API.
import opsFixture from './fixtures/ops.json';
import { beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import {
  DEFAULT_TOL, Tracker, buildTensor, decodeDeep, decodeNumber, expectSameTensor, expectSameValue, expectTensor,
  type DtypeName, type Keep, type Tensor, type TensorJson, type Tolerance,
} from './fixtures/harness.js';

interface Fixture {
  id: string;
  group: string;
  op: string;
  inputs: TensorJson[];
  args: Record<string, unknown>;
  out?: TensorJson;
  outs?: TensorJson[];
  repr?: string;
  value?: unknown;
  tol?: Tolerance;
  torch_f32_err?: number;
  signed_zero?: boolean;
  note?: string;
}

interface OpsFile {
  schema: string;
  torch_version: string;
  count: number;
  counts: Record<string, number>;
  fixtures: Fixture[];
}

// Imported through Vite (not read with node:fs) so the same file runs in Node and in the browser.
const FILE = opsFixture as unknown as OpsFile;

type Args = Record<string, unknown>;
/**
 * What an entry gets besides its inputs: `keep` registers every tensor it makes, `also` queues a check
 * that runs after the fixture's own expectation passed, so a broken second spelling cannot hide whether
 * the main answer was right.
 */
interface Ctx {
  keep: Keep;
  also(check: () => void): void;
}

/**
 * One entry per fixture op: calls wasmtorch the way a user would and returns what the op returns (a
 * tensor, a list of tensors, a string or a plain value). Where the API has two spellings (method and
 * torch.fn, positional and options object) the entry also runs the second and demands an identical
 * answer, so one fixture checks both routes.
 */
type Entry = (x: Tensor[], a: Args, ctx: Ctx) => unknown;

function num(a: Args, key: string): number {
  const v = a[key];
  if (typeof v !== 'number') throw new Error(`fixture arg ${key}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(a: Args, key: string): number | undefined {
  return a[key] === undefined || a[key] === null ? undefined : num(a, key);
}

function ints(a: Args, key: string): number[] {
  const v = a[key];
  if (!Array.isArray(v) || !v.every(Number.isInteger)) throw new Error(`fixture arg ${key}: expected ints, got ${JSON.stringify(v)}`);
  return v as number[];
}

function scalar(a: Args, key: string): number | boolean {
  const v = a[key];
  if (typeof v !== 'number' && typeof v !== 'boolean') throw new Error(`fixture arg ${key}: expected a scalar, got ${JSON.stringify(v)}`);
  return v;
}

function dtypeOpt(a: Args): { dtype: DtypeName } | undefined {
  return a.dtype === undefined ? undefined : { dtype: a.dtype as DtypeName };
}

/** `other` is the second tensor input when there is one, else a number in args. */
function other(x: Tensor[], a: Args, key = 'other'): Tensor | number {
  return x[1] ?? num(a, key);
}

function alphaOpt(a: Args): { alpha: number } | undefined {
  return a.alpha === undefined ? undefined : { alpha: num(a, 'alpha') };
}

/** reshape(...[]) would be a bare reshape(), so a 0-d target shape goes in as an array. */
function spreadable(shape: number[]): [number[]] | number[] {
  return shape.length === 0 ? [shape] : shape;
}

/** Returns `first`; the second spelling runs later and must give the very same tensor. */
function twoWays(ctx: Ctx, first: Tensor, second: () => Tensor, what: string): Tensor {
  ctx.keep(first);
  ctx.also(() => expectSameTensor(first, ctx.keep(second()), what));
  return first;
}

const unary = (name: string, method: (t: Tensor) => Tensor, fn: (t: Tensor) => Tensor): Entry =>
  (x, _a, ctx) => twoWays(ctx, method(x[0]), () => fn(x[0]), `${name}: method vs torch.${name}`);

const binary = (name: string, method: (t: Tensor, o: Tensor | number, a: Args) => Tensor,
  fn: (t: Tensor, o: Tensor | number, a: Args) => Tensor, key = 'other'): Entry =>
  (x, a, ctx) => {
    const o = other(x, a, key);
    return twoWays(ctx, method(x[0], o, a), () => fn(x[0], o, a), `${name}: method vs torch.${name}`);
  };

type ReduceName = 'sum' | 'mean' | 'prod';
const reduction = (name: ReduceName): Entry => (x, a, ctx) => {
  const t = x[0];
  if (a.dim === undefined) return twoWays(ctx, t[name](), () => torch[name](t), `${name}() vs torch.${name}()`);
  const dim = typeof a.dim === 'number' ? a.dim : ints(a, 'dim');
  const keepdim = a.keepdim as boolean | undefined;
  return twoWays(ctx, keepdim === undefined ? t[name](dim) : t[name](dim, keepdim),
    () => torch[name](t, { dim, keepdim }), `${name}(dim, keepdim) vs torch.${name}(x, { dim, keepdim })`);
};

const extreme = (name: 'max' | 'min'): Entry => (x, a, ctx) => {
  const t = x[0];
  if (a.dim === undefined) return twoWays(ctx, t[name](), () => torch[name](t), `${name}() vs torch.${name}()`);
  const dim = num(a, 'dim'), keepdim = a.keepdim as boolean | undefined;
  const result = ctx.keep(keepdim === undefined ? t[name](dim) : t[name](dim, keepdim));
  // PyTorch's (values, indices) tuple: both the object and the array spelling must work.
  const [values, indices] = result;
  ctx.also(() => {
    expect(values, `${name}: [values] destructures to .values`).toBe(result.values);
    expect(indices, `${name}: [, indices] destructures to .indices`).toBe(result.indices);
  });
  ctx.also(() => {
    const viaOptions = ctx.keep(t[name]({ dim, keepdim }));
    expectSameTensor(values, viaOptions.values, `${name}(dim, keepdim) vs ${name}({ dim, keepdim }): values`);
    expectSameTensor(indices, viaOptions.indices, `${name}(dim, keepdim) vs ${name}({ dim, keepdim }): indices`);
  });
  return [values, indices];
};

const argExtreme = (name: 'argmax' | 'argmin'): Entry => (x, a, ctx) => {
  const t = x[0];
  if (a.dim === undefined) return twoWays(ctx, t[name](), () => torch[name](t), `${name}() vs torch.${name}()`);
  const dim = num(a, 'dim'), keepdim = a.keepdim as boolean | undefined;
  return twoWays(ctx, t[name](dim, keepdim), () => torch[name](t, dim, keepdim), `${name}: method vs torch.${name}`);
};

/** The typed array a user would hand to fromArray for each dtype. */
function typedArray(values: unknown[], dtype: DtypeName): Float32Array | Int32Array | Uint8Array {
  const numbers = values.map((v) => decodeNumber(v));
  if (dtype === 'float32') return Float32Array.from(numbers);
  if (dtype === 'int32') return Int32Array.from(numbers);
  return Uint8Array.from(numbers);
}

/** In-place ops must hand back the very tensor they changed. */
function inPlace(self: Tensor, returned: Tensor, name: string): Tensor {
  expect(returned, `${name} returns this`).toBe(self);
  return self;
}

const OPS: Record<string, Entry> = {
  // math
  neg: unary('neg', (t) => t.neg(), (t) => torch.neg(t)),
  abs: unary('abs', (t) => t.abs(), (t) => torch.abs(t)),
  exp: unary('exp', (t) => t.exp(), (t) => torch.exp(t)),
  log: unary('log', (t) => t.log(), (t) => torch.log(t)),
  sqrt: unary('sqrt', (t) => t.sqrt(), (t) => torch.sqrt(t)),
  rsqrt: unary('rsqrt', (t) => t.rsqrt(), (t) => torch.rsqrt(t)),
  sigmoid: unary('sigmoid', (t) => t.sigmoid(), (t) => torch.sigmoid(t)),
  tanh: unary('tanh', (t) => t.tanh(), (t) => torch.tanh(t)),
  relu: unary('relu', (t) => t.relu(), (t) => torch.relu(t)),
  sin: unary('sin', (t) => t.sin(), (t) => torch.sin(t)),
  cos: unary('cos', (t) => t.cos(), (t) => torch.cos(t)),
  floor: unary('floor', (t) => t.floor(), (t) => torch.floor(t)),
  ceil: unary('ceil', (t) => t.ceil(), (t) => torch.ceil(t)),
  round: unary('round', (t) => t.round(), (t) => torch.round(t)),
  sign: unary('sign', (t) => t.sign(), (t) => torch.sign(t)),
  gelu: (x, a, ctx) => {
    const options = a.approximate === undefined ? undefined : { approximate: a.approximate as 'none' | 'tanh' };
    return twoWays(ctx, x[0].gelu(options), () => torch.gelu(x[0], options), 'gelu: method vs torch.gelu');
  },
  clamp: (x, a, ctx) => {
    const min = optNum(a, 'min'), max = optNum(a, 'max');
    const bounds: { min?: number; max?: number } = {};
    if (min !== undefined) bounds.min = min;
    if (max !== undefined) bounds.max = max;
    const result = twoWays(ctx, x[0].clamp(bounds), () => x[0].clamp(min ?? null, max ?? null), 'clamp({ min, max }) vs clamp(min, max)');
    return twoWays(ctx, result, () => torch.clamp(x[0], bounds), 'clamp: method vs torch.clamp');
  },
  add: binary('add', (t, o, a) => t.add(o, alphaOpt(a)), (t, o, a) => torch.add(t, o, alphaOpt(a))),
  sub: binary('sub', (t, o, a) => t.sub(o, alphaOpt(a)), (t, o, a) => torch.sub(t, o, alphaOpt(a))),
  mul: binary('mul', (t, o) => t.mul(o), (t, o) => torch.mul(t, o)),
  div: binary('div', (t, o) => t.div(o), (t, o) => torch.div(t, o)),
  pow: binary('pow', (t, o) => t.pow(o), (t, o) => torch.pow(t, o), 'exponent'),
  eq: binary('eq', (t, o) => t.eq(o), (t, o) => torch.eq(t, o)),
  ne: binary('ne', (t, o) => t.ne(o), (t, o) => torch.ne(t, o)),
  lt: binary('lt', (t, o) => t.lt(o), (t, o) => torch.lt(t, o)),
  le: binary('le', (t, o) => t.le(o), (t, o) => torch.le(t, o)),
  gt: binary('gt', (t, o) => t.gt(o), (t, o) => torch.gt(t, o)),
  ge: binary('ge', (t, o) => t.ge(o), (t, o) => torch.ge(t, o)),
  // reductions
  sum: reduction('sum'),
  mean: reduction('mean'),
  prod: reduction('prod'),
  max: extreme('max'),
  min: extreme('min'),
  argmax: argExtreme('argmax'),
  argmin: argExtreme('argmin'),
  softmax: (x, a, ctx) => twoWays(ctx, x[0].softmax(num(a, 'dim')), () => torch.softmax(x[0], num(a, 'dim')),
    'softmax: method vs torch.softmax'),
  logSoftmax: (x, a, ctx) => twoWays(ctx, x[0].logSoftmax(num(a, 'dim')), () => torch.logSoftmax(x[0], num(a, 'dim')),
    'logSoftmax: method vs torch.logSoftmax'),
  // linalg
  mm: (x, _a, ctx) => twoWays(ctx, x[0].mm(x[1]), () => torch.mm(x[0], x[1]), 'mm: method vs torch.mm'),
  matmul: (x, _a, ctx) => twoWays(ctx, x[0].matmul(x[1]), () => torch.matmul(x[0], x[1]), 'matmul: method vs torch.matmul'),
  bmm: (x, _a, ctx) => twoWays(ctx, x[0].bmm(x[1]), () => torch.bmm(x[0], x[1]), 'bmm: method vs torch.bmm'),
  // shape
  t: (x, _a, ctx) => twoWays(ctx, x[0].t(), () => torch.t(x[0]), 't: method vs torch.t'),
  transpose: (x, a, ctx) => twoWays(ctx, x[0].transpose(num(a, 'dim0'), num(a, 'dim1')),
    () => torch.transpose(x[0], num(a, 'dim0'), num(a, 'dim1')), 'transpose: method vs torch.transpose'),
  permute: (x, a, ctx) => twoWays(ctx, x[0].permute(...spreadable(ints(a, 'dims'))),
    () => torch.permute(x[0], ints(a, 'dims')), 'permute(...dims) vs torch.permute(x, dims)'),
  reshape: (x, a, ctx) => twoWays(ctx, x[0].reshape(...spreadable(ints(a, 'shape'))),
    () => torch.reshape(x[0], ints(a, 'shape')), 'reshape(...shape) vs torch.reshape(x, shape)'),
  view: (x, a) => x[0].view(...spreadable(ints(a, 'shape'))),
  flatten: (x, a, ctx) => twoWays(ctx, x[0].flatten(optNum(a, 'startDim'), optNum(a, 'endDim')),
    () => torch.flatten(x[0], optNum(a, 'startDim'), optNum(a, 'endDim')), 'flatten: method vs torch.flatten'),
  squeeze: (x, a, ctx) => {
    const dim = optNum(a, 'dim');
    return twoWays(ctx, dim === undefined ? x[0].squeeze() : x[0].squeeze(dim), () => torch.squeeze(x[0], dim),
      'squeeze: method vs torch.squeeze');
  },
  unsqueeze: (x, a, ctx) => twoWays(ctx, x[0].unsqueeze(num(a, 'dim')), () => torch.unsqueeze(x[0], num(a, 'dim')),
    'unsqueeze: method vs torch.unsqueeze'),
  expand: (x, a) => x[0].expand(...spreadable(ints(a, 'sizes'))),
  contiguous: (x) => x[0].contiguous(),
  clone: (x, _a, ctx) => twoWays(ctx, x[0].clone(), () => torch.clone(x[0]), 'clone: method vs torch.clone'),
  detach: (x, _a, ctx) => twoWays(ctx, x[0].detach(), () => torch.detach(x[0]), 'detach: method vs torch.detach'),
  narrow: (x, a, ctx) => twoWays(ctx, x[0].narrow(num(a, 'dim'), num(a, 'start'), num(a, 'length')),
    () => torch.narrow(x[0], num(a, 'dim'), num(a, 'start'), num(a, 'length')), 'narrow: method vs torch.narrow'),
  slice: (x, a) => x[0].slice(num(a, 'dim'), optNum(a, 'start'), optNum(a, 'end'), optNum(a, 'step')),
  chunk: (x, a, ctx) => {
    const dim = optNum(a, 'dim');
    const parts = ctx.keep(dim === undefined ? x[0].chunk(num(a, 'chunks')) : x[0].chunk(num(a, 'chunks'), dim));
    ctx.also(() => samePartsTwoWays(parts, ctx.keep(torch.chunk(x[0], num(a, 'chunks'), dim)), 'chunk: method vs torch.chunk'));
    return parts;
  },
  split: (x, a, ctx) => {
    const sizes = Array.isArray(a.splitSizeOrSections) ? ints(a, 'splitSizeOrSections') : num(a, 'splitSizeOrSections');
    const dim = optNum(a, 'dim');
    const parts = ctx.keep(dim === undefined ? x[0].split(sizes) : x[0].split(sizes, dim));
    ctx.also(() => samePartsTwoWays(parts, ctx.keep(torch.split(x[0], sizes, dim)), 'split: method vs torch.split'));
    return parts;
  },
  // indexing
  indexSelect: (x, a, ctx) => twoWays(ctx, x[0].indexSelect(num(a, 'dim'), x[1]),
    () => torch.indexSelect(x[0], num(a, 'dim'), x[1]), 'indexSelect: method vs torch.indexSelect'),
  gather: (x, a, ctx) => twoWays(ctx, x[0].gather(num(a, 'dim'), x[1]),
    () => torch.gather(x[0], num(a, 'dim'), x[1]), 'gather: method vs torch.gather'),
  scatter: (x, a, ctx) => {
    const src = x[2] ?? scalar(a, 'value');
    return twoWays(ctx, x[0].scatter(num(a, 'dim'), x[1], src), () => torch.scatter(x[0], num(a, 'dim'), x[1], src),
      'scatter: method vs torch.scatter');
  },
  cat: (x, a) => (a.dim === undefined ? torch.cat(x) : torch.cat(x, num(a, 'dim'))),
  stack: (x, a) => (a.dim === undefined ? torch.stack(x) : torch.stack(x, num(a, 'dim'))),
  where: (x, a) => {
    const [condition, ...rest] = x;
    const input = 'input' in a ? num(a, 'input') : rest.shift()!;
    const otherValue = 'other' in a ? num(a, 'other') : rest.shift()!;
    return torch.where(condition, input, otherValue);
  },
  maskedFill: (x, a, ctx) => twoWays(ctx, x[0].maskedFill(x[1], scalar(a, 'value')),
    () => torch.maskedFill(x[0], x[1], scalar(a, 'value')), 'maskedFill: method vs torch.maskedFill'),
  // factories
  eye: (_x, a) => (a.m === undefined ? torch.eye(num(a, 'n')) : torch.eye(num(a, 'n'), num(a, 'm'))),
  arange: (_x, a) => {
    if (a.start === undefined) return torch.arange(num(a, 'end'));
    if (a.step === undefined) return torch.arange(num(a, 'start'), num(a, 'end'));
    return torch.arange(num(a, 'start'), num(a, 'end'), num(a, 'step'));
  },
  linspace: (_x, a) => torch.linspace(num(a, 'start'), num(a, 'end'), num(a, 'steps')),
  zeros: (_x, a, ctx) => sizesTwoWays(ctx, 'zeros', ints(a, 'shape'), dtypeOpt(a)),
  ones: (_x, a, ctx) => sizesTwoWays(ctx, 'ones', ints(a, 'shape'), dtypeOpt(a)),
  full: (_x, a) => torch.full(ints(a, 'shape'), scalar(a, 'value'), dtypeOpt(a)),
  tensor: (_x, a) => torch.tensor(a.data as torch.NestedList, dtypeOpt(a)),
  fromArray: (_x, a) => torch.fromArray(typedArray(a.data as unknown[], a.dtype as DtypeName), ints(a, 'shape')),
  // in place
  add_: (x, a) => inPlace(x[0], x[0].add_(other(x, a), alphaOpt(a)), 'add_'),
  sub_: (x, a) => inPlace(x[0], x[0].sub_(other(x, a), alphaOpt(a)), 'sub_'),
  mul_: (x, a) => inPlace(x[0], x[0].mul_(other(x, a)), 'mul_'),
  div_: (x, a) => inPlace(x[0], x[0].div_(other(x, a)), 'div_'),
  zero_: (x) => inPlace(x[0], x[0].zero_(), 'zero_'),
  fill_: (x, a) => inPlace(x[0], x[0].fill_(scalar(a, 'value')), 'fill_'),
  clamp_: (x, a) => {
    const bounds: { min?: number; max?: number } = {};
    if (a.min !== undefined) bounds.min = num(a, 'min');
    if (a.max !== undefined) bounds.max = num(a, 'max');
    return inPlace(x[0], x[0].clamp_(bounds), 'clamp_');
  },
  copy_: (x) => inPlace(x[0], x[0].copy_(x[1]), 'copy_'),
  maskedFill_: (x, a) => inPlace(x[0], x[0].maskedFill_(x[1], scalar(a, 'value')), 'maskedFill_'),
  // An in-place op on a view must write into the base's storage: the fixture expects the base.
  inplaceThroughView: (x, a, ctx) => {
    const base = x[0];
    const how = a.view as { slice?: [number, number | null, number | null, number | null]; transpose?: [number, number] };
    let v: Tensor;
    if (how.slice) {
      const [dim, start, end, step] = how.slice;
      v = ctx.keep(base.slice(dim, start, end, step ?? undefined));
    } else {
      v = ctx.keep(base.transpose(how.transpose![0], how.transpose![1]));
    }
    const method = a.method as string;
    switch (method) {
      case 'add_': inPlace(v, v.add_(other(x, a)), method); break;
      case 'mul_': inPlace(v, v.mul_(other(x, a)), method); break;
      case 'fill_': inPlace(v, v.fill_(scalar(a, 'value')), method); break;
      case 'zero_': inPlace(v, v.zero_(), method); break;
      case 'copy_': inPlace(v, v.copy_(x[1]), method); break;
      case 'clamp_': inPlace(v, v.clamp_({ min: num(a, 'min'), max: num(a, 'max') }), method); break;
      default: throw new Error(`inplaceThroughView: no method ${method}`);
    }
    return base;
  },
  // tensor methods
  tolist: (x) => x[0].tolist(),
  item: (x) => x[0].item(),
  toString: (x: Tensor[]) => x[0].toString(),
};

/** zeros/ones take sizes as one array or as varargs; both must agree. */
function sizesTwoWays(ctx: Ctx, name: 'zeros' | 'ones', shape: number[], options: { dtype: DtypeName } | undefined): Tensor {
  const fn = torch[name] as (...args: unknown[]) => Tensor;
  return twoWays(ctx, options ? fn(shape, options) : fn(shape), () => (options ? fn(...shape, options) : fn(...shape)),
    `${name}([sizes]) vs ${name}(...sizes)`);
}

function samePartsTwoWays(parts: Tensor[], again: Tensor[], what: string): void {
  expect(again.length, `${what}: number of parts`).toBe(parts.length);
  parts.forEach((p, i) => expectSameTensor(p, again[i], `${what}: part ${i}`));
}

/** Ops whose job is to change their first input; every other op must leave its inputs as they were. */
const MUTATING = new Set(['add_', 'sub_', 'mul_', 'div_', 'zero_', 'fill_', 'clamp_', 'copy_', 'maskedFill_', 'inplaceThroughView']);

function runFixture(f: Fixture): void {
  const tracker = new Tracker();
  // Inputs are float32 values written as decimals: Math.fround recovers them bit for bit.
  const exact = { tol: { rtol: 0, atol: 0 }, signedZero: true, float32Expected: true };
  try {
    const x = f.inputs.map((spec, i) => {
      const t = buildTensor(spec, tracker.keep);
      // A wrong view would otherwise show up as a wrong op result.
      if (spec.view) expectTensor(t, spec, { ...exact, what: `input ${i} built from its view` });
      return t;
    });
    const deferred: (() => void)[] = [];
    const ctx: Ctx = { keep: tracker.keep, also: (check) => deferred.push(check) };
    const result = tracker.keep(OPS[f.op](x, decodeDeep(f.args) as Args, ctx));
    const options = { tol: f.tol ?? DEFAULT_TOL, signedZero: f.signed_zero === true, float32Expected: true };
    if (f.out) {
      expectTensor(result, f.out, { ...options, what: f.op });
    } else if (f.outs) {
      expect(Array.isArray(result), `${f.op} returns an array`).toBe(true);
      const parts = result as unknown[];
      expect(parts.length, `${f.op}: number of results`).toBe(f.outs.length);
      f.outs.forEach((want, i) => expectTensor(parts[i], want, { ...options, what: `${f.op} result ${i}` }));
    } else if (f.repr !== undefined) {
      expect(result, 'toString()').toBe(f.repr);
    } else {
      expectSameValue(result, decodeDeep(f.value), `${f.op} value`);
    }
    for (const check of deferred) check();
    if (!MUTATING.has(f.op)) {
      x.forEach((t, i) => expectTensor(t, f.inputs[i], { ...exact, what: `input ${i} after ${f.op} (must not change)` }));
    }
  } finally {
    tracker.disposeAll();
  }
}

let tensorsAtStart = 0;
beforeAll(() => {
  tensorsAtStart = torch.memory().tensors;
});

describe('ops.json', () => {
  it('is a wasmtorch-ops-v1 file whose counts and ids add up', () => {
    expect(FILE.schema).toBe('wasmtorch-ops-v1');
    expect(FILE.fixtures.length).toBe(FILE.count);
    const perGroup: Record<string, number> = {};
    for (const f of FILE.fixtures) perGroup[f.group] = (perGroup[f.group] ?? 0) + 1;
    expect(perGroup).toEqual(FILE.counts);
    const ids = FILE.fixtures.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const f of FILE.fixtures) {
      const kinds = [f.out, f.outs, f.repr, f.value].filter((k) => k !== undefined);
      expect(kinds.length, `${f.id} has exactly one expectation`).toBe(1);
    }
  });

  it('has one mapping entry per fixture op, and no unused entries', () => {
    const used = [...new Set(FILE.fixtures.map((f) => f.op))].sort();
    expect(used.filter((op) => !Object.hasOwn(OPS, op)), 'fixture ops without an entry').toEqual([]);
    expect(Object.keys(OPS).filter((op) => !used.includes(op)).sort(), 'entries no fixture uses').toEqual([]);
  });
});

const GROUPS = [...new Set(FILE.fixtures.map((f) => f.group))];
for (const group of GROUPS) {
  describe(`differential/${group}`, () => {
    for (const f of FILE.fixtures.filter((g) => g.group === group)) it(f.id, () => runFixture(f));
  });
}

describe('differential memory', () => {
  it('frees every tensor the fixtures made', () => {
    expect(torch.memory().tensors).toBe(tensorsAtStart);
  });
});
