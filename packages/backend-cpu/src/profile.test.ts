import { add, inPhase, matmul, profileKernels, setBackend, tensor, tidy } from '@sibert/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import './index.js';

beforeAll(() => setBackend('cpu'));

describe('profileKernels (on the CPU backend)', () => {
  it('times every kernel call under its phase and op, matmuls by operand shapes and transposes', async () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([1, 0, 0, 1, 1, 1], [2, 3]);
    const { result, profile } = await profileKernels(async () => {
      const y = tidy(() => inPhase('forward', () => add(matmul(a, b, { transposeB: true }), 1)));
      inPhase('forward', () => matmul(a, b, { transposeB: true }).dispose());
      const values = await inPhase('read', () => y.data());
      y.dispose();
      return Array.from(values);
    });
    expect(result).toEqual([2, 7, 5, 16]);
    const matmuls = profile.kernels.filter((k) => k.kernel === 'matmul');
    expect(matmuls).toHaveLength(1);
    expect(matmuls[0]).toMatchObject({
      phase: 'forward',
      op: 'matmul',
      detail: '[2, 3] · [2, 3]ᵀ',
      calls: 2,
    });
    const adds = profile.kernels.filter((k) => k.op === 'add');
    expect(adds.map((k) => k.phase)).toEqual(['forward']);
    for (const k of profile.kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    expect(profile.phases.map((p) => p.phase).sort()).toEqual(['forward', 'read']);
    const kernelMs = profile.kernels.reduce((n, k) => n + k.ms, 0);
    expect(profile.totalMs).toBeGreaterThanOrEqual(kernelMs);
    a.dispose();
    b.dispose();
  });

  it('records nothing outside a profile, and profiles do not nest', async () => {
    const x = tensor([1, 2]);
    expect(inPhase('forward', () => 3)).toBe(3);
    const { profile } = await profileKernels(async () => 0);
    expect(profile.kernels).toEqual([]);
    await expect(profileKernels(() => profileKernels(async () => 0))).rejects.toThrow(
      'a profile is already being recorded',
    );
    // The failed nesting left no profile behind.
    const { profile: after } = await profileKernels(async () => add(x, x).dispose());
    expect(after.kernels.map((k) => k.op)).toEqual(['add']);
    x.dispose();
  });
});
