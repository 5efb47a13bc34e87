// nn.functional: the stateless form of every layer and loss, composed from tensor ops so autograd differentiates them.
//
// Each function checks its arguments first (errors name the shapes), then computes with its intermediates
// freed before it returns (a temporaries list on the layers' path, torch.tidy for the losses); the graph
// keeps what backward needs. Numbers and gradients follow PyTorch 1.13. The convolutions and poolings are
// the ops of src/ops/convolution.ts and src/ops/pooling.ts, re-exported.
import { ArgumentError, DtypeError, IndexError, ShapeError } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../scope.js';
import { Tensor } from '../tensor.js';
import { rand, onesLike } from '../ops/factories.js';
import { unary, unaryInPlace, where } from '../ops/elementwise.js';
import { checkOptions, describeValue, formatShape, numelOf, sameShape } from '../ops/support.js';

export type Reduction = 'mean' | 'sum' | 'none';

// ---------------------------------------------------------------------------------------------- helpers

function checkTensor(value: unknown, where: string, name: string): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${where}: ${name} must be a tensor, got ${describeValue(value)}`);
  void value.storage;
  return value;
}

function checkFloat(value: Tensor, where: string, name: string): Tensor {
  if (value.dtype !== 'float32') throw new DtypeError(`${where}: expected ${name} of dtype float32, got ${value.dtype}`);
  return value;
}

function checkOptionalTensor(value: unknown, where: string, name: string): Tensor | null {
  return value === undefined || value === null ? null : checkTensor(value, where, name);
}

function checkReduction(value: unknown, where: string): Reduction {
  if (value === 'mean' || value === 'sum' || value === 'none') return value;
  throw new ArgumentError(`${where}: ${describeValue(value)} is not a valid value for reduction (expected 'mean', 'sum' or 'none')`);
}

function checkProbability(p: unknown, where: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ArgumentError(`${where}: probability has to be between 0 and 1, but got ${describeValue(p)}`);
  return p;
}

function checkPositive(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new ArgumentError(`${where}: ${name} must be a positive number, got ${describeValue(value)}`);
  return value;
}

/**
 * Runs fn with `temp`, which marks a tensor as a temporary: every one is disposed when fn returns (except
 * the result) or throws. The layers on a network's main path use it instead of torch.tidy, whose search
 * of the result's graph grows with the whole graph behind it (quadratic over a deep chain of layers).
 * Disposing a temporary that the graph saved is safe: the graph holds its own alias.
 */
function withTemporaries(fn: (temp: <T extends Tensor>(t: T) => T) => Tensor): Tensor {
  const temporaries: Tensor[] = [];
  let result: Tensor;
  try {
    result = fn((t) => { temporaries.push(t); return t; });
  } catch (error) {
    for (const t of temporaries) t.dispose();
    throw error;
  }
  for (const t of temporaries) if (t !== result) t.dispose();
  return result;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  switch (reduction) {
    case 'none': return loss;
    case 'sum': return loss.sum();
    case 'mean': return loss.mean();
    default: return reduction satisfies never;
  }
}

/** Shape [1, C, 1, ...] to broadcast a per-channel vector against an input of `rank` dims. */
function channelShape(channels: number, rank: number): number[] {
  const shape = new Array<number>(Math.max(rank, 2)).fill(1);
  shape[1] = channels;
  return shape;
}

function checkVector(value: Tensor | null, length: number, where: string, name: string, input: Tensor): void {
  if (value && (value.dim() !== 1 || value.shape[0] !== length)) {
    throw new ShapeError(`${where}: expected ${name} of shape [${length}] for an input of shape ${formatShape(input.shape)}, got ${formatShape(value.shape)}`);
  }
}

/** PyTorch's mse/l1 rule: a target of another shape broadcasts, with its warning. */
function warnIfBroadcast(input: Tensor, target: Tensor, where: string): void {
  if (!sameShape(input.shape, target.shape)) {
    console.warn(`${where}: Using a target size (${formatShape(target.shape)}) that is different to the input size (${formatShape(input.shape)}). ` +
      'This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.');
  }
}

// ---------------------------------------------------------------------------------------------- convolution and pooling

export { conv1d, conv2d, convTranspose2d, type Conv1dOptions, type Conv2dOptions, type ConvTranspose2dOptions } from '../ops/convolution.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from '../ops/pooling.js';

// ---------------------------------------------------------------------------------------------- linear

/** y = x Aᵀ + b; input [*, inFeatures], weight [outFeatures, inFeatures], bias [outFeatures]. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor(input, 'linear', 'input');
  checkTensor(weight, 'linear', 'weight');
  const b = checkOptionalTensor(bias, 'linear', 'bias');
  if (weight.dim() !== 2 && weight.dim() !== 1) throw new ShapeError(`linear: weight must be 2-D [outFeatures, inFeatures], got ${formatShape(weight.shape)}`);
  const inFeatures = weight.shape[weight.dim() - 1];
  const last = input.dim() === 0 ? 1 : input.shape[input.dim() - 1];
  if (input.dim() === 0 || last !== inFeatures) {
    const rows = input.dim() <= 1 ? 1 : numelOf(input.shape.slice(0, -1));
    throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${rows}x${last} and ${weight.shape.slice().reverse().join('x')}): ` +
      `input ${formatShape(input.shape)} has ${last} features, weight ${formatShape(weight.shape)} expects ${inFeatures}`);
  }
  if (b && weight.dim() === 2 && b.numel() !== weight.shape[0] && b.numel() !== 1) {
    throw new ShapeError(`linear: bias of shape ${formatShape(b.shape)} does not match weight's ${weight.shape[0]} output features`);
  }
  return withTemporaries((temp) => {
    const product = input.matmul(temp(weight.t()));
    return b ? temp(product).add(b) : product;
  });
}

