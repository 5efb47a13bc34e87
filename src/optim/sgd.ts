// torch.optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize, as one fused kernel.
import type { Tensor } from '../tensor.js';
import { nonNegative, Optimizer, UpdateFlag, type OptionsSpec, type ParameterState, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  /** Required, as in PyTorch 1.13. */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

const spec: OptionsSpec<SGDOptions> = {
  lr: { kind: 'number', check: nonNegative('learning rate') },
  momentum: { kind: 'number', default: 0, check: nonNegative('momentum value') },
  dampening: { kind: 'number', default: 0 },
  weightDecay: { kind: 'number', default: 0, check: nonNegative('weightDecay value') },
  nesterov: { kind: 'boolean', default: false },
  maximize: { kind: 'boolean', default: false },
};

/**
 * PyTorch 1.13's single-tensor SGD: d = grad (negated when maximizing) + weightDecay * param; with momentum the
 * buffer starts as d and then becomes momentum * buf + (1 - dampening) * d; param -= lr * (Nesterov ? d +
 * momentum * buf : buf). State: `momentumBuffer` (null without momentum, as PyTorch's None).
 */
export class SGD extends Optimizer<SGDOptions> {
  protected readonly stateKeys = ['momentumBuffer'] as const;
  protected readonly stepIsTensor = false;

  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super('SGD', params, options, spec);
  }

  protected override crossCheck(group: SGDOptions): string | null {
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) return 'Nesterov momentum requires a momentum and zero dampening';
    return null;
  }

  protected initializeState(_param: Tensor, state: ParameterState, _group: ParamGroup<SGDOptions>): void {
    // The buffer is allocated by the first step with momentum (it starts as a copy of d, written by the kernel).
    if (!('momentumBuffer' in state)) state.momentumBuffer = null;
  }

  protected update(param: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup<SGDOptions>): void {
    let flags = 0;
    if (group.maximize) flags |= UpdateFlag.maximize;
    if (group.weightDecay !== 0) flags |= UpdateFlag.weightDecay;
    if (group.momentum !== 0) {
      flags |= UpdateFlag.momentum;
      if (group.nesterov) flags |= UpdateFlag.nesterov;
      if (state.momentumBuffer === null || state.momentumBuffer === undefined) {
        state.momentumBuffer = this.buffer(param);
        flags |= UpdateFlag.firstStep;
      }
    }
    this.launchUpdate('sgd', [param, grad, state.momentumBuffer], [-group.lr, group.momentum, 1 - group.dampening, group.weightDecay], flags, 0.5);
  }
}
