// Property tests (fast-check): broadcasting, strided views and reductions against a naive TypeScript reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

/** The naive reference: a row-major array of float32 values with a shape. */
interface Reference {
  shape: number[];
  data: number[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const stridesOf = (shape: readonly number[]) => shape.map((_, d) => numel(shape.slice(d + 1)));

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { index[d] = flat % shape[d]; flat = Math.floor(flat / shape[d]); }
  return index;
}

function at(ref: Reference, index: readonly number[]): number {
  const offset = index.length - ref.shape.length;
  const strides = stridesOf(ref.shape);
  let flat = 0;
  ref.shape.forEach((size, d) => { flat += (size === 1 ? 0 : index[d + offset]) * strides[d]; });
  return ref.data[flat];
}

function broadcastReference(a: Reference, b: Reference, f: (x: number, y: number) => number): Reference {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const shape = pad(a.shape).map((size, d) => Math.max(size, pad(b.shape)[d]) * (size && pad(b.shape)[d] ? 1 : 0));
  const data = Array.from({ length: numel(shape) }, (_, i) => {
    const index = unravel(i, shape);
    return Math.fround(f(at(a, index), at(b, index)));
  });
  return { shape, data };
}

/** Two shapes that broadcast together (size-1 dims, missing leading dims, zero sizes included). */
const broadcastPair = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }).chain((base) =>
  fc.tuple(
    fc.tuple(...base.map((size) => fc.constantFrom(size, 1))).map((s) => s as number[]),
    fc.tuple(...base.map((size) => fc.constantFrom(size, 1))).map((s) => s as number[]),
    fc.integer({ min: 0, max: base.length }),
  ).map(([a, b, drop]) => [a.slice(drop), b] as [number[], number[]]));

const valuesFor = (shape: number[]) => fc.array(fc.integer({ min: -50, max: 50 }).map((v) => v / 8), { minLength: numel(shape), maxLength: numel(shape) });

function makeTensor(ref: Reference): torch.Tensor {
  return torch.fromArray(new Float32Array(ref.data), ref.shape);
}

function expectClose(actual: torch.Tensor, expected: Reference, tolerance = 1e-6): void {
  expect(actual.shape).toEqual(expected.shape);
  const values = Array.from(actual.toArray());
  values.forEach((v, i) => {
    const e = expected.data[i];
    if (Number.isNaN(e)) expect(v).toBeNaN();
    else if (!Number.isFinite(e)) expect(v).toBe(e);
    else expect(Math.abs(v - e)).toBeLessThanOrEqual(tolerance * (1 + Math.abs(e)));
  });
}

const binaryOps: [string, (a: torch.Tensor, b: torch.Tensor) => torch.Tensor, (x: number, y: number) => number][] = [
  ['add', (a, b) => a.add(b), (x, y) => x + y],
  ['sub alpha', (a, b) => a.sub(b, { alpha: 2 }), (x, y) => x - 2 * y],
  ['mul', (a, b) => a.mul(b), (x, y) => x * y],
  ['div', (a, b) => a.div(b), (x, y) => x / y],
  ['maximum', (a, b) => a.maximum(b), (x, y) => Math.max(x, y)],
];

describe('broadcasting binary ops match a naive reference', () => {
  for (const [name, op, reference] of binaryOps) {
    it(name, () => {
      fc.assert(fc.property(broadcastPair.chain(([sa, sb]) => fc.tuple(fc.constant(sa), valuesFor(sa), fc.constant(sb), valuesFor(sb))), ([sa, da, sb, db]) => {
        torch.tidy(() => {
          const a = { shape: sa, data: da }, b = { shape: sb, data: db };
          expectClose(op(makeTensor(a), makeTensor(b)), broadcastReference(a, b, reference));
        });
      }), { numRuns: 150 });
    });
  }
});

/** A random strided view: permuted, sliced with a step, or expanded, with the reference of its values. */
const stridedView = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    data: valuesFor(shape),
    permutation: fc.shuffledSubarray(shape.map((_, d) => d), { minLength: shape.length, maxLength: shape.length }),
    sliceDim: fc.integer({ min: 0, max: shape.length - 1 }),
    sliceStart: fc.integer({ min: 0, max: 2 }),
    sliceStep: fc.integer({ min: 1, max: 3 }),
    expandLeading: fc.integer({ min: 1, max: 3 }),
  }));

type ViewCase = { shape: number[]; data: number[]; permutation: number[]; sliceDim: number; sliceStart: number; sliceStep: number; expandLeading: number };

