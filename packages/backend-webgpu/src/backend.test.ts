import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { GpuRuntime } from './runtime.js';
import { download, upload } from './test-support.js';
import { openTestBackend } from './testing.js';
import { adapterKind, WebGpuBackend } from './webgpu-backend.js';
import { outputDecl, PARAMS_DECL } from './wgsl/common.js';

const backend = await openTestBackend();
afterAll(() => backend?.dispose());

describe('adapterKind', () => {
  const info = (fields: Partial<GPUAdapterInfo>) =>
    ({ vendor: '', architecture: '', device: '', description: '', ...fields }) as GPUAdapterInfo;
  it('tells SwiftShader from its architecture alone, lavapipe from its description, and GPUs apart', () => {
    // Chromium's SwiftShader without --enable-webgpu-developer-features: an empty description.
    expect(adapterKind(info({ vendor: 'google', architecture: 'swiftshader' }))).toBe('swiftshader');
    expect(adapterKind(info({ description: 'SwiftShader Device (Subzero)' }))).toBe('swiftshader');
    expect(adapterKind(info({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe('cpu');
    expect(adapterKind(info({ architecture: 'software' }))).toBe('cpu');
    expect(adapterKind(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }))).toBe(
      'gpu',
    );
  });
});

describe.skipIf(!backend)('webgpu backend storage, errors and lifetime', () => {
  const b = backend!;

  it('write copies the caller array before returning', async () => {
    const values = new Float32Array([1, 2, 3]);
    const handle = b.write(values, 'float32');
    values.fill(9);
    expect(Array.from(await b.read(handle, 3, 'float32'))).toEqual([1, 2, 3]);
    const ints = new Int32Array([-1, 2 ** 31 - 1]);
    expect(Array.from(await b.read(b.write(ints, 'int32'), 2, 'int32'))).toEqual([-1, 2 ** 31 - 1]);
  });

  it('write rejects an array that does not match the dtype', () => {
    expect(() => b.write(new Float32Array(2), 'int32')).toThrow(
      /write: expected a Int32Array for int32, got Float32Array/,
    );
  });

  it('pooled buffers are reused without stale reads after free', async () => {
    const first = b.write(new Float32Array([5, 6, 7, 8]), 'float32');
    const doubled = b.kernels.binary!(
      { handle: first, shape: [4], dtype: 'float32' },
      { handle: first, shape: [4], dtype: 'float32' },
      'add',
      { shape: [4], dtype: 'float32' },
    );
    b.free(first); // its buffer may back the next write while the add is still only recorded
    const second = b.write(new Float32Array([1, 1, 1, 1]), 'float32');
    expect(Array.from(await b.read(doubled, 4, 'float32'))).toEqual([10, 12, 14, 16]);
    expect(Array.from(await b.read(second, 4, 'float32'))).toEqual([1, 1, 1, 1]);
  });

  it('freeing twice and reading freed storage are errors naming the op', async () => {
    const handle = b.write(new Float32Array(1), 'float32');
    b.free(handle);
    expect(() => b.free(handle)).toThrow(/free: the storage was already freed/);
    await expect(b.read(handle, 1, 'float32')).rejects.toThrow(/read: the storage was already freed/);
    expect(() =>
      b.kernels.unary!({ handle, shape: [1], dtype: 'float32' }, 'neg', { shape: [1], dtype: 'float32' }),
    ).toThrow(/unary\(neg\): an input was already freed/);
  });

  it('rejects foreign handles', () => {
    expect(() =>
      b.kernels.unary!({ handle: new Float32Array(1), shape: [1], dtype: 'float32' }, 'neg', {
        shape: [1],
        dtype: 'float32',
      }),
    ).toThrow(/unary\(neg\): expected a handle of the webgpu backend, got Float32Array/);
  });

  it('a tensor larger than a storage binding is an error naming the limit', () => {
    const limit = b.describe().maxStorageBufferBindingSize as number;
    const elements = limit / 4 + 1;
    expect(() => b.kernels.fill!(0, { shape: [elements], dtype: 'float32' })).toThrow(
      new RegExp(`fill: .*exceeds the device's maxStorageBufferBindingSize of ${limit} bytes`),
    );
  });

  it('splits large dispatches into a 2-D grid beyond maxComputeWorkgroupsPerDimension', async () => {
    const count = 65535 * 256 + 1000; // one more row of workgroups than one dimension allows
    const filled = b.kernels.fill!(3, { shape: [count], dtype: 'float32' });
    const view = { handle: filled, shape: [count], dtype: 'float32' as const };
    const plusOne = b.kernels.binary!(view, upload(b, [1], [1]), 'add', { shape: [count], dtype: 'float32' });
    const tail = b.kernels.slice!({ handle: plusOne, shape: [count], dtype: 'float32' }, [count - 4], {
      shape: [4],
      dtype: 'float32',
    });
    expect(Array.from(await download(b, tail, [4]))).toEqual([4, 4, 4, 4]);
    b.free(filled);
    b.free(plusOne);
  });

  it('sync resolves after work and describe names the adapter', async () => {
    b.kernels.fill!(1, { shape: [16], dtype: 'float32' });
    await b.sync();
    expect(b.describe()).toMatchObject({
      maxBufferSize: expect.any(Number),
      description: expect.any(String),
    });
  });
});

describe.skipIf(!backend)('webgpu runtime error reporting', () => {
  // This file's own GPU object, alive as long as the file runs: Dawn aborts when one that opened
  // devices is collected (see defaultGpu in webgpu-backend.ts).
  const gpu = create([]);
  const runtimes: GpuRuntime[] = [];
  afterAll(() => {
    for (const runtime of runtimes) runtime.destroy();
  });
  async function openRuntime(
    watchdog?: ConstructorParameters<typeof GpuRuntime>[2],
  ): Promise<{ runtime: GpuRuntime; device: GPUDevice }> {
    const adapter = await gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    const limits = {
      maxBufferSize: device.limits.maxBufferSize,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    const runtime = new GpuRuntime(device, limits, watchdog);
    runtimes.push(runtime);
    return { runtime, device };
  }

  it('a WGSL error rejects the next sync with the op name', async () => {
    const { runtime } = await openRuntime();
    const out = runtime.allocate('broken', 4);
    runtime.dispatch({
      op: 'broken',
      shader: 'this is not WGSL',
      inputs: [],
      outputs: [out.buffer],
      params: [],
      workgroups: 1,
    });
    await expect(runtime.sync()).rejects.toThrow(/webgpu: broken: .*WGSL/);
    await expect(runtime.sync()).resolves.toBeUndefined();
    runtime.destroy();
    expect(() => runtime.allocate('after', 1)).toThrow(/after: the backend was disposed/);
  });

  it('a read the GPU does not answer in time rejects, naming the queued kernels and the adapter', async () => {
    // A kernel that takes far longer than the 1 ms allowed (tens of millions of dependent steps
    // per thread), standing in for one that never finishes.
    const { runtime, device } = await openRuntime({ adapter: 'the test adapter', readTimeoutMs: 1 });
    const out = runtime.allocate('slow-loop', 64);
    runtime.dispatch({
      op: 'slow-loop',
      shader: `${PARAMS_DECL}${outputDecl(1, 'result', 'f32')}@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  var x = 0.0;
  for (var i = 0u; i < param(0u); i = i + 1u) { x = fma(x, 0.999, 1.0); }
  result[id.x] = x;
}`,
      inputs: [],
      outputs: [out.buffer],
      params: [50_000_000],
      workgroups: 1,
    });
    await expect(runtime.read('read', out, 64)).rejects.toThrow(
      'webgpu: read: the GPU did not finish within 1 ms (readTimeoutMs) on the test adapter; kernels queued since the last completed read: slow-loop',
    );
    // The queue may never drain, so the runtime refuses further work rather than queue behind it.
    expect(() => runtime.allocate('fill', 4)).toThrow(
      /webgpu: fill: the GPU stopped answering earlier \(no answer within 1 ms/,
    );
    await device.queue.onSubmittedWorkDone(); // here it does finish: let it, before the device goes
  });

  it('readTimeoutMs must be a positive number', async () => {
    await expect(WebGpuBackend.create({ readTimeoutMs: 0 })).rejects.toThrow(
      'readTimeoutMs: expected a positive number of milliseconds or Infinity, got 0',
    );
  });

  it('a lost device makes every later call throw with the op and the reason', async () => {
    const { runtime, device } = await openRuntime();
    const storage = runtime.allocate('fill', 4);
    device.destroy(); // as if the driver had lost it: the runtime did not ask for this
    await device.lost;
    expect(() => runtime.allocate('fill', 4)).toThrow(/webgpu: fill: device lost \(destroyed\)/);
    await expect(runtime.read('read', storage, 4)).rejects.toThrow(/webgpu: read: device lost/);
    await expect(runtime.sync()).rejects.toThrow(/webgpu: sync: device lost/);
  });

  it('backends dropped with or without dispose do not crash the process when collected', async () => {
    // Dawn for Node aborts when a GPU object that opened devices is collected; while each backend
    // created (and dropped) its own, this crashed in most runs (an abort in Dawn's event loop).
    const script = `
      const { WebGpuBackend } = await import(${JSON.stringify(await plainNodeEntry())});
      for (let i = 0; i < 3; i++) await WebGpuBackend.create();
      for (let i = 0; i < 3; i++) (await WebGpuBackend.create()).dispose();
      const backend = await WebGpuBackend.create();
      for (let i = 0; i < 40; i++) {
        globalThis.gc();
        const h = backend.kernels.fill(i, { shape: [64], dtype: 'float32' });
        const values = await backend.read(h, 64, 'float32');
        if (values[63] !== i) throw new Error('read ' + values[63] + ', expected ' + i);
        backend.free(h);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      process.stdout.write('survived');
    `;
    const child = runModuleScript(script, ['--expose-gc']);
    expect(child.stderr).not.toMatch(/terminate called|Assertion|Segmentation/);
    expect(child.stdout).toBe('survived');
    expect(child.status).toBe(0);
  });

  it('the process exits by itself after dispose', async () => {
    const script = `
      const { WebGpuBackend } = await import(${JSON.stringify(await plainNodeEntry())});
      const backend = await WebGpuBackend.create();
      const h = backend.kernels.fill(2, { shape: [8], dtype: 'float32' });
      const values = await backend.read(h, 8, 'float32');
      backend.dispose();
      process.stdout.write('read ' + values[0]);
    `;
    const child = runModuleScript(script);
    expect(child.error).toBeUndefined();
    expect(child.stdout).toBe('read 2');
    expect(child.status).toBe(0);
  });
});

let bundled: Promise<string> | undefined;

/**
 * The package's sources bundled into one ES module that plain `node` can import. Child processes
 * load it without a TypeScript loader: loader hooks (tsx, vitest) change Dawn's timing enough to
 * hide the crash the lifetime tests guard against. Written under node_modules/.cache so that
 * `webgpu` (left external: a native addon) resolves from there.
 */
function plainNodeEntry(): Promise<string> {
  bundled ??= (async () => {
    const dir = fileURLToPath(new URL('../node_modules/.cache/backend-webgpu-test/', import.meta.url));
    const file = `${dir}index.mjs`;
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'node',
      conditions: ['source'],
      external: ['webgpu'],
      write: false,
      logLevel: 'silent',
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, result.outputFiles[0]!.contents);
    return file;
  })();
  return bundled;
}

/** Runs an ES-module script in a fresh plain Node process. */
function runModuleScript(script: string, nodeFlags: string[] = []) {
  return spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], {
    timeout: 30_000,
    encoding: 'utf8',
  });
}
