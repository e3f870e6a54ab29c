import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import '@sibert/backend-cpu';
import { getBackend, registerBackend, setBackend } from '@sibert/tensor';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from './options.js';
import { registerSegmentSumKernel, registerTfjsGradients } from './tfjs-gradients.js';

export type BackendChoice = 'cpu' | 'webgpu' | 'all';

/** Our engine's backends that can run here, and why WebGPU cannot (when it cannot). */
export interface OurBackends {
  names: ('cpu' | 'webgpu')[];
  /** The adapter's description, or why there is none. */
  adapter: string;
  webgpuSkipped: string | null;
}

const BENCH_READ_TIMEOUT_MS = 10 * 60_000;

let webgpuProbe: Promise<{ ok: true; adapter: string } | { ok: false; reason: string }> | undefined;

/** Opens WebGPU once per process (Dawn in Node); never throws. */
export function probeOurWebGpu() {
  webgpuProbe ??= (async () => {
    const { probeWebGpu, WEBGPU_SETUP_SCRIPT } = await import('@sibert/backend-webgpu');
    // A base-size step on a software adapter (lavapipe) sharing two cores can take minutes before
    // its first read; the bench waits ten before it calls the GPU hung (the backend's default: 2).
    const probe = await probeWebGpu({ readTimeoutMs: BENCH_READ_TIMEOUT_MS });
    if (!probe.available) {
      return {
        ok: false as const,
        reason: `${probe.reason} (install one: sudo bash ${WEBGPU_SETUP_SCRIPT})`,
      };
    }
    const d = probe.backend.describe();
    const adapter = String(d.description || d.device || d.vendor || 'unknown adapter');
    // The probed backend becomes the one `setBackend('webgpu')` selects (replacing the lazy
    // factory the import registered): one device per process, and the probe stays referenced.
    // A dropped backend is not harmless in Dawn for Node: when its GPU object is collected while
    // its device lives, Dawn's event processing runs on freed memory and the process aborts.
    registerBackend('webgpu', () => probe.backend, 0);
    return { ok: true as const, adapter };
  })();
  return webgpuProbe;
}

/** The backends `--backend` names; WebGPU is probed, and skipped with a reason when there is no adapter. */
export async function ourBackends(choice: BackendChoice): Promise<OurBackends> {
  const wantsWebGpu = choice === 'webgpu' || choice === 'all';
  const names: ('cpu' | 'webgpu')[] = choice === 'webgpu' ? [] : ['cpu'];
  let adapter = 'not probed';
  let webgpuSkipped: string | null = null;
  if (wantsWebGpu) {
    const probe = await probeOurWebGpu();
    if (probe.ok) {
      names.push('webgpu');
      adapter = probe.adapter;
    } else {
      adapter = `none (${probe.reason})`;
      webgpuSkipped = `WebGPU rows skipped: no adapter (${probe.reason})`;
      if (choice === 'webgpu') throw new UsageError(`--backend webgpu: no WebGPU adapter: ${probe.reason}`);
    }
  }
  return { names, adapter, webgpuSkipped };
}

/**
 * Makes one of our backends current for a suite that runs on one backend (memory, robustness,
 * reproduce); resolves to the adapter line of the report. No adapter for `webgpu` is a usage error.
 */
export async function selectOurBackend(choice: 'cpu' | 'webgpu'): Promise<string> {
  const ours = await ourBackends(choice);
  await useOurBackend(choice);
  return ours.adapter;
}

export async function useOurBackend(name: 'cpu' | 'webgpu'): Promise<void> {
  if (getBackend().name !== name) await setBackend(name);
}

export async function syncOurs(): Promise<void> {
  await getBackend().sync();
}

// ---- TensorFlow.js ------------------------------------------------------------------------------

export type TfjsImpl = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-webgpu';

const tfjsReady = new Map<TfjsImpl, Promise<string | null>>();

/** The directory holding tfjs-backend-wasm's .wasm files (SIMD, threaded SIMD, plain). */
function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/')}`;
}

/**
 * Registers and initialises a TensorFlow.js backend; resolves to null when it runs, else to why
 * not. tfjs-wasm asks for SIMD and 2 threads; in Node tfjs 4.22 has no thread support (it needs
 * browser Workers), so what it actually got is part of the notes.
 */
export function initTfjs(impl: TfjsImpl): Promise<string | null> {
  let ready = tfjsReady.get(impl);
  if (!ready) {
    ready = (async () => {
      try {
        // Production mode, as a tfjs user benchmarking would run it (no debug checks, no console hints).
        tf.enableProdMode();
        await registerTfjsGradients();
        if (impl === 'tfjs-cpu') {
          await import('@tensorflow/tfjs-backend-cpu');
          registerSegmentSumKernel(tf, 'cpu');
          return (await tf.setBackend('cpu')) ? null : 'tfjs-cpu failed to initialise';
        }
        if (impl === 'tfjs-wasm') {
          const wasm = await import('@tensorflow/tfjs-backend-wasm');
          wasm.setWasmPaths(wasmDirectory());
          wasm.setThreadsCount(2);
          registerSegmentSumKernel(tf, 'wasm');
          return (await tf.setBackend('wasm')) ? null : 'tfjs-wasm failed to initialise';
        }
        const probe = await probeOurWebGpu();
        if (!probe.ok) return `no WebGPU adapter (${probe.reason})`;
        await installNavigatorGpu();
        await import('@tensorflow/tfjs-backend-webgpu');
        return (await tf.setBackend('webgpu')) ? null : 'tfjs-webgpu failed to initialise';
      } catch (error) {
        return (error as Error).message.split('\n')[0] ?? 'failed';
      }
    })();
    tfjsReady.set(impl, ready);
  }
  return ready;
}

/** tfjs-backend-webgpu looks for `navigator.gpu`; in Node it comes from Dawn (npm `webgpu`). */
async function installNavigatorGpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  const dawn = (await import('webgpu')) as { create: (o: string[]) => unknown; globals: object };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else g.navigator = { gpu };
}

function tfjsBackendName(impl: TfjsImpl): string {
  return impl.slice('tfjs-'.length);
}

export async function useTfjs(impl: TfjsImpl): Promise<void> {
  const name = tfjsBackendName(impl);
  if (tf.getBackend() !== name) await tf.setBackend(name);
}

/** What tfjs-wasm runs with: SIMD and the thread count it really got. */
export async function tfjsWasmDescription(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? wasm.getThreadsCount() : 1;
  return `tfjs-wasm ${tf.version_core}: SIMD ${simd ? 'on' : 'off'}, ${threads} thread(s) (2 requested; tfjs-backend-wasm has no multithreading in Node)`;
}

/** Our impls and the tfjs impls a backend choice compares. */
export function tfjsImplsFor(ours: readonly ('cpu' | 'webgpu')[]): TfjsImpl[] {
  const impls: TfjsImpl[] = [];
  if (ours.includes('cpu')) impls.push('tfjs-cpu', 'tfjs-wasm');
  if (ours.includes('webgpu')) impls.push('tfjs-webgpu');
  return impls;
}
