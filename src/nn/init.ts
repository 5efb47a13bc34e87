// nn.init: PyTorch's weight initialisations (fans, gains, kaiming/xavier, uniform/normal/constant), all in place without grad.
//
// The values come from wasmtorch's Philox stream, not PyTorch's generator: distributions and bounds match
// PyTorch 1.13, individual numbers do not.
import { ArgumentError, ShapeError } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { formatShape } from '../ops/support.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' |
  'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** camelCase spellings ('leakyRelu', 'fanIn') are accepted beside PyTorch's snake_case ones. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** torch.nn.init.calculate_gain: the recommended gain for a nonlinearity (param: leaky_relu's negative slope). */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number | null): number {
  const name = snakeCase(String(nonlinearity));
  switch (name) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      if (param !== undefined && param !== null && (typeof param !== 'number' || Number.isNaN(param))) {
        throw new ArgumentError(`negative_slope ${String(param)} not a valid number`);
      }
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new ArgumentError(`Unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** PyTorch's _calculate_fan_in_and_fan_out: dim 1 and dim 0 times the receptive field (the dims after 1). */
export function calculateFanInAndFanOut(tensor: Tensor): { fanIn: number; fanOut: number } {
  if (tensor.dim() < 2) {
    throw new ShapeError(`Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape ${formatShape(tensor.shape)})`);
  }
  let receptiveField = 1;
  for (let d = 2; d < tensor.dim(); d++) receptiveField *= tensor.shape[d];
  return { fanIn: tensor.shape[1] * receptiveField, fanOut: tensor.shape[0] * receptiveField };
}

function fanOf(tensor: Tensor, mode: string): number {
  const name = snakeCase(mode);
  if (name !== 'fan_in' && name !== 'fan_out') throw new ArgumentError(`Mode ${mode} not supported, please use one of fan_in, fan_out`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  return name === 'fan_in' ? fanIn : fanOut;
}

function checkNumber(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ArgumentError(`${where}: ${name} must be a number, got ${String(value)}`);
  return value;
}

/** Fills with U(a, b). */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  checkNumber(a, 'uniform_', 'a');
  checkNumber(b, 'uniform_', 'b');
  return noGrad(() => tensor.uniform_(a, b));
}

/** Fills with N(mean, std²). */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  checkNumber(mean, 'normal_', 'mean');
  checkNumber(std, 'normal_', 'std');
  return noGrad(() => tensor.normal_(mean, std));
}

export function constant_(tensor: Tensor, value: number): Tensor {
  checkNumber(value, 'constant_', 'val');
  return noGrad(() => tensor.fill_(value));
}

export function zeros_(tensor: Tensor): Tensor {
  return noGrad(() => tensor.zero_());
}

export function ones_(tensor: Tensor): Tensor {
  return noGrad(() => tensor.fill_(1));
}

/** Fills a 2-D tensor with the identity (ones on the diagonal). */
export function eye_(tensor: Tensor): Tensor {
  if (tensor.dim() !== 2) throw new ShapeError(`Only tensors with 2 dimensions are supported, got shape ${formatShape(tensor.shape)}`);
  return noGrad(() => {
    tensor.zero_();
    const diagonal = Math.min(tensor.shape[0], tensor.shape[1]);
    for (let i = 0; i < diagonal; i++) {
      const row = tensor.select(0, i);
      const cell = row.narrow(0, i, 1);
      cell.fill_(1);
      cell.dispose();
      row.dispose();
    }
    return tensor;
  });
}

/** Glorot: U(-a, a) with a = gain·sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(tensor: Tensor, options: { gain?: number } = {}): Tensor {
  const gain = checkNumber(options.gain ?? 1, 'xavierUniform_', 'gain');
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(tensor, -bound, bound);
}

/** Glorot: N(0, std²) with std = gain·sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor: Tensor, options: { gain?: number } = {}): Tensor {
  const gain = checkNumber(options.gain ?? 1, 'xavierNormal_', 'gain');
  const { fanIn, fanOut } = calculateFanInAndFanOut(tensor);
  return normal_(tensor, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** leaky_relu's negative slope (0: relu). */
  a?: number;
  mode?: FanMode | 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity | 'leakyRelu';
}

/** He: U(-b, b) with b = gain·sqrt(3 / fan) (defaults a = 0, mode 'fan_in', nonlinearity 'leaky_relu', as PyTorch). */
export function kaimingUniform_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = options;
  const fan = fanOf(tensor, mode);
  if (fan === 0) return tensor; // PyTorch warns "Initializing zero-element tensors is a no-op"
  const bound = calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform_(tensor, -bound, bound);
}

/** He: N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(tensor: Tensor, options: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = options;
  const fan = fanOf(tensor, mode);
  if (fan === 0) return tensor;
  return normal_(tensor, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan));
}

/** The reset_parameters of PyTorch 1.13's Linear and _ConvNd: kaiming_uniform_(a=√5) and bias U(±1/√fanIn). */
export function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
