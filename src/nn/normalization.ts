// Normalization layers: BatchNorm1d/2d (running statistics, train/eval), LayerNorm and GroupNorm (affine).
import { ArgumentError, DeviceError, DtypeError, ShapeError } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import { ones, zeros } from '../ops/factories.js';
import { Tensor } from '../tensor.js';
import { describeValue, formatShape } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { emptyParameter, pythonFloat, pythonTuple, type Parameter } from './parameter.js';
import { checkFeatureCount } from './linear.js';
import { ones_, zeros_ } from './init.js';
import * as F from './functional.js';

export interface BatchNormLayerOptions {
  eps?: number;
  /** Weight of the new batch in the running statistics; null: a cumulative average over the batches seen. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * The shared part of BatchNorm1d/2d (PyTorch's _BatchNorm). Buffers keep PyTorch's state-dict names
 * (running_mean, running_var, num_batches_tracked); runningMean & co. are camelCase accessors to them.
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super();
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = options;
    this.numFeatures = checkFeatureCount(numFeatures, this.constructor.name, 'numFeatures');
    if (typeof eps !== 'number' || !(eps > 0)) throw new ArgumentError(`${this.constructor.name}: eps must be a positive number, got ${describeValue(eps)}`);
    if (momentum !== null && (typeof momentum !== 'number' || Number.isNaN(momentum))) throw new ArgumentError(`${this.constructor.name}: momentum must be a number or null, got ${describeValue(momentum)}`);
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? emptyParameter([numFeatures]) : null;
    this.bias = affine ? emptyParameter([numFeatures]) : null;
    if (trackRunningStats) {
      this.registerBuffer('running_mean', zeros(numFeatures));
      this.registerBuffer('running_var', ones(numFeatures));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  get runningMean(): Tensor | null { return this.running_mean; }
  get runningVar(): Tensor | null { return this.running_var; }
  get numBatchesTracked(): Tensor | null { return this.num_batches_tracked; }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    noGrad(() => {
      this.running_mean!.zero_();
      this.running_var!.fill_(1);
      this.num_batches_tracked!.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** The input ranks this layer takes (BatchNorm1d: 2 or 3; BatchNorm2d: 4). */
  protected abstract checkInputDim(input: Tensor): void;

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new ArgumentError(`expected a tensor input, got ${describeValue(input)}`);
    this.checkInputDim(input);
    // Every check before numBatchesTracked moves: a rejected input changes no state.
    if (input.dtype !== 'float32') throw new DtypeError(`expected a float32 input, got ${input.dtype}`);
    if (input.shape[1] !== this.numFeatures) {
      throw new ShapeError(`expected input with ${this.numFeatures} channels (dim 1), got input of shape ${formatShape(input.shape)}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      if (this.momentum === null && this.num_batches_tracked.device !== 'cpu') {
        throw new DeviceError(`${this.constructor.name}(momentum=None): the cumulative average reads num_batches_tracked back, which a ` +
          "'webgpu' tensor does not allow synchronously; give a momentum, or train this module on 'cpu'");
      }
      if (input.numel() / Math.max(this.numFeatures, 1) <= 1) {
        throw new ArgumentError(`Expected more than 1 value per channel when training, got input size ${formatShape(input.shape)}`);
      }
      noGrad(() => this.num_batches_tracked!.add_(1));
      if (this.momentum === null) factor = 1 / (this.num_batches_tracked.item() as number);
    }
    const useBatchStatistics = this.training || (this.running_mean === null && this.running_var === null);
    const keepStatistics = !this.training || this.trackRunningStats;
    return F.batchNorm(input, keepStatistics ? this.running_mean : null, keepStatistics ? this.running_var : null, {
      weight: this.weight, bias: this.bias, training: useBatchStatistics, momentum: factor, eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pythonFloat(this.momentum)}, ` +
      `affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}

/** Batch normalization of [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNorm {
  protected override checkInputDim(input: Tensor): void {
    if (input.dim() !== 2 && input.dim() !== 3) throw new ShapeError(`expected 2D or 3D input (got ${input.dim()}D input of shape ${formatShape(input.shape)})`);
  }
}

/** Batch normalization of [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNorm {
  protected override checkInputDim(input: Tensor): void {
    if (input.dim() !== 4) throw new ShapeError(`expected 4D input (got ${input.dim()}D input of shape ${formatShape(input.shape)})`);
  }
}

/** Normalizes over the trailing normalizedShape dims; weight ones and bias zeros of that shape (elementwiseAffine). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    const { eps = 1e-5, elementwiseAffine = true } = options;
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    shape.forEach((size) => checkFeatureCount(size, 'LayerNorm', 'normalizedShape'));
    this.normalizedShape = shape;
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? emptyParameter(shape) : null;
    this.bias = elementwiseAffine ? emptyParameter(shape) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  override forward(input: Tensor): Tensor {
    return F.layerNorm(input, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pythonTuple(this.normalizedShape)}, eps=${pythonFloat(this.eps)}, elementwise_affine=${this.elementwiseAffine ? 'True' : 'False'}`;
  }
}

/** Normalizes numGroups groups of channels; per-channel weight ones and bias zeros (affine). */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, options: { eps?: number; affine?: boolean } = {}) {
    super();
    const { eps = 1e-5, affine = true } = options;
    checkFeatureCount(numGroups, 'GroupNorm', 'numGroups');
    checkFeatureCount(numChannels, 'GroupNorm', 'numChannels');
    if (numGroups === 0 || numChannels % numGroups !== 0) throw new ArgumentError(`GroupNorm: num_channels must be divisible by num_groups (got ${numChannels} and ${numGroups})`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = eps;
    this.affine = affine;
    this.weight = affine ? emptyParameter([numChannels]) : null;
    this.bias = affine ? emptyParameter([numChannels]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  override forward(input: Tensor): Tensor {
    if (input instanceof Tensor && input.dim() >= 2 && input.shape[1] !== this.numChannels) {
      throw new ShapeError(`expected input with ${this.numChannels} channels (dim 1), got input of shape ${formatShape(input.shape)}`);
    }
    return F.groupNorm(input, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pythonFloat(this.eps)}, affine=${this.affine ? 'True' : 'False'}`;
  }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(BatchNorm, LayerNorm, GroupNorm);
