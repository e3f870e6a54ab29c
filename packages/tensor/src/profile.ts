/**
 * Kernel profiling: while `profileKernels` runs, every kernel call the ops make is timed on the
 * host and recorded under the current phase (`inPhase`, e.g. forward / backward / optimizer), the
 * op that made it and a detail (matmul: the operand shapes and transposes). On a synchronous
 * backend (CPU) a kernel's time is its whole cost; on an asynchronous one (WebGPU) it is the
 * host's cost of encoding and queueing it, and the device's own time shows up where the host
 * waits (the phases' wall time less their kernels). Off, it costs one null check per kernel.
 */

export interface KernelTime {
  phase: string;
  op: string;
  kernel: string;
  /** The shapes that decide the cost, where the op gives them (matmul). */
  detail: string;
  calls: number;
  ms: number;
}

export interface PhaseTime {
  phase: string;
  /** Wall time spent inside the phase, kernels included. */
  ms: number;
}

export interface KernelProfile {
  kernels: KernelTime[];
  phases: PhaseTime[];
  /** Wall time of the whole profiled function. */
  totalMs: number;
}

interface Recorder {
  kernels: Map<string, KernelTime>;
  phases: Map<string, number>;
  phase: string;
}

let recorder: Recorder | null = null;

/** Runs `fn` with every kernel call timed; profiles do not nest. */
export async function profileKernels<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; profile: KernelProfile }> {
  if (recorder) throw new Error('profileKernels: a profile is already being recorded');
  const own: Recorder = { kernels: new Map(), phases: new Map(), phase: 'other' };
  recorder = own;
  const started = performance.now();
  try {
    const result = await fn();
    const totalMs = performance.now() - started;
    return {
      result,
      profile: {
        kernels: [...own.kernels.values()],
        phases: [...own.phases].map(([phase, ms]) => ({ phase, ms })),
        totalMs,
      },
    };
  } finally {
    recorder = null;
  }
}

/** Runs `fn` (sync or async) as phase `name` of the profile being recorded, if any. */
export function inPhase<T>(name: string, fn: () => T): T {
  const own = recorder;
  if (!own) return fn();
  const outer = own.phase;
  own.phase = name;
  const started = performance.now();
  const done = () => {
    own.phases.set(name, (own.phases.get(name) ?? 0) + performance.now() - started);
    own.phase = outer;
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    done();
    throw error;
  }
  if (result instanceof Promise) return result.finally(done) as T;
  done();
  return result;
}

/** Whether a profile is being recorded (the ops then time their kernels). */
export function profiling(): boolean {
  return recorder !== null;
}

/** Adds one kernel call of `ms` to the profile being recorded. */
export function recordKernel(op: string, kernel: string, detail: string, ms: number): void {
  const own = recorder;
  if (!own) return;
  const key = `${own.phase}\u0000${op}\u0000${kernel}\u0000${detail}`;
  const entry = own.kernels.get(key);
  if (entry) {
    entry.calls++;
    entry.ms += ms;
  } else own.kernels.set(key, { phase: own.phase, op, kernel, detail, calls: 1, ms });
}
