import { describe, expect, it } from 'vitest';
import { profileRows } from './profile.js';

describe('profileRows', () => {
  const profile = {
    kernels: [
      { phase: 'forward', op: 'matmul', kernel: 'matmul', detail: '[8, 4] · [4, 4]ᵀ', calls: 4, ms: 8 },
      { phase: 'forward', op: 'add', kernel: 'binary', detail: '[8, 4]', calls: 6, ms: 2 },
      { phase: 'forward', op: 'exp', kernel: 'unary', detail: '[8, 4]', calls: 2, ms: 1 },
      { phase: 'optimizer', op: 'mul', kernel: 'binary', detail: '[4, 4]', calls: 2, ms: 3 },
    ],
    phases: [
      { phase: 'forward', ms: 14 },
      { phase: 'optimizer', ms: 3 },
      { phase: 'read', ms: 1 },
    ],
    totalMs: 20,
  };

  it('groups kernels per phase (matmul by shape, the rest by kind), adds each phase’s other time, per step', () => {
    const rows = profileRows('cpu', profile, 2);
    const byWhat = (phase: string, what: string) => rows.find((r) => r.phase === phase && r.what === what);
    expect(byWhat('forward', 'matmul [8, 4] · [4, 4]ᵀ')).toMatchObject({ callsPerStep: 2, msPerStep: 4 });
    expect(byWhat('forward', 'elementwise')).toMatchObject({ callsPerStep: 4, msPerStep: 1.5 });
    expect(byWhat('forward', 'host work between kernels (JS, uploads, bookkeeping)')!.msPerStep).toBeCloseTo(
      1.5,
    );
    expect(byWhat('optimizer', 'elementwise')).toMatchObject({ msPerStep: 1.5 });
    expect(byWhat('read', 'reading the loss back')!.msPerStep).toBeCloseTo(0.5);
    // Outside every phase: 20 − (14 + 3 + 1) ms.
    expect(byWhat('other', 'host work between kernels (JS, uploads, bookkeeping)')!.msPerStep).toBeCloseTo(1);
    expect(rows.at(-1)).toMatchObject({ phase: 'step', what: 'total', msPerStep: 10, share: 1 });
    const shares = rows.slice(0, -1).reduce((n, r) => n + (r.share as number), 0);
    expect(shares).toBeCloseTo(1);
  });

  it('on an asynchronous device the read is the wait for its kernels', () => {
    const rows = profileRows('webgpu', profile, 1);
    expect(rows.some((r) => r.phase === 'read' && String(r.what).startsWith('waiting for the device'))).toBe(
      true,
    );
  });
});