// ---------------------------------------------------------------------------------------------- activations

export function relu(input: Tensor, options: { inplace?: boolean } = {}): Tensor {
  checkTensor(input, 'relu', 'input');
  options = checkOptions(options, 'relu', ['inplace']);
  return options.inplace ? input.relu_() : input.relu();
}

export function leakyRelu(input: Tensor, negativeSlope: number | { negativeSlope?: number; inplace?: boolean } = 0.01, inplace = false): Tensor {
  checkTensor(input, 'leakyRelu', 'input');
  if (typeof negativeSlope === 'object') ({ negativeSlope = 0.01, inplace = false } = checkOptions(negativeSlope, 'leakyRelu', ['negativeSlope', 'inplace']) as { negativeSlope?: number; inplace?: boolean });
  if (typeof negativeSlope !== 'number' || Number.isNaN(negativeSlope)) throw new ArgumentError(`leakyRelu: negativeSlope must be a number, got ${describeValue(negativeSlope)}`);
  checkFloat(input, 'leakyRelu', 'input');
  if (inplace) {
    unaryInPlace('leakyRelu', input, negativeSlope);
    return input;
  }
  return unary('leakyRelu', input, negativeSlope);
}

export function gelu(input: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  checkTensor(input, 'gelu', 'input');
  return input.gelu(options);
}

export function silu(input: Tensor): Tensor { return checkTensor(input, 'silu', 'input').silu(); }
export function sigmoid(input: Tensor): Tensor { return checkTensor(input, 'sigmoid', 'input').sigmoid(); }
export function tanh(input: Tensor): Tensor { return checkTensor(input, 'tanh', 'input').tanh(); }

/** PyTorch's _get_softmax_dim for a call without dim (deprecated there): 0 for 0-, 1- and 3-d inputs, else 1. */
export function implicitSoftmaxDim(rank: number): number {
  return rank === 0 || rank === 1 || rank === 3 ? 0 : 1;
}

export function softmax(input: Tensor, dim?: number | null | { dim?: number | null }): Tensor {
  checkTensor(input, 'softmax', 'input');
  const d = typeof dim === 'object' && dim !== null ? (checkOptions(dim, 'softmax', ['dim']) as { dim?: number | null }).dim : dim;
  return input.softmax(d ?? implicitSoftmaxDim(input.dim()));
}

export function logSoftmax(input: Tensor, dim?: number | null | { dim?: number | null }): Tensor {
  checkTensor(input, 'logSoftmax', 'input');
  const d = typeof dim === 'object' && dim !== null ? (checkOptions(dim, 'logSoftmax', ['dim']) as { dim?: number | null }).dim : dim;
  return input.logSoftmax(d ?? implicitSoftmaxDim(input.dim()));
}

// ---------------------------------------------------------------------------------------------- dropout

export interface DropoutOptions {
  p?: number;
  training?: boolean;
  inplace?: boolean;
}

