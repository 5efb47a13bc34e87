// nn.Flatten: flattens dims startDim..endDim (default: all but the batch dim).
import type { Tensor } from '../tensor.js';
import { Module, freesItsTemporaries } from './module.js';

export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim: number | { startDim?: number; endDim?: number } = 1, endDim = -1) {
    super();
    if (typeof startDim === 'object') ({ startDim = 1, endDim = -1 } = startDim);
    this.startDim = startDim;
    this.endDim = endDim;
  }
  override forward(input: Tensor): Tensor { return input.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(Flatten);
