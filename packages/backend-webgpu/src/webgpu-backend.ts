import type { Backend, DType, Handle, Kernels, TypedArray } from '@sibert/tensor';
import { gpuError } from './errors.js';
import { binary, cast, compare, fill, unary, where } from './kernels/elementwise.js';
import { gather, oneHot, scatterAdd } from './kernels/indexing.js';
import {
  type MatmulTiling,
  matmul,
  REGISTER_TILING,
  SWIFTSHADER_REGISTER_TILING,
  WORKGROUP_TILING,
} from './kernels/matmul.js';
import { broadcastTo, concat, pad, slice, transpose } from './kernels/movement.js';
import { random } from './kernels/random.js';
import { reduce, sumOfSquares } from './kernels/reduce.js';
import {
  crossEntropy,
  layerNormalize,
  logSoftmax,
  type RowKernel,
  siNormalize,
  softmax,
} from './kernels/rows.js';
import { adamInPlace, axpyInPlace } from './kernels/update.js';
import { GpuRuntime, GpuStorage } from './runtime.js';

export interface WebGpuBackendOptions {
  /** Passed to `requestAdapter`. */
  readonly powerPreference?: GPUPowerPreference;
  /** Ask for the fallback (software) adapter, e.g. lavapipe/SwiftShader. */
  readonly forceFallbackAdapter?: boolean;
  /** The `GPU` object to use; defaults to `navigator.gpu` in browsers and the `webgpu` package in Node. */
  readonly gpu?: GPU;
  /**
   * The matmul kernel: 'workgroup' (tiles staged in workgroup memory, for GPUs) or 'register'
   * (register tiles read straight from storage, for CPU adapters such as lavapipe). Default:
   * 'register' on software adapters, 'workgroup' elsewhere.
   */
  readonly matmulKernel?: 'workgroup' | 'register';
  /**
   * The row kernels (softmax, logSoftmax, layerNormalize, crossEntropy, siNormalize): 'workgroup'
   * (a workgroup per row, combining through workgroup memory, for GPUs) or 'thread' (a thread
   * per row, no barriers, for CPU adapters). Default: 'thread' on software adapters, else 'workgroup'.
   */
  readonly rowKernel?: RowKernel;
  /**
   * How long `read` and `sync` wait for queued work before they reject, naming the kernels that
   * were queued and the adapter (a shader that never finishes otherwise hangs them forever); the
   * backend is unusable after that. Default 120 000 ms; \`Infinity\` waits forever.
   */
  readonly readTimeoutMs?: number;
}

/**
 * What an adapter runs on, which decides the kernel defaults: a GPU, Mesa's lavapipe/llvmpipe on
 * the CPU, or SwiftShader (Chromium's CPU adapter, which reports itself in `architecture` even when
 * `description` is empty, as it is without --enable-webgpu-developer-features).
 */
export type AdapterKind = 'gpu' | 'cpu' | 'swiftshader';

export function adapterKind(info: GPUAdapterInfo): AdapterKind {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  if (/swiftshader/i.test(text)) return 'swiftshader';
  if (info.architecture === 'software' || /llvmpipe|lavapipe/i.test(text)) return 'cpu';
  return 'gpu';
}

const DEFAULT_MATMUL_KERNEL: Record<AdapterKind, 'workgroup' | 'register'> = {
  gpu: 'workgroup',
  cpu: 'register',
  swiftshader: 'register',
};
const DEFAULT_ROW_KERNEL: Record<AdapterKind, RowKernel> = {
  gpu: 'workgroup',
  cpu: 'thread',
  swiftshader: 'thread',
};

/** How long `read` and `sync` wait for the GPU by default before reporting it hung. */
export const DEFAULT_READ_TIMEOUT_MS = 120_000;

/** The limits the backend asks for: the adapter's own maxima, so large tensors fit where the hardware allows. */
const REQUESTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

/**
 * Dawn's `GPU` object for this process, created once and never released (the counterpart of a
 * page's `navigator.gpu`): the backend's one deliberate process-wide object. Dawn for Node aborts the process (a lock on freed memory in its event
 * loop) when a GPU object is garbage-collected after opening devices, disposed or not, so no
 * backend may own one. Node still exits when its work is done: Dawn holds the event loop open
 * only while GPU work is pending.
 */
let dawnGpu: Promise<GPU> | undefined;

function defaultGpu(): Promise<GPU> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) return Promise.resolve(browserGpu);
  dawnGpu ??= (async () => {
    let dawn: { create(flags: string[]): GPU };
    try {
      // A computed specifier keeps browser bundlers from pulling Dawn's native addon into a bundle.
      const dawnPackage = 'webgpu';
      dawn = await import(/* @vite-ignore */ dawnPackage);
    } catch (error) {
      throw gpuError(
        'create',
        `no navigator.gpu and the npm package 'webgpu' (Dawn for Node) failed to load: ${(error as Error).message}`,
      );
    }
    return dawn.create([]);
  })();
  return dawnGpu;
}

