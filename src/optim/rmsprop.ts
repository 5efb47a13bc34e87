// torch.optim.RMSprop: running mean of squared gradients, centered and momentum variants, as one fused kernel.
import type { Tensor } from '../tensor.js';
import { nonNegative, Optimizer, UpdateFlag, type OptionsSpec, type ParameterState, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

const spec: OptionsSpec<RMSpropOptions> = {
  lr: { kind: 'number', default: 1e-2, check: nonNegative('learning rate') },
  alpha: { kind: 'number', default: 0.99, check: nonNegative('alpha value') },
  eps: { kind: 'number', default: 1e-8, check: nonNegative('epsilon value') },
  weightDecay: { kind: 'number', default: 0, check: nonNegative('weightDecay value') },
  momentum: { kind: 'number', default: 0, check: nonNegative('momentum value') },
  centered: { kind: 'boolean', default: false },
  maximize: { kind: 'boolean', default: false },
};

/**
 * PyTorch 1.13's single-tensor RMSprop. State: step (a number, as PyTorch 1.13's int), squareAvg,
 * momentumBuffer (momentum > 0), gradAvg (centered).
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  protected readonly stateKeys = ['step', 'squareAvg', 'momentumBuffer', 'gradAvg'] as const;
  protected readonly stepIsTensor = false;

  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, options, spec);
  }

  protected initializeState(param: Tensor, state: ParameterState, group: ParamGroup<RMSpropOptions>): void {
    state.step ??= 0;
    state.squareAvg ??= this.buffer(param);
    if (group.momentum > 0) state.momentumBuffer ??= this.buffer(param);
    if (group.centered) state.gradAvg ??= this.buffer(param);
  }

  protected update(param: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup<RMSpropOptions>): void {
    state.step = (state.step as number) + 1;
    let flags = 0;
    if (group.maximize) flags |= UpdateFlag.maximize;
    if (group.weightDecay !== 0) flags |= UpdateFlag.weightDecay;
    if (group.centered) flags |= UpdateFlag.centered;
    if (group.momentum > 0) flags |= UpdateFlag.momentum;
    this.launchUpdate('rmsprop', [param, grad, state.squareAvg, group.centered ? state.gradAvg : null, group.momentum > 0 ? state.momentumBuffer : null],
      [group.alpha, 1 - group.alpha, group.eps, group.weightDecay, group.momentum, -group.lr], flags, 1);
  }
}
