// torch.optim.Adagrad: accumulated squared gradients with learning-rate decay, as one fused kernel.
import type { Tensor } from '../tensor.js';
import { nonNegative, Optimizer, UpdateFlag, type OptionsSpec, type ParameterState, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

const spec: OptionsSpec<AdagradOptions> = {
  lr: { kind: 'number', default: 1e-2, check: nonNegative('learning rate') },
  lrDecay: { kind: 'number', default: 0, check: nonNegative('lrDecay value') },
  weightDecay: { kind: 'number', default: 0, check: nonNegative('weightDecay value') },
  initialAccumulatorValue: { kind: 'number', default: 0, check: nonNegative('initialAccumulatorValue value') },
  eps: { kind: 'number', default: 1e-10, check: nonNegative('epsilon value') },
  maximize: { kind: 'boolean', default: false },
};

/**
 * PyTorch 1.13's single-tensor Adagrad. As in PyTorch, the state (step as a float32 0-d tensor in
 * stateDict(), `sum` filled with initialAccumulatorValue) exists from construction on.
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  protected readonly stateKeys = ['step', 'sum'] as const;
  protected readonly stepIsTensor = true;

  constructor(params: ParamsInput<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, options, spec);
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        const state: ParameterState = {};
        this.initializeState(param, state, group);
        this.state.set(param, state);
      }
    }
  }

  protected initializeState(param: Tensor, state: ParameterState, group: ParamGroup<AdagradOptions>): void {
    state.step ??= 0;
    state.sum ??= this.buffer(param, group.initialAccumulatorValue);
  }

  protected update(param: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup<AdagradOptions>): void {
    const step = (state.step as number) + 1;
    state.step = step;
    const clr = group.lr / (1 + (step - 1) * group.lrDecay);
    let flags = 0;
    if (group.maximize) flags |= UpdateFlag.maximize;
    if (group.weightDecay !== 0) flags |= UpdateFlag.weightDecay;
    this.launchUpdate('adagrad', [param, grad, state.sum], [group.weightDecay, -clr, group.eps], flags, 0.5);
  }
}