function buildView(c: ViewCase): { tensor: torch.Tensor; reference: Reference } {
  const base = torch.fromArray(new Float32Array(c.data), c.shape);
  // Reference: apply the same operations to index arithmetic.
  const permutedShape = c.permutation.map((d) => c.shape[d]);
  const size = permutedShape[c.sliceDim];
  const start = Math.min(c.sliceStart, size);
  const count = Math.ceil((size - start) / c.sliceStep);
  const viewShape = permutedShape.slice();
  viewShape[c.sliceDim] = count;
  const finalShape = [c.expandLeading, ...viewShape];
  const data = Array.from({ length: numel(finalShape) }, (_, i) => {
    const index = unravel(i, finalShape).slice(1);
    index[c.sliceDim] = start + index[c.sliceDim] * c.sliceStep;
    const original = new Array(c.shape.length);
    c.permutation.forEach((d, k) => { original[d] = index[k]; });
    return at({ shape: c.shape, data: c.data }, original);
  });
  const tensor = base.permute(c.permutation).slice(c.sliceDim, start, null, c.sliceStep).unsqueeze(0).expand(c.expandLeading, ...viewShape);
  return { tensor, reference: { shape: finalShape, data } };
}

describe('strided views match a naive reference', () => {
  it('contiguous() of permuted, stepped, expanded views', () => {
    fc.assert(fc.property(stridedView, (c) => {
      torch.tidy(() => {
        const { tensor, reference } = buildView(c);
        expectClose(tensor.contiguous(), reference, 0);
        expectClose(tensor.exp().log(), { shape: reference.shape, data: reference.data.map((v) => v) }, 1e-5);
      });
    }), { numRuns: 200 });
  });

  it('reductions over any dims of strided views, with and without keepdim', () => {
    fc.assert(fc.property(stridedView, fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), fc.boolean(), (c, dimsRaw, keepdim) => {
      torch.tidy(() => {
        const { tensor, reference } = buildView(c);
        const rank = reference.shape.length;
        const dims = [...new Set(dimsRaw.map((d) => d % rank))].sort();
        const reduced = new Set(dims.length ? dims : reference.shape.map((_, d) => d));
        const outShape = reference.shape.map((s, d) => (reduced.has(d) ? 1 : s));
        const groups = new Map<number, number[]>();
        reference.data.forEach((v, i) => {
          const index = unravel(i, reference.shape).map((k, d) => (reduced.has(d) ? 0 : k));
          const key = index.reduce((acc, k, d) => acc * outShape[d] + k, 0);
          if (!groups.has(key)) groups.set(key, []);
          groups.get(key)!.push(v);
        });
        const keys = Array.from({ length: numel(outShape) }, (_, i) => groups.get(i) ?? []);
        const finalShape = keepdim ? outShape : reference.shape.filter((_, d) => !reduced.has(d));
        const dimArgument = dims.length ? dims : null;
        expectClose(tensor.sum(dimArgument, keepdim), { shape: finalShape, data: keys.map((g) => Math.fround(g.reduce((a, b) => a + b, 0))) }, 1e-6);
        expectClose(tensor.mean(dimArgument, keepdim), { shape: finalShape, data: keys.map((g) => Math.fround(g.reduce((a, b) => a + b, 0) / g.length)) }, 1e-6);
        expectClose(tensor.prod(dimArgument, keepdim), { shape: finalShape, data: keys.map((g) => Math.fround(g.reduce((a, b) => a * b, 1))) }, 1e-5);
        if (dims.length === 1 && reference.shape[dims[0]] > 0) {
          const { values, indices } = tensor.max(dims[0], keepdim);
          expectClose(values, { shape: finalShape, data: keys.map((g) => Math.max(...g)) }, 0);
          expect(Array.from(indices.toArray())).toEqual(keys.map((g) => g.indexOf(Math.max(...g))));
          expectClose(tensor.min(dims[0], keepdim)[0], { shape: finalShape, data: keys.map((g) => Math.min(...g)) }, 0);
        }
      });
    }), { numRuns: 200 });
  });

  it('binary ops between a strided view and a contiguous copy of it', () => {
    fc.assert(fc.property(stridedView, (c) => {
      torch.tidy(() => {
        const { tensor, reference } = buildView(c);
        const swapped = tensor.transpose(0, -1);
        const swappedReference = { shape: swapped.shape.slice(), data: Array.from(swapped.contiguous().toArray()) };
        expect(swappedReference.data.length).toBe(reference.data.length);
        expectClose(swapped.mul(swapped.contiguous()).add(1), broadcastReference(swappedReference, swappedReference, (x, y) => x * y + 1), 1e-6);
      });
    }), { numRuns: 100 });
  });
});

