import { crossEntropy, layerNorm, matmul, siNormalize, softmax, type Tensor, tensor } from '@sibert/tensor';
import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendChoice,
  initTfjs,
  ourBackends,
  syncOurs,
  type TfjsImpl,
  tfjsImplsFor,
  tfjsWasmDescription,
  useOurBackend,
  useTfjs,
} from './backends.js';
import { type Column, markdownTable, type Row, type SuiteOutput } from './report.js';
import { alternate, type Contender, Progress } from './timing.js';

/** One benchmarked operation: how to build it on each side and what it costs. */
interface KernelCase {
  op: string;
  shape: string;
  /** FLOPs (matmul) or bytes moved (the memory-bound ops) per call. */
  work: { flops: number } | { bytes: number };
  ours: (inputs: Tensor[]) => Tensor;
  tfjs: (inputs: tf.Tensor[]) => tf.Tensor;
  inputs: { shape: number[]; kind: 'float' | 'labels'; classes?: number }[];
}

function values(count: number, seed: number): Float32Array {
  const v = new Float32Array(count);
  for (let i = 0; i < count; i++) v[i] = Math.sin(seed * 7.31 + i * 0.618) * 0.5;
  return v;
}

function labels(count: number, classes: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => (i * 7919) % classes);
}

const prod = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function matmulCase(m: number, k: number, n: number, transposeA = false, transposeB = false): KernelCase {
  const flags = `${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}`;
  return {
    op: 'matmul',
    shape: `${m}×${k}×${n} ${flags}`,
    work: { flops: 2 * m * k * n },
    inputs: [
      { shape: transposeA ? [k, m] : [m, k], kind: 'float' },
      { shape: transposeB ? [n, k] : [k, n], kind: 'float' },
    ],
    ours: ([a, b]) => matmul(a!, b!, { transposeA, transposeB }),
    tfjs: ([a, b]) => tf.matMul(a!, b!, transposeA, transposeB),
  };
}

/** Read + write of float32 `shape`: the traffic of a one-pass row-wise op. */
const rowwiseBytes = (shape: number[]) => 2 * 4 * prod(shape);

/** The cases of the suite; BERT-mini shapes at batch 8 × seq 128 (4 heads, hidden 256, vocab 8192). */
export function kernelCases(quick: boolean): KernelCase[] {
  const scores = quick ? [2, 4, 64, 64] : [8, 4, 128, 128];
  const hidden = quick ? [256, 256] : [1024, 256];
  const logits = quick ? [128, 2048] : [1024, 8192];
  const matmuls = quick
    ? [matmulCase(256, 256, 256), matmulCase(512, 256, 256, false, true)]
    : [
        matmulCase(256, 256, 256),
        matmulCase(512, 512, 512),
        matmulCase(1024, 1024, 1024),
        matmulCase(4096, 256, 1024, false, false),
        matmulCase(4096, 256, 1024, false, true),
        matmulCase(4096, 256, 1024, true, false),
        matmulCase(4096, 256, 1024, true, true),
      ];
  return [
    ...matmuls,
    {
      op: 'softmax',
      shape: scores.join('×'),
      work: { bytes: rowwiseBytes(scores) },
      inputs: [{ shape: scores, kind: 'float' }],
      ours: ([x]) => softmax(x!),
      tfjs: ([x]) => tf.softmax(x!),
    },
    {
      op: 'layerNorm',
      shape: hidden.join('×'),
      work: { bytes: rowwiseBytes(hidden) },
      inputs: [{ shape: hidden, kind: 'float' }],
      ours: ([x]) => layerNorm(x!, { eps: 1e-12 }),
      // What a tfjs user writes: tf.moments, then (x − mean)·rsqrt(var + eps).
      tfjs: ([x]) => {
        const { mean, variance } = tf.moments(x!, -1, true);
        return tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-12)));
      },
    },
    {
      op: 'siNormalize',
      shape: scores.join('×'),
      work: { bytes: rowwiseBytes(scores) },
      inputs: [{ shape: scores, kind: 'float' }],
      ours: ([x]) => siNormalize(x!),
      // ReLU, then divide by the row sum (+eps): the SI attention normalisation in tfjs ops.
      tfjs: ([x]) => {
        const a = tf.relu(x!);
        return tf.div(a, tf.add(tf.sum(a, -1, true), 1e-6));
      },
    },
    {
      op: 'crossEntropy',
      shape: logits.join('×'),
      work: { bytes: 4 * prod(logits) },
      inputs: [
        { shape: logits, kind: 'float' },
        { shape: [logits[0]!], kind: 'labels', classes: logits[1]! },
      ],
      ours: ([x, y]) => crossEntropy(x!, y!),
      tfjs: ([x, y]) => tf.losses.softmaxCrossEntropy(tf.oneHot(y!, logits[1]!), x!),
    },
  ];
}