/**
 * Training: zeroes each element with probability p and scales the rest by 1/(1-p); otherwise the input
 * itself is returned (as PyTorch). dropout(x, 0.2) or dropout(x, { p: 0.2, training }).
 */
export function dropout(input: Tensor, p: number | DropoutOptions = 0.5, training = true, inplace = false): Tensor {
  checkTensor(input, 'dropout', 'input');
  let probability: unknown = p;
  if (typeof p === 'object' && p !== null) ({ p: probability = 0.5, training = true, inplace = false } = checkOptions(p, 'dropout', ['p', 'training', 'inplace']) as DropoutOptions);
  const rate = checkProbability(probability, 'dropout');
  if (!training || rate === 0) return input;
  checkFloat(input, 'dropout', 'input');
  if (rate === 1) return inplace ? input.mul_(0) : input.mul(0);
  // One multiplier per element: 0 where dropped, 1/(1-p) where kept (its own gradient rule, in place too).
  const scale = withTemporaries((temp) => where(temp(temp(rand(input.shape, { device: input.device })).lt(rate)), 0, 1 / (1 - rate)));
  try {
    return inplace ? input.mul_(scale) : input.mul(scale);
  } finally {
    scale.dispose();
  }
}

// ---------------------------------------------------------------------------------------------- embedding

export interface EmbeddingOptions {
  /** Rows at this index get no gradient. */
  paddingIdx?: number | null;
}

/** Rows of weight [numEmbeddings, dim] picked by integer indices of any shape: the result is [...indices, dim]. */
export function embedding(input: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  checkTensor(input, 'embedding', 'input');
  checkTensor(weight, 'embedding', 'weight');
  if (input.dtype !== 'int32') {
    throw new DtypeError(`embedding: expected indices of dtype int32, got ${input.dtype} (shape ${formatShape(input.shape)}); convert with .int()`);
  }
  if (weight.dim() !== 2) throw new ShapeError(`embedding: weight must be 2-D [numEmbeddings, embeddingDim], got ${formatShape(weight.shape)}`);
  const paddingIdx = normalizePaddingIdx(options.paddingIdx, weight.shape[0], 'embedding');
  return withTemporaries((temp) => {
    const flat = temp(input.reshape([-1]));
    const outShape = [...input.shape, weight.shape[1]];
    const rows = temp(weight.indexSelect(0, flat)).reshape(outShape);
    if (paddingIdx === null) return rows;
    temp(rows);
    // The padding row's values pass through, its gradient does not (PyTorch's embedding_backward).
    const frozen = temp(temp(temp(weight.detach()).indexSelect(0, flat)).reshape(outShape));
    return where(temp(temp(input.eq(paddingIdx)).unsqueeze(-1)), frozen, rows);
  });
}

export function normalizePaddingIdx(paddingIdx: number | null | undefined, numEmbeddings: number, where: string): number | null {
  if (paddingIdx === undefined || paddingIdx === null) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings) {
    throw new IndexError(`${where}: paddingIdx must be within num_embeddings (${numEmbeddings}), got ${describeValue(paddingIdx)}`);
  }
  return paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
}

