import { gpuIndexError } from './errors.js';

/**
 * The bookkeeping of a runtime's device-side index checks (the engine's index validation): each
 * checking dispatch gets an id naming its op and bound; a kernel that meets an out-of-range index
 * writes [id, index] into `buffer`, and the next read or sync copies those two words out and throws.
 */
export class IndexChecks {
  /** Two words written by kernels that find an index out of range: the failing check's id and the index. */
  readonly buffer: GPUBuffer;
  /** The op and bound of every check dispatched since the last look, by id. */
  readonly #checks = new Map<number, { op: string; bound: number }>();
  #nextId = 1;

  constructor(
    private readonly device: GPUDevice,
    usage: number,
  ) {
    this.buffer = device.createBuffer({ size: 16, usage });
  }

  /** Whether checks ran since the last look. */
  get pending(): boolean {
    return this.#checks.size > 0;
  }

  /** The id for a checking kernel about to be dispatched. */
  register(op: string, bound: number): number {
    const id = this.#nextId++;
    this.#checks.set(id, { op, bound });
    return id;
  }

  /** The last id registered: a look at the buffer now covers every check up to it. */
  get lastId(): number {
    return this.#nextId - 1;
  }

  /**
   * Takes the two words read back from `buffer` after the checks up to `lastId` ran: forgets
   * those checks and throws the RangeArgumentError of a failed one (clearing the buffer).
   */
  settle([failedId, index]: Int32Array, lastId: number): void {
    const failed = failedId ? this.#checks.get(failedId) : undefined;
    for (const id of this.#checks.keys()) if (id <= lastId) this.#checks.delete(id);
    if (!failedId) return;
    this.device.queue.writeBuffer(this.buffer, 0, new Uint32Array(2));
    const range = failed ? ` [0, ${failed.bound})` : '';
    throw gpuIndexError(failed?.op ?? 'an index check', `index ${index} is out of range${range}`);
  }
}
