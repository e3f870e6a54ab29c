import type { Backend, KernelName } from './backend.js';
import { BackendError } from './errors.js';

/**
 * Global engine state: the backend registry, the current backend, memory scopes, gradient mode and
 * live-memory accounting. Tensors register themselves here; nothing is freed on a GC schedule.
 */

/** What a `tidy` scope holds: tensors, through the two members it needs (tensor.ts imports this file). */
interface Freeable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Registration {
  factory: () => Backend | Promise<Backend>;
  priority: number;
  instance: Backend | null;
  pending: Promise<Backend> | null;
}

const registry = new Map<string, Registration>();
let current: Backend | null = null;

/**
 * Registers a backend under `name`. The highest-priority backend that initialises without
 * error becomes the default when none was chosen with `setBackend`.
 */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, priority = 1): void {
  const existing = registry.get(name);
  if (existing?.instance) existing.instance.dispose();
  registry.set(name, { factory, priority, instance: null, pending: null });
  if (current?.name === name) current = null;
}

/** Initialises (once) and returns the backend registered as `name`. */
export async function initBackend(name: string): Promise<Backend> {
  const reg = registry.get(name);
  if (!reg) throw unknownBackend(name);
  if (reg.instance) return reg.instance;
  reg.pending ??= Promise.resolve()
    // getBackend() may have made the instance meanwhile (a tensor created before an un-awaited
    // setBackend resolved): one instance per name, or those tensors would sit on another.
    .then(() => reg.instance ?? reg.factory())
    .then((backend) => {
      reg.instance = backend;
      return backend;
    })
    .finally(() => {
      reg.pending = null;
    });
  return reg.pending;
}

/** Makes `name` the backend new tensors are created on. */
export async function setBackend(name: string): Promise<void> {
  current = await initBackend(name);
}

/** The current backend; initialises the highest-priority synchronous one if none was set. */
export function getBackend(): Backend {
  if (current) return current;
  const candidates = [...registry.entries()].sort((a, b) => b[1].priority - a[1].priority);
  for (const [, reg] of candidates) {
    if (reg.instance) return (current = reg.instance);
    const made = reg.factory();
    if (!(made instanceof Promise)) {
      reg.instance = made;
      return (current = made);
    }
  }
  throw new BackendError(
    registry.size === 0
      ? "no backend is registered: import '@sibert/backend-cpu' (or another backend) first"
      : `no backend is ready: call 'await setBackend(name)' with one of ${[...registry.keys()].join(', ')}`,
  );
}

/** An initialised backend by name (for `tensor.to(name)`). */
export function findBackend(name: string): Backend {
  const reg = registry.get(name);
  if (!reg) throw unknownBackend(name);
  if (!reg.instance) {
    throw new BackendError(
      `backend '${name}' is registered but not initialised: call 'await initBackend("${name}")' first`,
    );
  }
  return reg.instance;
}

function unknownBackend(name: string): BackendError {
  return new BackendError(
    `unknown backend '${name}'; registered: ${[...registry.keys()].join(', ') || 'none'}`,
  );
}

export function kernelOf<K extends KernelName>(backend: Backend, kernel: K, op: string) {
  const fn = backend.kernels[kernel];
  if (!fn) {
    throw new BackendError(`backend '${backend.name}' has no '${kernel}' kernel`, op);
  }
  return fn.bind(backend.kernels) as NonNullable<typeof fn>;
}

// ---- fused kernels switch (the conformance suite compares fused with composed) -------------

let useFusedKernels = true;

/** Whether fused ops may run a backend's fused kernel (false inside `withoutFusedKernels`). */
export function fusedKernelsEnabled(): boolean {
  return useFusedKernels;
}

/** Runs `fn` with fused kernels disabled, so ops use their composed definitions. */
export function withoutFusedKernels<T>(fn: () => T): T {
  const before = useFusedKernels;
  useFusedKernels = false;
  try {
    return fn();
  } finally {
    useFusedKernels = before;
  }
}

// ---- gradient mode -----------------------------------------------------------------------

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording operations for autograd. */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

// ---- memory scopes -----------------------------------------------------------------------

const scopes: Set<Freeable>[] = [];

/** Called by every new tensor: the innermost `tidy` scope will own it. */
export function trackInScope(t: Freeable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from every open `tidy` scope so it survives them; returns `t`. */
export function escapeTidy<T extends Freeable>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those it returns (a tensor,
 * or tensors inside returned arrays/objects) and those passed to `escapeTidy`. Returned tensors
 * move to the enclosing scope. When `fn` throws, every tensor it created is disposed. `fn` must
 * be synchronous.
 *
 * This is the one rule for intermediates, in layers and in composite ops alike (see ops/index.ts).
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Freeable>();
  scopes.push(scope);
  const kept = new Set<Freeable>();
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError('tidy(fn): fn must be synchronous (it returned a Promise)');
    }
    collectFreeables(result, kept, 0);
    return result;
  } finally {
    scopes.pop();
    for (const t of scope) {
      if (kept.has(t)) trackInScope(t);
      else if (!t.isDisposed) t.dispose();
    }
  }
}

function collectFreeables(value: unknown, into: Set<Freeable>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (isFreeable(value)) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value)
    ? value
    : value instanceof Map
      ? [...value.values()]
      : Object.values(value);
  for (const item of items) collectFreeables(item, into, depth + 1);
}

function isFreeable(value: object): value is Freeable {
  return typeof (value as Freeable).dispose === 'function' && 'isDisposed' in value;
}

// ---- memory accounting -------------------------------------------------------------------

export interface BackendMemory {
  /** Live tensors (views sharing storage count once each). */
  numTensors: number;
  /** Bytes of live storage (shared storage counted once). */
  numBytes: number;
}

export interface MemoryInfo extends BackendMemory {
  backends: Record<string, BackendMemory>;
  /** The highest `numBytes` seen since the last `resetPeakMemory()`. */
  peakBytes: number;
}

const usage = new Map<string, BackendMemory>();
let totalBytes = 0;
let peakBytes = 0;

function usageOf(backend: string): BackendMemory {
  let u = usage.get(backend);
  if (!u) usage.set(backend, (u = { numTensors: 0, numBytes: 0 }));
  return u;
}

export function countTensor(backend: string, delta: 1 | -1): void {
  usageOf(backend).numTensors += delta;
}

export function countBytes(backend: string, bytes: number): void {
  usageOf(backend).numBytes += bytes;
  totalBytes += bytes;
  if (totalBytes > peakBytes) peakBytes = totalBytes;
}

/** Live tensors and bytes, in total and per backend. */
export function memory(): MemoryInfo {
  const backends: Record<string, BackendMemory> = {};
  let numTensors = 0;
  for (const [name, u] of usage) {
    backends[name] = { ...u };
    numTensors += u.numTensors;
  }
  return { numTensors, numBytes: totalBytes, backends, peakBytes };
}

export function resetPeakMemory(): void {
  peakBytes = totalBytes;
}
