import { describe, expect, it } from 'vitest';
import { Prefetcher } from './prefetch.js';

describe('Prefetcher', () => {
  it('keeps depth requests in flight and returns batches in request order', async () => {
    let requested = 0;
    const resolvers: ((n: number) => void)[] = [];
    const prefetcher = new Prefetcher(
      () =>
        new Promise<number>((resolve) => {
          requested++;
          resolvers.push(resolve);
        }),
      3,
    );
    const first = prefetcher.next();
    expect(requested).toBe(3);
    // Answered out of order; still delivered in order.
    resolvers[1]!(1);
    resolvers[0]!(0);
    expect((await first).batch).toBe(0);
    const second = prefetcher.next();
    expect(requested).toBe(4);
    expect((await second).batch).toBe(1);
    resolvers[2]!(2);
    resolvers[3]!(3);
    await prefetcher.drain();
  });

  it('a failed request fails the next() that reaches it; drain settles the rest', async () => {
    let n = 0;
    const prefetcher = new Prefetcher(
      () => (n++ === 0 ? Promise.reject(new Error('worker died')) : Promise.resolve(n)),
      2,
    );
    await expect(prefetcher.next()).rejects.toThrow('worker died');
    expect((await prefetcher.next()).batch).toBe(2);
    await prefetcher.drain();
  });

  it('rejects a depth that is not a positive integer', () => {
    expect(() => new Prefetcher(() => Promise.resolve(0), 0)).toThrow(
      'depth must be a positive integer, got 0',
    );
  });
});
