// nn.Embedding: a lookup table of numEmbeddings vectors, initialised N(0, 1) with the padding row zeroed (PyTorch's).
import { ArgumentError, ShapeError } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor.js';
import { formatShape } from '../ops/support.js';
import { Module, freesItsTemporaries } from './module.js';
import { emptyParameter, Parameter } from './parameter.js';
import { checkFeatureCount } from './linear.js';
import { normal_ } from './init.js';
import * as F from './functional.js';

export interface EmbeddingLayerOptions {
  paddingIdx?: number | null;
  /** Not supported yet (PyTorch renormalises rows in place): passing it throws. */
  maxNorm?: number | null;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingLayerOptions = {}) {
    super();
    this.numEmbeddings = checkFeatureCount(numEmbeddings, 'Embedding', 'numEmbeddings');
    this.embeddingDim = checkFeatureCount(embeddingDim, 'Embedding', 'embeddingDim');
    if (options.maxNorm !== undefined && options.maxNorm !== null) throw new ArgumentError('Embedding: maxNorm is not supported yet');
    this.paddingIdx = F.normalizePaddingIdx(options.paddingIdx, numEmbeddings, 'Embedding');
    this.weight = emptyParameter([numEmbeddings, embeddingDim]);
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const row = this.weight.select(0, this.paddingIdx);
      noGrad(() => row.zero_());
      row.dispose();
    }
  }

  /** An Embedding whose weight is a copy of `embeddings` [num, dim]; frozen (no gradient) unless freeze is false. */
  static fromPretrained(embeddings: Tensor, options: { freeze?: boolean; paddingIdx?: number | null } = {}): Embedding {
    if (embeddings.dim() !== 2) throw new ShapeError(`Embeddings parameter is expected to be 2-dimensional, got ${formatShape(embeddings.shape)}`);
    const layer = new Embedding(embeddings.shape[0], embeddings.shape[1], { paddingIdx: options.paddingIdx });
    noGrad(() => layer.weight.copy_(embeddings));
    layer.weight.requiresGrad_(!(options.freeze ?? true));
    return layer;
  }

  override forward(input: Tensor): Tensor {
    return F.embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}

// Each forward is one functional call that frees its own temporaries.
freesItsTemporaries(Embedding);
