import { describe, expect, it } from 'vitest';
import { getBackend } from '../engine.js';
import { RangeArgumentError } from '../errors.js';
import * as T from '../ops/index.js';

/** What a rejected promise rejected with (or null when it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (error: unknown) => error,
  );
}

async function expectIndexError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(RangeArgumentError);
  expect((error as Error).message).toMatch(message);
}

/**
 * The backend contract's index validation (see `Kernels` in backend.ts): the op never throws for
 * an out-of-range index, the backend's next read or sync does, once, and the kernels never
 * touch memory out of bounds meanwhile. Runs inside `describeConformance`, on its backend.
 */
export function describeIndexValidation(): void {
  const ints = (values: number[]) => T.tensor(Int32Array.from(values), [values.length], 'int32');

  describe('index validation (kernels check; the next read or sync reports)', () => {
    it('gather: out-of-range rows read zeros; the next read of any tensor rejects, once', async () => {
      const x = T.tensor([
        [1, 2],
        [3, 4],
      ]);
      const y = T.gather(x, ints([1, 2]), 0);
      await expectIndexError(x.data(), /gather: index 2 is out of range \[0, 2\)/);
      expect(Array.from(await y.data())).toEqual([3, 4, 0, 0]);
    });

    it('gather: sync reports a negative index', async () => {
      T.gather(T.tensor([1, 2, 3]), ints([0, -1]), 0);
      await expectIndexError(getBackend().sync(), /gather: index -1 is out of range \[0, 3\)/);
      await getBackend().sync();
    });

    it('crossEntropy: a row with an out-of-range label has loss 0; ignoreIndex rows are not errors', async () => {
      if (!getBackend().kernels.crossEntropy) return; // the composed definition has no kernel to check
      const logits = T.tensor([
        [1, 2, 3],
        [0, 0, 0],
        [1, 1, 1],
      ]);
      const losses = T.crossEntropy(logits, ints([2, 3, -100]), { reduction: 'none' });
      await expectIndexError(losses.data(), /crossEntropy: index 3 is out of range \[0, 3\)/);
      const values = await losses.data();
      expect(values[1]).toBe(0);
      expect(values[2]).toBe(0);
      expect(values[0]).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3, 5);
    });
  });
}
