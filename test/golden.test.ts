// Runs the golden-v1 cases (test/fixtures/golden: PyTorch 1.13, float64 references) through wasmtorch's forward ops, then their backward.
import { beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { Tracker, buildTensor, expectTensor, type Keep, type Tensor, type TensorJson, type Tolerance } from './fixtures/harness.js';

interface GoldenInput extends TensorJson {
  name: string;
  requires_grad: boolean;
}

interface GoldenCase {
  id: string;
  op: string;
  call: string;
  inputs: GoldenInput[];
  kwargs: Record<string, unknown>;
  outputs: TensorJson[];
  upstream: ({ shape: number[]; data: number[] } | null)[];
  grads: ({ shape: number[]; data: number[] } | null)[];
  tolerance: Tolerance;
  note?: string;
}

interface GoldenFile {
  schema: string;
  group: string;
  count: number;
  cases: GoldenCase[];
}

// Imported through Vite (not read with node:fs) so the same file runs in Node and in the browser.
const goldenModules = import.meta.glob<GoldenFile>('./fixtures/golden/*.json', { eager: true, import: 'default' });
const FILES: GoldenFile[] = Object.keys(goldenModules).sort().map((path) => goldenModules[path]);

type Inputs = Record<string, Tensor>;
type Kwargs = Record<string, unknown>;

/**
 * One golden op. `forward` returns the op's outputs in the case's order, from inputs named as torch names
 * them (input, other, mat2, exponent, …) and torch's keyword arguments. Backward needs no entry of its
 * own: runBackwardCase builds the inputs with requiresGrad, seeds each output's backward with
 * `upstream[k]` and compares `.grad` with `grads[i]` (SCHEMA.md, "Gradients") — generic over `forward`.
 * Intermediate tensors a forward makes go through `keep` so they are freed.
 */
interface GoldenOp {
  forward(x: Inputs, kw: Kwargs, keep: Keep): Tensor[];
}

/** Ops still waiting for their implementation (their cases are filtered out): none since nn arrived. */
const LATER_NN_OPS: string[] = [];

function num(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new Error(`golden kwarg ${name}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function ints(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || !v.every(Number.isInteger)) throw new Error(`golden kwarg ${name}: expected ints, got ${JSON.stringify(v)}`);
  return v as number[];
}

/** An int or a list of ints (stride, padding, kernel_size). */
function sizes(v: unknown, name: string): number | number[] {
  return typeof v === 'number' ? num(v, name) : ints(v, name);
}

function need(x: Inputs, name: string): Tensor {
  const t = x[name];
  if (!t) throw new Error(`golden case lacks tensor input "${name}"`);
  return t;
}

/** `other` (or `exponent`) is a tensor input, or a number in kwargs. */
function operand(x: Inputs, kw: Kwargs, name: string): Tensor | number {
  return x[name] ?? num(kw[name], name);
}

/** Passes alpha only when the case gives one, so the plain two-argument call is what runs otherwise. */
function alphaOf(kw: Kwargs): { alpha: number } | undefined {
  return kw.alpha === undefined ? undefined : { alpha: num(kw.alpha, 'alpha') };
}

/** Spreads a shape, but a 0-d target shape needs the array form: reshape() alone means nothing. */
function spreadable(shape: number[]): [number[]] | number[] {
  return shape.length === 0 ? [shape] : shape;
}

const unary = (f: (t: Tensor) => Tensor): GoldenOp => ({ forward: (x) => [f(need(x, 'input'))] });

function reduction(name: 'sum' | 'mean'): GoldenOp {
  return {
    forward: (x, kw) => {
      const input = need(x, 'input');
      if (kw.dim === undefined) return [input[name]()];
      const dim = typeof kw.dim === 'number' ? kw.dim : ints(kw.dim, 'dim');
      return [input[name](dim, kw.keepdim === true)];
    },
  };
}

const OPS: Record<string, GoldenOp> = {
  add: { forward: (x, kw) => [need(x, 'input').add(operand(x, kw, 'other'), alphaOf(kw))] },
  sub: { forward: (x, kw) => [need(x, 'input').sub(operand(x, kw, 'other'), alphaOf(kw))] },
  mul: { forward: (x, kw) => [need(x, 'input').mul(operand(x, kw, 'other'))] },
  div: { forward: (x, kw) => [need(x, 'input').div(operand(x, kw, 'other'))] },
  pow: { forward: (x, kw) => [need(x, 'input').pow(operand(x, kw, 'exponent'))] },
  exp: unary((t) => t.exp()),
  log: unary((t) => t.log()),
  tanh: unary((t) => t.tanh()),
  sigmoid: unary((t) => t.sigmoid()),
  relu: unary((t) => t.relu()),
  clamp: {
    forward: (x, kw) => {
      const bounds: { min?: number; max?: number } = {};
      if (kw.min !== undefined && kw.min !== null) bounds.min = num(kw.min, 'min');
      if (kw.max !== undefined && kw.max !== null) bounds.max = num(kw.max, 'max');
      return [need(x, 'input').clamp(bounds)];
    },
  },
  sum: reduction('sum'),
  mean: reduction('mean'),
  max: {
    forward: (x, kw) => {
      const input = need(x, 'input');
      if (kw.dim === undefined) return [input.max()];
      const { values, indices } = input.max(num(kw.dim, 'dim'), kw.keepdim === true);
      return [values, indices];
    },
  },
  mm: { forward: (x) => [need(x, 'input').mm(need(x, 'mat2'))] },
  matmul: { forward: (x) => [need(x, 'input').matmul(need(x, 'other'))] },
  transpose: { forward: (x, kw) => [need(x, 'input').transpose(num(kw.dim0, 'dim0'), num(kw.dim1, 'dim1'))] },
  permute: { forward: (x, kw) => [need(x, 'input').permute(...spreadable(ints(kw.dims, 'dims')))] },
  reshape: { forward: (x, kw) => [need(x, 'input').reshape(...spreadable(ints(kw.shape, 'shape')))] },
  softmax: { forward: (x, kw) => [need(x, 'input').softmax(num(kw.dim, 'dim'))] },
  log_softmax: { forward: (x, kw) => [need(x, 'input').logSoftmax(num(kw.dim, 'dim'))] },
  linear: { forward: (x) => [torch.nn.functional.linear(need(x, 'input'), need(x, 'weight'), x.bias ?? null)] },
  conv2d: {
    forward: (x, kw) => [torch.nn.functional.conv2d(need(x, 'input'), need(x, 'weight'), x.bias ?? null, {
      ...(kw.stride !== undefined ? { stride: sizes(kw.stride, 'stride') } : {}),
      ...(kw.padding !== undefined ? { padding: sizes(kw.padding, 'padding') } : {}),
    })],
  },
  max_pool2d: {
    forward: (x, kw) => [torch.nn.functional.maxPool2d(need(x, 'input'), sizes(kw.kernel_size, 'kernel_size'), {
      ...(kw.stride !== undefined ? { stride: sizes(kw.stride, 'stride') } : {}),
      ...(kw.padding !== undefined ? { padding: sizes(kw.padding, 'padding') } : {}),
    })],
  },
  cross_entropy: {
    forward: (x, kw) => [torch.nn.functional.crossEntropy(need(x, 'input'), need(x, 'target'), {
      ...(kw.reduction !== undefined ? { reduction: kw.reduction as 'mean' | 'sum' | 'none' } : {}),
    })],
  },
  mse_loss: {
    forward: (x, kw) => [torch.nn.functional.mseLoss(need(x, 'input'), need(x, 'target'), {
      ...(kw.reduction !== undefined ? { reduction: kw.reduction as 'mean' | 'sum' | 'none' } : {}),
    })],
  },
};

const ALL_CASES = FILES.flatMap((f) => f.cases);
const PRESENT_OPS = [...new Set(ALL_CASES.map((c) => c.op))].sort();
const EXCLUDED_OPS = PRESENT_OPS.filter((op) => !Object.hasOwn(OPS, op));

function runCase(c: GoldenCase): void {
  const tracker = new Tracker();
  try {
    const x: Inputs = {};
    for (const input of c.inputs) {
      x[input.name] = buildTensor(input, tracker.keep);
      // A wrong view would otherwise show up as a wrong op result.
      if (input.view) expectTensor(x[input.name], input, { tol: { rtol: 0, atol: 0 }, float32Expected: true, what: `input "${input.name}" built from its view` });
    }
    const outputs = tracker.keep(OPS[c.op].forward(x, c.kwargs, tracker.keep));
    expect(outputs.length, 'number of outputs').toBe(c.outputs.length);
    outputs.forEach((out, k) => expectTensor(out, c.outputs[k], { tol: c.tolerance, what: `output ${k}` }));
  } finally {
    tracker.disposeAll();
  }
}

/**
 * The backward half (SCHEMA.md, "Gradients"): L = Σ_k sum(outputs[k] · upstream[k]) over the float outputs,
 * seeded by out_k.backward(upstream[k]) (retaining the graph until the last), and each input's .grad
 * compared with grads[i]. The gradient is w.r.t. the logical input, so an input built as a view becomes a
 * leaf itself (`view.detach().requiresGrad_()`): still non-contiguous, its .grad has the view's shape.
 * Inputs with requires_grad false must end with no .grad.
 */
function runBackwardCase(c: GoldenCase): void {
  const tracker = new Tracker();
  try {
    const x: Inputs = {};
    for (const input of c.inputs) {
      const built = buildTensor(input, tracker.keep);
      x[input.name] = input.requires_grad ? tracker.keep(built.detach().requiresGrad_()) : built;
    }
    const outputs = tracker.keep(OPS[c.op].forward(x, c.kwargs, tracker.keep));
    expect(outputs.length, 'number of outputs').toBe(c.outputs.length);
    const seeded = outputs.flatMap((out, k) => {
      const upstream = c.upstream[k];
      if (upstream === null) {
        expect(out.requiresGrad, `output ${k} (integer) does not require grad`).toBe(false);
        return [];
      }
      expect(out.requiresGrad, `output ${k} requires grad`).toBe(true);
      return [[out, tracker.keep(buildTensor({ ...upstream, dtype: 'float32' }, tracker.keep))] as const];
    });
    expect(seeded.length, 'a float output to seed').toBeGreaterThan(0);
    seeded.forEach(([out, upstream], k) => out.backward(upstream, { retainGraph: k < seeded.length - 1 }));
    c.inputs.forEach((input, i) => {
      const expected = c.grads[i];
      const t = x[input.name];
      if (expected === null) {
        expect(input.requires_grad, `grads[${i}] is null only for inputs without requires_grad`).toBe(false);
        expect(t.grad, `input "${input.name}" has no .grad`).toBeNull();
        return;
      }
      expectTensor(t.grad, { ...expected, dtype: 'float32' }, { tol: c.tolerance, what: `grad of input "${input.name}"` });
    });
  } finally {
    tracker.disposeAll();
  }
}

let tensorsAtStart = 0;
beforeAll(() => {
  tensorsAtStart = torch.memory().tensors;
});

describe('golden fixtures', () => {
  it('are golden-v1 files whose counts and ids add up', () => {
    expect(FILES.length).toBeGreaterThan(0);
    for (const f of FILES) {
      expect(f.schema, f.group).toBe('golden-v1');
      expect(f.cases.length, f.group).toBe(f.count);
    }
    const ids = ALL_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it(`run every op present, leaving out only ops still to come (${EXCLUDED_OPS.join(', ') || 'none'})`, () => {
    const skipped = ALL_CASES.filter((c) => !Object.hasOwn(OPS, c.op));
    console.log(`golden: ${ALL_CASES.length - skipped.length} cases run; ${skipped.length} cases of ops still to come (${EXCLUDED_OPS.join(', ') || 'none'})`);
    expect(EXCLUDED_OPS).toEqual(LATER_NN_OPS.filter((op) => PRESENT_OPS.includes(op)));
    // The table must not have grown an entry for an op that is still listed as later.
    expect(LATER_NN_OPS.filter((op) => Object.hasOwn(OPS, op))).toEqual([]);
  });
});

for (const file of FILES) {
  const runnable = file.cases.filter((c) => Object.hasOwn(OPS, c.op));
  // vitest rejects an empty describe; losses.json has only nn ops for now.
  if (runnable.length === 0) continue;
  describe(`golden/${file.group}`, () => {
    for (const c of runnable) it(c.id, () => runCase(c));
  });
  describe(`golden/${file.group} backward`, () => {
    for (const c of runnable) it(c.id, () => runBackwardCase(c));
  });
}

describe('golden memory', () => {
  it('frees every tensor the cases made', () => {
    expect(torch.memory().tensors).toBe(tensorsAtStart);
  });
});
