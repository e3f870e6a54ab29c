import { BackendError } from '@sibert/tensor';
import type { WasmHeap } from './heap.js';
import type { KernelModule, Panel, WasmApi, WasmMemory, WasmModule } from './wasm-module.js';

/** A job's named parameters: numbers, stored as float64 (every int32 and float32 exactly). */
export type JobParams<P extends string> = Readonly<Record<P, number>>;

/**
 * A task of a parallel job: `run` does slice `index` of the work with the job's parameters, which
 * the pool writes and decodes by the names in `params` (at most MAX_PARAMS). `run` executes on the
 * calling thread and inside worker threads, whose source is built from its text, so it must not
 * refer to anything outside itself.
 */
export interface Task<P extends string = string> {
  readonly params: readonly P[];
  run(
    job: JobParams<P>,
    f32: Float32Array,
    i32: Int32Array,
    wasm: TaskKernels,
    index: number,
    thread: number,
  ): void;
}

/** The module's kernels as tasks see them: the GEMM panel, and every export in export order. */
export interface TaskKernels {
  readonly panel: Panel;
  readonly list: readonly ((...args: number[]) => unknown)[];
}

// Slots of the control block shared with the workers (Int32), then the job's parameters (Float64).
const GENERATION = 0; // bumped to post a job; workers sleep on it
const NEXT = 1; // (generation tag << 20) | next task index, claimed by compare-exchange
const DONE = 2; // tasks finished
const FAILED = 3; // 1 when a task threw
const KIND = 4; // index into the task table
const COUNT = 5; // tasks in the job
const CONTROL_BYTES = 32;
const MAX_PARAMS = 32;
const INDEX_BITS = 20;
const MAX_TASKS = 1 << INDEX_BITS;

/**
 * Runs tasks of the current job until none is left. Claiming through the tagged NEXT slot makes a
 * late thread (one that woke for a job already finished) unable to take a task of the next job
 * with the old job's parameters: the poster retags NEXT before it rewrites them.
 */
function runTasks(
  ctl: Int32Array,
  params: Float64Array,
  generation: number,
  tasks: readonly Task[],
  f32: Float32Array,
  i32: Int32Array,
  wasm: TaskKernels,
  thread: number,
): unknown {
  // Slot numbers are literals: this function is also compiled from its text inside the workers.
  const tag = (generation & 0x7ff) << 20;
  let failure: unknown;
  let job: Record<string, number> | undefined;
  for (;;) {
    const claim = Atomics.load(ctl, 1);
    if ((claim & ~0xfffff) !== tag) return failure;
    const index = claim & 0xfffff;
    if (index >= Atomics.load(ctl, 5)) return failure;
    if (Atomics.compareExchange(ctl, 1, claim, claim + 1) !== claim) continue;
    const task = tasks[Atomics.load(ctl, 4)]!;
    if (!job) {
      // Decoded once per job and thread, after the first claim (the parameters are then this job's).
      // Integral values become int32 again: the tasks' index arithmetic then stays in int32 (a
      // double index deoptimises the typed-array accesses of their loops).
      job = {};
      for (let i = 0; i < task.params.length; i++) {
        const value = params[i]!;
        job[task.params[i]!] = (value | 0) === value ? value | 0 : value;
      }
    }
    try {
      task.run(job, f32, i32, wasm, index, thread);
    } catch (error) {
      failure ??= error;
      Atomics.store(ctl, 3, 1);
    }
    if (Atomics.add(ctl, 2, 1) + 1 === Atomics.load(ctl, 5)) Atomics.notify(ctl, 2);
  }
}

/** The body of a worker (evaluated from text, in Node or a page): instantiate, then serve jobs. */
function workerMain(data: WorkerData): void {
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(data.module, { env: { memory: data.memory } });
  const kernels = {
    panel: instance.exports['panel'] as Panel,
    list: Object.values(instance.exports) as TaskKernels['list'],
  };
  const ctl = new Int32Array(data.control, 0, 8); // CONTROL_BYTES, as a literal (see runTasks)
  const params = new Float64Array(data.control, 32);
  let f32 = new Float32Array(data.memory.buffer);
  let i32 = new Int32Array(data.memory.buffer);
  let seen = Atomics.load(ctl, 0);
  for (;;) {
    // Spin briefly before sleeping: jobs often come back to back (pack, then multiply).
    for (let spin = 0; spin < 20000 && Atomics.load(ctl, 0) === seen; spin++);
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    if (f32.buffer.byteLength !== data.memory.buffer.byteLength) {
      f32 = new Float32Array(data.memory.buffer);
      i32 = new Int32Array(data.memory.buffer);
    }
    runTasks(ctl, params, seen, TASKS, f32, i32, kernels, data.thread);
  }
}

