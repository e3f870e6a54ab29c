import {
  arange,
  DTypeError,
  expandDims,
  formatShape,
  gather,
  notEqual,
  RangeArgumentError,
  type Tensor,
  tidy,
  where,
} from '@sibert/tensor';
import { type Initializer, truncatedNormal } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export interface EmbeddingOptions {
  /**
   * Ids equal to this give zero vectors and send no gradient to their row (which starts at zero),
   * as PyTorch's `padding_idx`.
   */
  paddingIdx?: number;
  /** Default truncated normal, std 0.02 (BERT). */
  init?: Initializer;
}

/** A lookup table: int32 ids [...] → vectors [..., dim]. The weight is [numEmbeddings, dim]. */
export class Embedding extends Module<[Tensor]> {
  weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    const padding = options.paddingIdx ?? null;
    if (padding !== null && !(Number.isInteger(padding) && padding >= 0 && padding < numEmbeddings)) {
      throw new RangeArgumentError(
        `paddingIdx must be an integer in [0, ${numEmbeddings}), got ${padding}`,
        'Embedding',
      );
    }
    this.paddingIdx = padding;
    const init = options.init ?? truncatedNormal(0.02);
    this.weight = new Parameter(
      tidy(() => {
        const table = init([numEmbeddings, embeddingDim]);
        if (padding === null) return table;
        // The padding row starts at zero.
        const rows = expandDims(arange(0, numEmbeddings, 1, 'int32'), 1);
        return where(notEqual(rows, padding), table, 0);
      }),
      'weight',
    );
  }

  forward(ids: Tensor): Tensor {
    if (ids.dtype !== 'int32') {
      throw new DTypeError(`expected int32 ids, got ${ids.dtype} ${formatShape(ids.shape)}`, 'Embedding');
    }
    const padding = this.paddingIdx;
    if (padding === null) return gather(this.weight, ids, 0);
    // Masking the output (not only the row) keeps padded positions at zero and their gradient out of the table.
    return tidy(() => where(notEqual(expandDims(ids, -1), padding), gather(this.weight, ids, 0), 0));
  }
}