// ---------------------------------------------------------------------------------------------- normalization

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Normalizes each channel (dim 1) of [N, C, *]: with the batch's statistics when training or when there
 * are no running statistics, else with runningMean/runningVar. Training updates the running statistics in
 * place: mean and unbiased variance, weighted by momentum.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  options = checkOptions(options, 'batchNorm', ['weight', 'bias', 'training', 'momentum', 'eps']) as BatchNormOptions;
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  checkTensor(input, 'batchNorm', 'input');
  checkFloat(input, 'batchNorm', 'input');
  const weight = checkOptionalTensor(options.weight, 'batchNorm', 'weight');
  const bias = checkOptionalTensor(options.bias, 'batchNorm', 'bias');
  const mean = checkOptionalTensor(runningMean, 'batchNorm', 'runningMean');
  const variance = checkOptionalTensor(runningVar, 'batchNorm', 'runningVar');
  if (input.dim() < 2) throw new ShapeError(`batchNorm: expected an input of shape [N, C, *] (2 or more dims), got ${formatShape(input.shape)}`);
  const channels = input.shape[1];
  checkVector(weight, channels, 'batchNorm', 'weight', input);
  checkVector(bias, channels, 'batchNorm', 'bias', input);
  checkVector(mean, channels, 'batchNorm', 'runningMean', input);
  checkVector(variance, channels, 'batchNorm', 'runningVar', input);
  if ((mean === null) !== (variance === null)) throw new ArgumentError('batchNorm: runningMean and runningVar must both be given or both be null');
  if (typeof momentum !== 'number' || Number.isNaN(momentum)) throw new ArgumentError(`batchNorm: momentum must be a number, got ${describeValue(momentum)}`);
  checkPositive(eps, 'batchNorm', 'eps');
  const perChannel = input.numel() / Math.max(channels, 1);
  const useBatch = training || mean === null;
  if (training && perChannel <= 1) {
    throw new ArgumentError(`Expected more than 1 value per channel when training, got input size ${formatShape(input.shape)}`);
  }
  const shape = channelShape(channels, input.dim());
  const dims = input.shape.map((_, d) => d).filter((d) => d !== 1);
  return withTemporaries((temp) => {
    let normalized: Tensor;
    if (useBatch) {
      const batchMean = temp(input.mean(dims, true));
      const centered = temp(input.sub(batchMean));
      const batchVar = temp(temp(centered.square()).mean(dims, true));
      normalized = centered.mul(temp(temp(batchVar.add(eps)).rsqrt()));
      if (training && mean && variance) {
        noGrad(() => {
          mean.mul_(1 - momentum).add_(temp(temp(batchMean.reshape([channels])).mul(momentum)));
          variance.mul_(1 - momentum).add_(temp(temp(batchVar.reshape([channels])).mul(momentum * perChannel / (perChannel - 1))));
        });
      }
    } else {
      const centered = temp(input.sub(temp(mean!.reshape(shape))));
      normalized = centered.mul(temp(temp(temp(variance!.reshape(shape)).add(eps)).rsqrt()));
    }
    if (weight) normalized = temp(normalized).mul(temp(weight.reshape(shape)));
    if (bias) normalized = temp(normalized).add(temp(bias.reshape(shape)));
    return normalized;
  });
}

export interface AffineNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  eps?: number;
}

/** Normalizes over the trailing dims given by normalizedShape, then scales and shifts elementwise. */
export function layerNorm(input: Tensor, normalizedShape: number | readonly number[], options: AffineNormOptions = {}): Tensor {
  checkTensor(input, 'layerNorm', 'input');
  checkFloat(input, 'layerNorm', 'input');
  if (typeof normalizedShape !== 'number' && !Array.isArray(normalizedShape)) {
    throw new ArgumentError(`layerNorm: normalizedShape must be a size or an array of sizes, got ${describeValue(normalizedShape)}`);
  }
  options = checkOptions(options, 'layerNorm', ['weight', 'bias', 'eps']) as AffineNormOptions;
  const { eps = 1e-5 } = options;
  const weight = checkOptionalTensor(options.weight, 'layerNorm', 'weight');
  const bias = checkOptionalTensor(options.bias, 'layerNorm', 'bias');
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const trailing = input.shape.slice(input.dim() - shape.length);
  if (shape.length === 0 || input.dim() < shape.length || !sameShape(trailing, shape)) {
    throw new ShapeError(`layerNorm: Given normalized_shape=${formatShape(shape)}, expected input with shape [*, ${shape.join(', ')}], but got input of size ${formatShape(input.shape)}`);
  }
  for (const [name, value] of [['weight', weight], ['bias', bias]] as const) {
    if (value && !sameShape(value.shape, shape)) throw new ShapeError(`layerNorm: expected ${name} of shape ${formatShape(shape)}, got ${formatShape(value.shape)}`);
  }
  checkPositive(eps, 'layerNorm', 'eps');
  const dims = shape.map((_, k) => input.dim() - shape.length + k);
  return withTemporaries((temp) => {
    const centered = temp(input.sub(temp(input.mean(dims, true))));
    let normalized = centered.mul(temp(temp(temp(temp(centered.square()).mean(dims, true)).add(eps)).rsqrt()));
    if (weight) normalized = temp(normalized).mul(weight);
    if (bias) normalized = temp(normalized).add(bias);
    return normalized;
  });
}

