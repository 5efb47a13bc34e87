// torch.optim.Adam (and the update AdamW shares): moments, bias correction, AMSGrad and maximize, as one fused kernel.
import type { Tensor } from '../tensor.js';
import { nonNegative, Optimizer, UpdateFlag, type OptionsSpec, type ParameterState, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

export const adamSpec = (weightDecay: number): OptionsSpec<AdamOptions> => ({
  lr: { kind: 'number', default: 1e-3, check: nonNegative('learning rate') },
  betas: {
    kind: 'pair', default: [0.9, 0.999],
    check: (betas: [number, number]) => betas.map((beta, index) => (beta >= 0 && beta < 1 ? null : `Invalid beta parameter at index ${index}: ${beta}`))
      .find((message) => message !== null) ?? null,
  },
  eps: { kind: 'number', default: 1e-8, check: nonNegative('epsilon value') },
  weightDecay: { kind: 'number', default: weightDecay, check: nonNegative('weightDecay value') },
  amsgrad: { kind: 'boolean', default: false },
  maximize: { kind: 'boolean', default: false },
});

/**
 * The shared Adam/AdamW step. `decoupled` (AdamW) multiplies the parameter by 1 - lr * weightDecay instead of
 * adding weightDecay * param to the gradient. Scalars are computed in float64 from the step count, as
 * PyTorch 1.13 does with `step_t.item()`.
 */
export abstract class AdamBase extends Optimizer<AdamOptions> {
  protected readonly stateKeys = ['step', 'expAvg', 'expAvgSq', 'maxExpAvgSq'] as const;
  /** PyTorch 1.13 keeps Adam's step as a float32 0-d tensor; stateDict() gives one (a number here internally). */
  protected readonly stepIsTensor = true;
  protected abstract readonly decoupled: boolean;

  protected initializeState(param: Tensor, state: ParameterState, group: ParamGroup<AdamOptions>): void {
    state.step ??= 0;
    state.expAvg ??= this.buffer(param);
    state.expAvgSq ??= this.buffer(param);
    if (group.amsgrad) state.maxExpAvgSq ??= this.buffer(param);
  }

  protected update(param: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup<AdamOptions>): void {
    const [beta1, beta2] = group.betas;
    const step = (state.step as number) + 1;
    state.step = step;
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = group.lr / biasCorrection1;
    let flags = 0;
    if (group.maximize) flags |= UpdateFlag.maximize;
    if (this.decoupled) flags |= UpdateFlag.decoupledDecay;
    else if (group.weightDecay !== 0) flags |= UpdateFlag.weightDecay;
    if (group.amsgrad) flags |= UpdateFlag.amsgrad;
    this.launchUpdate('adam', [param, grad, state.expAvg, state.expAvgSq, group.amsgrad ? state.maxExpAvgSq : null], [
      beta1, 1 - beta1, beta2, 1 - beta2, group.weightDecay, 1 - group.lr * group.weightDecay,
      -stepSize, Math.sqrt(biasCorrection2), group.eps,
    ], flags, 1);
  }
}

/** torch.optim.Adam (PyTorch 1.13's single-tensor algorithm). State: step, expAvg, expAvgSq, maxExpAvgSq (amsgrad). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, options, adamSpec(0));
  }
}
