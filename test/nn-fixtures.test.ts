// Every nn layer and loss against PyTorch 1.13 (test/fixtures/nn.json from generate_nn.py): outputs, input and parameter gradients, running statistics, state-dict names.
import nnFixture from './fixtures/nn.json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';
import { Tracker, buildTensor, expectTensor, type TensorJson, type Tolerance } from './fixtures/harness.js';

const { nn } = torch;

interface NnCase {
  id: string;
  module: string;
  args: unknown[];
  options: Record<string, unknown>;
  mode: 'train' | 'eval';
  calls: number;
  state: Record<string, TensorJson>;
  inputs: TensorJson[];
  requires_grad: boolean[];
  output: TensorJson;
  upstream: TensorJson;
  input_grads: (TensorJson | null)[];
  param_grads: Record<string, TensorJson>;
  state_after: Record<string, TensorJson>;
  state_dict_keys: string[];
}

// Imported through Vite (not read with node:fs) so the same file runs in Node and in the browser.
const FIXTURE = nnFixture as unknown as { schema: string; cases: NnCase[] };

// Float32 arithmetic against float64 references.
const TOLERANCE: Tolerance = { rtol: 2e-4, atol: 2e-5 };

type AnyModule = torch.nn.Module;

/** The JS side of "Sequential:small_cnn" in generate_nn.py. */
function smallCnn(): AnyModule {
  return new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(4 * 3 * 3, 5), new nn.LayerNorm(5), new nn.GELU(), new nn.Linear(5, 3));
}

function build(c: NnCase, tracker: Tracker): AnyModule {
  if (c.module === 'Sequential:small_cnn') return smallCnn();
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c.options)) {
    options[key] = value !== null && typeof value === 'object' && 'tensor' in value
      ? buildTensor((value as { tensor: TensorJson }).tensor, tracker.keep) : value;
  }
  const Layer = (nn as unknown as Record<string, new (...args: unknown[]) => AnyModule>)[c.module];
  if (typeof Layer !== 'function') throw new Error(`nn has no ${c.module}`);
  return Object.keys(options).length ? new Layer(...c.args, options) : new Layer(...c.args);
}

function runCase(c: NnCase): void {
  const tracker = new Tracker();
  let model: AnyModule | null = null;
  try {
    model = build(c, tracker);
    // The fixture's parameters go in through loadStateDict (strict): names and shapes must be PyTorch's.
    const state = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, buildTensor(v, tracker.keep)]));
    const { missingKeys, unexpectedKeys } = model.loadStateDict(state);
    expect([missingKeys, unexpectedKeys]).toEqual([[], []]);
    expect(Object.keys(tracker.keep(model.stateDict()))).toEqual(c.state_dict_keys);
    if (c.mode === 'train') model.train(); else model.eval();

    const inputs = c.inputs.map((spec, i) => {
      const t = buildTensor(spec, tracker.keep);
      return c.requires_grad[i] ? tracker.keep(t.detach().requiresGrad_()) : t;
    });
    // Earlier calls only move the running statistics; tidy frees their outputs and graphs.
    for (let call = 1; call < c.calls; call++) torch.tidy(() => { model!(...inputs); });
    const output = tracker.keep(model(...inputs) as torch.Tensor);
    expectTensor(output, c.output, { tol: TOLERANCE, what: 'output' });
    if (output.requiresGrad) output.backward(buildTensor(c.upstream, tracker.keep));

    c.input_grads.forEach((expected, i) => {
      if (expected === null) expect(inputs[i].grad, `input ${i} has no grad`).toBeNull();
      else expectTensor(inputs[i].grad, expected, { tol: TOLERANCE, what: `grad of input ${i}` });
    });
    const parameters = Object.fromEntries(model.namedParameters());
    expect(Object.keys(parameters).filter((name) => parameters[name].requiresGrad).sort()).toEqual(Object.keys(c.param_grads).sort());
    for (const [name, expected] of Object.entries(c.param_grads)) {
      expectTensor(parameters[name].grad, expected, { tol: TOLERANCE, what: `grad of ${name}` });
    }
    const after = tracker.keep(model.stateDict());
    for (const [name, expected] of Object.entries(c.state_after)) {
      expectTensor(after[name], expected, { tol: TOLERANCE, what: `state ${name} after ${c.calls} call(s) in ${c.mode} mode` });
    }
  } finally {
    tracker.disposeAll();
    model?.dispose();
  }
}

let tensorsAtStart = 0;
beforeAll(() => { tensorsAtStart = torch.memory().tensors; });

describe('nn against PyTorch fixtures', () => {
  it('is the nn-v1 fixture with every layer and loss of the issue', () => {
    expect(FIXTURE.schema).toBe('wasmtorch-nn-v1');
    const covered = new Set(FIXTURE.cases.map((c) => c.module.split(':')[0]));
    for (const name of ['Linear', 'Conv1d', 'Conv2d', 'ConvTranspose2d', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'BatchNorm1d', 'BatchNorm2d',
      'LayerNorm', 'GroupNorm', 'Dropout', 'Embedding', 'ReLU', 'LeakyReLU', 'GELU', 'SiLU', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Flatten',
      'Identity', 'Sequential', 'MSELoss', 'L1Loss', 'SmoothL1Loss', 'CrossEntropyLoss', 'NLLLoss', 'BCELoss', 'BCEWithLogitsLoss']) {
      expect(covered.has(name), name).toBe(true);
    }
  });
  for (const c of FIXTURE.cases) it(c.id, () => runCase(c));
});

afterAll(() => {
  expect(torch.memory().tensors).toBe(tensorsAtStart);
});