/** Normalizes each of numGroups channel groups of [N, C, *] over its channels and positions, then a per-channel affine. */
export function groupNorm(input: Tensor, numGroups: number, options: AffineNormOptions = {}): Tensor {
  checkTensor(input, 'groupNorm', 'input');
  checkFloat(input, 'groupNorm', 'input');
  const { eps = 1e-5 } = options;
  const weight = checkOptionalTensor(options.weight, 'groupNorm', 'weight');
  const bias = checkOptionalTensor(options.bias, 'groupNorm', 'bias');
  if (!Number.isInteger(numGroups) || numGroups <= 0) throw new ArgumentError(`groupNorm: numGroups must be a positive integer, got ${describeValue(numGroups)}`);
  if (input.dim() < 2) throw new ShapeError(`groupNorm: expected an input of shape [N, C, *], got ${formatShape(input.shape)}`);
  const [batch, channels] = input.shape;
  if (channels % numGroups !== 0) {
    throw new ShapeError(`Expected number of channels in input to be divisible by num_groups, but got input of shape ${formatShape(input.shape)} and num_groups=${numGroups}`);
  }
  checkVector(weight, channels, 'groupNorm', 'weight', input);
  checkVector(bias, channels, 'groupNorm', 'bias', input);
  checkPositive(eps, 'groupNorm', 'eps');
  const shape = channelShape(channels, input.dim());
  return withTemporaries((temp) => {
    const grouped = temp(input.reshape([batch, numGroups, -1]));
    const centered = temp(grouped.sub(temp(grouped.mean(2, true))));
    const scale = temp(temp(temp(temp(centered.square()).mean(2, true)).add(eps)).rsqrt());
    let normalized = temp(centered.mul(scale)).reshape([...input.shape]);
    if (weight) normalized = temp(normalized).mul(temp(weight.reshape(shape)));
    if (bias) normalized = temp(normalized).add(temp(bias.reshape(shape)));
    return normalized;
  });
}

// ---------------------------------------------------------------------------------------------- regression losses

export interface LossOptions {
  reduction?: Reduction;
}

export function mseLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  checkTensor(input, 'mseLoss', 'input');
  checkTensor(target, 'mseLoss', 'target');
  options = checkOptions(options, 'mseLoss', ['reduction']) as LossOptions;
  const reduction = checkReduction(options.reduction ?? 'mean', 'mseLoss');
  warnIfBroadcast(input, target, 'mseLoss');
  return tidy(() => reduce(input.sub(target).square(), reduction));
}

export function l1Loss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  checkTensor(input, 'l1Loss', 'input');
  checkTensor(target, 'l1Loss', 'target');
  options = checkOptions(options, 'l1Loss', ['reduction']) as LossOptions;
  const reduction = checkReduction(options.reduction ?? 'mean', 'l1Loss');
  warnIfBroadcast(input, target, 'l1Loss');
  return tidy(() => reduce(input.sub(target).abs(), reduction));
}

/** 0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (beta 0: the L1 loss). */
export function smoothL1Loss(input: Tensor, target: Tensor, options: LossOptions & { beta?: number } = {}): Tensor {
  checkTensor(input, 'smoothL1Loss', 'input');
  checkTensor(target, 'smoothL1Loss', 'target');
  options = checkOptions(options, 'smoothL1Loss', ['reduction', 'beta']) as LossOptions & { beta?: number };
  const reduction = checkReduction(options.reduction ?? 'mean', 'smoothL1Loss');
  const { beta = 1 } = options;
  if (typeof beta !== 'number' || !(beta >= 0)) throw new ArgumentError(`smoothL1Loss: smooth_l1_loss does not support negative values for beta, got ${describeValue(beta)}`);
  warnIfBroadcast(input, target, 'smoothL1Loss');
  return tidy(() => {
    const difference = input.sub(target);
    const absolute = difference.abs();
    if (beta === 0) return reduce(absolute, reduction);
    return reduce(where(absolute.lt(beta), difference.square().mul(0.5 / beta), absolute.sub(0.5 * beta)), reduction);
  });
}

// ---------------------------------------------------------------------------------------------- classification losses

export interface NllLossOptions extends LossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NllLossOptions {
  labelSmoothing?: number;
}

/** The class dim of a classification input: 0 for an unbatched [C], else 1 ([N, C, d1, ...]). */
function classDimOf(input: Tensor): number {
  return input.dim() === 1 ? 0 : 1;
}

/**
 * Checks class-index targets of a classification loss: int32, the input's shape without its class dim,
 * and every value a class (or ignoreIndex). Returns whether some target equals ignoreIndex.
 */
