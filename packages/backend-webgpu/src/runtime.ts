import { BufferPool } from './buffer-pool.js';
import { gpuError } from './errors.js';
import { IndexChecks } from './index-checks.js';

// WebGPU's numeric flags, spelled out so the backend never needs them installed as globals.
const BUFFER_MAP_READ = 0x1;
const BUFFER_COPY_SRC = 0x4;
const BUFFER_COPY_DST = 0x8;
const BUFFER_UNIFORM = 0x40;
const BUFFER_STORAGE = 0x80;
const SHADER_STAGE_COMPUTE = 0x4;
const MAP_MODE_READ = 0x1;

/** Bytes of one dispatch's parameter block; also the uniform offset alignment WebGPU guarantees. */
export const PARAM_BLOCK_BYTES = 256;
export const PARAM_WORDS = PARAM_BLOCK_BYTES / 4;
/** Dispatches recorded before the batch is submitted (one parameter block each). */
const DISPATCHES_PER_BATCH = 128;

/** Names the ops of a batch whose validation error cannot be pinned to one dispatch. */
function batchName(ops: readonly string[]): string {
  const distinct = [...new Set(ops)];
  return distinct.length === 1 ? distinct[0]! : `one of ${distinct.join(', ')}`;
}

/** The storage behind one tensor: a pooled buffer and how many 32-bit elements it holds. */
export class GpuStorage {
  released = false;
  constructor(
    readonly buffer: GPUBuffer,
    readonly elements: number,
  ) {}
}

export interface DispatchSpec {
  /** The kernel's name, used in every error this dispatch can cause. */
  readonly op: string;
  readonly shader: string;
  /** Bound read-only at bindings 1..k. */
  readonly inputs: readonly GPUBuffer[];
  /** Bound read-write after the inputs. */
  readonly outputs: readonly GPUBuffer[];
  /** At most PARAM_WORDS words, bound as the uniform at binding 0. */
  readonly params: ArrayLike<number>;
  /** A linear workgroup count (split into a 2-D grid when it exceeds the per-dimension limit) or an explicit grid. */
  readonly workgroups: number | readonly [number, number, number];
}

interface Layout {
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly pipelineLayout: GPUPipelineLayout;
}

/**
 * Owns the device-side machinery every kernel shares: the buffer pool, the pipeline cache
 * (keyed by WGSL source), one uniform buffer of parameter blocks per batch, the open command
 * encoder, and the error bookkeeping that turns asynchronous WebGPU errors into thrown errors
 * naming the op that caused them.
 */
export class GpuRuntime {
  private readonly storagePool: BufferPool;
  private readonly readbackPool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly shaderSources = new Map<string, string>();
  private readonly layouts = new Map<string, Layout>();
  private readonly uniformBuffer: GPUBuffer;
  private readonly paramStaging = new Uint32Array(PARAM_WORDS * DISPATCHES_PER_BATCH);
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchOps: string[] = [];
  private pendingChecks: Promise<void>[] = [];
  private firstError: Error | null = null;
  private lostInfo: GPUDeviceLostInfo | null = null;
  /** Set when a wait ran past the deadline: the queue may never finish, so nothing else may run. */
  private hung: string | null = null;
  /** Kernels submitted since the last wait that finished, by name: what a hang report names. */
  private unfinished = new Map<string, number>();
  private destroyed = false;
  private liveBytes = 0;
  private readonly indexChecks: IndexChecks;

  constructor(
    readonly device: GPUDevice,
    readonly limits: {
      readonly maxBufferSize: number;
      readonly maxStorageBufferBindingSize: number;
      readonly maxComputeWorkgroupsPerDimension: number;
    },
    /** The adapter's name for error messages, and how long a read waits for the GPU (ms). */
    private readonly watchdog: { readonly adapter: string; readonly readTimeoutMs: number } = {
      adapter: 'WebGPU adapter',
      readTimeoutMs: Number.POSITIVE_INFINITY,
    },
  ) {
    const storageUsage = BUFFER_STORAGE | BUFFER_COPY_SRC | BUFFER_COPY_DST;
    this.storagePool = new BufferPool(device, storageUsage);
    this.readbackPool = new BufferPool(device, BUFFER_MAP_READ | BUFFER_COPY_DST);
    this.uniformBuffer = device.createBuffer({
      size: this.paramStaging.byteLength,
      usage: BUFFER_UNIFORM | BUFFER_COPY_DST,
    });
    this.indexChecks = new IndexChecks(device, storageUsage);
    device.lost.then((info) => {
      if (!this.destroyed) this.lostInfo = info;
    });
  }

