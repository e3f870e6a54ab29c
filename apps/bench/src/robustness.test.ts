import { describe, expect, it } from 'vitest';
import { gridCells, stepsToTarget } from './robustness.js';

describe('stepsToTarget', () => {
  it('is the first step whose window mean is at or below the target', () => {
    const losses = [9, 8, 7, 6, 5, 4, 3];
    // Window 2: means 8.5, 7.5, 6.5, 5.5, 4.5 at steps 2…6.
    expect(stepsToTarget(losses, 5.5, 2)).toBe(5);
    expect(stepsToTarget(losses, 9, 1)).toBe(1);
  });

  it('does not count a single low batch inside a high window', () => {
    expect(stepsToTarget([9, 9, 1, 9, 9, 9], 5, 3)).toBeNull();
    expect(stepsToTarget([9, 1, 1, 9], 4, 3)).toBe(3);
  });

  it('is null when the run never gets there', () => {
    expect(stepsToTarget([7, 7, 7], 6, 1)).toBeNull();
    expect(stepsToTarget([], 6, 1)).toBeNull();
  });
});

describe('gridCells', () => {
  it('varies one scale at a time around (1, 1) on the axes', () => {
    expect(gridCells([0.01, 1, 100], [0.01, 1, 100], 'axes')).toEqual([
      [1, 1],
      [0.01, 1],
      [100, 1],
      [1, 0.01],
      [1, 100],
    ]);
  });

  it('takes every pair on the full grid', () => {
    expect(gridCells([0.1, 10], [1, 100], 'full')).toEqual([
      [0.1, 1],
      [0.1, 100],
      [10, 1],
      [10, 100],
    ]);
  });
});
