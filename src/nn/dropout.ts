// nn.Dropout: in training, zeroes elements with probability p and scales the rest by 1/(1-p); in eval, the identity.
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { describeValue } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { pythonFloat } from './parameter.js';
import * as F from './functional.js';

export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p: number | { p?: number; inplace?: boolean } = 0.5, inplace: boolean = false) {
    super();
    if (typeof p === 'object') ({ p = 0.5, inplace = false } = p);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ArgumentError(`dropout probability has to be between 0 and 1, but got ${describeValue(p)}`);
    this.p = p;
    this.inplace = inplace;
  }
  override forward(input: Tensor): Tensor { return F.dropout(input, this.p, this.training, this.inplace); }
  override extraRepr(): string { return `p=${pythonFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`; }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(Dropout);