declare const TASKS: readonly Task[];

/** What a worker gets at its start: the heap's memory, the compiled kernels, the control block. */
interface WorkerData {
  memory: WasmMemory;
  module: WasmModule;
  control: SharedArrayBuffer | ArrayBuffer;
  thread: number;
}

interface StartedWorker {
  terminate(): unknown;
}

/**
 * Where this runtime can start the pool's workers: worker threads in Node, Web Workers in a
 * cross-origin isolated page's worker. `start` runs `body` (the worker's source, ending in a call
 * of its main on `WORKER_DATA`) in a new worker.
 */
interface ThreadHost {
  cores: number;
  start(body: string, data: WorkerData): StartedWorker;
}

interface NodeWorker extends StartedWorker {
  unref(): void;
}
interface WorkerThreadsModule {
  Worker: new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker;
}

/** node:worker_threads and the core count, where this runtime has them (Node ≥ 20.16). */
function nodeHost(): ThreadHost | null {
  const getBuiltin = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule?.bind(globalThis.process);
  if (!getBuiltin) return null;
  const workerThreads = getBuiltin('node:worker_threads') as WorkerThreadsModule | undefined;
  const os = getBuiltin('node:os') as { availableParallelism?: () => number } | undefined;
  if (!workerThreads || !os?.availableParallelism) return null;
  return {
    cores: os.availableParallelism(),
    start(body, data) {
      const source = `'use strict';\nconst WORKER_DATA = require('node:worker_threads').workerData;\n${body}`;
      const worker = new workerThreads.Worker(source, { eval: true, workerData: data });
      // Workers never keep the process alive.
      worker.unref();
      return worker;
    },
  };
}

interface WebGlobals {
  crossOriginIsolated?: boolean;
  Worker?: new (url: string) => StartedWorker & { postMessage(data: unknown): void };
  Blob?: new (parts: string[], options: { type: string }) => object;
  URL: { createObjectURL?(blob: object): string };
  navigator?: { hardwareConcurrency?: number };
}