  /** Throws when the device can no longer run `op`. */
  assertUsable(op: string): void {
    if (this.destroyed) throw gpuError(op, `the backend was disposed`);
    if (this.hung) throw gpuError(op, `the GPU stopped answering earlier (${this.hung}); open a new backend`);
    if (this.lostInfo) {
      throw gpuError(op, `device lost (${this.lostInfo.reason}): ${this.lostInfo.message}`);
    }
  }

  /** Allocates storage for `elements` 32-bit values, rejecting sizes no binding can hold. */
  allocate(op: string, elements: number): GpuStorage {
    this.assertUsable(op);
    const bytes = elements * 4;
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw gpuError(
        op,
        `a tensor of ${elements} elements (${bytes} bytes) exceeds the device's ` +
          `maxStorageBufferBindingSize of ${this.limits.maxStorageBufferBindingSize} bytes`,
      );
    }
    if (BufferPool.sizeClass(bytes) > this.limits.maxBufferSize) {
      throw gpuError(
        op,
        `a buffer of ${bytes} bytes exceeds the device's maxBufferSize of ${this.limits.maxBufferSize} bytes`,
      );
    }
    let buffer = this.storagePool.takeFree(bytes);
    if (!buffer) {
      this.device.pushErrorScope('out-of-memory');
      buffer = this.storagePool.create(bytes);
      this.watch(op, this.device.popErrorScope());
    }
    this.liveBytes += buffer.size;
    return new GpuStorage(buffer, elements);
  }

  release(op: string, storage: GpuStorage): void {
    if (storage.released) throw gpuError(op, `the storage was already freed`);
    storage.released = true;
    if (this.destroyed) return;
    this.liveBytes -= storage.buffer.size;
    this.storagePool.release(storage.buffer);
  }

  /** Uploads `values` (copied before returning) into fresh storage. */
  upload(op: string, values: Int32Array | Float32Array | Uint32Array): GpuStorage {
    const storage = this.allocate(op, values.length);
    // A pooled buffer may still be read by recorded but unsubmitted work; queue writes run
    // before any later submit, so that work must be submitted first.
    if (this.encoder) this.flush();
    if (values.length > 0) {
      this.device.queue.writeBuffer(storage.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    }
    return storage;
  }

  /**
   * Registers a device-side index check for a kernel about to be dispatched: the kernel reports
   * an out-of-range index into `indexErrorBuffer` under the returned id, and the next read or
   * sync throws a RangeArgumentError `webgpu: <op>: index … is out of range [0, bound)` (the
   * timing the backend contract prescribes: no host sync mid-forward).
   */
  indexCheck(op: string, bound: number): number {
    return this.indexChecks.register(op, bound);
  }

  /** The buffer checking kernels report into (bind it as an output). */
  get indexErrorBuffer(): GPUBuffer {
    return this.indexChecks.buffer;
  }

  /** The WGSL source a kernel keys by `key`, built once (and the same string, so pipeline lookups stay cheap). */
  shaderSource(key: string, build: () => string): string {
    let source = this.shaderSources.get(key);
    if (source === undefined) {
      source = build();
      this.shaderSources.set(key, source);
    }
    return source;
  }

  dispatch(spec: DispatchSpec): void {
    this.assertUsable(spec.op);
    const grid = this.grid(spec.op, spec.workgroups);
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    if (spec.params.length > PARAM_WORDS) {
      throw gpuError(
        spec.op,
        `needs ${spec.params.length} parameter words, at most ${PARAM_WORDS} fit (rank too high)`,
      );
    }
    for (const buffer of [...spec.inputs, ...spec.outputs]) {
      if (buffer.size > this.limits.maxStorageBufferBindingSize) {
        throw gpuError(
          spec.op,
          `a binding of ${buffer.size} bytes exceeds maxStorageBufferBindingSize ` +
            `(${this.limits.maxStorageBufferBindingSize} bytes)`,
        );
      }
    }
    if (this.batchOps.length === DISPATCHES_PER_BATCH) this.flush();
    const slot = this.batchOps.length;
    this.paramStaging.fill(0, slot * PARAM_WORDS, (slot + 1) * PARAM_WORDS);
    this.paramStaging.set(spec.params, slot * PARAM_WORDS);

    const layout = this.layout(spec.inputs.length, spec.outputs.length);
    const pipeline = this.pipeline(spec.op, spec.shader, layout);
    // One validation scope spans a batch (a scope per dispatch costs more than the dispatch);
    // shader errors, the likely kind, are caught per pipeline and name their op exactly.
    if (slot === 0) this.device.pushErrorScope('validation');
    const entries: GPUBindGroupEntry[] = [
      {
        binding: 0,
        resource: { buffer: this.uniformBuffer, offset: slot * PARAM_BLOCK_BYTES, size: PARAM_BLOCK_BYTES },
      },
    ];
    let binding = 1;
    for (const buffer of spec.inputs) entries.push({ binding: binding++, resource: { buffer } });
    for (const buffer of spec.outputs) entries.push({ binding: binding++, resource: { buffer } });
    const bindGroup = this.device.createBindGroup({ layout: layout.bindGroupLayout, entries });
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.batchOps.push(spec.op);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    const encoder = this.encoder;
    this.pass?.end();
    this.pass = null;
    this.encoder = null;
    const ops = this.batchOps;
    this.batchOps = [];
    for (const name of ops) this.unfinished.set(name, (this.unfinished.get(name) ?? 0) + 1);
    this.device.queue.writeBuffer(
      this.uniformBuffer,
      0,
      this.paramStaging.buffer,
      0,
      ops.length * PARAM_BLOCK_BYTES,
    );
    this.device.queue.submit([encoder.finish()]);
    // Closes the scope the batch's first dispatch opened.
    this.watch(batchName(ops), this.device.popErrorScope());
  }

  async read(op: string, storage: GpuStorage, elements: number): Promise<ArrayBuffer> {
    this.assertUsable(op);
    if (storage.released) throw gpuError(op, `the storage was already freed`);
    this.flush();
    const bytes = elements * 4;
    const encoder = this.device.createCommandEncoder();
    const staging = elements > 0 ? this.readbackPool.acquire(bytes) : null;
    if (staging) encoder.copyBufferToBuffer(storage.buffer, 0, staging, 0, bytes);
    const indexCheck = this.recordIndexCheck(encoder);
    this.device.queue.submit([encoder.finish()]);
    let copy = new ArrayBuffer(0);
    if (staging) {
      await this.withDeadline(op, this.mapForReading(op, staging, bytes));
      copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      this.readbackPool.release(staging);
    }
    await this.withDeadline(op, this.finishIndexCheck(op, indexCheck));
    await this.checkErrors();
    this.unfinished.clear();
    return copy;
  }

  async sync(): Promise<void> {
    this.assertUsable('sync');
    this.flush();
    if (this.indexChecks.pending) {
      const encoder = this.device.createCommandEncoder();
      const indexCheck = this.recordIndexCheck(encoder);
      this.device.queue.submit([encoder.finish()]);
      await this.withDeadline('sync', this.finishIndexCheck('sync', indexCheck));
    } else {
      await this.withDeadline('sync', this.device.queue.onSubmittedWorkDone());
    }
    await this.checkErrors();
    this.assertUsable('sync');
    this.unfinished.clear();
  }

  /**
   * `work`, or a rejection once the deadline passes: a shader that never finishes (a driver's
   * compiler or an endless loop) would otherwise hang the caller with no error and no device loss.
   */
  private async withDeadline<T>(op: string, work: Promise<T>): Promise<T> {
    const ms = this.watchdog.readTimeoutMs;
    if (!Number.isFinite(ms)) return work;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const queued = [...this.unfinished].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
        this.hung = `no answer within ${ms} ms on ${this.watchdog.adapter}; queued: ${queued || 'no kernels'}`;
        reject(
          gpuError(
            op,
            `the GPU did not finish within ${ms} ms (readTimeoutMs) on ${this.watchdog.adapter}; kernels queued since the last completed read: ${queued || 'none'}`,
          ),
        );
      }, ms);
    });
    // The work may still settle after the deadline; nobody waits for it then.
    work.catch(() => {});
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async mapForReading(op: string, staging: GPUBuffer, bytes: number): Promise<void> {
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, bytes);
    } catch (error) {
      this.assertUsable(op);
      throw gpuError(op, `mapping the readback buffer failed: ${(error as Error).message}`);
    }
  }

  /** Copies the index-error words out when checks ran since the last look; returns what to await. */
  private recordIndexCheck(encoder: GPUCommandEncoder): { staging: GPUBuffer; lastId: number } | null {
    if (!this.indexChecks.pending) return null;
    const staging = this.readbackPool.acquire(8);
    encoder.copyBufferToBuffer(this.indexChecks.buffer, 0, staging, 0, 8);
    return { staging, lastId: this.indexChecks.lastId };
  }

  private async finishIndexCheck(
    op: string,
    check: { staging: GPUBuffer; lastId: number } | null,
  ): Promise<void> {
    if (!check) return;
    await this.mapForReading(op, check.staging, 8);
    const words = new Int32Array(check.staging.getMappedRange(0, 8).slice(0));
    check.staging.unmap();
    this.readbackPool.release(check.staging);
    this.indexChecks.settle(words, check.lastId);
  }

  /** Bytes held by live tensors and by the pool. */
  memory(): { liveBytes: number; pooledBytes: number } {
    return { liveBytes: this.liveBytes, pooledBytes: this.storagePool.idleBytes };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    this.storagePool.destroy();
    this.readbackPool.destroy();
    this.uniformBuffer.destroy();
    this.indexChecks.buffer.destroy();
    this.pipelines.clear();
    this.shaderSources.clear();
    this.layouts.clear();
    this.device.destroy();
  }

  /** Rejects with the first WebGPU error recorded since the last check. */
  private async checkErrors(): Promise<void> {
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    await Promise.all(checks);
    const error = this.firstError;
    this.firstError = null;
    if (error) throw error;
    if (this.lostInfo) this.assertUsable('read');
  }

  private watch(op: string, scope: Promise<GPUError | null>): void {
    this.pendingChecks.push(
      scope.then(
        (error) => {
          if (error && !this.firstError) this.firstError = gpuError(op, error.message);
        },
        (error: unknown) => {
          if (!this.firstError && !this.destroyed) {
            this.firstError = gpuError(op, (error as Error).message);
          }
        },
      ),
    );
  }

  private grid(op: string, workgroups: DispatchSpec['workgroups']): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (typeof workgroups !== 'number') {
      for (const count of workgroups) {
        if (count > max) {
          throw gpuError(
            op,
            `needs ${count} workgroups in one dimension, maxComputeWorkgroupsPerDimension is ${max}`,
          );
        }
      }
      return [workgroups[0], workgroups[1], workgroups[2]];
    }
    if (workgroups <= max) return [workgroups, 1, 1];
    const rows = Math.ceil(workgroups / max);
    if (rows > max) {
      throw gpuError(
        op,
        `needs ${workgroups} workgroups, more than maxComputeWorkgroupsPerDimension² (${max}²)`,
      );
    }
    return [Math.ceil(workgroups / rows), rows, 1];
  }

  private layout(inputs: number, outputs: number): Layout {
    const key = `${inputs}:${outputs}`;
    const cached = this.layouts.get(key);
    if (cached) return cached;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } },
    ];
    for (let k = 0; k < inputs; k++) {
      entries.push({
        binding: 1 + k,
        visibility: SHADER_STAGE_COMPUTE,
        buffer: { type: 'read-only-storage' },
      });
    }
    for (let k = 0; k < outputs; k++) {
      entries.push({
        binding: 1 + inputs + k,
        visibility: SHADER_STAGE_COMPUTE,
        buffer: { type: 'storage' },
      });
    }
    const bindGroupLayout = this.device.createBindGroupLayout({ entries });
    const layout = {
      bindGroupLayout,
      pipelineLayout: this.device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
    };
    this.layouts.set(key, layout);
    return layout;
  }

  private pipeline(op: string, shader: string, layout: Layout): GPUComputePipeline {
    const cached = this.pipelines.get(shader);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: shader });
    const pipeline = this.device.createComputePipeline({
      layout: layout.pipelineLayout,
      compute: { module, entryPoint: 'main' },
    });
    this.watch(op, this.device.popErrorScope());
    this.pipelines.set(shader, pipeline);
    return pipeline;
  }
}
