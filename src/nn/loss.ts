// Loss layers: MSELoss, L1Loss, SmoothL1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss (weights are buffers, as PyTorch's).
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describeValue } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import * as F from './functional.js';

function readReduction(value: unknown, where: string): F.Reduction {
  if (value === undefined) return 'mean';
  if (value === 'mean' || value === 'sum' || value === 'none') return value;
  throw new ArgumentError(`${where}: ${describeValue(value)} is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
}

/** The common part: a reduction ('mean' by default). */
abstract class Loss extends Module {
  readonly reduction: F.Reduction;
  constructor(options: F.LossOptions) {
    super();
    this.reduction = readReduction(options.reduction, this.constructor.name);
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

/** A loss with an optional per-class (or per-element) weight, kept as the buffer `weight`. */
abstract class WeightedLoss extends Loss {
  declare weight: Tensor | null;
  constructor(options: F.LossOptions & { weight?: Tensor | null }) {
    super(options);
    this.registerBuffer('weight', ownHandle(options.weight));
  }
}

/**
 * The module's own handle on a tensor the caller passed (same storage, as PyTorch shares it): the module's
 * dispose() then frees its handle only, never the caller's tensor.
 */
function ownHandle(tensor: Tensor | null | undefined): Tensor | null {
  return tensor instanceof Tensor ? tensor.detach() : tensor ?? null;
}

export class MSELoss extends Loss {
  constructor(options: F.LossOptions = {}) { super(options); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, { reduction: this.reduction }); }
}

export class L1Loss extends Loss {
  constructor(options: F.LossOptions = {}) { super(options); }
  override forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, { reduction: this.reduction }); }
}

export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: F.LossOptions & { beta?: number } = {}) {
    super(options);
    this.beta = options.beta ?? 1;
  }
  override forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta }); }
}

export class NLLLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  constructor(options: F.NllLossOptions = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class CrossEntropyLoss extends WeightedLoss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: F.CrossEntropyOptions = {}) {
    super(options);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }
}

export class BCELoss extends WeightedLoss {
  constructor(options: F.BceOptions = {}) { super(options); }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** posWeight is kept as the buffer `pos_weight` (PyTorch's state-dict name). */
export class BCEWithLogitsLoss extends WeightedLoss {
  declare pos_weight: Tensor | null;
  constructor(options: F.BceWithLogitsOptions = {}) {
    super(options);
    this.registerBuffer('pos_weight', ownHandle(options.posWeight));
  }
  get posWeight(): Tensor | null { return this.pos_weight; }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(MSELoss, L1Loss, SmoothL1Loss, NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss);
