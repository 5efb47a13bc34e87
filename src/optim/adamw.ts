// torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2), sharing Adam's fused kernel.
import { AdamBase, adamSpec, type AdamOptions } from './adam.js';
import type { ParamsInput } from './optimizer.js';

export type AdamWOptions = AdamOptions;

/** torch.optim.AdamW: param *= 1 - lr * weightDecay, then Adam's update without L2 in the gradient. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;

  constructor(params: ParamsInput<AdamWOptions>, options: Partial<AdamWOptions> = {}) {
    super('AdamW', params, options, adamSpec(1e-2));
  }
}
