import type { MlmBatch } from '@sibert/data';
import { type MaskedLanguageModel, presetConfig } from '@sibert/models';
import { createOptimizer, type SGD } from '@sibert/optim';
import { manualSeed, memory, resetPeakMemory } from '@sibert/tensor';
import { trainStep, uploadMlmBatch } from '@sibert/train';
import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendChoice,
  initTfjs,
  ourBackends,
  type TfjsImpl,
  tfjsImplsFor,
  tfjsWasmDescription,
  useOurBackend,
  useTfjs,
} from './backends.js';
import { benchModel, syntheticBatch } from './mlm-batch.js';
import { type Column, markdownTable, mebibytes, type Row, type SuiteOutput } from './report.js';
import { TfjsBertMlm } from './tfjs-bert.js';
import { alternate, type Contender, Progress } from './timing.js';

export type StepModel = 'bert-mini' | 'sibert-mini';

export interface StepOptions {
  model: StepModel;
  backend: BackendChoice;
  quick: boolean;
}

export const LR = 1e-3;

/** The step suite's batch: batch × sequence × vocabulary (quick: a toy one). */
export function stepShape(quick: boolean): [batchSize: number, seqLen: number, vocab: number] {
  return quick ? [2, 32, 2048] : [8, 128, 8192];
}

/** One training step of our model: upload, forward, backward, SGD update, loss read back. */
export async function ourStep(model: MaskedLanguageModel, optimizer: SGD, batch: MlmBatch): Promise<number> {
  const { loss } = await trainStep(optimizer, () => {
    const { inputs, targets } = uploadMlmBatch(batch, model.config);
    return { loss: model.forward(inputs, targets).loss };
  });
  return loss;
}

/** The TensorFlow.js implementations that start here beside our backends (a note for each that does not). */
async function tfjsSides(names: Parameters<typeof tfjsImplsFor>[0], notes: string[]): Promise<TfjsImpl[]> {
  const impls: TfjsImpl[] = [];
  for (const impl of tfjsImplsFor(names)) {
    const problem = await initTfjs(impl);
    if (problem) notes.push(`${impl} skipped: ${problem}`);
    else impls.push(impl);
  }
  if (impls.includes('tfjs-wasm')) notes.push(await tfjsWasmDescription());
  return impls;
}

export async function stepSuite(options: StepOptions): Promise<SuiteOutput> {
  const ours = await ourBackends(options.backend);
  const notes: string[] = [];
  if (ours.webgpuSkipped) notes.push(ours.webgpuSkipped);
  const [batchSize, seqLen, VOCAB] = stepShape(options.quick);
  // Three warm-up rounds: a JIT-compiled side (V8 tiering JavaScript and WebAssembly up, heaps
  // and pools filling) reaches its steady speed only after a few steps, and training runs are long.
  const timing = options.quick ? { warmup: 1, runs: 1 } : { warmup: 3, runs: 3 };
  const batch = syntheticBatch(batchSize, seqLen, VOCAB);
  const tokens = batchSize * seqLen;
  // The TensorFlow.js side is BERT-mini only: SIBERT has no tfjs counterpart here.
  const tfjsImpls = options.model === 'bert-mini' ? await tfjsSides(ours.names, notes) : [];
  notes.push(
    `batch ${batchSize} × seq ${seqLen}, vocab ${VOCAB}, ${batch.maskedPositions.length} masked positions; plain SGD (lr ${LR}) over every parameter on every side, no dropout; a step = upload, forward, backward, update, loss read back`,
    `medians of ${timing.runs} timed steps after ${timing.warmup} warm-up step(s), the implementations alternating; peakBytes: the most live tensor bytes during one further step (ours: memory().peakBytes; tfjs: tf.profile().peakBytes), parameters included`,
  );

  const rows: Row[] = [];
  const progress = new Progress('step', ours.names.length);
  let done = 0;
  for (const backend of ours.names) {
    progress.update(done++, `${options.model} on ${backend}`);
    await useOurBackend(backend);
    manualSeed(0);
    const model = benchModel(options.model, VOCAB);
    const optimizer = createOptimizer('sgd', model.namedParameters(), { lr: LR });
    const contenders: Contender[] = [
      {
        name: 'sibert',
        select: () => useOurBackend(backend),
        run: async () => void (await ourStep(model, optimizer, batch)),
      },
    ];
    const tfModels = new Map<TfjsImpl, TfjsBertMlm>();
    const sides = tfjsImpls.filter((impl) => (backend === 'webgpu') === (impl === 'tfjs-webgpu'));
    const config = presetConfig(options.model, VOCAB);
    for (const impl of sides) {
      await useTfjs(impl);
      const tfModel = new TfjsBertMlm(config, LR);
      tfModels.set(impl, tfModel);
      contenders.push({
        name: impl,
        select: () => useTfjs(impl),
        run: async () => void (await tfModel.step(batch)),
      });
    }
    const medians = await alternate(contenders, timing);

    await useOurBackend(backend);
    resetPeakMemory();
    await ourStep(model, optimizer, batch);
    const peaks = new Map<string, number>([['sibert', memory().peakBytes]]);
    for (const [impl, tfModel] of tfModels) {
      await useTfjs(impl);
      const info = await tf.profile(async () => void (await tfModel.step(batch)));
      peaks.set(impl, info.peakBytes);
      tfModel.dispose();
    }
    optimizer.dispose();
    model.dispose();
    for (const [impl, ms] of medians) {
      rows.push({
        model: options.model,
        backend,
        impl,
        msPerStep: ms,
        tokensPerSec: tokens / (ms / 1000),
        peakBytes: peaks.get(impl) ?? null,
        ratio: ms / medians.get('sibert')!,
      });
    }
  }
  progress.done();
  return { rows, notes, adapter: ours.adapter, body: markdownTable(rows, STEP_COLUMNS), plots: [] };
}

const STEP_COLUMNS: Column[] = [
  { key: 'model', title: 'model' },
  { key: 'backend', title: 'backend' },
  { key: 'impl', title: 'impl' },
  { key: 'msPerStep', title: 'ms/step', format: (v) => (typeof v === 'number' ? v.toFixed(0) : '–') },
  { key: 'tokensPerSec', title: 'tokens/s', format: (v) => (typeof v === 'number' ? v.toFixed(0) : '–') },
  { key: 'peakBytes', title: 'peak MiB', format: mebibytes },
  { key: 'ratio', title: 'time ÷ sibert', format: (v) => (typeof v === 'number' ? `${v.toFixed(2)}×` : '–') },
];
