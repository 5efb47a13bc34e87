// Activation layers: ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax.
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { describeValue } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { pythonFloat } from './parameter.js';
import * as F from './functional.js';

function readInplace(options: { inplace?: boolean } | boolean | undefined, where: string): boolean {
  const inplace = typeof options === 'boolean' ? options : options?.inplace ?? false;
  if (typeof inplace !== 'boolean') throw new ArgumentError(`${where}: inplace must be a boolean, got ${describeValue(inplace)}`);
  return inplace;
}

export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(options: { inplace?: boolean } | boolean = {}) {
    super();
    this.inplace = readInplace(options, 'ReLU');
  }
  override forward(input: Tensor): Tensor { return F.relu(input, { inplace: this.inplace }); }
  override extraRepr(): string { return this.inplace ? 'inplace=True' : ''; }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(negativeSlope: number | { negativeSlope?: number; inplace?: boolean } = 0.01, inplace: boolean = false) {
    super();
    if (typeof negativeSlope === 'object') ({ negativeSlope = 0.01, inplace = false } = negativeSlope);
    if (typeof negativeSlope !== 'number' || Number.isNaN(negativeSlope)) throw new ArgumentError(`LeakyReLU: negativeSlope must be a number, got ${describeValue(negativeSlope)}`);
    this.negativeSlope = negativeSlope;
    this.inplace = readInplace(inplace, 'LeakyReLU');
  }
  override forward(input: Tensor): Tensor { return F.leakyRelu(input, this.negativeSlope, this.inplace); }
  override extraRepr(): string { return `negative_slope=${pythonFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`; }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    const { approximate = 'none' } = options;
    if (approximate !== 'none' && approximate !== 'tanh') throw new ArgumentError(`GELU: approximate must be 'none' or 'tanh', got ${describeValue(approximate)}`);
    this.approximate = approximate;
  }
  override forward(input: Tensor): Tensor { return F.gelu(input, { approximate: this.approximate }); }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

export class SiLU extends Module {
  override forward(input: Tensor): Tensor { return F.silu(input); }
}

export class Sigmoid extends Module {
  override forward(input: Tensor): Tensor { return F.sigmoid(input); }
}

export class Tanh extends Module {
  override forward(input: Tensor): Tensor { return F.tanh(input); }
}

function readDim(dim: number | null | { dim?: number | null } | undefined, where: string): number | null {
  const value = typeof dim === 'object' && dim !== null ? dim.dim ?? null : dim ?? null;
  if (value !== null && !Number.isInteger(value)) throw new ArgumentError(`${where}: dim must be an integer or null, got ${describeValue(value)}`);
  return value;
}

/** Softmax along dim (null: PyTorch's implicit choice, 0 for 0/1/3-d inputs, else 1). */
export class Softmax extends Module {
  readonly dim: number | null;
  constructor(dim?: number | null | { dim?: number | null }) {
    super();
    this.dim = readDim(dim, 'Softmax');
  }
  override forward(input: Tensor): Tensor { return F.softmax(input, this.dim); }
  override extraRepr(): string { return `dim=${this.dim ?? 'None'}`; }
}

export class LogSoftmax extends Module {
  readonly dim: number | null;
  constructor(dim?: number | null | { dim?: number | null }) {
    super();
    this.dim = readDim(dim, 'LogSoftmax');
  }
  override forward(input: Tensor): Tensor { return F.logSoftmax(input, this.dim); }
  override extraRepr(): string { return `dim=${this.dim ?? 'None'}`; }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax);