describe('comparisons and where on long rows (the 16- and 4-lane kernel paths and their tails)', () => {
  const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 1.5, -2);
  const value = fc.oneof(fc.integer({ min: -4, max: 4 }).map((v) => v / 2), special);
  const row = fc.integer({ min: 0, max: 70 }).chain((n) => fc.tuple(fc.array(value, { minLength: n, maxLength: n }), fc.array(value, { minLength: n, maxLength: n })));
  const compares = { eq: (x: number, y: number) => x === y, ne: (x: number, y: number) => x !== y, lt: (x: number, y: number) => x < y,
    le: (x: number, y: number) => x <= y, gt: (x: number, y: number) => x > y, ge: (x: number, y: number) => x >= y } as const;

  it('float32 and int32 compares against tensors and scalars match JavaScript, NaN included', () => {
    fc.assert(fc.property(row, fc.constantFrom(...(Object.keys(compares) as (keyof typeof compares)[])), fc.boolean(), ([xs, ys], op, integer) => {
      torch.tidy(() => {
        const toValues = (v: number[]) => (integer ? v.map((e) => (Number.isFinite(e) ? Math.trunc(e) : 3)) : v);
        const [left, right] = [toValues(xs), toValues(ys)];
        const make = (v: number[]) => (integer ? torch.fromArray(new Int32Array(v), [v.length]) : torch.fromArray(new Float32Array(v), [v.length]));
        const a = make(left), b = make(right);
        expect(Array.from(a[op](b).toArray(), Boolean)).toEqual(left.map((x, i) => compares[op](x, right[i])));
        const scalar = right.length ? right[0] : 1;
        expect(Array.from(a[op](scalar).toArray(), Boolean)).toEqual(left.map((x) => compares[op](x, scalar)));
        // A strided view takes the scalar loop: the same answers.
        const everyOther = a.reshape([-1]).narrow(0, 0, left.length).unsqueeze(1).expand([left.length, 2]).select(1, 0);
        expect(Array.from(everyOther[op](b).toArray(), Boolean)).toEqual(left.map((x, i) => compares[op](x, right[i])));
      });
    }), { numRuns: 300 });
  });

  it('where picks between tensors and scalars lane by lane', () => {
    fc.assert(fc.property(row, fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }), ([xs, ys], picks) => {
      torch.tidy(() => {
        const n = xs.length;
        const condition = torch.tensor(picks.slice(0, n), { dtype: 'bool' });
        const a = torch.fromArray(new Float32Array(xs), [n]), b = torch.fromArray(new Float32Array(ys), [n]);
        const expectSame = (t: torch.Tensor, expected: number[]) => expect(Array.from(t.toArray())).toEqual(expected.map(Math.fround));
        expectSame(torch.where(condition, a, b), xs.map((x, i) => (picks[i] ? x : ys[i])));
        expectSame(torch.where(condition, a, 7), xs.map((x, i) => (picks[i] ? x : 7)));
        expectSame(torch.where(condition, -3, b), ys.map((y, i) => (picks[i] ? -3 : y)));
        expectSame(a.maskedFill(condition, 0.5), xs.map((x, i) => (picks[i] ? 0.5 : x)));
      });
    }), { numRuns: 200 });
  });
});

describe('randperm', () => {
  it('is a permutation of 0..n-1, reproducible under manualSeed, and not the identity', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
      torch.manualSeed(seed);
      const first = torch.randperm(n);
      torch.manualSeed(seed);
      const second = torch.randperm(n);
      expect(first.dtype).toBe('int32');
      expect(Array.from(first.toArray())).toEqual(Array.from(second.toArray()));
      expect(Array.from(first.toArray()).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      torch.dispose(first, second);
    }), { numRuns: 100 });
    torch.manualSeed(1);
    const shuffled = torch.randperm(1000);
    // A fixed point count near 1 is what a uniform permutation gives; the identity would give 1000.
    expect(Array.from(shuffled.toArray()).filter((v, i) => v === i).length).toBeLessThan(10);
    shuffled.dispose();
  });

  it('rejects a negative or fractional n', () => {
    expect(() => torch.randperm(-1)).toThrow(/non-negative integer, got -1/);
    expect(() => torch.randperm(2.5)).toThrow(/non-negative integer, got 2.5/);
  });
});

describe('memory', () => {
  it('property runs inside tidy leave torch.memory() where it started', () => {
    torch.backend.collectGarbage();
    const before = torch.memory();
    fc.assert(fc.property(stridedView, (c) => { torch.tidy(() => buildView(c).tensor.sum(0).softmax(-1)); }), { numRuns: 50 });
    torch.backend.collectGarbage();
    expect(torch.memory()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });
});
