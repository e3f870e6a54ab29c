import { register } from 'node:module';

/**
 * tfjs-core's Node bundle has no gradients: the @tensorflow/tfjs umbrella package registers them
 * from tfjs-core's ES module files (`dist/register_all_gradients.js`), which Node cannot load as
 * they are (extensionless imports in a package not marked "type": "module"). These loader hooks
 * resolve those imports and load those files as ES modules; the gradients then register in the
 * global registry that the Node bundle's engine reads.
 */
const HOOKS = `
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
const DIST = '/@tensorflow/tfjs-core/dist/';
export async function resolve(specifier, context, next) {
  if (context.parentURL?.includes(DIST) && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await next(specifier + suffix, context);
      } catch {}
    }
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url.startsWith('file:') && url.includes(DIST) && !url.endsWith('.node.js')) {
    return { format: 'module', source: await readFile(fileURLToPath(url), 'utf8'), shortCircuit: true };
  }
  return next(url, context);
}
`;

let registered: Promise<void> | undefined;

export function registerTfjsGradients(): Promise<void> {
  registered ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return registered;
}

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface KernelBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo?(shape: number[], dtype: string, values: Float32Array): TensorInfoLike;
  makeOutput?(shape: number[], dtype: string): TensorInfoLike;
  typedArrayFromHeap?(info: TensorInfoLike): Float32Array;
}

/**
 * UnsortedSegmentSum (the gradient of `tf.gather`, hence of every embedding lookup) as one direct
 * loop, registered for tfjs-cpu and tfjs-wasm. tfjs-wasm has no such kernel at all (training
 * through `gather` fails there without one), and tfjs-cpu's own loops over the segments with
 * tensor ops, seconds per call at vocabulary 8192: a user who profiled would do this too.
 */
export function registerSegmentSumKernel(
  tf: typeof import('@tensorflow/tfjs-core'),
  backendName: 'cpu' | 'wasm',
) {
  if (tf.getKernel('UnsortedSegmentSum', backendName)) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as KernelBackend;
      const x = inputs.x as unknown as TensorInfoLike;
      const ids = b.readSync((inputs.segmentIds as unknown as TensorInfoLike).dataId);
      const values = b.readSync(x.dataId);
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const width = ids.length === 0 ? 0 : values.length / ids.length;
      const out = new Float32Array(numSegments * width);
      for (let i = 0; i < ids.length; i++) {
        const segment = ids[i]!;
        if (segment < 0 || segment >= numSegments) continue;
        const from = i * width;
        const to = segment * width;
        for (let j = 0; j < width; j++) out[to + j]! += values[from + j]!;
      }
      const shape = [numSegments, ...x.shape.slice(1)];
      if (b.makeTensorInfo) return b.makeTensorInfo(shape, 'float32', out) as never;
      const info = b.makeOutput!(shape, 'float32');
      b.typedArrayFromHeap!(info).set(out);
      return info as never;
    },
  });
}
