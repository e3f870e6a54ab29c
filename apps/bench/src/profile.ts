import { createOptimizer } from '@sibert/optim';
import { type KernelProfile, manualSeed, profileKernels } from '@sibert/tensor';
import { type BackendChoice, ourBackends, useOurBackend } from './backends.js';
import { benchModel, syntheticBatch } from './mlm-batch.js';
import { type Column, markdownTable, type Row, type SuiteOutput } from './report.js';
import { LR, ourStep, type StepModel, stepShape } from './step.js';
import { Progress } from './timing.js';

export interface ProfileOptions {
  model: StepModel;
  backend: BackendChoice;
  quick: boolean;
  /** Steps profiled after the warm-up (the table is per step). */
  steps: number;
}

/** How the table groups kernels: matmuls by shape and transposes, the rest by kind. */
const KINDS: Record<string, string> = {
  unary: 'elementwise',
  binary: 'elementwise',
  compare: 'elementwise',
  where: 'elementwise',
  cast: 'elementwise',
  fill: 'fill / random',
  random: 'fill / random',
  reduce: 'rows (reduce, softmax, norms, loss)',
  softmax: 'rows (reduce, softmax, norms, loss)',
  logSoftmax: 'rows (reduce, softmax, norms, loss)',
  layerNormalize: 'rows (reduce, softmax, norms, loss)',
  siNormalize: 'rows (reduce, softmax, norms, loss)',
  crossEntropy: 'rows (reduce, softmax, norms, loss)',
  gather: 'gather / scatter',
  scatterAdd: 'gather / scatter',
  oneHot: 'gather / scatter',
  transpose: 'movement (transpose, broadcast, slice, concat, pad)',
  broadcastTo: 'movement (transpose, broadcast, slice, concat, pad)',
  slice: 'movement (transpose, broadcast, slice, concat, pad)',
  concat: 'movement (transpose, broadcast, slice, concat, pad)',
  pad: 'movement (transpose, broadcast, slice, concat, pad)',
};

const PHASES = ['forward', 'backward', 'optimizer', 'read', 'other'];

/** The profile as table rows: per phase, its kernels by kind, then the rest of its wall time. */
export function profileRows(backend: string, profile: KernelProfile, steps: number): Row[] {
  const asyncDevice = backend !== 'cpu';
  const groups = new Map<string, { phase: string; what: string; calls: number; ms: number }>();
  for (const k of profile.kernels) {
    const what = k.kernel === 'matmul' ? `matmul ${k.detail}` : (KINDS[k.kernel] ?? k.kernel);
    const key = `${k.phase}\u0000${what}`;
    const group = groups.get(key) ?? { phase: k.phase, what, calls: 0, ms: 0 };
    group.calls += k.calls;
    group.ms += k.ms;
    groups.set(key, group);
  }
  const wall = new Map(profile.phases.map((p) => [p.phase, p.ms]));
  const kernelMs = new Map<string, number>();
  for (const g of groups.values()) kernelMs.set(g.phase, (kernelMs.get(g.phase) ?? 0) + g.ms);
  // Time outside every phase: the loop around the steps, the batch's upload before forward.
  const inPhases = [...wall.values()].reduce((a, b) => a + b, 0);
  wall.set('other', (wall.get('other') ?? 0) + profile.totalMs - inPhases);
  const rows: Row[] = [];
  const perStep = profile.totalMs / steps;
  const row = (phase: string, what: string, calls: number | null, ms: number) =>
    rows.push({
      backend,
      phase,
      what,
      callsPerStep: calls,
      msPerStep: ms / steps,
      share: ms / steps / perStep,
    });
  for (const phase of PHASES) {
    const own = [...groups.values()].filter((g) => g.phase === phase).sort((a, b) => b.ms - a.ms);
    for (const g of own) row(phase, g.what, g.calls / steps, g.ms);
    const rest = (wall.get(phase) ?? 0) - (kernelMs.get(phase) ?? 0);
    if (rest > 0.005 * profile.totalMs || own.length > 0) {
      const what =
        phase === 'read'
          ? asyncDevice
            ? 'waiting for the device (its queued kernels run here)'
            : 'reading the loss back'
          : asyncDevice
            ? 'host work between kernels (JS, uploads, bookkeeping) and device waits'
            : 'host work between kernels (JS, uploads, bookkeeping)';
      row(phase, what, null, rest);
    }
  }
  rows.push({ backend, phase: 'step', what: 'total', callsPerStep: null, msPerStep: perStep, share: 1 });
  return rows;
}

/**
 * Where one training step's time goes, per backend: the step suite's model, batch and SGD update,
 * warmed up, then `steps` steps recorded by `profileKernels` (every kernel timed on the host).
 */
export async function profileSuite(options: ProfileOptions): Promise<SuiteOutput> {
  const ours = await ourBackends(options.backend);
  const notes: string[] = [];
  if (ours.webgpuSkipped) notes.push(ours.webgpuSkipped);
  const [batchSize, seqLen, vocab] = stepShape(options.quick);
  const batch = syntheticBatch(batchSize, seqLen, vocab);
  const warmup = options.quick ? 1 : 3;
  notes.push(
    `${options.model}, batch ${batchSize} × seq ${seqLen}, vocab ${vocab}, SGD: the step suite's step; ${warmup} warm-up step(s), then ${options.steps} profiled, per step`,
    'CPU kernels run synchronously: each row is their whole cost. WebGPU kernels are queued: a row is the host encoding and queueing them, and the device runs them while the host waits (the read row)',
  );
  const rows: Row[] = [];
  const progress = new Progress('profile', ours.names.length);
  let done = 0;
  for (const backend of ours.names) {
    progress.update(done++, `${options.model} on ${backend}`);
    await useOurBackend(backend);
    manualSeed(0);
    const model = benchModel(options.model, vocab);
    const optimizer = createOptimizer('sgd', model.namedParameters(), { lr: LR });
    for (let i = 0; i < warmup; i++) await ourStep(model, optimizer, batch);
    const { profile } = await profileKernels(async () => {
      for (let i = 0; i < options.steps; i++) await ourStep(model, optimizer, batch);
    });
    rows.push(...profileRows(backend, profile, options.steps));
    optimizer.dispose();
    model.dispose();
  }
  progress.done();
  return { rows, notes, adapter: ours.adapter, body: markdownTable(rows, PROFILE_COLUMNS), plots: [] };
}

const PROFILE_COLUMNS: Column[] = [
  { key: 'backend', title: 'backend' },
  { key: 'phase', title: 'phase' },
  { key: 'what', title: 'what' },
  {
    key: 'callsPerStep',
    title: 'calls/step',
    format: (v) => (typeof v === 'number' ? String(Math.round(v)) : ''),
  },
  { key: 'msPerStep', title: 'ms/step', format: (v) => (typeof v === 'number' ? v.toFixed(2) : '–') },
  { key: 'share', title: 'share', format: (v) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '–') },
];