/** Whether this thread may block in Atomics.wait (a page's main thread may not). */
function mayBlock(): boolean {
  try {
    // Returns 'not-equal' at once where waiting is allowed; throws where it is not.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Web Workers started from a blob of the pool's source, in a page that is cross-origin isolated
 * (shared memory) and on a thread that may block: a dedicated worker, never the page's main thread,
 * which runs kernels on itself alone.
 */
function webHost(): ThreadHost | null {
  const web = globalThis as unknown as WebGlobals;
  if (web.crossOriginIsolated !== true || !web.Worker || !web.Blob || !web.URL.createObjectURL) return null;
  if (typeof SharedArrayBuffer !== 'function' || !mayBlock()) return null;
  const { Worker, Blob } = web;
  const createObjectURL = web.URL.createObjectURL.bind(web.URL);
  return {
    cores: web.navigator?.hardwareConcurrency ?? 1,
    start(body, data) {
      const source = `'use strict';\nself.onmessage = (event) => { self.onmessage = null; const WORKER_DATA = event.data;\n${body}\n};`;
      const url = createObjectURL(new Blob([source], { type: 'text/javascript' }));
      const worker = new Worker(url);
      worker.postMessage(data);
      return worker;
    },
  };
}

function threadHost(): ThreadHost | null {
  return nodeHost() ?? webHost();
}

/**
 * Threads the machine offers this thread: its cores in Node and in a cross-origin isolated page's
 * worker; 1 where workers or shared memory are unavailable, and on a page's main thread.
 */
export function availableThreads(): number {
  return threadHost()?.cores ?? 1;
}

/**
 * Runs jobs of `tasks` on the calling thread plus `threads − 1` workers, all on the heap's memory.
 * The caller blocks (Atomics.wait) until its job is done, so kernels stay synchronous. Workers
 * start at the first parallel job (a CpuBackend that never runs a large kernel starts none), sleep
 * between jobs, and do not keep the process alive; `close` stops them, and jobs after it run on
 * the calling thread alone (the same bits: no result depends on the thread count).
 */
export class ThreadPool {
  readonly threads: number;
  readonly #ctl: Int32Array;
  readonly #params: Float64Array;
  readonly #tasks: readonly Task[];
  readonly #heap: WasmHeap;
  readonly #wasm: TaskKernels;
  /** How to start the workers, until they are started (or the pool closed). */
  #startWorkers: (() => StartedWorker[]) | null;
  #workers: StartedWorker[] = [];
  #generation = 0;

  constructor(heap: WasmHeap, kernels: KernelModule, tasks: readonly Task[], threads: number) {
    this.#heap = heap;
    this.#tasks = tasks;
    this.#wasm = { panel: kernels.panel, list: kernels.list };
    const host = heap.shared && threads > 1 ? threadHost() : null;
    const control = new (host ? SharedArrayBuffer : ArrayBuffer)(CONTROL_BYTES + 8 * MAX_PARAMS);
    this.#ctl = new Int32Array(control, 0, CONTROL_BYTES / 4);
    this.#params = new Float64Array(control, CONTROL_BYTES);
    this.threads = host ? threads : 1;
    this.#startWorkers = host ? () => startWorkers(host, heap, kernels, tasks, control, threads) : null;
  }

  /** Runs tasks 0 … count−1 of `task` (one of the pool's) with parameters `job`; returns when all are done. */
  run<P extends string>(task: Task<P>, job: JobParams<P>, count: number, parallel: boolean): void {
    if (count > MAX_TASKS)
      throw new BackendError(`a job has at most ${MAX_TASKS} tasks, got ${count}`, 'cpu');
    const kind = this.#tasks.indexOf(task as Task);
    if (kind < 0)
      throw new BackendError(`task ${task.run.name} is not one of this pool's tasks`, 'ThreadPool.run');
    const wake = parallel && this.threads > 1 && this.#ensureWorkers();
    const ctl = this.#ctl;
    const f32 = this.#heap.f32;
    const i32 = new Int32Array(f32.buffer);
    const generation = ++this.#generation;
    // Retag first: from here no thread can claim a task under the previous job's parameters.
    Atomics.store(ctl, NEXT, (generation & 0x7ff) << INDEX_BITS);
    task.params.forEach((name, i) => {
      this.#params[i] = job[name];
    });
    Atomics.store(ctl, KIND, kind);
    Atomics.store(ctl, COUNT, count);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    if (wake) {
      Atomics.store(ctl, GENERATION, generation);
      Atomics.notify(ctl, GENERATION);
    }
    const failure = runTasks(ctl, this.#params, generation, this.#tasks, f32, i32, this.#wasm, 0);
    for (let done = Atomics.load(ctl, DONE); done < count; done = Atomics.load(ctl, DONE)) {
      Atomics.wait(ctl, DONE, done);
    }
    if (failure !== undefined) throw failure;
    if (Atomics.load(ctl, FAILED) !== 0) {
      throw new BackendError(
        'a CPU kernel failed on a worker thread; rerun with `new CpuBackend({ threads: 1 })` to see why',
      );
    }
  }

  /** Stops the workers (for good: later jobs run on the calling thread). */
  close(): void {
    this.#startWorkers = null;
    for (const worker of this.#workers) void worker.terminate();
    this.#workers = [];
  }

  /** Whether workers are running, starting them at the first call. */
  #ensureWorkers(): boolean {
    if (this.#startWorkers) {
      this.#workers = this.#startWorkers();
      this.#startWorkers = null;
    }
    return this.#workers.length > 0;
  }
}

/**
 * Starts `threads − 1` workers serving `tasks` on the heap's memory through `control`. A worker
 * that is still starting when a job comes (Web Workers start asynchronously) takes no part in it:
 * the calling thread claims every task nobody else does.
 */
function startWorkers(
  host: ThreadHost,
  heap: WasmHeap,
  kernels: KernelModule,
  tasks: readonly Task[],
  control: SharedArrayBuffer | ArrayBuffer,
  threads: number,
): StartedWorker[] {
  const taskSource = tasks.map((task) => `{ params: ${JSON.stringify(task.params)}, run: ${task.run} }`);
  const body = [
    `const TASKS = [${taskSource.join(',\n')}];`,
    runTasks.toString(),
    `(${workerMain.toString()})(WORKER_DATA);`,
  ].join('\n');
  const workers: StartedWorker[] = [];
  for (let thread = 1; thread < threads; thread++) {
    workers.push(host.start(body, { memory: heap.memory, module: kernels.module, control, thread }));
  }
  return workers;
}
