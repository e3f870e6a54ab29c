import '@sibert/backend-cpu';
import { getBackend } from '@sibert/tensor';
import { describe, expect, it, vi } from 'vitest';
import { piecewiseSchedule } from './schedule.js';
import { SGD } from './sgd.js';
import { param, setGrad, squaredNorm, valuesOf } from './test-helpers.js';

const X = [1, -2, 0.5, 3];
const [LR, WD] = [0.1, 0.01];

/** The relative threshold √(2Cλ/η)·‖x‖ with √C = 2. */
const threshold = (x: number[], lr = LR) => 2 * Math.sqrt((2 * WD) / lr) * Math.sqrt(squaredNorm(x));

/** A gradient along a fixed direction with the given norm. */
function gradWithNorm(norm: number): number[] {
  const direction = [0.3, 0.4, -1.2, 0.1];
  const scale = norm / Math.sqrt(squaredNorm(direction));
  return direction.map((d) => d * scale);
}

describe('relative global clipping', () => {
  it('fires exactly when ‖g‖ exceeds √(2Cλ/η)·‖x‖, and the clipped norm equals the threshold', async () => {
    for (const ratio of [0.5, 0.999, 1.001, 2, 100]) {
      const p = param(X);
      const opt = new SGD([p], { lr: LR, weightDecay: WD, clip: { type: 'relative' } });
      const g = gradWithNorm(ratio * threshold(X));
      setGrad(p, g);
      const report = await opt.step({ report: true });
      const group = report.groups[0]!;
      expect(group.clipped).toBe(ratio > 1);
      expect(group.clipThreshold).toBeCloseTo(threshold(X), 5);
      expect(group.gradNorm).toBeCloseTo(ratio * threshold(X), 4);
      // the gradient the update used, recovered from x' = x − η(g_c + λx)
      const used = valuesOf(p).map((xi, i) => (X[i]! - xi) / LR - WD * X[i]!);
      const usedNorm = Math.sqrt(squaredNorm(used));
      if (ratio > 1) {
        expect(group.clipFactor).toBeCloseTo(1 / ratio, 6);
        // float32 update, divided by η: relative 1e-5
        expect(Math.abs(usedNorm / threshold(X) - 1)).toBeLessThan(1e-5);
        expect(Math.abs((group.clipFactor * group.gradNorm) / group.clipThreshold! - 1)).toBeLessThan(1e-6);
      } else {
        expect(group.clipFactor).toBe(1);
        for (const [i, u] of used.entries()) expect(u).toBeCloseTo(g[i]!, 4);
      }
    }
  });

  it('uses the scheduled η in the threshold and counts clipped steps on the device', async () => {
    const p = param(X);
    const schedule = piecewiseSchedule({ factor: 0.25, atSteps: [1] });
    const opt = new SGD([p], { lr: LR, weightDecay: WD, clip: { type: 'relative', sqrtC: 2 }, schedule });
    setGrad(p, gradWithNorm(100));
    const first = await opt.step({ report: true });
    const x1 = valuesOf(p);
    const second = await opt.step({ report: true });
    expect(second.groups[0]!.lr).toBeCloseTo(LR * 0.25, 9);
    expect(second.groups[0]!.clipThreshold).toBeCloseTo(threshold(x1, LR * 0.25), 4);
    expect(first.groups[0]!.clipCount).toBe(1);
    expect(second.groups[0]!.clipCount).toBe(2);
    setGrad(p, gradWithNorm(1e-3));
    expect((await opt.step({ report: true })).groups[0]!.clipCount).toBe(2);
  });

  it('needs weight decay (its threshold is 0 without it)', () => {
    expect(() => new SGD([param(X)], { lr: LR, clip: { type: 'relative' } })).toThrow(
      /needs weightDecay > 0/,
    );
  });
});

describe('global-norm clipping', () => {
  it('rescales the gradient to maxNorm over all parameters of the group together', async () => {
    const a = param([3, 0]);
    const b = param([0, 0]);
    const opt = new SGD([a, b], { lr: 1, clip: { type: 'norm', maxNorm: 1 } });
    setGrad(a, [3, 0]);
    setGrad(b, [0, 4]);
    const report = await opt.step({ report: true });
    expect(report.groups[0]!.gradNorm).toBeCloseTo(5, 6);
    expect(report.groups[0]!.clipped).toBe(true);
    expect(report.groups[0]!.clipThreshold).toBe(1);
    expect(valuesOf(a)[0]).toBeCloseTo(3 - 0.6, 6);
    expect(valuesOf(b)[1]).toBeCloseTo(-0.8, 6);
  });
});

describe('step reports', () => {
  it('read nothing back unless asked, and one readback when asked', async () => {
    const backend = getBackend();
    const read = vi.spyOn(backend, 'read');
    const readSync = backend.readSync ? vi.spyOn(backend, 'readSync' as 'read') : null;
    const p = param(X);
    const opt = new SGD([p], { lr: LR, weightDecay: WD, clip: { type: 'relative' } });
    setGrad(p, gradWithNorm(50));
    opt.step();
    opt.step({ report: false });
    expect(read).not.toHaveBeenCalled();
    if (readSync) expect(readSync).not.toHaveBeenCalled();
    await opt.step({ report: true });
    expect(read).toHaveBeenCalledTimes(1);
    read.mockRestore();
    readSync?.mockRestore();
  });

  it('give norms, η and the effective LR η/‖x‖² of scale-invariant groups', async () => {
    const si = param([3, 4]);
    const head = param([1, 0, 0]);
    const opt = new SGD(
      [
        { params: [['encoder.w', si]], scaleInvariant: true, name: 'encoder' },
        { params: [['head.w', head]], lr: 0.5 },
      ],
      { lr: LR },
    );
    setGrad(si, [0.4, -0.3]);
    setGrad(head, [0, 2, 0]);
    const report = await opt.step({ report: true });
    expect(report.step).toBe(1);
    const [encoder, rest] = report.groups;
    expect(encoder).toMatchObject({
      optimizer: 'SGD',
      group: 'encoder',
      lr: LR,
      clipThreshold: null,
      clipCount: null,
    });
    expect(encoder!.paramNorm).toBeCloseTo(5, 6);
    expect(encoder!.gradNorm).toBeCloseTo(0.5, 6);
    expect(encoder!.effectiveLr).toBeCloseTo(LR / 25, 9);
    expect(rest).toMatchObject({
      group: 'group1',
      lr: 0.5,
      effectiveLr: null,
      clipped: false,
      clipFactor: 1,
    });
    expect(report.gradNorm).toBeCloseTo(Math.sqrt(0.25 + 4), 6);
    expect(report.paramNorm).toBeCloseTo(Math.sqrt(26), 6);
  });

  it('skip parameters without a gradient', () => {
    const p = param(X);
    const opt = new SGD([p], { lr: LR, weightDecay: WD });
    opt.step();
    expect(valuesOf(p)).toEqual(X);
    setGrad(p, [1, 1, 1, 1]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.step();
    expect(valuesOf(p)).toEqual(X);
  });
});