function checkClassTargets(input: Tensor, target: Tensor, ignoreIndex: number, where: string): boolean {
  if (input.dim() < 1) throw new ShapeError(`${where}: Expected 1 or more dimensions for the input (got a 0-d tensor)`);
  if (target.dtype !== 'int32') {
    throw new DtypeError(`${where}: expected target of dtype int32 (class indices) for an input of shape ${formatShape(input.shape)}, got ${target.dtype} of shape ${formatShape(target.shape)}` +
      (where === 'crossEntropy' ? `; class probabilities must be float32 of the input's shape ${formatShape(input.shape)}` : ''));
  }
  const classDim = classDimOf(input);
  const expected = input.shape.filter((_, d) => d !== classDim);
  if (input.dim() >= 2 && target.dim() >= 1 && target.shape[0] !== input.shape[0]) {
    throw new ShapeError(`${where}: Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.shape[0]}); ` +
      `input ${formatShape(input.shape)}, target ${formatShape(target.shape)}`);
  }
  if (!sameShape(target.shape, expected)) {
    throw new ShapeError(`${where}: Expected target size ${formatShape(expected)}, got ${formatShape(target.shape)} (input ${formatShape(input.shape)})`);
  }
  const classes = input.shape[classDim];
  // GPU targets are not read back (that would wait for the GPU): out-of-range classes are not reported there, as
  // CUDA reports them only asynchronously, and the ignore mask is always applied (the same result when none is ignored).
  if (target.device !== 'cpu') return true;
  let ignored = false;
  for (const value of target.toArray() as Int32Array) {
    if (value === ignoreIndex) { ignored = true; continue; }
    if (value < 0 || value >= classes) throw new IndexError(`${where}: Target ${value} is out of bounds (the input has ${classes} classes along dim ${classDim})`);
  }
  return ignored;
}

function checkClassWeight(weight: Tensor | null, input: Tensor, where: string): void {
  const classes = input.shape[classDimOf(input)];
  if (weight && (weight.dim() !== 1 || weight.shape[0] !== classes)) {
    throw new ShapeError(`${where}: weight tensor should be defined either for all ${classes} classes or no classes but got weight tensor of shape: ${formatShape(weight.shape)}`);
  }
}

/** The checked classification options (shared by nllLoss and crossEntropy). */
function readClassOptions(options: NllLossOptions, where: string): { weight: Tensor | null; ignoreIndex: number; reduction: Reduction } {
  const weight = checkOptionalTensor(options.weight, where, 'weight');
  const { ignoreIndex = -100 } = options;
  if (!Number.isInteger(ignoreIndex)) throw new ArgumentError(`${where}: ignoreIndex must be an integer, got ${describeValue(ignoreIndex)}`);
  return { weight, ignoreIndex, reduction: checkReduction(options.reduction ?? 'mean', where) };
}

/** The negative log likelihood of log-probabilities input [N, C, d...] (or [C]) at class-index targets. */
export function nllLoss(input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  checkTensor(input, 'nllLoss', 'input');
  checkTensor(target, 'nllLoss', 'target');
  options = checkOptions(options, 'nllLoss', ['weight', 'ignoreIndex', 'reduction']) as NllLossOptions;
  checkFloat(input, 'nllLoss', 'input');
  const { weight, ignoreIndex, reduction } = readClassOptions(options, 'nllLoss');
  checkClassWeight(weight, input, 'nllLoss');
  const ignored = checkClassTargets(input, target, ignoreIndex, 'nllLoss');
  return tidy(() => negativeLogLikelihood(input, target, weight, ignoreIndex, ignored, reduction));
}

/** nll_loss_nd on checked arguments: -weight[t]·input[t] per item; 'mean' divides by the summed weights. */
function negativeLogLikelihood(input: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number, ignored: boolean, reduction: Reduction): Tensor {
  const classDim = classDimOf(input);
  const ignoreMask = ignored ? target.eq(ignoreIndex) : null;
  const safeTarget = ignoreMask ? target.maskedFill(ignoreMask, 0) : target;
  const picked = input.gather(classDim, safeTarget.unsqueeze(classDim)).squeeze(classDim);
  let itemWeight: Tensor | null = weight ? weight.indexSelect(0, safeTarget.reshape([-1])).reshape([...target.shape]) : null;
  if (ignoreMask) itemWeight = (itemWeight ?? onesLike(picked)).maskedFill(ignoreMask, 0);
  const loss = itemWeight ? picked.mul(itemWeight).neg() : picked.neg();
  switch (reduction) {
    case 'none': return loss;
    case 'sum': return loss.sum();
    case 'mean': return itemWeight ? loss.sum().div(itemWeight.sum()) : loss.mean();
    default: return reduction satisfies never;
  }
}

