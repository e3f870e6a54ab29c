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
   * The padding id, as PyTorch's `padding_idx`: its row starts at zero and gets no gradient (its
   * lookups give the row as it is, so a loaded non-zero row is kept).
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
    // PyTorch's padding_idx: the padding row is looked up as it is (zero unless loaded otherwise)
    // and gets no gradient; its lookups are detached.
    return tidy(() => {
      const rows = gather(this.weight, ids, 0);
      return where(notEqual(expandDims(ids, -1), padding), rows, rows.detach());
    });
  }
}
