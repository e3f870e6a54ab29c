import { describe, expect, it } from 'vitest';
import { MetricWindow } from './metric-window.js';

describe('MetricWindow', () => {
  it('sums, averages and resets', () => {
    const w = new MetricWindow(['loss', 'tokens']);
    w.add({ loss: 2, tokens: 10 });
    w.add({ loss: 4, tokens: 30 });
    expect([w.steps, w.mean('loss'), w.sum('tokens')]).toEqual([2, 3, 40]);
    w.reset();
    expect([w.steps, w.sum('loss')]).toEqual([0, 0]);
  });

  it('continues from its state exactly (a checkpoint taken inside a window)', () => {
    const a = new MetricWindow(['loss']);
    a.add({ loss: 0.1 });
    const b = new MetricWindow(['loss'], JSON.parse(JSON.stringify(a.state())));
    a.add({ loss: 0.7 });
    b.add({ loss: 0.7 });
    expect(b.mean('loss')).toBe(a.mean('loss'));
    expect(b.state()).toEqual({ loss: 0.1 + 0.7, steps: 2 });
  });
});