/**
 * Cross entropy of unnormalized logits [N, C, d...] (or [C]) against class indices (int32, [N, d...]) or
 * class probabilities (float32, the input's shape), with PyTorch 1.13's weight, ignoreIndex and
 * labelSmoothing rules.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  checkTensor(input, 'crossEntropy', 'input');
  checkTensor(target, 'crossEntropy', 'target');
  options = checkOptions(options, 'crossEntropy', ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']) as CrossEntropyOptions;
  checkFloat(input, 'crossEntropy', 'input');
  const { weight, ignoreIndex, reduction } = readClassOptions(options, 'crossEntropy');
  const { labelSmoothing = 0 } = options;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ArgumentError(`crossEntropy: label_smoothing must be between 0.0 and 1.0. Got: ${describeValue(labelSmoothing)}`);
  }
  if (input.dim() < 1) throw new ShapeError('crossEntropy: Expected 1 or more dimensions for the input (got a 0-d tensor)');
  checkClassWeight(weight, input, 'crossEntropy');
  const classDim = classDimOf(input);
  const classes = input.shape[classDim];
  if (sameShape(input.shape, target.shape) && target.dtype !== 'int32') {
    checkFloat(target, 'crossEntropy', 'target (class probabilities)');
    return tidy(() => {
      const logProbabilities = input.logSoftmax(classDim);
      const smoothed = labelSmoothing > 0 ? target.mul(1 - labelSmoothing).add(labelSmoothing / classes) : target;
      let product = logProbabilities.mul(smoothed);
      if (weight) product = product.mul(weight.reshape(input.shape.map((_, d) => (d === classDim ? classes : 1))));
      switch (reduction) {
        case 'none': return product.sum(classDim).neg();
        case 'sum': return product.sum().neg();
        case 'mean': return product.sum().neg().div(input.numel() / classes);
        default: return reduction satisfies never;
      }
    });
  }
  const ignored = checkClassTargets(input, target, ignoreIndex, 'crossEntropy');
  return tidy(() => {
    const logProbabilities = input.logSoftmax(classDim);
    const nll = negativeLogLikelihood(logProbabilities, target, weight, ignoreIndex, ignored, reduction);
    if (labelSmoothing === 0) return nll;
    const ignoreMask = ignored ? target.eq(ignoreIndex) : null;
    const weighted = weight ? logProbabilities.mul(weight.reshape(input.shape.map((_, d) => (d === classDim ? classes : 1)))) : logProbabilities;
    let smoothLoss = weighted.sum(classDim).neg();
    if (ignoreMask) smoothLoss = smoothLoss.maskedFill(ignoreMask, 0);
    let reduced: Tensor;
    switch (reduction) {
      case 'none': reduced = smoothLoss; break;
      case 'sum': reduced = smoothLoss.sum(); break;
      case 'mean': {
        if (weight) {
          const safeTarget = ignoreMask ? target.maskedFill(ignoreMask, 0) : target;
          let itemWeight = weight.indexSelect(0, safeTarget.reshape([-1]));
          if (ignoreMask) itemWeight = itemWeight.maskedFill(ignoreMask.reshape([-1]), 0);
          reduced = smoothLoss.sum().div(itemWeight.sum());
        } else {
          // The count of targets not ignored stays a tensor: no read back from a GPU.
          reduced = ignoreMask ? smoothLoss.sum().div(ignoreMask.eq(false).sum()) : smoothLoss.sum().div(target.numel());
        }
        break;
      }
      default: return reduction satisfies never;
    }
    return nll.mul(1 - labelSmoothing).add(reduced.mul(labelSmoothing / classes));
  });
}

function checkSameShape(input: Tensor, target: Tensor, where: string): void {
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${where}: Using a target size (${formatShape(target.shape)}) that is different to the input size (${formatShape(input.shape)}) is not supported; please ensure they have the same size`);
  }
}

export interface BceOptions extends LossOptions {
  weight?: Tensor | null;
}

/** Binary cross entropy of probabilities in [0, 1]; each log is clamped to ≥ -100, as PyTorch's. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  checkTensor(input, 'binaryCrossEntropy', 'input');
  checkTensor(target, 'binaryCrossEntropy', 'target');
  options = checkOptions(options, 'binaryCrossEntropy', ['weight', 'reduction']) as BceOptions;
  checkFloat(input, 'binaryCrossEntropy', 'input');
  checkFloat(target, 'binaryCrossEntropy', 'target');
  const weight = checkOptionalTensor(options.weight, 'binaryCrossEntropy', 'weight');
  const reduction = checkReduction(options.reduction ?? 'mean', 'binaryCrossEntropy');
  checkSameShape(input, target, 'binaryCrossEntropy');
  if (weight) broadcastCheck(weight, input, 'binaryCrossEntropy');
  // Checked on the CPU only: a GPU input is not read back (values outside [0, 1] give NaN there).
  for (const value of input.device === 'cpu' ? input.toArray() as Float32Array : []) {
    if (!(value >= 0 && value <= 1)) throw new ArgumentError(`binaryCrossEntropy: all elements of input should be between 0 and 1 (found ${value}); apply sigmoid first, or use binaryCrossEntropyWithLogits`);
  }
  return tidy(() => {
    const logInput = input.log().clamp({ min: -100 });
    const logComplement = input.neg().add(1).log().clamp({ min: -100 });
    let loss = target.mul(logInput).add(target.neg().add(1).mul(logComplement)).neg();
    if (weight) loss = loss.mul(weight);
    return reduce(loss, reduction);
  });
}

function broadcastCheck(weight: Tensor, input: Tensor, where: string): void {
  const offset = input.dim() - weight.dim();
  if (offset < 0 || weight.shape.some((s, d) => s !== 1 && s !== input.shape[d + offset])) {
    throw new ShapeError(`${where}: weight of shape ${formatShape(weight.shape)} does not broadcast to the input's shape ${formatShape(input.shape)}`);
  }
}

export interface BceWithLogitsOptions extends BceOptions {
  /** Weight of the positive examples, broadcast along the last dim (one per class). */
  posWeight?: Tensor | null;
}

