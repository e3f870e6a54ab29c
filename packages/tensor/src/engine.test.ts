import { describe, expect, it } from 'vitest';
import { getBackend, initBackend, memory, setBackend } from './engine.js';
import { BackendError, ShapeError } from './errors.js';
import { broadcastShapes, normalizeAxes, stridesOf } from './shape.js';

// The engine's behaviour with a real backend is covered by the conformance suite that every
// backend package runs (see src/testing); these tests cover what needs no backend.
describe('backend registry', () => {
  it('explains how to get a backend when none is registered', () => {
    expect(() => getBackend()).toThrow(BackendError);
    expect(() => getBackend()).toThrow(/import '@sibert\/backend-cpu'/);
  });

  it('names the registered backends when an unknown one is asked for', async () => {
    await expect(setBackend('tpu')).rejects.toThrow(/unknown backend 'tpu'; registered: none/);
    await expect(initBackend('tpu')).rejects.toThrow(BackendError);
  });

  it('starts with no live memory', () => {
    expect(memory()).toEqual({ numTensors: 0, numBytes: 0, backends: {}, peakBytes: 0 });
  });
});

describe('shapes', () => {
  it('broadcast like NumPy and name both shapes when they cannot', () => {
    expect(broadcastShapes('t', [3, 1, 5], [4, 1])).toEqual([3, 4, 5]);
    expect(broadcastShapes('t', [], [2])).toEqual([2]);
    expect(broadcastShapes('t', [0, 1], [1, 3])).toEqual([0, 3]);
    expect(() => broadcastShapes('add', [2, 3], [3, 2])).toThrow(ShapeError);
    expect(() => broadcastShapes('add', [2, 3], [3, 2])).toThrow(
      'add: shapes [2, 3] and [3, 2] cannot be broadcast',
    );
  });

  it('normalise negative and repeated axes', () => {
    expect(normalizeAxes([-1, 0], 3, 'sum')).toEqual([0, 2]);
    expect(normalizeAxes(undefined, 2, 'sum')).toEqual([0, 1]);
    expect(() => normalizeAxes([1, -1], 2, 'sum')).toThrow(/repeat an axis/);
    expect(() => normalizeAxes(3, 2, 'sum')).toThrow(/axis 3 is out of range for a tensor of rank 2/);
  });

  it('computes row-major strides', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([])).toEqual([]);
  });
});
