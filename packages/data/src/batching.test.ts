import { describe, expect, it } from 'vitest';
import { BatchIterator, type IndexBatch } from './batching';

const plain = (batches: IndexBatch[]) => batches.map((b) => ({ ...b, indices: [...b.indices] }));

describe('BatchIterator', () => {
  it('serves every index once per epoch in a seeded order that changes between epochs', () => {
    const it = new BatchIterator({ size: 10, batchSize: 4, seed: 5, epochs: 2 });
    const batches = [...it];
    expect(batches.map((b) => b.indices.length)).toEqual([4, 4, 2, 4, 4, 2]);
    const epoch0 = batches.slice(0, 3).flatMap((b) => [...b.indices]);
    const epoch1 = batches.slice(3).flatMap((b) => [...b.indices]);
    expect([...epoch0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch0).not.toEqual(epoch1);
    expect(batches.map((b) => b.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plain([...new BatchIterator({ size: 10, batchSize: 4, seed: 5, epochs: 2 })])).toEqual(
      plain(batches),
    );
    expect(plain([...new BatchIterator({ size: 10, batchSize: 4, seed: 6, epochs: 2 })])).not.toEqual(
      plain(batches),
    );
  });

  it('resumes from a saved state with exactly the batches an uninterrupted run serves', () => {
    const options = { size: 37, batchSize: 8, seed: 11, epochs: 4, dropLast: true };
    const uninterrupted = plain([...new BatchIterator(options)]);
    expect(uninterrupted.length).toBe(4 * 4);
    for (const stopAfter of [0, 1, 3, 4, 5, 9, 15, 16]) {
      const first = new BatchIterator(options);
      const before: IndexBatch[] = [];
      for (let i = 0; i < stopAfter; i++) before.push(first.next().value as IndexBatch);
      // The state goes through JSON, as it does in a checkpoint.
      const state = JSON.parse(JSON.stringify(first.state()));
      const after = [...new BatchIterator({ ...options, state })];
      expect(plain([...before, ...after])).toEqual(uninterrupted);
    }
  });

  it('drops the short last batch with dropLast and keeps order without shuffle', () => {
    const batches = [
      ...new BatchIterator({ size: 5, batchSize: 2, seed: 0, shuffle: false, dropLast: true, epochs: 1 }),
    ];
    expect(batches.map((b) => [...b.indices])).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('rejects sizes and states it cannot serve', () => {
    expect(() => new BatchIterator({ size: 0, batchSize: 2, seed: 0 })).toThrow(
      /expected size to be a positive integer, got 0/,
    );
    expect(
      () => new BatchIterator({ size: 10, batchSize: 4, seed: 0, state: { epoch: 0, position: 3 } }),
    ).toThrow(/expected state.position to be a batch boundary in \[0, 10\], got 3/);
    expect(() => new BatchIterator({ size: 3, batchSize: 4, seed: 0, dropLast: true })).toThrow(
      /leaves no batch/,
    );
  });
});