/** Sigmoid and binary cross entropy in one numerically stable expression (PyTorch 1.13's formula). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BceWithLogitsOptions = {}): Tensor {
  checkTensor(input, 'binaryCrossEntropyWithLogits', 'input');
  checkTensor(target, 'binaryCrossEntropyWithLogits', 'target');
  options = checkOptions(options, 'binaryCrossEntropyWithLogits', ['weight', 'posWeight', 'reduction']) as BceWithLogitsOptions;
  checkFloat(input, 'binaryCrossEntropyWithLogits', 'input');
  checkFloat(target, 'binaryCrossEntropyWithLogits', 'target');
  const weight = checkOptionalTensor(options.weight, 'binaryCrossEntropyWithLogits', 'weight');
  const posWeight = checkOptionalTensor(options.posWeight, 'binaryCrossEntropyWithLogits', 'posWeight');
  const reduction = checkReduction(options.reduction ?? 'mean', 'binaryCrossEntropyWithLogits');
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`binaryCrossEntropyWithLogits: Target size (${formatShape(target.shape)}) must be the same as input size (${formatShape(input.shape)})`);
  }
  if (weight) broadcastCheck(weight, input, 'binaryCrossEntropyWithLogits');
  if (posWeight) broadcastCheck(posWeight, input, 'binaryCrossEntropyWithLogits (posWeight)');
  return tidy(() => {
    const maxValue = input.neg().clamp({ min: 0 });
    const softplus = maxValue.neg().exp().add(input.neg().sub(maxValue).exp()).log().add(maxValue);
    let loss: Tensor;
    if (posWeight) {
      const logWeight = posWeight.sub(1).mul(target).add(1);
      loss = target.neg().add(1).mul(input).add(logWeight.mul(softplus));
    } else {
      loss = target.neg().add(1).mul(input).add(softplus);
    }
    if (weight) loss = loss.mul(weight);
    return reduce(loss, reduction);
  });
}

// ---------------------------------------------------------------------------------------------- shape

export function flatten(input: Tensor, startDim = 0, endDim = -1): Tensor {
  return checkTensor(input, 'flatten', 'input').flatten(startDim, endDim);
}