export interface KernelsOptions {
  backend: BackendChoice;
  quick: boolean;
  /** Only cases whose op is listed (all when empty). */
  ops: readonly string[];
}

export async function kernelsSuite(options: KernelsOptions): Promise<SuiteOutput> {
  const ours = await ourBackends(options.backend);
  const notes: string[] = [];
  if (ours.webgpuSkipped) notes.push(ours.webgpuSkipped);
  const cases = kernelCases(options.quick).filter(
    (c) => options.ops.length === 0 || options.ops.includes(c.op),
  );
  // Warm-up by time as well as by count: lavapipe's first few dozen calls of a kernel are about
  // twice as slow as later ones (its JIT and thread pool settle), more than two warm-up runs cover.
  const timing = options.quick ? { warmup: 1, runs: 2 } : { warmup: 2, runs: 7, warmupMs: 2000 };
  const tfjsImpls: TfjsImpl[] = [];
  for (const impl of tfjsImplsFor(ours.names)) {
    const problem = await initTfjs(impl);
    if (problem) notes.push(`${impl} skipped: ${problem}`);
    else tfjsImpls.push(impl);
  }
  if (tfjsImpls.includes('tfjs-wasm')) notes.push(await tfjsWasmDescription());
  notes.push(
    `medians of ${timing.runs} timed runs after ${timing.warmup} warm-up run(s)${timing.warmupMs ? ` and at least ${timing.warmupMs / 1000} s of warm-up rounds per case` : ''}, the implementations alternating within each round; GPU rows include reading the result back`,
  );

  const rows: Row[] = [];
  const progress = new Progress('kernels', cases.length * ours.names.length);
  let done = 0;
  for (const backend of ours.names) {
    const sides = tfjsImpls.filter((impl) => (backend === 'webgpu') === (impl === 'tfjs-webgpu'));
    for (const c of cases) {
      progress.update(done++, `${c.op} ${c.shape} on ${backend}`);
      const host = c.inputs.map((spec, i) =>
        spec.kind === 'float' ? values(prod(spec.shape), i + 1) : labels(prod(spec.shape), spec.classes!),
      );
      await useOurBackend(backend);
      const ourInputs = c.inputs.map((spec, i) =>
        tensor(host[i]!, spec.shape, spec.kind === 'float' ? 'float32' : 'int32'),
      );
      const gpu = backend === 'webgpu';
      const contenders: Contender[] = [
        {
          name: 'sibert',
          select: () => useOurBackend(backend),
          run: async () => {
            const y = c.ours(ourInputs);
            if (gpu) await y.data();
            else await syncOurs();
            y.dispose();
          },
        },
      ];
      const tfInputs = new Map<TfjsImpl, tf.Tensor[]>();
      for (const impl of sides) {
        await useTfjs(impl);
        tfInputs.set(
          impl,
          c.inputs.map((spec, i) =>
            tf.tensor(host[i]!, spec.shape, spec.kind === 'float' ? 'float32' : 'int32'),
          ),
        );
        contenders.push({
          name: impl,
          select: () => useTfjs(impl),
          run: async () => {
            const y = tf.tidy(() => c.tfjs(tfInputs.get(impl)!));
            if (impl === 'tfjs-webgpu') await y.data();
            y.dispose();
          },
        });
      }
      const medians = await alternate(contenders, timing);
      const oursMs = medians.get('sibert')!;
      for (const [impl, ms] of medians) {
        const rate: Row =
          'flops' in c.work ? { gflops: c.work.flops / (ms * 1e6) } : { gbps: c.work.bytes / (ms * 1e6) };
        rows.push({ op: c.op, shape: c.shape, backend, impl, ms, ...rate, ratio: ms / oursMs });
      }
      for (const t of ourInputs) t.dispose();
      for (const list of tfInputs.values()) for (const t of list) t.dispose();
    }
  }
  progress.done();
  return { rows, notes, adapter: ours.adapter, body: markdownTable(rows, KERNEL_COLUMNS), plots: [] };
}

export const KERNEL_COLUMNS: Column[] = [
  { key: 'op', title: 'op' },
  { key: 'shape', title: 'shape' },
  { key: 'backend', title: 'backend' },
  { key: 'impl', title: 'impl' },
  { key: 'ms', title: 'ms', format: (v) => (typeof v === 'number' ? v.toFixed(v < 10 ? 3 : 1) : '–') },
  {
    key: 'gflops',
    title: 'GFLOP/s or GB/s',
    format: (_, r) =>
      typeof r.gflops === 'number'
        ? `${r.gflops.toFixed(2)} GFLOP/s`
        : typeof r.gbps === 'number'
          ? `${r.gbps.toFixed(2)} GB/s`
          : '–',
  },
  {
    key: 'ratio',
    title: 'time ÷ sibert',
    format: (v) => (typeof v === 'number' ? `${v.toFixed(2)}×` : '–'),
  },
];
