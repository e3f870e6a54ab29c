/**
 * A batching iterator over dataset indices that shuffles each epoch by seed and resumes exactly
 * from a checkpointed `{ epoch, position }`. Each epoch's order is derived from (seed, epoch)
 * alone, so resuming needs no replay.
 */
import { Rng } from './random';

/** Where the iterator stands: the epoch and how many of its items have been served. A plain JSON object. */
export interface BatchIteratorState {
  epoch: number;
  position: number;
}

export interface BatchIteratorOptions {
  /** Number of items in the dataset. */
  size: number;
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (default true); false serves 0, 1, 2, … every epoch. */
  shuffle?: boolean;
  /** Leave out an epoch's last, smaller batch (default false). */
  dropLast?: boolean;
  /** Stop after this many epochs (default: never). */
  epochs?: number;
  /** Start here instead of at `{ epoch: 0, position: 0 }`. */
  state?: BatchIteratorState;
}

export interface IndexBatch {
  /** Dataset indices of the items in this batch. */
  indices: Int32Array;
  epoch: number;
  /** Batch number within the epoch. */
  batchInEpoch: number;
  /** Batch number since epoch 0 (a seed key for per-batch randomness such as MLM masks). */
  step: number;
}

export class BatchIterator implements IterableIterator<IndexBatch> {
  readonly size: number;
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  private readonly seed: number;
  private readonly shuffle: boolean;
  private readonly epochs: number;
  private epoch: number;
  private position: number;
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  constructor(options: BatchIteratorOptions) {
    const { size, batchSize, seed } = options;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`BatchIterator: expected size to be a positive integer, got ${size}`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`BatchIterator: expected batchSize to be a positive integer, got ${batchSize}`);
    }
    const dropLast = options.dropLast ?? false;
    if (dropLast && batchSize > size) {
      throw new RangeError(
        `BatchIterator: dropLast with batchSize ${batchSize} > size ${size} leaves no batch`,
      );
    }
    this.size = size;
    this.batchSize = batchSize;
    this.seed = seed;
    this.shuffle = options.shuffle ?? true;
    this.epochs = options.epochs ?? Number.POSITIVE_INFINITY;
    // The items an epoch serves: all, or the whole batches only.
    this.batchesPerEpoch = dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
    const { epoch, position } = options.state ?? { epoch: 0, position: 0 };
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`BatchIterator: expected state.epoch to be a non-negative integer, got ${epoch}`);
    }
    if (
      !Number.isInteger(position) ||
      position < 0 ||
      position > this.epochItems ||
      (position % batchSize !== 0 && position !== this.epochItems)
    ) {
      throw new RangeError(
        `BatchIterator: expected state.position to be a batch boundary in [0, ${this.epochItems}], got ${position}`,
      );
    }
    this.epoch = epoch;
    this.position = position;
  }

  private get epochItems(): number {
    return Math.min(this.size, this.batchesPerEpoch * this.batchSize);
  }

  /** The state to save with a checkpoint; a new iterator given it continues with the next batch. */
  state(): BatchIteratorState {
    return { epoch: this.epoch, position: this.position };
  }

  /** The order of an epoch: a permutation of 0 … size-1 drawn from (seed, epoch). */
  epochOrder(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      const order = Int32Array.from({ length: this.size }, (_, i) => i);
      this.order = this.shuffle ? Rng.derive(this.seed, epoch).shuffle(order) : order;
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  next(): IteratorResult<IndexBatch, undefined> {
    if (this.position >= this.epochItems) {
      this.epoch++;
      this.position = 0;
    }
    if (this.epoch >= this.epochs) return { done: true, value: undefined };
    const start = this.position;
    const end = Math.min(start + this.batchSize, this.epochItems);
    const indices = this.epochOrder(this.epoch).slice(start, end);
    this.position = end;
    const batchInEpoch = start / this.batchSize;
    return {
      done: false,
      value: {
        indices,
        epoch: this.epoch,
        batchInEpoch,
        step: this.epoch * this.batchesPerEpoch + batchInEpoch,
      },
    };
  }

  [Symbol.iterator](): this {
    return this;
  }
}