/**
 * The WebGPU backend: every kernel of the engine's contract in WGSL. Work is recorded into one
 * command encoder and submitted in batches; nothing is read back unless `read` asks.
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly kernels: Kernels;

  private constructor(
    private readonly runtime: GpuRuntime,
    private readonly adapterInfo: GPUAdapterInfo,
    private readonly matmulTiling: MatmulTiling,
    private readonly rowKernel: RowKernel,
  ) {
    const rt = runtime;
    this.kernels = {
      unary: (x, op, out) => unary(rt, x, op, out),
      binary: (a, b, op, out) => binary(rt, a, b, op, out),
      compare: (a, b, op, out) => compare(rt, a, b, op, out),
      where: (cond, a, b, out) => where(rt, cond, a, b, out),
      cast: (x, out) => cast(rt, x, out),
      reduce: (x, op, axes, out) => reduce(rt, x, op, axes, out),
      matmul: (a, b, transposeA, transposeB, out) =>
        matmul(rt, a, b, transposeA, transposeB, out, matmulTiling),
      transpose: (x, perm, out) => transpose(rt, x, perm, out),
      broadcastTo: (x, out) => broadcastTo(rt, x, out),
      slice: (x, begin, out) => slice(rt, x, begin, out),
      concat: (xs, axis, out) => concat(rt, xs, axis, out),
      pad: (x, paddings, value, out) => pad(rt, x, paddings, value, out),
      gather: (x, indices, axis, out) => gather(rt, x, indices, axis, out),
      scatterAdd: (updates, indices, axis, out) => scatterAdd(rt, updates, indices, axis, out),
      oneHot: (indices, depth, out) => oneHot(rt, indices, depth, out),
      fill: (value, out) => fill(rt, value, out),
      random: (dist, stream, out) => random(rt, dist, stream, out),
      softmax: (x, out) => softmax(rt, rowKernel, x, out),
      logSoftmax: (x, out) => logSoftmax(rt, rowKernel, x, out),
      layerNormalize: (x, eps, out) => layerNormalize(rt, rowKernel, x, eps, out),
      crossEntropy: (logits, labels, ignoreIndex, out) =>
        crossEntropy(rt, rowKernel, logits, labels, ignoreIndex, out),
      siNormalize: (x, keep, eps, out) => siNormalize(rt, rowKernel, x, keep, eps, out),
      sumOfSquares: (x, out) => sumOfSquares(rt, x, out),
      axpyInPlace: (target, source, decay, step, scale) =>
        axpyInPlace(rt, target, source, decay, step, scale),
      adamInPlace: (param, expAvg, expAvgSq, grad, update) =>
        adamInPlace(rt, param, expAvg, expAvgSq, grad, update),
    };
  }

  /** Opens an adapter and a device; rejects with the reason when none is available. */
  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const timeout = options.readTimeoutMs;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
      throw gpuError(
        'create',
        `readTimeoutMs: expected a positive number of milliseconds or Infinity, got ${timeout}`,
      );
    }
    const gpu = options.gpu ?? (await defaultGpu());
    const adapterOptions: GPURequestAdapterOptions = {};
    if (options.powerPreference) adapterOptions.powerPreference = options.powerPreference;
    if (options.forceFallbackAdapter) adapterOptions.forceFallbackAdapter = true;
    const adapter = await gpu.requestAdapter(adapterOptions);
    if (!adapter) {
      throw gpuError(
        'create',
        `no WebGPU adapter (options ${JSON.stringify(adapterOptions)}); on Linux without a GPU run tools/setup-webgpu.sh`,
      );
    }
    const requiredLimits: Record<string, number> = {};
    for (const limit of REQUESTED_LIMITS) requiredLimits[limit] = adapter.limits[limit];
    const device = await adapter.requestDevice({ requiredLimits });
    const { vendor, architecture, device: name, description } = adapter.info;
    const runtime = new GpuRuntime(
      device,
      {
        maxBufferSize: device.limits.maxBufferSize,
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      },
      {
        adapter: [vendor, architecture, name, description].filter(Boolean).join(' ') || 'unnamed adapter',
        readTimeoutMs: options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
      },
    );
    const kind = adapterKind(adapter.info);
    const matmulKernel = options.matmulKernel ?? DEFAULT_MATMUL_KERNEL[kind];
    const tiling =
      matmulKernel === 'workgroup'
        ? WORKGROUP_TILING
        : kind === 'swiftshader'
          ? SWIFTSHADER_REGISTER_TILING
          : REGISTER_TILING;
    return new WebGpuBackend(runtime, adapter.info, tiling, options.rowKernel ?? DEFAULT_ROW_KERNEL[kind]);
  }

  write(values: TypedArray, dtype: DType): Handle {
    const expected = dtype === 'float32' ? Float32Array : Int32Array;
    if (!(values instanceof expected)) {
      throw gpuError('write', `expected a ${expected.name} for ${dtype}, got ${values.constructor.name}`);
    }
    return this.runtime.upload('write', values);
  }

  async read(handle: Handle, size: number, dtype: DType): Promise<TypedArray> {
    const bytes = await this.runtime.read('read', this.storage('read', handle), size);
    return dtype === 'float32' ? new Float32Array(bytes) : new Int32Array(bytes);
  }

  free(handle: Handle): void {
    this.runtime.release('free', this.storage('free', handle));
  }

  sync(): Promise<void> {
    return this.runtime.sync();
  }

  /** Destroys the device and every pooled buffer, so Node can exit. */
  dispose(): void {
    this.runtime.destroy();
  }

  describe(): Record<string, unknown> {
    const { liveBytes, pooledBytes } = this.runtime.memory();
    return {
      vendor: this.adapterInfo.vendor,
      architecture: this.adapterInfo.architecture,
      device: this.adapterInfo.device,
      description: this.adapterInfo.description,
      matmulKernel: this.matmulTiling.kind === 'register' ? 'register' : 'workgroup',
      rowKernel: this.rowKernel,
      maxBufferSize: this.runtime.limits.maxBufferSize,
      maxStorageBufferBindingSize: this.runtime.limits.maxStorageBufferBindingSize,
      liveBytes,
      pooledBytes,
    };
  }

  private storage(op: string, handle: Handle): GpuStorage {
    if (!(handle instanceof GpuStorage)) {
      throw gpuError(op, `expected a handle of the webgpu backend, got ${String(handle)}`);
    }
    return handle;
  }
}
